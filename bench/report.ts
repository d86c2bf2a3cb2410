/** The bench's tables (Markdown): every figure beside its baseline from the same run. */
import type { GeneratedDump } from './generate';
import type { Rate } from './baselines';

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
}

const MB = 1e6;
const mbps = (bytes: number, s: number) => `${(bytes / MB / s).toFixed(1)} MB/s`;
const perSec = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en-US')}/s`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function printReport(r: Report): void {
  const { dump, baselines: b } = r;
  const size = `${(dump.bytes / MB).toFixed(1)} MB`;
  const verdict = r.workerPeak < r.targetMb ? 'under target' : 'OVER target';
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
  ]);
  const phases = table(['phase', 'status', 'entries', 'seconds', 'worker peak RSS while running'], r.phases.map((p) => [
    p.name, p.status, `${p.done}/${p.total}`, p.seconds === null ? '' : p.seconds.toFixed(1), r.peakByPhase.has(p.name) ? `${r.peakByPhase.get(p.name)!.toFixed(0)} MB` : '',
  ]));
  const other = [...r.peakByPhase.entries()].filter(([k]) => !r.phases.some((p) => p.name === k)).map(([k, v]) => `${k}: ${v.toFixed(0)} MB`).join('; ');
  process.stdout.write(`\n${main}\n\n${phases}\n\nworker measured: ${r.workerProc}${other ? `\nworker RSS outside phases: ${other}` : ''}\n`);
}
