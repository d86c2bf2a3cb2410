/** GET /v1/batches/:id — status, phases with progress, counts and the report summary. */
import type { Request, Response } from 'express';
import type { DataSource } from 'typeorm';
import type { MigrationBatch } from '../../entities';
import { batchProgress } from '../../dashboard/progress';
import { rowChanges, type RowChanges } from '../../jobs/write/rowChanges';
import type { ApiDeps } from '../context';

export async function entryCounts(ds: DataSource, batchId: string) {
  const [c] = await ds.query(
    `SELECT count(*)::int AS staged,
            count(*) FILTER (WHERE outcome = 'migrated')::int AS migrated,
            count(*) FILTER (WHERE outcome = 'preserved')::int AS preserved,
            count(*) FILTER (WHERE outcome = 'rejected')::int AS rejected,
            count(*) FILTER (WHERE outcome = 'pending')::int AS pending,
            (SELECT count(*)::int FROM batch_rejects r WHERE r.batch_id = $1) AS "rejectedElements"
     FROM dump_entries WHERE batch_id = $1`,
    [batchId],
  );
  return c as { staged: number; migrated: number; preserved: number; rejected: number; pending: number; rejectedElements: number };
}

type RowCounts = { rows: Record<string, number>; changes: RowChanges };

async function countRowsLive(ds: DataSource, batchId: string): Promise<RowCounts> {
  const rows: { table: string; rows: number }[] = await ds.query(`SELECT table_name AS "table", count(*)::int AS rows FROM batch_rows WHERE batch_id = $1 GROUP BY 1 ORDER BY 1`, [batchId]);
  return { rows: Object.fromEntries(rows.map((r) => [r.table, r.rows])), changes: await rowChanges(ds, batchId) };
}

/** How old live counts of a batch in flight may be when a poll reads them, at least… */
export const LIVE_COUNTS_MAX_AGE_MS = 1000;
/**
 * …and at most: a count that takes long (its journal is large) is refreshed less often, at most once per
 * LIVE_COUNTS_COST_FACTOR times its own duration, so polls of a big batch spend under 5 % of one Postgres
 * backend on counting instead of racing the batch's own writes for the cores (200,000 rows: ~0.15 s a count).
 */
export const LIVE_COUNTS_COST_FACTOR = 20;
export const LIVE_COUNTS_MAX_STALE_MS = 10_000;
interface LiveEntry { at: number; costMs: number; value?: RowCounts; refreshing?: Promise<RowCounts> }
const live = new Map<string, LiveEntry>();

/** How old the counts may get before a poll starts the next count. */
export function liveCountsMaxAge(lastCountMs: number): number {
  return Math.min(LIVE_COUNTS_MAX_STALE_MS, Math.max(LIVE_COUNTS_MAX_AGE_MS, LIVE_COUNTS_COST_FACTOR * lastCountMs));
}

/**
 * Live counts of a batch still in flight, stale-while-revalidate: counting its journal costs ~0.2 s per 100k
 * rows, and a worker is writing it, so a status poll answers from the last count (at most
 * liveCountsMaxAge old, `asOf` says when) and starts the next one without waiting for it; concurrent
 * polls share one count. Only a batch's first poll in this process waits for its count.
 */
async function liveRowCounts(ds: DataSource, batch: MigrationBatch): Promise<RowCounts & { asOf: string }> {
  const now = Date.now();
  if (live.size > 200) for (const [id, e] of live) if (!e.refreshing && now - e.at > 60_000) live.delete(id);
  // A status change (rolled back, retried…) never reads counts taken before it.
  const key = `${batch.id}:${batch.status}:${batch.finishedAt?.getTime() ?? ''}`;
  let e = live.get(key);
  if (!e) live.set(key, (e = { at: 0, costMs: 0 }));
  const entry = e;
  if (!entry.refreshing && now - entry.at > liveCountsMaxAge(entry.costMs)) {
    const started = now;
    entry.refreshing = countRowsLive(ds, batch.id)
      .then((v) => { entry.value = v; entry.at = started; entry.costMs = Date.now() - started; return v; })
      .finally(() => { entry.refreshing = undefined; });
    // A failed refresh with an earlier count in hand is retried by the next poll; without one, the poll fails.
    if (entry.value) entry.refreshing.catch(() => undefined);
  }
  const value = entry.value ?? (await entry.refreshing!);
  return { ...value, asOf: new Date(entry.at).toISOString() };
}

/**
 * Rows per table the batch meant to have, and what it changed. A verified, finished batch answers from its
 * stored verification (exact, and cheap however large the batch); any other one from live counts that may be
 * up to liveCountsMaxAge old (`asOf`), or counted now with `fresh`.
 */
export async function batchRowCounts(ds: DataSource, batch: MigrationBatch, opts: { fresh?: boolean } = {}): Promise<RowCounts & { asOf: string | null }> {
  const v = batch.verification as { tables: Record<string, { expected: number }>; changes?: RowChanges } | null;
  if (v?.changes && (batch.status === 'completed' || batch.status === 'needs_attention')) {
    return { rows: Object.fromEntries(Object.entries(v.tables).map(([t, c]) => [t, c.expected])), changes: v.changes, asOf: null };
  }
  if (opts.fresh) return { ...(await countRowsLive(ds, batch.id)), asOf: new Date().toISOString() };
  return liveRowCounts(ds, batch);
}

export async function batchView(ds: DataSource, batch: MigrationBatch) {
  const phases = await ds.query(
    `SELECT name, status, total, done, rejected, attempts, error, started_at AS "startedAt", finished_at AS "finishedAt"
     FROM migration_phases WHERE batch_id = $1 ORDER BY position`,
    [batch.id],
  );
  const counts = { entries: batch.entryCount, ...(await entryCounts(ds, batch.id)) };
  const { rows, changes, asOf } = await batchRowCounts(ds, batch);
  const deltas: { id: string }[] = await ds.query(`SELECT id FROM migration_batches WHERE base_batch_id = $1 ORDER BY created_at`, [batch.id]);
  return {
    id: batch.id,
    userId: batch.userId,
    status: batch.status,
    kind: batch.kind,
    /** How its dump maps to tables (jobs/layouts.ts); its phases are this layout's. */
    layout: batch.layout,
    /** A delta's base (docs/cutover.md), and the deltas that follow this batch. */
    baseBatchId: batch.baseBatchId,
    rootBatchId: batch.rootBatchId,
    followedBy: deltas.map((d) => d.id),
    createdAt: batch.createdAt,
    startedAt: batch.startedAt,
    finishedAt: batch.finishedAt,
    dump: { sha256: batch.dumpSha256, bytes: Number(batch.dumpBytes), encoding: batch.encoding, source: batch.source },
    error: batch.error,
    phases,
    /** Rows per second and ETA while running (dashboard/progress.ts). */
    progress: batchProgress(batch, phases),
    counts,
    report: {
      balanced: counts.migrated + counts.preserved + counts.rejected === counts.entries && counts.pending === 0,
      rows,
      changes,
      /** null: exact, from the verification; else when the live counts above were taken. */
      rowsAsOf: asOf,
      notes: batch.notes,
      verification: batch.verification,
      url: `/v1/batches/${batch.id}/report`,
    },
  };
}

export function getBatch(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    res.json(await batchView(deps.ds, res.locals.batch as MigrationBatch));
  };
}
