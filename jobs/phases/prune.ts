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
 * that were written through the API are named in the batch notes.
 * A snapshot batch has nothing to prune.
 */
import type { EntityManager } from 'typeorm';
import type { PhaseRun } from './context';
import { writeOrder } from '../transforms/layout';
import { lockForBatchWrite } from '../write/userLock';

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
    if (Object.keys(deleted).length) {
      const note = viaApi ? { pruned: deleted, prunedWrittenThroughApi: viaApi } : { pruned: deleted };
      await m.query(`UPDATE migration_batches SET notes = notes || $2::jsonb WHERE id = $1`, [batch.id, JSON.stringify(note)]);
    }
  });
  const total = Object.values(deleted).reduce((s, n) => s + n, 0);
  run.log.info({ deleted, viaApi }, 'pruned rows the new state no longer has');
  await run.progress(total, total);
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
