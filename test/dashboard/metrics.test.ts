/**
 * /metrics after a real batch: every named series exists and its value matches what Postgres and Redis
 * say. Jest loads modules afresh per test file, so the process-wide counters start at zero here.
 */
import { phasesOf } from '../../jobs/layouts';
import request from 'supertest';
import { startMetricsServer } from '../../core/metrics';
import { createLogger } from '../../core/logger';
import { catalystDump, CONTENT_ITEMS } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';
import { bigDump, MiB, ndjsonMeta, tusUpload } from '../uploads/harness';
import { until } from './helpers';

let stack: Stack;
let batchId: string;
let dumpBytes: number;
let text: string;

/** The value of one series in Prometheus text; labels must match exactly (order as written). */
function sample(name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (want.split(',').every((pair) => !pair || have.split(',').includes(pair))) return Number(m[3]);
  }
  return undefined;
}

beforeAll(async () => {
  stack = await startStack();
  const token = await stack.mintToken('user-metrics');
  const doc = catalystDump();
  // Two items the transform rejects element-wise: one without an id, one repeating an id.
  const items = [...CONTENT_ITEMS, { ...CONTENT_ITEMS[1], id: undefined }, { ...CONTENT_ITEMS[0] }];
  doc.localStorage = doc.localStorage.map((e) => (e.key === 'content-storage' ? { key: e.key, value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) } : e));
  const body = JSON.stringify(doc);
  // Wait for BullMQ's completion of the last job, which follows its duration being observed (the batch
  // row says `completed` slightly earlier, from inside the verify phase).
  const verified = new Promise<void>((resolve) => stack.workers!.migration.on('completed', (job) => job.id === `${batchId}.verify` && resolve()));
  dumpBytes = Buffer.byteLength(body);
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(body);
  expect(res.status).toBe(202);
  batchId = res.body.batchId;
  expect(await waitForBatch(stack, batchId)).toBe('completed');
  await verified;
  await stack.http.get(`/v1/batches/${batchId}`).set('Authorization', `Bearer ${token}`).expect(200);
  const scrape = await stack.http.get('/metrics').expect(200);
  expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  text = scrape.text;
});
afterAll(() => stack.close());

test('HTTP latency histograms are labelled by route template, never by raw path', () => {
  expect(sample('bsm_http_request_duration_seconds_count', { method: 'POST', route: '/v1/dumps', status: '202' })).toBe(1);
  expect(sample('bsm_http_request_duration_seconds_count', { method: 'GET', route: '/v1/batches/:id', status: '200' })).toBe(1);
  expect(sample('bsm_http_request_duration_seconds_bucket', { le: '+Inf', method: 'POST', route: '/v1/admin/tokens', status: '201' })).toBe(1);
  expect(text).not.toContain(batchId);
  expect(text).not.toMatch(/route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-/);
});

test('upload bytes, job durations per phase, rows written per table and rejects', async () => {
  expect(sample('bsm_upload_bytes_total', { via: 'dumps' })).toBe(dumpBytes);
  for (const phase of ['ingest', 'websites', 'contentTypes', 'contentItems', 'preserve', 'verify']) {
    expect(sample('bsm_job_duration_seconds_count', { phase, outcome: 'completed' })).toBe(1);
    expect(sample('bsm_job_duration_seconds_sum', { phase, outcome: 'completed' })).toBeGreaterThan(0);
  }
  const ds = stack.api.deps.ds;
  for (const table of ['websites', 'content_types', 'content_items', 'preserved_entries']) {
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM "${table}" WHERE batch_id = $1`, [batchId]);
    expect(n).toBeGreaterThan(0);
    expect(sample('bsm_rows_written_total', { table })).toBe(n); // one batch, all inserts
  }
  const rejects: { phase: string; code: string; n: number }[] = await ds.query(`SELECT phase, code, count(*)::int AS n FROM batch_rejects WHERE batch_id = $1 GROUP BY 1, 2`, [batchId]);
  expect(rejects.map((r) => r.code).sort()).toEqual(['duplicate_id', 'missing_id']);
  for (const r of rejects) expect(sample('bsm_rejects_total', { phase: r.phase, code: r.code })).toBe(r.n);
});

test('batches by status come from Postgres and queue depth from Redis, on scrape', () => {
  expect(sample('bsm_batches', { status: 'completed' })).toBe(1);
  expect(sample('bsm_batches', { status: 'failed' })).toBe(0);
  expect(sample('bsm_batches', { status: 'running' })).toBe(0);
  expect(sample('bsm_queue_jobs', { queue: 'migration', state: 'completed' })).toBe(phasesOf('catalyst').length);
  expect(sample('bsm_queue_jobs', { queue: 'migration', state: 'failed' })).toBe(0);
  expect(sample('bsm_queue_jobs', { queue: 'maintenance', state: 'waiting' })).toBeGreaterThanOrEqual(0);
  expect(sample('bsm_process_resident_memory_bytes')).toBeGreaterThan(0);
});

test('with METRICS_TOKEN set, /metrics wants it as a bearer token', async () => {
  const guarded = await startStack({ workers: false, config: { METRICS_TOKEN: 'metrics-secret-0123456789' } });
  try {
    expect((await guarded.http.get('/metrics')).status).toBe(401);
    expect((await guarded.http.get('/metrics').set('Authorization', 'Bearer wrong-token')).status).toBe(401);
    expect((await guarded.http.get('/metrics').set('Authorization', 'Bearer metrics-secret-0123456789')).status).toBe(200);
  } finally {
    await guarded.close();
  }
});

test('the worker process serves its metrics on its own port', async () => {
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', token: 'worker-metrics-token-0123', log: createLogger('silent') });
  try {
    const url = `http://127.0.0.1:${server.port}`;
    expect((await request(url).get('/metrics')).status).toBe(401);
    expect((await request(url).get('/other').set('Authorization', 'Bearer worker-metrics-token-0123')).status).toBe(404);
    const res = await request(url).get('/metrics').set('Authorization', 'Bearer worker-metrics-token-0123');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^bsm_job_duration_seconds_count\{phase="verify",outcome="completed"\} 1$/m);
  } finally {
    await server.close();
  }
});

test('resumable uploads count their bytes as they arrive, and their batch is found by upload id', async () => {
  const dump = bigDump(1.2 * MiB, 'metrics');
  const out = await tusUpload(stack.api.url, await stack.mintToken('user-tus'), dump.bytes, { metadata: ndjsonMeta(dump.sha256), chunkSize: 512 * 1024 });
  expect(out.batchId).toBeTruthy();
  text = (await stack.http.get('/metrics').expect(200)).text;
  expect(sample('bsm_upload_bytes_total', { via: 'tus' })).toBe(dump.bytes.length);
  expect(sample('bsm_http_request_duration_seconds_count', { method: 'PATCH', route: '/v1/uploads/*', status: '204' })).toBeGreaterThanOrEqual(3);
  const uploadId = out.url.split('/').pop()!;
  // The link is written just after the final PATCH was answered (the response is not held for it).
  const search = () => stack.http.get('/v1/admin/batches').query({ q: uploadId }).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
  const found = await until(async () => {
    const r = await search();
    return r.body.batches.length > 0 && r;
  }, 'the upload id on its batch');
  expect(found.body.batches.map((b: { id: string }) => b.id)).toEqual([out.batchId]);
  expect(found.body.batches[0].uploadId).toBe(uploadId);
  expect(found.body.batches[0].requestId).toEqual(expect.any(String));
});
