/**
 * The Grafana board and the `monitoring` compose profile fit together: the dashboard JSON is well formed
 * and queries the provisioned datasource, the provisioning points where compose mounts the files, and
 * Prometheus scrapes the services and ports the app really uses. Which metric names panels may use is
 * checked against a live scrape in exported.test.ts. When a compose CLI is installed (`docker compose`,
 * or Debian's `docker-compose`), `--profile monitoring config` must validate too; without one that part
 * skips and says so: the structure checks here still run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../core/config';
import { ROOT } from './promql';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const yaml = (p: string) => parse(read(p), { merge: true }); // compose uses `<<:` merge keys

interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string }; targets?: { refId: string; expr: string; datasource?: { uid: string } }[] }
const board = JSON.parse(read('monitoring/grafana/dashboards/migrations.json')) as { uid: string; title: string; panels: Panel[] };
const datasource = yaml('monitoring/grafana/provisioning/datasources/prometheus.yml').datasources[0];
const compose = yaml('docker-compose.yml');

test('the dashboard: unique ids, on the grid without overlaps, every query on the provisioned datasource', () => {
  expect(board.uid).toBe('bsm-migrations');
  const ids = board.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  const cells = new Set<string>();
  for (const p of board.panels) {
    const { x, y, w, h } = p.gridPos;
    expect(x + w).toBeLessThanOrEqual(24);
    for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
      expect(cells.has(`${i},${j}`) ? `${p.title} overlaps at ${i},${j}` : '').toBe('');
      cells.add(`${i},${j}`);
    }
    if (p.type === 'row') continue;
    expect(p.datasource?.uid).toBe(datasource.uid);
    expect(p.targets?.length).toBeGreaterThan(0);
    for (const t of p.targets!) {
      expect(t.expr.trim()).not.toBe('');
      expect(t.datasource?.uid).toBe(datasource.uid);
    }
  }
});

test('the board shows what operators asked for', () => {
  const exprs = board.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
  for (const series of ['bsm_batch_outcomes_total', 'bsm_rows_written_total', 'bsm_job_duration_seconds_bucket', 'bsm:migration_backlog:max',
    'bsm_rejects_total', 'bsm_upload_bytes_total', 'bsm:http_request_duration_seconds:p95_5m', 'bsm_nodejs_eventloop_lag_p99_seconds']) {
    expect(exprs).toContain(series);
  }
});

test('provisioning points at what compose mounts, and the datasource at the compose Prometheus', () => {
  const grafana = compose.services.grafana;
  const mounts = new Map<string, string>((grafana.volumes as string[]).map((v) => [v.split(':')[1], v.split(':')[0]]));
  expect(mounts.get('/etc/grafana/provisioning')).toBe('./monitoring/grafana/provisioning');
  const provider = yaml('monitoring/grafana/provisioning/dashboards/bsm.yml').providers[0];
  expect(mounts.get(provider.options.path)).toBe('./monitoring/grafana/dashboards');
  expect(datasource.url).toBe('http://prometheus:9090');
  expect(grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${provider.options.path}/migrations.json`);
});

test('the monitoring profile: Prometheus loads the rules and scrapes the API and every worker on their ports', () => {
  for (const name of ['prometheus', 'grafana']) expect(compose.services[name].profiles).toEqual(['monitoring']);
  for (const name of ['api', 'worker', 'postgres']) expect(compose.services[name].profiles).toBeUndefined();
  const prometheus = compose.services.prometheus;
  expect(prometheus.volumes).toContain('./monitoring/prometheus:/etc/prometheus:ro');
  expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
  const config = yaml('monitoring/prometheus/prometheus.yml');
  for (const f of config.rule_files as string[]) expect(existsSync(join(ROOT, 'monitoring/prometheus', f))).toBe(true);
  const jobs = new Map<string, { static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }>(
    config.scrape_configs.map((j: { job_name: string }) => [j.job_name, j]),
  );
  // Every replica of each (docker compose up --scale api=N --scale worker=M), found by Docker's DNS.
  const api = jobs.get('bsm-api')!.dns_sd_configs![0];
  expect(api.names).toEqual(['api']);
  expect(api.port).toBe(Number(compose.services.api.environment.PORT));
  expect(compose.services.api.ports).toEqual(['${API_PORTS:-3000}:3000']);
  const workers = jobs.get('bsm-worker')!.dns_sd_configs![0];
  expect(workers.names).toEqual(['worker']);
  expect(workers.port).toBe(loadConfig({}).WORKER_METRICS_PORT); // the worker service leaves it at its default
  expect(compose.services.worker.environment.WORKER_METRICS_PORT).toBeUndefined();
});

const cli = [['docker', 'compose'], ['docker-compose']].find(([cmd, ...args]) => spawnSync(cmd, [...args, 'version'], { encoding: 'utf8' }).status === 0);
if (!cli) process.stderr.write('test/monitoring/grafana.test.ts: no compose CLI (docker compose / docker-compose): `config` validation SKIPPED, structure checked above\n');

(cli ? test : test.skip)(`${cli?.join(' ') ?? 'docker compose'} --profile monitoring config validates`, () => {
  const [cmd, ...args] = cli!;
  const r = spawnSync(cmd, [...args, '--profile', 'monitoring', 'config', '-q'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cli!.join(' ')} config failed:\n${r.stdout}${r.stderr}`);
});
