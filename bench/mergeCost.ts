/**
 * `BENCH_ONLY=merge npm run bench`: where the write path's Postgres time goes, per row. In a scratch schema
 * (migrated, one website and content type), BENCH_MERGE_ROWS (10,000) content items of ~500 B are staged
 * in a temporary table, then written by the statement upsertRows uses for new rows (insertSql) and by
 * variants without one of its parts, each timed with EXPLAIN ANALYZE (TIMING OFF) and rolled back:
 *   - the whole statement: insert + journal + expectations (checksums);
 *   - without the journal, without the expectations;
 *   - a plain INSERT … SELECT of the same rows (what COPY into the table costs, plus reading the staging);
 *   - the same as the table's owner with triggers off (session_replication_role = replica): the two
 *     foreign-key checks' share. Needs a superuser (the bench's usual one); skipped otherwise.
 * Each variant runs BENCH_MERGE_ROUNDS (3) times, alternating; the median is printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../core/config';
import { openDatabase } from '../core/db';
import { tableSpec } from '../jobs/write/tableSpec';
import { insertSql } from '../jobs/write/upsertRows';

const Settings = z.object({
  BENCH_MERGE_ROWS: z.coerce.number().int().positive().default(10_000),
  BENCH_MERGE_ROUNDS: z.coerce.number().int().positive().default(3),
});

export interface MergeCost {
  rows: number;
  /** Median µs per row of each variant. */
  variants: { name: string; usPerRow: number | null }[];
}

const VARIANTS = ['insert + journal + expectations (insertSql)', 'without the journal', 'without the expectations', 'plain INSERT … SELECT', 'plain, triggers off (no FK checks)'] as const;

export async function measureMergeCost(app: Config, log: (m: string) => void): Promise<MergeCost> {
  const settings = Settings.parse(process.env);
  const schema = `bench_merge_${randomBytes(4).toString('hex')}`;
  const ds = await openDatabase({ url: app.DATABASE_URL, schema, poolSize: 2, applicationName: 'bench-merge' });
  try {
    const user = 'bench-merge';
    const batch = randomUUID();
    const site = randomUUID();
    const type = randomUUID();
    await ds.query(
      `INSERT INTO migration_batches (id, user_id, status, dump_key, dump_sha256, dump_bytes, encoding, entry_count, source, notes, layout, kind)
       VALUES ($1, $2, 'running', 'k', repeat('0', 64), 1, 'ndjson', 1, '{}', '{}', 'catalyst', 'snapshot')`, [batch, user]);
    await ds.query(`INSERT INTO websites (id, user_id, source_id, name, batch_id, created_at, updated_at) VALUES ($1, $2, 's', 'n', $3, now(), now())`, [site, user, batch]);
    await ds.query(`INSERT INTO content_types (id, user_id, source_id, website_id, name, batch_id, schema, created_at, updated_at) VALUES ($1, $2, 't', $3, 'T', $4, '{}', now(), now())`, [type, user, site, batch]);
    const spec = tableSpec(ds, 'content_items');
    const cols = spec.columns.filter((c) => c.column !== 'batch_id');
    const whole = insertSql(spec, 'inc');
    const plain = `INSERT INTO content_items (${spec.columns.map((c) => `"${c.column}"`).join(', ')})
      SELECT ${spec.columns.map((c) => (c.column === 'batch_id' ? '$1::uuid' : `i."${c.column}"`)).join(', ')} FROM inc i WHERE $2::text IS NOT NULL`;
    const sqlOf: Record<(typeof VARIANTS)[number], string> = {
      [VARIANTS[0]]: whole,
      [VARIANTS[1]]: whole.replace(/journal AS \([\s\S]*?RETURNING 1\n {4}\),/, '').replace('(SELECT count(*) FROM journal)', '0'),
      [VARIANTS[2]]: whole.replace(/,\n {4}expected AS \([\s\S]*?RETURNING 1\n {4}\)/, '').replace('(SELECT count(*) FROM expected)', '0'),
      [VARIANTS[3]]: plain,
      [VARIANTS[4]]: plain,
    };
    const [{ su }] = await ds.query(`SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user`);
    const samples = new Map<string, number[]>(VARIANTS.map((v) => [v, []]));
    const body = 'Lorem ipsum dolor sit amet, '.repeat(12);
    for (let round = 0; round < settings.BENCH_MERGE_ROUNDS; round++) {
      for (const name of VARIANTS) {
        if (name === VARIANTS[4] && !su) continue;
        await ds.transaction(async (m) => {
          await m.query(`CREATE TEMPORARY TABLE inc (${cols.map((c) => `"${c.column}" ${c.sqlType}`).join(', ')}, entry_seq integer) ON COMMIT DROP`);
          await m.query(
            `INSERT INTO inc (${cols.map((c) => `"${c.column}"`).join(', ')}, entry_seq)
             SELECT gen_random_uuid(), $1, 'src-' || g, $2::uuid, $3::uuid, jsonb_build_object('title', 'Item ' || g, 'body', $4::text, 'n', g), 'draft', now(), now(), 1
             FROM generate_series(1, $5) g`,
            [user, type, site, body, settings.BENCH_MERGE_ROWS],
          );
          await m.query('ANALYZE inc');
          if (name === VARIANTS[4]) await m.query(`SET LOCAL session_replication_role = replica`);
          const t0 = performance.now();
          await m.query(`EXPLAIN (ANALYZE, TIMING OFF) ${sqlOf[name]}`, [batch, 'contentItems']);
          samples.get(name)!.push(((performance.now() - t0) * 1000) / settings.BENCH_MERGE_ROWS);
          throw new RolledBack();
        }).catch((e) => { if (!(e instanceof RolledBack)) throw e; });
      }
      log(`merge cost: round ${round + 1} of ${settings.BENCH_MERGE_ROUNDS}`);
    }
    const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : null);
    return { rows: settings.BENCH_MERGE_ROWS, variants: VARIANTS.map((name) => ({ name, usPerRow: median(samples.get(name)!) })) };
  } finally {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await ds.destroy();
  }
}

class RolledBack extends Error {}

export function printMergeCost(r: MergeCost): void {
  const lines = [
    `| statement (${r.rows.toLocaleString('en-US')} content items of ~500 B, new rows, EXPLAIN ANALYZE, median) | µs per row |`,
    '| --- | --- |',
    ...r.variants.map((v) => `| ${v.name} | ${v.usPerRow === null ? 'skipped (not a superuser)' : v.usPerRow.toFixed(1)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
