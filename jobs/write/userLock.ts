/**
 * Every transaction that writes a user's migrated rows (a phase page, a rollback) first takes that user's
 * advisory lock. Two batches of one user then never write at the same time, so each journal statement's
 * snapshot is the state its upsert changes, and before-images are exact.
 */
import type { EntityManager } from 'typeorm';

export async function lockUserRows(m: EntityManager, userId: string): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`bsm:user-rows:${userId}`]);
}
