/**
 * Exact rollback from the before-image journal. For each batch, in one transaction: rows whose first
 * journal entry in the batch is an update get that before-image back (parents first), rows the batch
 * inserted are deleted (children first); then its journal and expectations are dropped, so the batch can
 * be applied again as a new run. Batches are undone newest first.
 *
 * A batch whose rows a later, still-applied batch changed (or built on: rows referencing rows it inserted)
 * cannot be rolled back alone: planRollback names those batches, and `force` takes them along.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { writeResult } from '../core/db';
import { ApiChangesError, findApiChanges, markApiWritesDiscarded, type ApiChanges } from './apiChanges';
import { layoutFor } from './layouts';
import { writeOrder } from './transforms/layout';
import { ACTIVE, type BatchStatus, transition } from './lifecycle';
import { RUN_DERIVED_NOTES } from './phases/entryPhase';
import { tableSpec } from './write/tableSpec';
import { lockUserRows } from './write/userLock';

export interface RollbackPlan {
  /** Batches to undo, newest first (the requested one last). */
  order: string[];
  /** Later batches that block a plain rollback. */
  conflicts: string[];
}

export async function planRollback(ds: DataSource | EntityManager, batchId: string, force: boolean): Promise<RollbackPlan> {
  const set = [batchId];
  const conflicts: string[] = [];
  for (let i = 0; i < set.length; i++) {
    const blockers = await blockersOf(ds, set[i], set);
    for (const b of blockers) {
      if (set.includes(b)) continue;
      conflicts.push(b);
      if (force) set.push(b);
    }
    if (!force) break;
  }
  const rows: { id: string }[] = await ds.query(
    `SELECT id FROM migration_batches WHERE id = ANY($1::uuid[]) ORDER BY created_at DESC, id DESC`,
    [set],
  );
  return { order: rows.map((r) => r.id), conflicts: [...new Set(conflicts)] };
}

/**
 * Batches other than `exclude`, still applied, that depend on what this batch wrote:
 *  - they changed one of its rows later (their journal follows its journal on the same row);
 *  - they ran later and expect one of its rows as it is (their batch_rows: a row they found unchanged is
 *    not journaled, but undoing this batch would still change or delete it under them);
 *  - they own rows referencing rows this batch inserted (deleting those would cascade).
 */
async function blockersOf(db: DataSource | EntityManager, batchId: string, exclude: string[]): Promise<string[]> {
  const overlap: { batch_id: string }[] = await db.query(
    `SELECT DISTINCT j2.batch_id FROM row_journal j1
     JOIN row_journal j2 ON j2.table_name = j1.table_name AND j2.row_id = j1.row_id AND j2.seq > j1.seq
     JOIN migration_batches b ON b.id = j2.batch_id
     WHERE j1.batch_id = $1 AND NOT (j2.batch_id = ANY($2::uuid[])) AND b.status <> 'rolled_back'
     UNION
     SELECT DISTINCT br.batch_id FROM row_journal j
     JOIN batch_rows br ON br.table_name = j.table_name AND br.row_id = j.row_id
     JOIN migration_batches b ON b.id = br.batch_id
     JOIN migration_batches me ON me.id = j.batch_id
     WHERE j.batch_id = $1 AND NOT (br.batch_id = ANY($2::uuid[])) AND b.status <> 'rolled_back'
       AND coalesce(b.started_at, b.created_at) > coalesce(me.started_at, me.created_at)`,
    [batchId, exclude],
  );
  const found = new Set(overlap.map((r) => r.batch_id));
  const ds = 'connection' in db ? db.connection : db;
  // Only parents the batch inserted rows into can have dependents: one pass over its journal instead of
  // two per foreign key of the schema.
  const inserted = new Set((await db.query(`SELECT DISTINCT table_name FROM row_journal WHERE batch_id = $1 AND op = 'insert'`, [batchId]) as { table_name: string }[]).map((r) => r.table_name));
  for (const meta of ds.entityMetadatas) {
    for (const rel of meta.manyToOneRelations) {
      if (!inserted.has(rel.inverseEntityMetadata.tableName)) continue;
      const fk = rel.joinColumns[0].databaseName;
      // Child rows another batch wrote last, and the batches that expect those rows as they are. A child
      // row a batch of `exclude` wrote last is left out of both: it is in that batch's own journal, whose
      // overlap check (above) finds who expects it. One written through the data API (batch_id null) is
      // kept for the second, which (as the overlap's) counts only batches that ran after this one: an earlier
      // batch expecting the child came before the parent this batch inserted. One pass over the children
      // (for Catalyst's 200,000 items of one website: one scan instead of two per foreign key).
      const dependents: { batch_id: string }[] = await db.query(
        `WITH kids AS MATERIALIZED (
           SELECT c.id, c.batch_id FROM row_journal j JOIN "${meta.tableName}" c ON c."${fk}" = j.row_id
           WHERE j.batch_id = $1 AND j.table_name = $2 AND j.op = 'insert'
             AND (c.batch_id IS NULL OR NOT (c.batch_id = ANY($3::uuid[]))))
         SELECT batch_id FROM kids WHERE batch_id IS NOT NULL
         UNION
         SELECT br.batch_id FROM kids JOIN batch_rows br ON br.table_name = '${meta.tableName}' AND br.row_id = kids.id
         JOIN migration_batches b ON b.id = br.batch_id
         JOIN migration_batches me ON me.id = $1
         WHERE NOT (br.batch_id = ANY($3::uuid[])) AND b.status <> 'rolled_back'
           AND coalesce(b.started_at, b.created_at) > coalesce(me.started_at, me.created_at)`,
        [batchId, rel.inverseEntityMetadata.tableName, exclude],
      );
      for (const d of dependents) found.add(d.batch_id);
    }
  }
  return [...found];
}

export interface UndoResult {
  tables: Record<string, { restored: number; deleted: number }>;
  /** Writes made through the data API that this undo discarded (only when forced; else it refuses). */
  apiChanges: ApiChanges;
}

/** A batch of the rollback's plan is running (or about to): it is never undone in the middle of a phase. */
export class BatchBusyError extends Error {
  constructor(readonly batches: { id: string; status: string }[]) {
    super(`batch ${batches.map((b) => `${b.id} is ${b.status}`).join(', ')}: a rollback never undoes a batch in the middle of a phase; roll back again when it has finished`);
    this.name = 'BatchBusyError';
  }
}

export interface UndoStep extends UndoResult {
  /** The batch undone by this step. */
  batchId: string;
  /** The plan as it was under the lock, newest first. */
  order: string[];
}

/**
 * One step of a rollback, in one transaction under the user's row lock (which every phase page and data-API
 * write takes too, so nothing of the user changes meanwhile): plans again — a batch that wrote over these
 * rows since the request is in the plan now —, refuses if a batch of the plan is received, queued or
 * running (BatchBusyError), claims the newest batch not yet undone (compare-and-set to rolling_back) and
 * undoes it. Returns null when every batch of the plan is rolled back. The claim and the undo commit
 * together: if the undo fails, the batch keeps the status it had.
 */
export async function undoNext(ds: DataSource, requestedId: string, lockTimeoutMs: number, force = false): Promise<UndoStep | null> {
  return ds.transaction(async (m) => {
    await m.query(`SET LOCAL lock_timeout = ${Number(lockTimeoutMs)}`);
    const [req] = await m.query(`SELECT user_id FROM migration_batches WHERE id = $1`, [requestedId]);
    if (!req) throw new Error(`batch ${requestedId} does not exist`);
    await lockUserRows(m, req.user_id);
    const plan = await planRollback(m, requestedId, force);
    if (plan.conflicts.length > 0 && !force) throw new Error(`later batches changed its rows meanwhile: ${plan.conflicts.join(', ')}`);
    const rows: { id: string; status: BatchStatus }[] = await m.query(
      `SELECT id, status FROM migration_batches WHERE id = ANY($1::uuid[]) ORDER BY created_at DESC, id DESC`, [plan.order]);
    const busy = rows.filter((r) => ACTIVE.includes(r.status));
    if (busy.length > 0) throw new BatchBusyError(busy);
    const next = rows.find((r) => r.status !== 'rolled_back');
    if (!next) return null;
    const claimed = await transition(m, next.id, {
      from: ['completed', 'needs_attention', 'failed', 'rolling_back'], to: 'rolling_back',
      // Recorded only when claimed here (a batch the request claimed has it already): what a failed job gives back.
      set: next.status === 'rolling_back' ? {} : { rememberStatus: true },
    });
    if (!claimed) throw new Error(`batch ${next.id} changed state meanwhile; it cannot be rolled back now`);
    const undone = await undoLocked(ds, m, next.id, req.user_id, force);
    return { batchId: next.id, order: plan.order, ...undone };
  });
}

/**
 * Undoes one batch (claimed rolling_back, under the user's row lock); returns rows restored and deleted per
 * table. Data-API writes to its rows are checked under that lock (which API writes take too), so none can
 * slip in between the check and the undo: without `force` they make it throw ApiChangesError; with it
 * they are returned, to be audited.
 */
async function undoLocked(ds: DataSource, m: EntityManager, batchId: string, userId: string, force: boolean): Promise<UndoResult> {
  const apiChanges = await findApiChanges(m, userId, [batchId], 200);
  if (apiChanges.count > 0 && !force) throw new ApiChangesError(apiChanges);
  const stats: Record<string, { restored: number; deleted: number }> = {};
  // The tables the batch's layout writes (only those can hold its journal), parents first.
  const [{ layout }] = await m.query(`SELECT layout FROM migration_batches WHERE id = $1`, [batchId]);
  const layoutTables = writeOrder(layoutFor(layout));
  const first = (table: string) =>
    `(SELECT DISTINCT ON (row_id) row_id, op, before FROM row_journal WHERE batch_id = $1 AND table_name = '${table}' ORDER BY row_id, seq)`;
  // The tables the batch journaled, in one pass: each statement below reads the batch's whole journal, so
  // running them for every table of the schema read it 2 × 16 times.
  const journaled = new Set((await m.query(`SELECT DISTINCT table_name FROM row_journal WHERE batch_id = $1`, [batchId]) as { table_name: string }[]).map((r) => r.table_name));
  const tables = layoutTables.filter((t) => journaled.has(t));
  for (const table of layoutTables) stats[table] = { restored: 0, deleted: 0 };
  for (const table of tables) {
    const spec = tableSpec(ds, table);
    const cols = spec.columns.filter((c) => c.column !== 'id').map((c) => `"${c.column}"`);
    // Rows the batch updated get their before-image back, and rows it deleted (a delta's prune) come
    // back from theirs, parents first. An upsert, not an UPDATE: under force, a row the API deleted since
    // comes back too, and one the API re-created is overwritten — the state before the batch, exactly.
    const res = await m.query(
      `INSERT INTO "${table}" SELECT r.* FROM ${first(table)} f, jsonb_populate_record(NULL::"${table}", f.before) r
       WHERE f.op IN ('update', 'delete')
       ON CONFLICT (id) DO UPDATE SET (${cols.join(', ')}) = (${cols.map((c) => `EXCLUDED.${c}`).join(', ')})`,
      [batchId],
    );
    stats[table] = { restored: writeResult(res).count, deleted: 0 };
  }
  for (const table of [...tables].reverse()) {
    const res = await m.query(`DELETE FROM "${table}" t USING ${first(table)} f WHERE f.op = 'insert' AND t.id = f.row_id`, [batchId]);
    stats[table].deleted = writeResult(res).count;
  }
  // The API writes this undo overwrote are settled: they no longer block rolling back older batches.
  if (apiChanges.count > 0) await markApiWritesDiscarded(m, userId, batchId);
  await m.query(`DELETE FROM row_journal WHERE batch_id = $1`, [batchId]);
  await m.query(`DELETE FROM batch_rows WHERE batch_id = $1`, [batchId]);
  await m.query(`UPDATE migration_phases SET status = 'rolled_back' WHERE batch_id = $1`, [batchId]);
  await m.query(`UPDATE migration_batches SET notes = notes - $2::text[] WHERE id = $1`, [batchId, RUN_DERIVED_NOTES]);
  // Claimed in this transaction (its row stays locked), so it is still rolling_back.
  const [{ at }] = await m.query(`SELECT to_jsonb(now()) #>> '{}' AS at`);
  const done = await transition(m, batchId, { from: ['rolling_back'], to: 'rolled_back', set: { finishedAt: 'now', notes: { rolledBackAt: at } } });
  if (!done) throw new Error(`batch ${batchId} was not claimed for rollback (rolling_back); nothing undone`);
  for (const k of Object.keys(stats)) if (stats[k].restored === 0 && stats[k].deleted === 0) delete stats[k];
  return { tables: stats, apiChanges };
}
