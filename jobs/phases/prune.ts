/**
 * The prune phase: a delta batch (docs/cutover.md) stages the whole new state (its base's entries with the
 * delta's changes applied), so a row its base meant to have and it does not is one the browser no longer
 * has — an item deleted, a key removed. Those rows are deleted, each journaled as `delete` with its
 * before-image (so a rollback puts it back), in one transaction under the user's row lock.
 *
 * Foreign keys cascade: deleting a content type deletes its items, whoever wrote them (an older chain, the
 * data API). So the set to delete is closed over ON DELETE CASCADE first (parents before children, in
 * the layout's writeOrder), and rows an ON DELETE SET NULL reference would change are journaled as updates; then
 * everything is deleted children first. Nothing the database removes goes unjournaled. Rows of the set
 * that were written through the API are named in the batch notes. A row the new state still references is
 * not pruned (keepReferencedRows): its delete would cascade into rows the delta just wrote.
 * A snapshot batch has nothing to prune.
 */
import type { EntityManager } from 'typeorm';
import type { PhaseRun } from './context';
import { writeOrder } from '../transforms/layout';
import { lockForBatchWrite } from '../write/userLock';
import { mergeNotes } from './applyResults';

export async function prune(run: PhaseRun): Promise<void> {
  const { batch, deps } = run;
  if (batch.kind !== 'delta' || !batch.baseBatchId) return run.progress(0, 0);
  const deleted: Record<string, number> = {};
  const tables = writeOrder(run.layout);
  let viaApi = 0;
  await deps.ds.transaction(async (m) => {
    await lockForBatchWrite(m, batch, deps.config.PHASE_LOCK_TIMEOUT_MS);
    // A retried prune starts over: its earlier attempt either committed whole (then nothing is left to
    // prune) or not at all.
    await m.query(`CREATE TEMP TABLE prune_set (table_name text, row_id uuid, PRIMARY KEY (table_name, row_id)) ON COMMIT DROP`);
    await m.query(
      `INSERT INTO prune_set SELECT b.table_name, b.row_id FROM batch_rows b
       WHERE b.batch_id = $2 AND NOT EXISTS (SELECT 1 FROM batch_rows n WHERE n.batch_id = $1 AND n.table_name = b.table_name AND n.row_id = b.row_id)`,
      [batch.id, batch.baseBatchId],
    );
    const kept = await keepReferencedRows(m, batch.id, tables);
    await closeOverForeignKeys(m, batch.id, batch.userId, tables);
    for (const table of [...tables].reverse()) {
      const [{ n, api }] = await m.query(
        `WITH journal AS (
           INSERT INTO row_journal (batch_id, phase, table_name, row_id, op, before)
           SELECT $1, 'prune', $2, t.id, 'delete', to_jsonb(t) FROM "${table}" t JOIN prune_set p ON p.table_name = $2 AND p.row_id = t.id
           WHERE t.user_id = $3
           RETURNING row_id, before),
         del AS (DELETE FROM "${table}" t USING journal j WHERE t.id = j.row_id RETURNING 1)
         SELECT (SELECT count(*)::int FROM del) AS n, (SELECT count(*)::int FROM journal WHERE before->>'batch_id' IS NULL) AS api`,
        [batch.id, table, batch.userId],
      );
      if (n > 0) deleted[table] = n;
      viaApi += api;
    }
    const note: Record<string, unknown> = {};
    if (Object.keys(deleted).length) note.pruned = deleted;
    if (viaApi) note.prunedWrittenThroughApi = viaApi;
    if (Object.keys(kept).length) note.pruneKeptReferenced = kept;
    if (Object.keys(note).length) await mergeNotes(m, batch.id, note);
  });
  const total = Object.values(deleted).reduce((s, n) => s + n, 0);
  run.log.info({ deleted, viaApi }, 'pruned rows the new state no longer has');
  await run.progress(total, total);
}

/**
 * Takes out of prune_set every row a row of the new state references (the delta's batch_rows, written or
 * found unchanged), and so on up: deleting it would cascade into rows the delta just wrote. Such a parent
 * is one no entry of the new state produces but its rows need — the website the websites phase made for
 * global data, or a content type whose key the browser removed while its items stayed. Children first, so
 * a parent kept for a kept row keeps its own parents. Returns how many rows were kept, per table.
 */
async function keepReferencedRows(m: EntityManager, batchId: string, tables: string[]): Promise<Record<string, number>> {
  await m.query(`CREATE TEMP TABLE prune_kept (table_name text, row_id uuid, PRIMARY KEY (table_name, row_id)) ON COMMIT DROP`);
  for (const table of [...tables].reverse()) {
    const meta = m.connection.entityMetadatas.find((e) => e.tableName === table);
    for (const rel of meta?.manyToOneRelations ?? []) {
      const fk = rel.joinColumns[0].databaseName;
      const parent = rel.inverseEntityMetadata.tableName;
      await m.query(
        `WITH staying AS (
           SELECT row_id FROM batch_rows WHERE batch_id = $1 AND table_name = '${table}'
           UNION SELECT row_id FROM prune_kept WHERE table_name = '${table}'),
         taken AS (
           DELETE FROM prune_set p USING "${table}" c JOIN staying s ON s.row_id = c.id
           WHERE p.table_name = '${parent}' AND p.row_id = c."${fk}"
           RETURNING p.table_name, p.row_id)
         INSERT INTO prune_kept SELECT DISTINCT table_name, row_id FROM taken ON CONFLICT DO NOTHING`,
        [batchId],
      );
    }
  }
  const counts: { table_name: string; n: number }[] = await m.query(`SELECT table_name, count(*)::int AS n FROM prune_kept GROUP BY table_name`);
  return Object.fromEntries(counts.map((c) => [c.table_name, c.n]));
}

/**
 * Adds to prune_set every row a cascade from it would delete (parents first, so the closure is transitive
 * along the layout's writeOrder), and journals as `update` the rows an ON DELETE SET NULL reference would change.
 */
async function closeOverForeignKeys(m: EntityManager, batchId: string, userId: string, tables: string[]): Promise<void> {
  for (const table of tables) {
    const meta = m.connection.entityMetadatas.find((e) => e.tableName === table);
    for (const rel of meta?.manyToOneRelations ?? []) {
      const fk = rel.joinColumns[0].databaseName;
      const parent = rel.inverseEntityMetadata.tableName;
      const refs = (user: string) => `FROM "${table}" c JOIN prune_set p ON p.table_name = '${parent}' AND p.row_id = c."${fk}"
        WHERE c.user_id = ${user} AND NOT EXISTS (SELECT 1 FROM prune_set s WHERE s.table_name = '${table}' AND s.row_id = c.id)`;
      if (rel.onDelete === 'CASCADE') {
        await m.query(`INSERT INTO prune_set SELECT '${table}', c.id ${refs('$1')} ON CONFLICT DO NOTHING`, [userId]);
      } else if (rel.onDelete === 'SET NULL') {
        await m.query(`INSERT INTO row_journal (batch_id, phase, table_name, row_id, op, before) SELECT $1, 'prune', '${table}', c.id, 'update', to_jsonb(c) ${refs('$2')}`, [batchId, userId]);
      }
    }
  }
}
