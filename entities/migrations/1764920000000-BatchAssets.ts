import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The assets (binaries moved out of data: URLs) each batch stored, so a rollback can take them along when
 * nothing else needs them (jobs/assets.ts). Assets stored before this table existed are not recorded: they
 * stay, as they did before.
 */
export class BatchAssets1764920000000 implements MigrationInterface {
  name = 'BatchAssets1764920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "batch_assets" (
         "batch_id" uuid NOT NULL REFERENCES "migration_batches" ("id") ON DELETE CASCADE,
         "sha256" character varying(64) NOT NULL,
         PRIMARY KEY ("batch_id", "sha256"))`,
    );
    // releaseAssets asks "does another batch hold this asset": by digest.
    await q.query(`CREATE INDEX "idx_batch_assets_sha256" ON "batch_assets" ("sha256")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "batch_assets"`);
  }
}
