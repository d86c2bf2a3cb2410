/**
 * Baselines measured in the same run, on the same machine, so each end-to-end figure stands beside what
 * its raw ingredients can do: reading the dump with format/ alone, hashing it, and Postgres' multi-row
 * INSERT rate (docs/stack-notes.md measured ~41k rows/s at 1000 rows per statement).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Client } from 'pg';
import { validateDump } from '../format';

export interface Rate {
  seconds: number;
  items: number;
  bytes: number;
}

export async function timeIt<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** format/ reading and validating the NDJSON file, as the API's finish hook and ingest do. */
export async function ndjsonReadRate(file: string, bytes: number): Promise<Rate> {
  const { value, seconds } = await timeIt(() => validateDump(createReadStream(file, { highWaterMark: 1 << 20 }), 'ndjson'));
  return { seconds, items: value.counts.total, bytes };
}

/** Reading the file and hashing it: the floor under the digest check. */
export async function sha256Rate(file: string, bytes: number): Promise<Rate> {
  const { seconds } = await timeIt(async () => {
    const h = createHash('sha256');
    for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
    return h.digest('hex');
  });
  return { seconds, items: 0, bytes };
}

/** Multi-row INSERT of ~500-byte JSON rows, `perStatement` rows per statement, into a scratch table. */
export async function insertRate(databaseUrl: string, schema: string, rows = 100_000, perStatement = 1000): Promise<Rate> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`SET search_path = "${schema}"`);
    await client.query(`CREATE TABLE bench_insert (id integer PRIMARY KEY, payload jsonb NOT NULL)`);
    const payload = JSON.stringify({ title: 'x'.repeat(200), body: 'y'.repeat(250), n: 1 });
    const { seconds } = await timeIt(async () => {
      for (let start = 0; start < rows; start += perStatement) {
        const n = Math.min(perStatement, rows - start);
        const values: string[] = [];
        const params: unknown[] = [];
        for (let i = 0; i < n; i++) {
          values.push(`($${2 * i + 1}, $${2 * i + 2})`);
          params.push(start + i, payload);
        }
        await client.query(`INSERT INTO bench_insert (id, payload) VALUES ${values.join(',')}`, params);
      }
    });
    return { seconds, items: rows, bytes: rows * (payload.length + 4) };
  } finally {
    await client.query(`DROP TABLE IF EXISTS bench_insert`).catch(() => undefined);
    await client.end();
  }
}
