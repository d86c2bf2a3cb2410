import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Slices of large staged entries (jobs/phases/slices.ts): Catalyst keeps all its content items in ONE
 * localStorage value, which the contentItems phase splits into slices that the workers map and write side by
 * side. Rows live from the split until the entry is settled; they go with their entry.
 */
export class EntrySlices1765300000000 implements MigrationInterface {
  name = 'EntrySlices1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "entry_slices" (
         "batch_id" uuid NOT NULL,
         "seq" integer NOT NULL,
         "slice" integer NOT NULL,
         "slice_count" integer NOT NULL,
         "elements" text NOT NULL,
         "path" text NOT NULL,
         "notes" jsonb NOT NULL DEFAULT '{}'::jsonb,
         "element_count" integer NOT NULL,
         "status" character varying(12) NOT NULL DEFAULT 'pending',
         "generation" integer NOT NULL DEFAULT 1,
         "result" jsonb,
         "error" text,
         PRIMARY KEY ("batch_id", "seq", "slice"),
         FOREIGN KEY ("batch_id", "seq") REFERENCES "dump_entries" ("batch_id", "seq") ON DELETE CASCADE)`,
    );
    // As dump_entries.value (StagedValueLz4): lz4 where the server has it.
    const [lz4] = await q.query(`SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`);
    if (lz4) await q.query(`ALTER TABLE "entry_slices" ALTER COLUMN "elements" SET COMPRESSION lz4`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "entry_slices"`);
  }
}
