/** GET /v1/batches/:id — status, phases with progress, counts and the report summary. */
import type { Request, Response } from 'express';
import type { DataSource } from 'typeorm';
import type { MigrationBatch } from '../../entities';
import { batchProgress } from '../../dashboard/progress';
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
 * What the batch actually changed, per table, from its journal: rows inserted, updated and deleted (a
 * delta's prune). Rows it found already as they should be are not journaled, so a delta that changes one
 * item counts one update, however many rows its state holds.
 */
export async function rowChanges(ds: DataSource, batchId: string): Promise<Record<string, { inserted: number; updated: number; deleted: number }>> {
  const rows: { table: string; op: string; n: number }[] = await ds.query(
    `SELECT table_name AS "table", op, count(DISTINCT row_id)::int AS n FROM row_journal WHERE batch_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
    [batchId],
  );
  const out: Record<string, { inserted: number; updated: number; deleted: number }> = {};
  for (const r of rows) {
    out[r.table] ??= { inserted: 0, updated: 0, deleted: 0 };
    out[r.table][r.op === 'insert' ? 'inserted' : r.op === 'update' ? 'updated' : 'deleted'] = r.n;
  }
  return out;
}

export async function batchView(ds: DataSource, batch: MigrationBatch) {
  const phases = await ds.query(
    `SELECT name, status, total, done, rejected, attempts, error, started_at AS "startedAt", finished_at AS "finishedAt"
     FROM migration_phases WHERE batch_id = $1 ORDER BY position`,
    [batch.id],
  );
  const counts = { entries: batch.entryCount, ...(await entryCounts(ds, batch.id)) };
  const rows = await ds.query(`SELECT table_name AS "table", count(*)::int AS rows FROM batch_rows WHERE batch_id = $1 GROUP BY 1 ORDER BY 1`, [batch.id]);
  const deltas: { id: string }[] = await ds.query(`SELECT id FROM migration_batches WHERE base_batch_id = $1 ORDER BY created_at`, [batch.id]);
  return {
    id: batch.id,
    userId: batch.userId,
    status: batch.status,
    kind: batch.kind,
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
      rows: Object.fromEntries(rows.map((r: { table: string; rows: number }) => [r.table, r.rows])),
      changes: await rowChanges(ds, batch.id),
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
