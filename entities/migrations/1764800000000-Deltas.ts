import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cutover (docs/cutover.md): a batch is a `snapshot` or a `delta` that follows a base batch of the same
 * chain (`root_batch_id` = the snapshot), and every batch gets the `prune` phase (before `verify`), which
 * deletes what a delta's new state no longer has. Existing batches get a prune phase in the state their
 * verify phase is in (a finished batch needs no prune).
 */
export class Deltas1764800000000 implements MigrationInterface {
  name = 'Deltas1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "migration_batches" ADD "kind" character varying(10) NOT NULL DEFAULT 'snapshot'`);
    await q.query(`ALTER TABLE "migration_batches" ADD "base_batch_id" uuid`);
    await q.query(`ALTER TABLE "migration_batches" ADD "root_batch_id" uuid`);
    await q.query(`CREATE INDEX "idx_batches_user_kind" ON "migration_batches" ("user_id", "kind", "created_at")`);
    await q.query(`CREATE INDEX "idx_batches_root" ON "migration_batches" ("root_batch_id", "created_at")`);
    // A chain never forks: at most one live delta follows a batch (two clients switching at once).
    await q.query(`CREATE UNIQUE INDEX "uq_batches_live_delta" ON "migration_batches" ("base_batch_id") WHERE kind = 'delta' AND status NOT IN ('failed', 'rolling_back', 'rolled_back')`);
    await q.query(`UPDATE "migration_phases" SET "position" = "position" + 1 WHERE "name" = 'verify'`);
    await q.query(
      `INSERT INTO "migration_phases" ("batch_id", "name", "position", "status", "started_at", "finished_at")
       SELECT v.batch_id, 'prune', v.position - 1, CASE WHEN v.status IN ('completed', 'rolled_back') THEN v.status ELSE 'pending' END, v.started_at, v.finished_at
       FROM "migration_phases" v WHERE v.name = 'verify'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "migration_phases" WHERE "name" = 'prune'`);
    await q.query(`UPDATE "migration_phases" SET "position" = "position" - 1 WHERE "name" = 'verify'`);
    await q.query(`DROP INDEX IF EXISTS "uq_batches_live_delta"`);
    await q.query(`DROP INDEX IF EXISTS "idx_batches_root"`);
    await q.query(`DROP INDEX IF EXISTS "idx_batches_user_kind"`);
    for (const c of ['root_batch_id', 'base_batch_id', 'kind']) await q.query(`ALTER TABLE "migration_batches" DROP COLUMN "${c}"`);
  }
}
