import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An IndexedDB database version is an unsigned long long: browsers accept any integer from 1 to 2^53−1
 * (Number.MAX_SAFE_INTEGER). `dump_entries.db_version` was an integer (max 2^31−1), so a dump with a
 * larger version was accepted by the API and then failed its batch at ingest (SQLSTATE 22003). bigint
 * holds every version a browser can have (the format refuses anything above 2^53−1).
 *
 * The type change rewrites dump_entries (a staging table; an ACCESS EXCLUSIVE lock while it runs).
 * `down` fails, and changes nothing, while a staged entry has a version that an integer cannot hold.
 */
export class DbVersionBigint1764700000000 implements MigrationInterface {
  name = 'DbVersionBigint1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "dump_entries" ALTER COLUMN "db_version" TYPE bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "dump_entries" ALTER COLUMN "db_version" TYPE integer`);
  }
}
