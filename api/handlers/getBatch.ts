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

/**
 * Rows per table the batch meant to have, and what it changed. A verified, finished batch answers from its
 * stored verification (status polls must stay cheap however large the batch: counting a 100k-row journal
 * takes ~0.2 s); a running or rolled-back one counts live.
 */
export async function batchRowCounts(ds: DataSource, batch: MigrationBatch): Promise<{ rows: Record<string, number>; changes: RowChanges }> {
  const v = batch.verification as { tables: Record<string, { expected: number }>; changes?: RowChanges } | null;
  if (v?.changes && (batch.status === 'completed' || batch.status === 'needs_attention')) {
    return { rows: Object.fromEntries(Object.entries(v.tables).map(([t, c]) => [t, c.expected])), changes: v.changes };
  }
  const rows: { table: string; rows: number }[] = await ds.query(`SELECT table_name AS "table", count(*)::int AS rows FROM batch_rows WHERE batch_id = $1 GROUP BY 1 ORDER BY 1`, [batch.id]);
  return { rows: Object.fromEntries(rows.map((r) => [r.table, r.rows])), changes: await rowChanges(ds, batch.id) };
}

export async function batchView(ds: DataSource, batch: MigrationBatch) {
  const phases = await ds.query(
    `SELECT name, status, total, done, rejected, attempts, error, started_at AS "startedAt", finished_at AS "finishedAt"
     FROM migration_phases WHERE batch_id = $1 ORDER BY position`,
    [batch.id],
  );
  const counts = { entries: batch.entryCount, ...(await entryCounts(ds, batch.id)) };
  const { rows, changes } = await batchRowCounts(ds, batch);
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
