import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Phases page through their pending entries by seq. A partial index on (batch_id, seq) of pending rows
 * gives each page an ordered range scan from where the last one stopped, instead of re-sorting every
 * remaining entry of the phase's kinds per page (quadratic on large dumps).
 */
export class PendingEntriesIndex1764400000000 implements MigrationInterface {
  name = 'PendingEntriesIndex1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_dump_entries_pending" ON "dump_entries" ("batch_id", "seq") WHERE outcome = 'pending'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "idx_dump_entries_pending"`);
  }
}
