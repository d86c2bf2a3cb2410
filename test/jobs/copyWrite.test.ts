/**
 * The COPY-staged write path (jobs/write/upsertRows.ts, jobs/write/copyText.ts), against real Postgres:
 *  - COPY text escaping round-trips every awkward string exactly (backslashes, tab, newline, CR, a literal
 *    "\N", non-ASCII, JSON inside a JSON string), in the string and in the byte form ingest uses;
 *  - one merge statement per chunk journals exactly (insert, update with the before-image, nothing for an
 *    unchanged row or another user's row) and records for every row the checksum verify computes from the
 *    table, whether the row was inserted, updated or found unchanged, across chunk boundaries.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../core/config';
import { openDatabase } from '../../core/db';
import { rowId } from '../../core/ids';
import { copyBytes, copyText } from '../../jobs/write/copyText';
import { rowChecksumSql, upsertRows } from '../../jobs/write/upsertRows';

const AWKWARD = [
  'plain', 'back\\slash', 'tab\there', 'new\nline', 'cr\rlf\r\n', '\\N', '\\\\N', 'é ü 📋 中文',
  JSON.stringify(JSON.stringify({ state: { contentItems: [{ id: 'a"b', data: { t: 'x\\y\tz' } }] } })), '', ' ',
];

let ds: DataSource;
const schema = `test_copy_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  ds = await openDatabase({ url: loadConfig().DATABASE_URL, schema, migrate: true, poolSize: 2 });
});
afterAll(async () => {
  await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
  await ds.destroy();
});

test('COPY text escaping round-trips awkward strings exactly, as a string and as bytes', async () => {
  for (const s of AWKWARD) expect(copyBytes(s).equals(Buffer.from(copyText(s), 'utf8'))).toBe(true);
  const back = await ds.transaction(async (m) => {
    await m.query(`CREATE TEMPORARY TABLE copy_probe (n int, a text, b text) ON COMMIT DROP`);
    const client = await m.queryRunner!.connect();
    const { from } = await import('pg-copy-streams');
    const stream = client.query(from(`COPY copy_probe (n, a, b) FROM STDIN`));
    const done = new Promise<void>((resolve, reject) => { stream.on('finish', resolve); stream.on('error', reject); });
    AWKWARD.forEach((s, n) => {
      stream.write(`${n}\t${copyText(s)}\t`);
      stream.write(copyBytes(s));
      stream.write('\n');
    });
    stream.end();
    await done;
    return m.query(`SELECT n, a, b FROM copy_probe ORDER BY n`) as Promise<{ n: number; a: string; b: string }[]>;
  });
  expect(back).toEqual(AWKWARD.map((s, n) => ({ n, a: s, b: s })));
});

test('the merge journals exactly and records the checksum verify computes, for inserted, updated and unchanged rows', async () => {
  const user = 'copy-user';
  const batchId = randomUUID();
  const row = (src: string, extra: Record<string, unknown> = {}) => ({
    id: rowId(user, 'preserved_entry', src), userId: user, sourceId: src, area: 'localStorage', dbName: null, storeName: null,
    entryKey: JSON.stringify(src), value: JSON.stringify({ v: src, nested: 'a\\b\tc' }), reason: 'kept raw', ...extra,
  });
  const sources = ['k1', 'tab\tkey', 'back\\slash', 'nl\nkey', 'é📋'];
  const first = await ds.transaction((m) => upsertRows(m, { batchId, phase: 'p1' }, 'preserved_entries', sources.map((s) => row(s)), 2, sources.map((_, i) => i)));
  expect(first).toMatchObject({ inserted: 5, updated: 0, unchanged: 0, refused: [], superseded: [] });

  // Another user's row with an id this batch produces: neither updated nor journaled nor expected.
  const foreignId = rowId(user, 'preserved_entry', 'theirs');
  await ds.query(
    `INSERT INTO preserved_entries (id, user_id, source_id, batch_id, area, entry_key, value, reason) VALUES ($1, 'someone-else', 'theirs', $2, 'localStorage', '"theirs"', '1', 'x')`,
    [foreignId, randomUUID()],
  );
  const second = [row('k1'), row('tab\tkey', { reason: 'changed\nreason' }), row('back\\slash'), row('new one'), row('theirs')];
  const stats = await ds.transaction((m) => upsertRows(m, { batchId, phase: 'p2' }, 'preserved_entries', second, 2, second.map((_, i) => 10 + i)));
  expect(stats).toMatchObject({ inserted: 1, updated: 1, unchanged: 2 });
  expect(stats.refused.map((r) => r.row.sourceId)).toEqual(['theirs']);

  const journal: { row_id: string; op: string; phase: string; reason: string | null }[] = await ds.query(
    `SELECT row_id, op, phase, before->>'reason' AS reason FROM row_journal WHERE batch_id = $1 ORDER BY seq`, [batchId]);
  const id = (s: string) => rowId(user, 'preserved_entry', s);
  const order = (js: typeof journal) => [...js].sort((a, b) => `${a.phase}/${a.row_id}`.localeCompare(`${b.phase}/${b.row_id}`));
  expect(order(journal)).toEqual(order([
    ...sources.map((s) => ({ row_id: id(s), op: 'insert', phase: 'p1', reason: null })),
    { row_id: id('tab\tkey'), op: 'update', phase: 'p2', reason: 'kept raw' },
    { row_id: id('new one'), op: 'insert', phase: 'p2', reason: null },
  ]));

  const rows: { source_id: string; value: string; reason: string }[] = await ds.query(`SELECT source_id, value, reason FROM preserved_entries WHERE user_id = $1 ORDER BY source_id`, [user]);
  expect(rows.find((r) => r.source_id === 'tab\tkey')).toEqual({ source_id: 'tab\tkey', value: JSON.stringify({ v: 'tab\tkey', nested: 'a\\b\tc' }), reason: 'changed\nreason' });
  expect(rows.map((r) => r.source_id).sort()).toEqual([...sources, 'new one'].sort());

  const expected: { row_id: string; entry_seq: number; ok: boolean }[] = await ds.query(
    `SELECT b.row_id, b.entry_seq, b.checksum = ${rowChecksumSql('t')} AS ok FROM batch_rows b JOIN preserved_entries t ON t.id = b.row_id WHERE b.batch_id = $1`, [batchId]);
  expect(expected).toHaveLength(6); // the five of the first call and 'new one'; not the other user's row
  expect(expected.every((e) => e.ok)).toBe(true);
  const seqOf = Object.fromEntries(expected.map((e) => [e.row_id, e.entry_seq]));
  expect(seqOf[id('k1')]).toBe(10); // unchanged in the second call, still expected from its later entry
  expect(seqOf[id('nl\nkey')]).toBe(3);
  const theirs = await ds.query(`SELECT user_id, reason FROM preserved_entries WHERE id = $1`, [foreignId]);
  expect(theirs).toEqual([{ user_id: 'someone-else', reason: 'x' }]);
});
