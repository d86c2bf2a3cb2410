/**
 * The data API's writes (api_writes, recorded by a trigger) that came after a batch's write of the same
 * row: what undoing those batches (a rollback) or writing their state again (a delta, which carries its
 * bases' rows forward) would overwrite. api_writes and row_journal share one sequence, so `seq` orders
 * them. Used by jobs/apiChanges.ts (rollbacks, delta intake) and, under the user's lock, by userLock.ts.
 */

/**
 * `FROM api_writes w WHERE …`: user `$1`'s API writes not yet discarded by a forced rollback, to rows that
 * one of batches `$2` (uuid[]) journaled before them.
 */
export const API_WRITES_AFTER_BATCHES = `
  FROM api_writes w
  WHERE w.user_id = $1 AND w.discarded_by IS NULL AND EXISTS (
    SELECT 1 FROM row_journal j WHERE j.batch_id = ANY($2::uuid[]) AND j.table_name = w.table_name AND j.row_id = w.row_id AND j.seq < w.seq)`;
