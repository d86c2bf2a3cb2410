import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Staged entry values (`dump_entries.value`) compressed with lz4 instead of pglz, when the server was built
 * with it (Postgres 14+ `--with-lz4`; Debian's and the official images' are): Catalyst keeps all its content
 * items in ONE localStorage value, so a 200,000-item dump stages a ~110 MB text. Measured on that value:
 * COPY 4.2 s with pglz, 2.1 s with lz4; reading it back 0.56 s vs 0.51 s (docs/BENCHMARKS.md). Only values
 * written from now on use it; a server without lz4 keeps pglz (nothing changes).
 */
export class StagedValueLz41765200000000 implements MigrationInterface {
  name = 'StagedValueLz41765200000000';

  async up(q: QueryRunner): Promise<void> {
    const [lz4] = await q.query(`SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`);
    if (lz4) await q.query(`ALTER TABLE "dump_entries" ALTER COLUMN "value" SET COMPRESSION lz4`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "dump_entries" ALTER COLUMN "value" SET COMPRESSION default`);
  }
}
