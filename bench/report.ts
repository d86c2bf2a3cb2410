/** The bench's tables (Markdown): every figure beside its baseline from the same run. */
import type { GeneratedDump } from './generate';
import type { Rate } from './baselines';
import type { LoadStats } from './load';
import type { CpuPerRequest, ReadPathResult } from './readPath';

export interface Report {
  dump: GeneratedDump;
  status: string;
  totalSeconds: number;
  uploadSeconds: number;
  verifyMs: number;
  migrationSeconds: number;
  phases: { name: string; status: string; total: number; done: number; seconds: number | null }[];
  workerPeak: number;
  apiPeak: number;
  targetMb: number;
  peakByPhase: Map<string, number>;
  workerProc: string;
  baselines: Record<'ndjson' | 'sha256' | 'insert', Rate>;
  /** /healthz answer times (ms) while the batch ran, probed every ~100 ms. */
  healthz: number[];
  /** The read path's figures, when it ran in the same invocation. */
  readPath?: ReadPathResult;
}

const MB = 1e6;
const mbps = (bytes: number, s: number) => `${(bytes / MB / s).toFixed(1)} MB/s`;
const perSec = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en-US')}/s`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function healthzFigure(ms: number[]): string {
  if (ms.length === 0) return 'no probe';
  const sorted = [...ms].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
  return `p99 ${p99.toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms (${ms.length} probes)`;
}

export function printReport(r: Report): void {
  const { dump, baselines: b } = r;
  const size = `${(dump.bytes / MB).toFixed(1)} MB`;
  const verdict = r.workerPeak < r.targetMb ? 'under target' : 'OVER target';
  const read = r.readPath ? readPathRows(r.readPath) : null;
  const main = table(['figure', 'this run', 'baseline (same run)'], [
    ['dump size', size, `${dump.websites.toLocaleString('en-US')} websites, largest entry ${(dump.largestEntry / 1024).toFixed(1)} KiB`],
    ['entries', dump.entries.toLocaleString('en-US'), ''],
    ['batch status', r.status, ''],
    ['total time (upload start → batch finished)', `${r.totalSeconds.toFixed(1)} s`, ''],
    ['end to end', `${perSec(dump.entries, r.totalSeconds)} entries, ${mbps(dump.bytes, r.totalSeconds)}`, ''],
    ['upload through tus (incl. digest + validation)', `${r.uploadSeconds.toFixed(1)} s, ${mbps(dump.bytes, r.uploadSeconds)}`, `file read + sha256: ${mbps(dump.bytes, b.sha256.seconds)}`],
    ['final PATCH: digest + validate the stored dump', `${(r.verifyMs / 1000).toFixed(1)} s`, `format/ NDJSON read alone: ${b.ndjson.seconds.toFixed(1)} s`],
    ['migration (batch created → finished)', `${r.migrationSeconds.toFixed(1)} s, ${perSec(dump.entries, r.migrationSeconds)} entries, ${mbps(dump.bytes, r.migrationSeconds)}`,
      `format/ NDJSON read: ${perSec(b.ndjson.items, b.ndjson.seconds)} entries, ${mbps(b.ndjson.bytes, b.ndjson.seconds)}`],
    ['', '', `pg multi-row INSERT (1000 rows/stmt, ~500 B rows): ${perSec(b.insert.items, b.insert.seconds)} rows, ${mbps(b.insert.bytes, b.insert.seconds)}`],
    ['worker peak RSS (VmHWM)', `${r.workerPeak.toFixed(0)} MB (${verdict})`, `target < ${r.targetMb} MB; dump ${size}`],
    ['API peak RSS (VmHWM)', `${r.apiPeak.toFixed(0)} MB`, ''],
    ['API /healthz while the batch runs', healthzFigure(r.healthz), 'target: p99 < 100 ms'],
    ...(read?.rows ?? []),
  ]);
  const phases = table(['phase', 'status', 'entries', 'seconds', 'worker peak RSS while running'], r.phases.map((p) => [
    p.name, p.status, `${p.done}/${p.total}`, p.seconds === null ? '' : p.seconds.toFixed(1), r.peakByPhase.has(p.name) ? `${r.peakByPhase.get(p.name)!.toFixed(0)} MB` : '',
  ]));
  const other = [...r.peakByPhase.entries()].filter(([k]) => !r.phases.some((p) => p.name === k)).map(([k, v]) => `${k}: ${v.toFixed(0)} MB`).join('; ');
  process.stdout.write(`\n${main}\n\n${phases}\n\nworker measured: ${r.workerProc}${other ? `\nworker RSS outside phases: ${other}` : ''}${read ? `\nread-path targets: ${read.meets ? 'all met' : 'NOT all met'}` : ''}\n`);
}

// ---- read path (bench/readPath.ts) ----

/** Targets of the read path: API p95 latency, and API throughput against the same SQL straight through pg. */
export const READ_TARGETS = { p95Ms: 20, minRatio: 0.5 };

const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const rate = (v: number) => `${Math.round(v).toLocaleString('en-US')} req/s`;
const lat = (s: LoadStats) => `p50 ${ms(s.p50)} / p95 ${ms(s.p95)} / p99 ${ms(s.p99)} ms, ${rate(s.rps)}`;
const failed = (s: LoadStats) => (s.failures ? `; **${s.failures} failed** (${s.failureNote})` : '');
const cpu = (c: CpuPerRequest, appName: string, client: string) =>
  [c.app === null ? null : `${appName} ${ms(c.app)}`, `Postgres ${ms(c.postgres)}`, `${client} ${ms(c.client)}`].filter(Boolean).join(' + ') + ' ms';

/** The read path's rows, in the main table's columns (figure, this run, baseline); `meets` is false when a target is missed. */
export function readPathRows(r: ReadPathResult): { rows: string[][]; meets: boolean } {
  const s = r.settings;
  let meets = true;
  const rows: string[][] = [[
    'read path: data',
    `${s.items.toLocaleString('en-US')} content items (data ~${Math.round(r.bytes.data)} B, row JSON ~${Math.round(r.bytes.row)} B) in ${s.types} content types, 1 website`,
    `+ ${s.otherWebsites} other users' websites, ${s.items.toLocaleString('en-US')} items between them; seeded in ${r.seedSeconds.toFixed(1)} s, cursors walked in ${r.walkSeconds.toFixed(1)} s`,
  ]];
  for (const sc of r.scenarios) {
    const ratio = sc.api.rps / sc.pg.rps;
    const p95ok = sc.api.p95 < READ_TARGETS.p95Ms;
    const ratioOk = ratio >= READ_TARGETS.minRatio;
    meets &&= p95ok && ratioOk && !sc.api.failures && !sc.pg.failures;
    rows.push([
      `read: ${sc.name} — API (\`${sc.path}\`, autocannon, ${s.connections} connections, ${s.seconds} s in ${s.rounds} rounds alternating with pg)`,
      `${lat(sc.api)}${failed(sc.api)}; p95 < ${READ_TARGETS.p95Ms} ms: ${p95ok ? 'met' : '**MISSED**'}; ${ratio.toFixed(2)}× pg (target ≥ ${READ_TARGETS.minRatio}×): ${ratioOk ? 'met' : '**MISSED**'}`,
      `same SQL straight through pg (Pool of ${s.connections}, ${s.connections} loops): ${lat(sc.pg)}${failed(sc.pg)}`,
    ]);
    rows.push(['  CPU per request', cpu(sc.apiCpu, 'API', 'autocannon'), cpu(sc.pgCpu, '', 'pg client')]);
    if (sc.serial) rows.push([`  unloaded: 1 connection, ${s.serialSeconds} s`, `${lat(sc.serial.api)}${failed(sc.serial.api)}`, `pg, 1 loop: ${lat(sc.serial.pg)}${failed(sc.serial.pg)}`]);
  }
  rows.push(['read path: API peak RSS (VmHWM)', `${r.apiPeakMb.toFixed(0)} MB`, '']);
  return { rows, meets };
}

export function printReadPath(r: ReadPathResult): boolean {
  const { rows, meets } = readPathRows(r);
  process.stdout.write(`\n${table(['figure', 'this run', 'baseline (same run)'], rows)}\n\nread-path targets: ${meets ? 'all met' : 'NOT all met'}\n`);
  return meets;
}
