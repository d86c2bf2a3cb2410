/**
 * What a batch actually changed, per table, read back from its journal: rows inserted, updated and deleted
 * (a delta's prune). Rows it found already as they should be are not journaled, so a delta that changes one
 * item counts one update, however many rows its state holds. A count over the whole journal of the batch
 * (a sort of every row id: ~0.2 s per 100k rows), so verify stores it with the verification and status
 * polls of a finished batch read it from there.
 */
import type { DataSource, EntityManager } from 'typeorm';

export type RowChanges = Record<string, { inserted: number; updated: number; deleted: number }>;

export async function rowChanges(db: DataSource | EntityManager, batchId: string): Promise<RowChanges> {
  const rows: { table: string; op: string; n: number }[] = await db.query(
    `SELECT table_name AS "table", op, count(DISTINCT row_id)::int AS n FROM row_journal WHERE batch_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
    [batchId],
  );
  const out: RowChanges = {};
  for (const r of rows) {
    out[r.table] ??= { inserted: 0, updated: 0, deleted: 0 };
    out[r.table][r.op === 'insert' ? 'inserted' : r.op === 'update' ? 'updated' : 'deleted'] = r.n;
  }
  return out;
}
