import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Postgres 14 or later from here on: row checksums (jobs/write/upsertRows.ts rowChecksumSql) hash each row
 * with `hash_record_extended`, which 13 does not have. Without this check an older server would fail every
 * batch at its first write; with it, `npm run migrate` (and start-up) stops with the reason, and /readyz
 * stays 503 while the migration is pending. Nothing in the schema changes.
 */
export class RequirePostgres141765400000000 implements MigrationInterface {
  name = 'RequirePostgres141765400000000';

  async up(q: QueryRunner): Promise<void> {
    const [{ num, version }] = await q.query(`SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS version`);
    if (num < 140000) {
      throw new Error(`Postgres 14 or later is required (this server runs ${version}): row checksums use hash_record_extended. Upgrade the server, then run the migrations again.`);
    }
  }

  async down(): Promise<void> {
    // Nothing was changed.
  }
}
