/**
 * Every series an alert rule or a Grafana panel reads is exported by the running app — a renamed metric
 * would otherwise silence its alert without any error. The real stack runs one small batch, one refused
 * dump and one rollback; the API's /metrics and the worker metrics port are scraped; the names the rules
 * and panels reference (recording rules aside) must all be there. Along the way it checks what the new
 * alert metrics say: outcomes, heartbeat, running phases (present while running, gone after), clean-up.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createLogger } from '../../core/logger';
import { phaseLastProgress, startMetricsServer } from '../../core/metrics';
import { until } from '../dashboard/helpers';
import { catalystDump } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';
import { exposition, isExported, loadRules, metricNames, ROOT } from './promql';

/** Made by Prometheus itself, not by the app. */
const FROM_PROMETHEUS = new Set(['up']);

let stack: Stack;
let batchId: string;
let api: ReturnType<typeof exposition>;
let worker: ReturnType<typeof exposition>;
let apiText: string;
const seenRunning: Record<string, string | number>[] = [];

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  stack = await startStack();
  const workers = stack.workers!;
  // While a phase reports progress, its series must exist (read synchronously, before the phase goes on).
  workers.migration.on('progress', () => {
    void phaseLastProgress.get().then((m) => seenRunning.push(...m.values.map((v) => ({ ...v.labels, at: v.value }))));
  });
  const token = await stack.mintToken('user-monitoring');
  const refused = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send('{"format":"not-a-dump"}');
  expect(refused.status).toBe(400);
  const verified = new Promise<void>((resolve) => workers.migration.on('completed', (job) => job.id === `${batchId}.verify` && resolve()));
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(res.status).toBe(202);
  batchId = res.body.batchId;
  expect(await waitForBatch(stack, batchId)).toBe('completed');
  await verified;
  const rolledBack = new Promise<void>((resolve) => workers.maintenance.on('completed', (job) => job.name === 'rollback' && resolve()));
  await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({}).expect(202);
  await rolledBack;
  // The clean-up runs once as soon as its schedule is created; the API reads its time back from Redis.
  apiText = await until(async () => {
    const text = (await stack.http.get('/metrics').expect(200)).text;
    return (value(text, 'bsm_cleanup_last_success_timestamp_seconds') ?? 0) > 0 && text;
  }, 'the first clean-up');
  api = exposition(apiText);
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', log: createLogger('silent') });
  try {
    worker = exposition((await request(`http://127.0.0.1:${server.port}`).get('/metrics').expect(200)).text);
  } finally {
    await server.close();
  }
});
afterAll(() => stack?.close());

function missing(names: string[], recorded: Set<string>): string[] {
  return names.filter((n) => (n.includes(':') ? !recorded.has(n) : !FROM_PROMETHEUS.has(n) && !isExported(api, n) && !isExported(worker, n)));
}

const rules = loadRules();
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

test('every metric an alert or recording rule reads is exported (recording rules: defined in rules.yml)', () => {
  const used = [...new Set(rules.flatMap((r) => metricNames(r.expr)))];
  expect(used.length).toBeGreaterThan(10);
  expect(missing(used, recorded)).toEqual([]);
});

test('every Grafana panel queries exported metrics or recording rules', () => {
  const board = JSON.parse(readFileSync(join(ROOT, 'monitoring/grafana/dashboards/migrations.json'), 'utf8')) as { panels: { title: string; type: string; targets?: { expr: string }[] }[] };
  const problems = board.panels
    .filter((p) => p.type !== 'row')
    .flatMap((p) => (p.targets ?? []).flatMap((t) => missing(metricNames(t.expr), recorded).map((n) => `${p.title}: ${n}`)));
  expect(problems).toEqual([]);
});

test('batch and rollback outcomes, upload requests and refusals are counted', () => {
  expect(value(apiText, 'bsm_batch_outcomes_total{status="completed",phase="verify"}')).toBe(1);
  expect(value(apiText, 'bsm_batch_outcomes_total{status="failed",phase="contentItems"}')).toBe(0); // zero, not absent
  expect(value(apiText, 'bsm_rollbacks_total{outcome="ok"}')).toBe(1);
  expect(value(apiText, 'bsm_rollbacks_total{outcome="failed"}')).toBe(0);
  expect(value(apiText, 'bsm_upload_requests_total{via="dumps"}')).toBe(2);
  expect(value(apiText, 'bsm_upload_failures_total{via="dumps",reason="refused"}')).toBe(1);
  expect(value(apiText, 'bsm_upload_failures_total{via="tus",reason="error"}')).toBe(0);
});

test('a running phase has a last-progress series, removed once it finished', () => {
  const mine = seenRunning.filter((s) => s.batch_id === batchId);
  expect(mine.map((s) => s.phase)).toEqual(expect.arrayContaining(['ingest', 'contentItems', 'verify']));
  for (const s of mine) expect(Math.abs(Number(s.at) - Date.now() / 1000)).toBeLessThan(60);
  expect(apiText).not.toMatch(/^bsm_phase_last_progress_timestamp_seconds\{/m);
  expect(api.families.get('bsm_phase_last_progress_timestamp_seconds')).toBe('gauge');
});

test('heartbeat, clean-up and the event-loop figures the board shows', () => {
  const now = Date.now() / 1000;
  expect(now - value(apiText, 'bsm_worker_last_alive_timestamp_seconds')!).toBeLessThan(30);
  expect(now - value(apiText, 'bsm_cleanup_last_success_timestamp_seconds')!).toBeLessThan(60);
  expect(value(apiText, 'bsm_cleanup_interval_seconds')).toBe(stack.config.CLEANUP_INTERVAL_MINUTES * 60);
  expect(value(apiText, 'bsm_nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
});
