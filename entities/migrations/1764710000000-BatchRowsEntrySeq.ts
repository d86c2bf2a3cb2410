import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `batch_rows.entry_seq`: which entry of the batch a row it wrote came from. When a later entry of the same
 * batch, in another page or phase, produces a row with the same id, the write path needs to know whose
 * value it replaces so the report can say so (the later entry wins; the earlier one is reported with the
 * winner's seq) instead of counting both as migrated. NULL for rows no entry produced (a website the
 * websites phase creates for global data). Adding a nullable column does not rewrite the table.
 */
export class BatchRowsEntrySeq1764710000000 implements MigrationInterface {
  name = 'BatchRowsEntrySeq1764710000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "batch_rows" ADD COLUMN "entry_seq" integer`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "batch_rows" DROP COLUMN "entry_seq"`);
  }
}
