/**
 * The prune phase: a delta batch (docs/cutover.md) stages the whole new state (its base's entries with the
 * delta's changes applied), so a row its base meant to have and it does not is one the browser no longer
 * has — an item deleted, a key removed. Those rows are deleted, children first, each journaled as `delete`
 * with its before-image (so a rollback puts it back), in one transaction under the user's row lock.
 * A snapshot batch has nothing to prune.
 */
import type { PhaseRun } from './context';
import { TABLE_ORDER } from './applyResults';
import { lockUserRows } from '../write/userLock';

export async function prune(run: PhaseRun): Promise<void> {
  const { batch, deps } = run;
  if (batch.kind !== 'delta' || !batch.baseBatchId) return run.progress(0, 0);
  const deleted: Record<string, number> = {};
  await deps.ds.transaction(async (m) => {
    await m.query(`SET LOCAL lock_timeout = ${Number(deps.config.PHASE_LOCK_TIMEOUT_MS)}`);
    await lockUserRows(m, batch.userId);
    // A retried prune starts over: its earlier attempt either committed whole (then nothing is left to
    // prune) or not at all.
    for (const table of [...TABLE_ORDER].reverse()) {
      const [{ n }] = await m.query(
        `WITH gone AS (
           SELECT b.row_id FROM batch_rows b
           WHERE b.batch_id = $2 AND b.table_name = $3
             AND NOT EXISTS (SELECT 1 FROM batch_rows n WHERE n.batch_id = $1 AND n.table_name = $3 AND n.row_id = b.row_id)),
         journal AS (
           INSERT INTO row_journal (batch_id, phase, table_name, row_id, op, before)
           SELECT $1, 'prune', $3, t.id, 'delete', to_jsonb(t) FROM "${table}" t JOIN gone g ON g.row_id = t.id WHERE t.user_id = $4
           RETURNING row_id),
         del AS (DELETE FROM "${table}" t USING journal j WHERE t.id = j.row_id RETURNING 1)
         SELECT count(*)::int AS n FROM del`,
        [batch.id, batch.baseBatchId, table, batch.userId],
      );
      if (n > 0) deleted[table] = n;
    }
    if (Object.keys(deleted).length) {
      await m.query(`UPDATE migration_batches SET notes = notes || jsonb_build_object('pruned', $2::jsonb) WHERE id = $1`, [batch.id, JSON.stringify(deleted)]);
    }
  });
  const total = Object.values(deleted).reduce((s, n) => s + n, 0);
  run.log.info({ deleted }, 'pruned rows the new state no longer has');
  await run.progress(total, total);
}
