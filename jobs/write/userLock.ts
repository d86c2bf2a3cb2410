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
