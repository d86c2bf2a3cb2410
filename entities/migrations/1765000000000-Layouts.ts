import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Layouts per batch (jobs/layouts.ts): `migration_batches.layout` says how the batch's dump maps to rows.
 * Every batch before this was Catalyst's. The same dump of a user is one batch per layout, so the
 * duplicate check (and its unique index) takes the layout in. `browser_entries` is the generic layout's
 * table: one row per dump entry, looked up per user, area, database, store and key.
 */
export class Layouts1765000000000 implements MigrationInterface {
  name = 'Layouts1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "migration_batches" ADD "layout" text NOT NULL DEFAULT 'catalyst'`);
    await q.query(`DROP INDEX "uq_batches_user_sha"`);
    await q.query(`CREATE UNIQUE INDEX "uq_batches_user_sha_layout" ON "migration_batches" ("user_id", "dump_sha256", "layout")`);
    await q.query(
      `CREATE TABLE "browser_entries" (
         "id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid,
         "area" character varying(20) NOT NULL, "db_name" text, "store_name" text,
         "key" jsonb NOT NULL, "key_text" text NOT NULL, "value" jsonb, "raw_value" jsonb,
         "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
         CONSTRAINT "PK_browser_entries" PRIMARY KEY ("id"))`,
    );
    // The data API's lookups (GET /v1/entries): per user and area, database, store, key; keyset-paged by id.
    await q.query(`CREATE INDEX "idx_browser_entries_lookup" ON "browser_entries" ("user_id", "area", "db_name", "store_name", "key_text", "id")`);
    await q.query(`CREATE INDEX "idx_browser_entries_user" ON "browser_entries" ("user_id", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "browser_entries"`);
    await q.query(`DROP INDEX "uq_batches_user_sha_layout"`);
    await q.query(`DELETE FROM "migration_batches" WHERE layout <> 'catalyst'`);
    await q.query(`CREATE UNIQUE INDEX "uq_batches_user_sha" ON "migration_batches" ("user_id", "dump_sha256")`);
    await q.query(`ALTER TABLE "migration_batches" DROP COLUMN "layout"`);
  }
}
