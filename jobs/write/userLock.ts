/**
 * Every transaction that writes a user's migrated rows (a phase page, a rollback) first takes that user's
 * advisory lock. Two batches of one user then never write at the same time, so each journal statement's
 * snapshot is the state its upsert changes, and before-images are exact.
 */
import type { EntityManager } from 'typeorm';

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
  const [b]: { status: string }[] = await m.query(`SELECT status FROM migration_batches WHERE id = $1`, [batch.id]);
  if (b && (b.status === 'rolling_back' || b.status === 'rolled_back')) throw new BatchRolledBack(b.status);
}
