/**
 * The COPY-staged write path (jobs/write/upsertRows.ts, jobs/write/copyText.ts), against real Postgres:
 *  - COPY text escaping round-trips every awkward string exactly (backslashes, tab, newline, CR, a literal
 *    "\N", non-ASCII, JSON inside a JSON string), and so does COPY's binary form as ingest writes it (a
 *    value in pieces included) and as the staging of rows packs it (every staging type, at its edges; a
 *    value it cannot take exactly is refused, and such rows are staged as text instead, to the same rows);
 *  - one merge statement per chunk journals exactly (insert, update with the before-image, nothing for an
 *    unchanged row or another user's row) and records for every row the checksum verify computes from the
 *    table, whether the row was inserted, updated or found unchanged, across chunk boundaries.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../core/config';
import { openDatabase } from '../../core/db';
import { rowId } from '../../core/ids';
import { binary, BINARY_COPY_HEADER, BINARY_COPY_TRAILER, binaryRow, copyOutText, PackedRows, type BinaryField } from '../../jobs/write/copyBinary';
import { copyLines } from '../../jobs/write/copyLines';
import { copyText, jsonStringPieces } from '../../jobs/write/copyText';
import { checksumDiffersSql, rowChecksumSql, upsertRows } from '../../jobs/write/upsertRows';
import { tableSpec } from '../../jobs/write/tableSpec';

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

test('a large string\'s JSON text made a piece at a time is JSON.stringify\'s, whatever falls on a piece boundary', () => {
  const pieces = ['a', '"', '\\', '\n', '\u0001', 'é', '中', '📋', '\ud83d', '\ude00', '\u2028'];
  let seed = 11;
  const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
  for (let round = 0; round < 200; round++) {
    const s = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => pieces[Math.floor(rand() * pieces.length)]).join('');
    for (const piece of [1, 2, 3, 7, 1 << 20]) expect([s, piece, Buffer.concat(jsonStringPieces(s, piece)).toString('utf8')]).toEqual([s, piece, JSON.stringify(s)]);
  }
  expect(Buffer.concat(jsonStringPieces('')).toString()).toBe('""');
});

test('a large string\'s JSON text is staged off the V8 heap: the heap does not grow by a second copy of it', () => {
  // In a child run with --expose-gc: the heap's growth after JSON.stringify of a 30 Mi-character string
  // (two bytes a character) against after jsonStringPieces of it, whose bytes live outside the heap.
  const file = join(tmpdir(), `bsm-heap-${randomBytes(4).toString('hex')}.js`);
  writeFileSync(file, `
    const { jsonStringPieces } = require(${JSON.stringify(require.resolve('../../jobs/write/copyText'))});
    const s = JSON.parse(JSON.stringify('a"\\u2615'.repeat(10 * 1024 * 1024))); // flat, as a parsed value is
    global.gc();
    const base = process.memoryUsage().heapUsed;
    const out = process.argv[2] === 'string' ? JSON.stringify(s) : jsonStringPieces(s);
    global.gc();
    process.stdout.write(JSON.stringify({ grew: process.memoryUsage().heapUsed - base, length: typeof out === 'string' ? out.length : out.reduce((n, p) => n + p.length, 0) }));`);
  try {
    const run = (mode: string) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', file, mode], { encoding: 'utf8' })) as { grew: number; length: number };
    const asString = run('string');
    const asBytes = run('bytes');
    expect(asString.length).toBe(40 * 2 ** 20 + 2); // JSON text: every quote escaped, two delimiting quotes
    expect(asString.grew).toBeGreaterThan(60 * 2 ** 20); // two bytes a character on the heap
    expect(asBytes.grew).toBeLessThan(8 * 2 ** 20);
  } finally {
    rmSync(file, { force: true });
  }
}, 60_000);

test('COPY text escaping round-trips awkward strings exactly', async () => {
  const back = await ds.transaction(async (m) => {
    await m.query(`CREATE TEMPORARY TABLE copy_probe (n int, a text) ON COMMIT DROP`);
    const client = await m.queryRunner!.connect();
    const { from } = await import('pg-copy-streams');
    const stream = client.query(from(`COPY copy_probe (n, a) FROM STDIN`));
    const done = new Promise<void>((resolve, reject) => { stream.on('finish', resolve); stream.on('error', reject); });
    AWKWARD.forEach((s, n) => stream.write(`${n}\t${copyText(s)}\n`));
    stream.end();
    await done;
    return m.query(`SELECT n, a FROM copy_probe ORDER BY n`) as Promise<{ n: number; a: string }[]>;
  });
  expect(back).toEqual(AWKWARD.map((s, n) => ({ n, a: s })));
});

test('COPY\'s binary form round-trips every type ingest stages, nulls, awkward strings and a value written in pieces', async () => {
  const id = randomUUID();
  const big = `x"\\\t\n${'é📋'.repeat(300_000)}`; // past one piece, a surrogate pair at piece boundaries
  const rows: BinaryField[][] = AWKWARD.map((s, n) => [binary.uuid(id), binary.int4(n - 1), binary.int8(2 ** 40 + n), binary.bool(n % 2 === 0), binary.text(s), n % 3 === 0 ? null : binary.text(JSON.stringify(s))]);
  rows.push([binary.uuid(id), binary.int4(99), null, binary.bool(false), jsonStringPieces(big, 1000), null]);
  const back = await ds.transaction(async (m) => {
    await m.query(`CREATE TEMPORARY TABLE copy_probe (u uuid, n int, v bigint, f boolean, a text, b varchar(400)) ON COMMIT DROP`);
    const client = await m.queryRunner!.connect();
    const { from } = await import('pg-copy-streams');
    const stream = client.query(from(`COPY copy_probe (u, n, v, f, a, b) FROM STDIN (FORMAT binary)`));
    const done = new Promise<void>((resolve, reject) => { stream.on('finish', resolve); stream.on('error', reject); });
    stream.write(BINARY_COPY_HEADER);
    for (const r of rows) for (const piece of binaryRow(r)) stream.write(piece);
    stream.end(BINARY_COPY_TRAILER);
    await done;
    return m.query(`SELECT u, n, v::text AS v, f, a, b FROM copy_probe ORDER BY n`) as Promise<Record<string, unknown>[]>;
  });
  expect(back.slice(0, -1)).toEqual(AWKWARD.map((s, n) => ({ u: id, n: n - 1, v: String(2 ** 40 + n), f: n % 2 === 0, a: s, b: n % 3 === 0 ? null : JSON.stringify(s) })));
  expect(back.at(-1)).toEqual({ u: id, n: 99, v: null, f: false, a: JSON.stringify(big), b: null });
});

test('packed binary rows: every staging type reads back as the text format reads it; what the binary form cannot take exactly is refused', async () => {
  const cols = [['u', 'uuid'], ['t', 'text'], ['j', 'jsonb'], ['d', 'timestamptz'], ['i', 'integer'], ['b', 'bigint'], ['f', 'boolean']] as const;
  const dates = ['0001-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '1999-12-31T23:59:59.999Z', '2000-01-01T00:00:00.000Z', '2025-08-12T07:13:20.123Z', '9999-12-31T23:59:59.999Z'].map((d) => new Date(d));
  const long = `x"\\\t\n${'é📋'.repeat(200_000)}`; // past the packing buffer: a field larger than one
  const values: unknown[][] = [
    ...AWKWARD.map((s, n) => [randomUUID().toUpperCase(), s, { s, n, nested: [s, null, 1.5] }, dates[n % dates.length], n - 1, String(2 ** 53 + n), n % 2 === 0]),
    [randomUUID(), 42, [1, 'two'], dates[0], -(2 ** 31), '-9223372036854775808', false],
    [randomUUID(), { an: 'object' }, 'a JSON string', dates[5], 2 ** 31 - 1, 9007199254740991, true],
    [null, null, null, null, null, null, null],
    [randomUUID(), long, { long }, dates[3], 0, '9223372036854775807', true],
  ];
  const text = (v: unknown, t: string) => (v === null ? '\\N' : t === 'jsonb' ? copyText(JSON.stringify(v)) : v instanceof Date ? v.toISOString() : copyText(typeof v === 'object' ? JSON.stringify(v) : String(v)));
  const read = (format: 'text' | 'binary') => ds.transaction(async (m) => {
    await m.query(`CREATE TEMPORARY TABLE packed_probe (n int, ${cols.map(([c, t]) => `${c} ${t}`).join(', ')}) ON COMMIT DROP`);
    const names = ['n', ...cols.map(([c]) => c)];
    if (format === 'text') await copyLines(m, 'packed_probe', names, values.map((r, n) => `${n}\t${r.map((v, i) => text(v, cols[i][1])).join('\t')}\n`));
    else {
      const packed = new PackedRows();
      values.forEach((r, n) => {
        packed.row(names.length);
        expect(packed.put(n, 'integer')).toBe(true);
        r.forEach((v, i) => expect([n, i, packed.put(v, cols[i][1])]).toEqual([n, i, true]));
      });
      await copyLines(m, 'packed_probe', names, packed.end(), 'binary');
    }
    return m.query(`SELECT n, u, t, j::text AS j, d, i, b::text AS b, f FROM packed_probe ORDER BY n`) as Promise<Record<string, unknown>[]>;
  });
  const [asText, asBinary] = [await read('text'), await read('binary')];
  expect(asBinary).toHaveLength(values.length);
  expect(asBinary).toEqual(asText);
  expect(asBinary[0]).toMatchObject({ t: AWKWARD[0], i: -1, f: true });
  expect((asBinary.at(-1) as { t: string }).t).toBe(long);

  // Values the text format would read some way of its own: refused, so the caller stages its rows as text.
  const refused: [unknown, string][] = [
    ['2025-08-12', 'timestamptz'], [new Date(Number.NaN), 'timestamptz'], ['{6ba7b810-9dad-11d1-80b4-00c04fd430c8}', 'uuid'], ['not-a-uuid', 'uuid'],
    [1.5, 'integer'], [2 ** 31, 'integer'], ['7', 'integer'], [2 ** 53, 'bigint'], ['9223372036854775808', 'bigint'], ['1e3', 'bigint'],
    ['true', 'boolean'], [1, 'boolean'], ['x', 'numeric'], [new Date('2025-08-12T07:13:20.123Z'), 'text'],
  ];
  for (const [v, t] of refused) expect([v, t, new PackedRows().put(v, t)]).toEqual([v, t, false]);
});

test('rows with a value the binary form refuses are staged as text, to the same rows', async () => {
  const user = `packed-${randomBytes(3).toString('hex')}`;
  const batchId = randomUUID();
  const at = new Date('2025-08-12T07:13:20.123Z');
  const site = (src: string, over: Record<string, unknown> = {}) => ({
    id: rowId(user, 'website', src), userId: user, sourceId: src, name: `tab\there ${src}`, slug: null, description: 'back\\slash\nline',
    category: 'é📋', icon: null, storageQuota: '1073741824', metadata: { src, nested: ['a\\b\tc', null, 1.5] }, createdAt: at, updatedAt: at, ...over,
  });
  // The second call's createdAt comes as text (a transform's ISO string), which the binary form does not
  // take: its rows go as COPY text, and must land the same as the first call's.
  await ds.transaction((m) => upsertRows(m, { batchId, phase: 'p' }, 'websites', [site('w1'), site('w2')] as never, 10, [1, 2]));
  await ds.transaction((m) => upsertRows(m, { batchId, phase: 'p' }, 'websites', [site('w3', { createdAt: at.toISOString() }), site('w4', { createdAt: at.toISOString() })] as never, 10, [3, 4]));
  const back: Record<string, unknown>[] = await ds.query(
    `SELECT source_id, name, description, category, storage_quota, metadata, created_at, updated_at FROM websites WHERE user_id = $1 ORDER BY source_id`, [user]);
  expect(back).toEqual(['w1', 'w2', 'w3', 'w4'].map((src) => ({
    source_id: src, name: `tab\there ${src}`, description: 'back\\slash\nline', category: 'é📋', storage_quota: '1073741824',
    metadata: { src, nested: ['a\\b\tc', null, 1.5] }, created_at: at, updated_at: at,
  })));
});

test('copyOutText reads one text field back by binary COPY: a large value across many chunks, null; anything but one row is an error', async () => {
  const big = `x"\\\t\n${'é📋'.repeat(1_000_000)}`;
  const qr = ds.createQueryRunner();
  try {
    const client = (await qr.connect()) as import('pg').PoolClient;
    await client.query(`CREATE TEMPORARY TABLE copy_out (n int, v text)`);
    await client.query(`INSERT INTO copy_out VALUES (1, $1), (2, NULL), (3, ''), (4, 'a'), (4, 'b')`, [big]);
    expect(await copyOutText(client, `SELECT v FROM copy_out WHERE n = 1`)).toBe(big);
    expect(await copyOutText(client, `SELECT v FROM copy_out WHERE n = 2`)).toBeNull();
    expect(await copyOutText(client, `SELECT v FROM copy_out WHERE n = 3`)).toBe('');
    await expect(copyOutText(client, `SELECT v FROM copy_out WHERE n = 9`)).rejects.toThrow(/no row/);
    await expect(copyOutText(client, `SELECT v FROM copy_out WHERE n = 4`)).rejects.toThrow(/exactly one row/);
    await expect(copyOutText(client, `SELECT n, v FROM copy_out WHERE n = 1`)).rejects.toThrow(/another shape/);
    expect((await client.query(`SELECT 1 AS ok`)).rows).toEqual([{ ok: 1 }]); // the connection is usable after each
  } finally {
    await qr.release();
  }
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
    `SELECT b.row_id, b.entry_seq, b.checksum = ${rowChecksumSql(tableSpec(ds, 'preserved_entries'), 't')} AS ok FROM batch_rows b JOIN preserved_entries t ON t.id = b.row_id WHERE b.batch_id = $1`, [batchId]);
  expect(expected).toHaveLength(6); // the five of the first call and 'new one'; not the other user's row
  expect(expected.every((e) => e.ok)).toBe(true);
  const seqOf = Object.fromEntries(expected.map((e) => [e.row_id, e.entry_seq]));
  expect(seqOf[id('k1')]).toBe(10); // unchanged in the second call, still expected from its later entry
  expect(seqOf[id('nl\nkey')]).toBe(3);
  const theirs = await ds.query(`SELECT user_id, reason FROM preserved_entries WHERE id = $1`, [foreignId]);
  expect(theirs).toEqual([{ user_id: 'someone-else', reason: 'x' }]);
});

test('checksums: any column change is seen, a session time zone is not, and md5 checksums of earlier batches still verify', async () => {
  const spec = tableSpec(ds, 'content_items');
  const user = `sum-${randomBytes(3).toString('hex')}`;
  const batchId = randomUUID();
  const site = randomUUID();
  const type = randomUUID();
  await ds.query(`INSERT INTO websites (id, user_id, source_id, name, batch_id, created_at, updated_at) VALUES ($1, $2, 's', 'n', $3, now(), now())`, [site, user, batchId]);
  await ds.query(`INSERT INTO content_types (id, user_id, source_id, website_id, name, batch_id, schema, created_at, updated_at) VALUES ($1, $2, 't', $3, 'T', $4, '{}', now(), now())`, [type, user, site, batchId]);
  const row = (n: number) => ({ id: rowId(user, 'content_item', `i${n}`), userId: user, sourceId: `i${n}`, contentTypeId: type, websiteId: site, data: { title: `T${n}`, n, nested: { a: [1, null, 'x'] } }, status: 'draft', createdAt: new Date('2025-08-12T07:13:20.123Z'), updatedAt: new Date('2025-08-12T07:13:20.123Z') });
  const rows = Array.from({ length: 8 }, (_, n) => row(n));
  await ds.transaction((m) => upsertRows(m, { batchId, phase: 'contentItems' }, 'content_items', rows as never, 3));
  // Rows 0–3 keep the checksum written with them (`h…`); rows 4–7 get the md5 form batches carried before it.
  await ds.query(`UPDATE batch_rows b SET checksum = md5((to_jsonb(t) - 'batch_id')::text) FROM content_items t WHERE t.id = b.row_id AND b.batch_id = $1 AND t.source_id IN ('i4', 'i5', 'i6', 'i7')`, [batchId]);
  const differing = async (tz = 'UTC') => ds.transaction(async (m) => {
    await m.query(`SET LOCAL TIME ZONE '${tz}'`);
    const r: { source_id: string; form: string }[] = await m.query(
      `SELECT t.source_id, left(b.checksum, 1) = 'h' AS form FROM batch_rows b JOIN content_items t ON t.id = b.row_id
       WHERE b.batch_id = $1 AND ${checksumDiffersSql(spec, 't', 'b.checksum')} ORDER BY t.source_id`, [batchId]);
    return r.map((x) => x.source_id);
  });
  expect((await ds.query(`SELECT count(*)::int AS n FROM batch_rows WHERE batch_id = $1 AND checksum LIKE 'h%'`, [batchId]))[0].n).toBe(4);
  expect(await differing()).toEqual([]);
  // The new form hashes timestamps as instants; the md5 form hashed their text, which follows the session's zone.
  expect(await differing('Asia/Tokyo')).toEqual(['i4', 'i5', 'i6', 'i7']);
  // One change per column, in rows of both forms.
  await ds.query(`UPDATE content_items SET data = jsonb_set(data, '{nested,a,1}', '0') WHERE user_id = $1 AND source_id IN ('i0', 'i4')`, [user]);
  await ds.query(`UPDATE content_items SET updated_at = updated_at + interval '1 millisecond' WHERE user_id = $1 AND source_id IN ('i1', 'i5')`, [user]);
  await ds.query(`UPDATE content_items SET status = 'published' WHERE user_id = $1 AND source_id IN ('i2', 'i6')`, [user]);
  await ds.query(`UPDATE content_items SET source_id = source_id || 'x' WHERE user_id = $1 AND source_id = 'i3'`, [user]);
  await ds.query(`UPDATE content_items SET batch_id = $2 WHERE user_id = $1 AND source_id = 'i7'`, [user, randomUUID()]); // not part of the row's content
  expect(await differing()).toEqual(['i0', 'i1', 'i2', 'i3x', 'i4', 'i5', 'i6']);
});
