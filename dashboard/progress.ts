/**
 * Rows per second and ETA of a batch, from its migration_phases rows alone (no Redis, no extra state), so
 * the list endpoint, the status endpoint and the live streams all agree.
 *
 * The unit of work is a source entry ("row" of the dump): ingest stages every entry once, then exactly one
 * entry phase settles it (each mapped kind belongs to one phase; `preserve` settles whatever is left). So a
 * batch's work is 2 × entries:
 *   done = ingest.done + settled, where settled = preserve.done once preserve has started (it counts every
 *          entry no longer pending), else the sum of the mapped phases' done (their kinds are disjoint);
 *   rate = done ÷ seconds the phases actually ran (queue waits between phases and time spent failed are
 *          not counted, so a batch retried a day later does not look slow);
 *   eta  = (2 × entries − done) ÷ rate, only while the batch is running.
 */

export interface PhaseLike {
  name: string;
  status: string;
  done: number;
  total: number;
  startedAt: string | Date | null;
  finishedAt: string | Date | null;
}

export interface BatchProgress {
  /** 0..1 share of the batch's work done. */
  fraction: number;
  /** Source entries processed per second of phase run time; null before anything ran. */
  rowsPerSecond: number | null;
  /** Seconds left at the current rate; null unless running with a measurable rate. */
  etaSeconds: number | null;
  /** The phase running now, if any. */
  currentPhase: string | null;
}

const NOT_ENTRY_PHASES = new Set(['ingest', 'preserve', 'prune', 'verify']);

const ms = (v: string | Date | null): number | null => (v === null || v === undefined ? null : new Date(v).getTime());

export function batchProgress(batch: { status: string; entryCount: number }, phases: PhaseLike[] | null, now = Date.now()): BatchProgress {
  const list = phases ?? [];
  const ingest = list.find((p) => p.name === 'ingest');
  const preserve = list.find((p) => p.name === 'preserve');
  const settled =
    preserve && preserve.status !== 'pending'
      ? preserve.done
      : list.filter((p) => !NOT_ENTRY_PHASES.has(p.name)).reduce((s, p) => s + (p.done ?? 0), 0);
  const total = 2 * Math.max(batch.entryCount, 0);
  const done = Math.min((ingest?.done ?? 0) + settled, total);
  let runSeconds = 0;
  for (const p of list) {
    const start = ms(p.startedAt);
    if (start === null) continue;
    // A failed or pending phase has no finish time: its span is unknown, so it adds nothing.
    const end = ms(p.finishedAt) ?? (p.status === 'running' ? now : null);
    if (end !== null && end > start) runSeconds += (end - start) / 1000;
  }
  const rate = runSeconds > 0 && done > 0 ? done / runSeconds : null;
  const running = batch.status === 'running';
  const finished = batch.status === 'completed' || batch.status === 'needs_attention';
  return {
    fraction: finished ? 1 : total === 0 ? 0 : done / total,
    rowsPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
    etaSeconds: running && rate ? Math.max(0, Math.round((total - done) / rate)) : null,
    currentPhase: list.find((p) => p.status === 'running')?.name ?? null,
  };
}
