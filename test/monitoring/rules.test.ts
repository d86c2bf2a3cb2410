/**
 * The alert rules are code: promtool checks them and runs their unit tests (rules*.test.yml), and every
 * alert carries what an operator needs (severity, summary, description, a runbook section that exists).
 * promtool comes from Debian's `prometheus` package (scripts/start-services.sh --promtool). Without it the
 * promtool tests skip on a developer machine, never in CI (CI is set there).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { headingAnchors, loadRules, PROM_DIR, ROOT } from './promql';

const TEST_FILES = readdirSync(PROM_DIR).filter((f) => /^rules.*\.test\.yml$/.test(f));
const havePromtool = !spawnSync('promtool', ['--version']).error;
if (!havePromtool && !process.env.CI) {
  process.stderr.write('test/monitoring/rules.test.ts: promtool not found, promtool tests SKIPPED (install: bash scripts/start-services.sh --promtool)\n');
}

/** Runs promtool in the rules' directory (rule_files are relative); fails with its whole output. */
function promtool(...args: string[]): void {
  const r = spawnSync('promtool', args, { cwd: PROM_DIR, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
}

(havePromtool || process.env.CI ? describe : describe.skip)('promtool', () => {
  test('is installed (CI installs it: scripts/start-services.sh --promtool)', () => {
    expect(havePromtool).toBe(true);
  });
  test('check rules', () => promtool('check', 'rules', 'rules.yml'));
  test('check config (the compose profile\'s prometheus.yml and the rules it loads)', () => promtool('check', 'config', 'prometheus.yml'));
  test(`test rules: ${TEST_FILES.join(', ')}`, () => promtool('test', 'rules', ...TEST_FILES));
});

describe('every alert', () => {
  const alerts = loadRules().filter((r) => r.alert);
  const anchors = headingAnchors(readFileSync(join(ROOT, 'docs/operations.md'), 'utf8'));
  type Case = { alertname: string; exp_alerts?: { exp_labels?: Record<string, string> }[] };
  const cases: Case[] = TEST_FILES.flatMap((f) => {
    const doc = parse(readFileSync(join(PROM_DIR, f), 'utf8')) as { tests: { alert_rule_test?: Case[] }[] };
    return doc.tests.flatMap((t) => t.alert_rule_test ?? []);
  });

  test('the issue\'s list is covered', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(expect.arrayContaining([
      'BsmApiErrorRatioHigh', 'BsmApiLatencyHigh', 'BsmBatchFailed', 'BsmBatchNeedsAttention', 'BsmCleanupNotRun',
      'BsmMigrationBacklogGrowing', 'BsmNoWorkerAlive', 'BsmPhaseStalled', 'BsmRollbackFailed', 'BsmUploadFailuresRising',
    ]));
  });

  test.each(alerts.map((a) => [a.alert!, a] as const))('%s: severity, summary, description, runbook section', (_name, a) => {
    expect(['critical', 'warning']).toContain(a.labels?.severity);
    expect(a.annotations?.summary?.length).toBeGreaterThan(10);
    expect(a.annotations?.description?.length).toBeGreaterThan(20);
    const anchor = /^docs\/operations\.md#([\w-]+)$/.exec(a.annotations?.runbook_url ?? '')?.[1];
    expect(anchor).toBe(a.alert!.toLowerCase());
    expect(anchors).toContain(anchor);
  });

  test.each(alerts.map((a) => [a.alert!] as const))('%s: a unit test makes it fire, and its text names the batch, phase or way in it is about', (name) => {
    const firing = cases.filter((c) => c.alertname === name && (c.exp_alerts?.length ?? 0) > 0);
    expect(firing.length).toBeGreaterThan(0);
    const text = `${alerts.find((a) => a.alert === name)!.annotations!.summary} ${alerts.find((a) => a.alert === name)!.annotations!.description}`;
    for (const label of new Set(firing.flatMap((c) => c.exp_alerts!.flatMap((e) => Object.keys(e.exp_labels ?? {}))))) {
      if (['batch_id', 'phase', 'via', 'instance'].includes(label)) expect(text).toContain(`$labels.${label}`);
    }
  });
});
