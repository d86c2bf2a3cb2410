/**
 * npm start's /metrics merges the worker child's registry (sent as JSON over IPC) into the API's: one valid
 * exposition — one HELP/TYPE per family, counters summed, timestamps max'd, the child's Node defaults left out.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { metricsExposition, setChildMetricsSource } from '../../core/childMetrics';
import { registry, rowsWritten, workerLastAlive } from '../../core/metrics';

afterEach(() => setChildMetricsSource(null));

test('the child families are merged into one valid exposition', async () => {
  // The child: its own registry with the same families, as worker/main.ts has them.
  const child = new Registry();
  collectDefaultMetrics({ register: child, prefix: 'bsm_' });
  new Counter({ name: 'bsm_rows_written_total', help: 'h', labelNames: ['table'], registers: [child] }).inc({ table: 'content_items_merge_test' }, 5);
  new Gauge({ name: 'bsm_worker_last_alive_timestamp_seconds', help: 'h', aggregator: 'max', registers: [child] }).set(1234);
  new Gauge({ name: 'bsm_only_in_child_test', help: 'h', registers: [child] }).set(7);
  rowsWritten.inc({ table: 'content_items_merge_test' }, 2);
  workerLastAlive.set(0);
  setChildMetricsSource(async () => JSON.parse(JSON.stringify(await child.getMetricsAsJSON())));

  const text = await metricsExposition();
  const types = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  expect(types.length).toBe(new Set(types).size); // no family twice
  expect(types).toEqual(expect.arrayContaining(['bsm_process_start_time_seconds', 'bsm_nodejs_eventloop_lag_seconds']));
  expect(text).toContain('bsm_rows_written_total{table="content_items_merge_test"} 7');
  expect(text).toMatch(/^bsm_worker_last_alive_timestamp_seconds 1234$/m);
  expect(text).toMatch(/^bsm_only_in_child_test 7$/m);
  // The Node defaults are the API process's own, not a sum over both.
  const own = await registry.getSingleMetricAsString('bsm_process_start_time_seconds');
  expect(text).toContain(own.split('\n').find((l) => l.startsWith('bsm_process_start_time_seconds '))!);
});

test('a child that does not answer leaves the API its own series', async () => {
  setChildMetricsSource(async () => null);
  const families = (t: string) => [...t.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  // Same families as the registry alone (values such as CPU time move between two reads).
  expect(families(await metricsExposition())).toEqual(families(await registry.metrics()));
});
