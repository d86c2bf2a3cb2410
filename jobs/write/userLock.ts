/**
 * Every transaction that writes a user's migrated rows (a phase page, a rollback) first takes that user's
 * advisory lock. Two batches of one user then never write at the same time, so each journal statement's
 * snapshot is the state its upsert changes, and before-images are exact.
 */
import { UnrecoverableError } from 'bullmq';
import type { EntityManager } from 'typeorm';
import { API_WRITES_AFTER_BATCHES } from './apiWrites';

export async function lockUserRows(m: EntityManager, userId: string): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`bsm:user-rows:${userId}`]);
}

/**
 * The same lock in shared mode, for the slice jobs of one entry (jobs/phases/slices.ts): they write disjoint
 * rows of one batch side by side, while every other writer of the user's rows (another batch's page, a
 * rollback, a data-API write) still waits for all of them, and they for it.
 */
export async function lockUserRowsShared(m: EntityManager, userId: string): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))`, [`bsm:user-rows:${userId}`]);
}

/** A phase's write found its batch claimed by a rollback: nothing more of the batch may land. */
export class BatchRolledBack extends Error {
  constructor(readonly status: string) {
    super(`the batch is ${status}; its phases stop writing`);
    this.name = 'BatchRolledBack';
  }
}

/**
 * A delta's write found a batch it builds on (its base, or that base's base…) claimed by a rollback: the
 * delta carries that batch's entries forward, so writing it would put back what the rollback took away.
 * The delta fails for good (code `base_rolled_back`); a new snapshot is the way on.
 */
export class BaseRolledBack extends UnrecoverableError {
  readonly code = 'base_rolled_back';
  constructor(readonly baseId: string, readonly status: string) {
    super(`the batch this delta builds on (${baseId}) is ${status.replace('_', ' ')}; the delta is not applied over it (take a new snapshot)`);
    this.name = 'BaseRolledBack';
  }
}

/**
 * A delta's write found rows of the batches it builds on changed through the data API since they were
 * written (`count`, e.g. in table `example`): writing the delta would overwrite them without a trace in
 * the report. The delta fails for good (code `changed_through_api`); the app is on the API by then.
 */
export class ChangedThroughApi extends UnrecoverableError {
  readonly code = 'changed_through_api';
  constructor(readonly count: number, readonly example: string) {
    super(`${count} row(s) this delta would write again (in ${example}${count > 1 ? ', …' : ''}) were changed through the data API after the batch it builds on; the delta is not applied over them`);
    this.name = 'ChangedThroughApi';
  }
}

/** A batch and, for a delta, the batches it builds on (its base, that base's base…), nearest first (`depth` 0: the batch). */
export function batchChain(db: Pick<EntityManager, 'query'>, batchId: string): Promise<{ id: string; status: string; depth: number }[]> {
  return db.query(
    `WITH RECURSIVE chain (id, base, status, depth) AS (
       SELECT id, base_batch_id, status, 0 FROM migration_batches WHERE id = $1
       UNION ALL
       SELECT b.id, b.base_batch_id, b.status, c.depth + 1 FROM migration_batches b JOIN chain c ON b.id = c.base WHERE c.depth < 10000)
     SELECT id, status, depth FROM chain ORDER BY depth`,
    [batchId],
  );
}

/** A phase waits this many PHASE_LOCK_TIMEOUT_MS for the user's row lock (see lockForBatchWrite). */
export const USER_LOCK_WAIT_FACTOR = 6;

/**
 * The user's row lock for a write of a batch's phase (shared for the slices of one entry), then, under it,
 * the batch's status: a rollback may claim a failed batch while one of its phases still runs beside the
 * phase that failed (or its slices still run); its undo holds this lock, so a page that gets the lock after
 * it sees `rolling_back`/`rolled_back` and throws BatchRolledBack instead of writing rows nothing would undo.
 *
 * Lock waits: phases of one batch run side by side and wait for each other's pages on this lock, which is
 * normal, and a sibling stuck on another lock holds it up to `lockTimeoutMs` (PHASE_LOCK_TIMEOUT_MS) before
 * its attempt gives up; so the wait for this lock is USER_LOCK_WAIT_FACTOR times that, and the rest of the
 * transaction's lock waits get `lockTimeoutMs` (0: no limit). Without the margin, a sibling's stuck page
 * failed the attempts of every phase beside it, not only its own.
 */
export async function lockForBatchWrite(
  m: EntityManager, batch: { id: string; userId: string }, lockTimeoutMs: number, mode: 'exclusive' | 'shared' = 'exclusive',
): Promise<void> {
  await m.query(`SET LOCAL lock_timeout = ${Number(lockTimeoutMs) * USER_LOCK_WAIT_FACTOR}`);
  await (mode === 'shared' ? lockUserRowsShared : lockUserRows)(m, batch.userId);
  await m.query(`SET LOCAL lock_timeout = ${Number(lockTimeoutMs)}`);
  // The batch and, for a delta, the batches it builds on: a rollback claims them (status) before its undo
  // takes this lock, so a write that gets the lock sees every claim made before it.
  const chain = await batchChain(m, batch.id);
  const undone = (s: string) => s === 'rolling_back' || s === 'rolled_back';
  if (chain[0] && undone(chain[0].status)) throw new BatchRolledBack(chain[0].status);
  const base = chain.find((b) => b.depth > 0 && undone(b.status));
  if (base) throw new BaseRolledBack(base.id, base.status);
  // A delta writes its bases' rows again: a row changed through the data API since would be overwritten.
  // Its request was refused if there were any then (api/cutover/postDelta.ts); this is for those made since.
  const bases = chain.filter((b) => b.depth > 0).map((b) => b.id);
  if (bases.length === 0) return;
  const [later] = await m.query(`SELECT count(*)::int AS n, min(w.table_name) AS example ${API_WRITES_AFTER_BATCHES} HAVING count(*) > 0`, [batch.userId, bases]);
  if (later) throw new ChangedThroughApi(later.n, later.example);
}
