/**
 * Ingest stages a large Web Storage value from the bytes of the dump when the NDJSON reader kept them
 * (format/rawStrings.ts), and from the decoded string otherwise: the staged text must be the same either
 * way — exactly JSON.stringify of the value, with its byte count — and so must everything migrated from it.
 * The same content-storage is posted twice: as JSON.stringify writes it (read as bytes) and with its slashes
 * escaped (`\/`, which JSON.stringify never writes: read the usual way). The first one's value is also
 * kept in this process for its split (jobs/phases/recentlyStaged.ts), the second one's read back from
 * Postgres: the slices must not tell the difference.
 */
import { Readable } from 'node:stream';
import { CONTENT_TYPES, catalystDump, toNdjson } from '../fixtures/catalystDump';
import { openDump, RawJsonString } from '../../format';
import { RAW_STRINGS } from '../../format/rawStrings';
import { recentlyStaged } from '../../jobs/phases/recentlyStaged';
import { expectBatchEnds, startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const saved = RAW_STRINGS.minBytes;

beforeAll(async () => {
  RAW_STRINGS.minBytes = 4096; // the stack's worker runs in this process: a value of ~40 kB is "large"
  stack = await startStack({ config: { SLICE_MIN_BYTES: '4096', SLICE_ELEMENTS: '50' } });
  stack.startWorkers();
});
afterAll(async () => {
  RAW_STRINGS.minBytes = saved;
  await stack.close();
});

function dump(capturedAt: string): { ndjson: string; value: string } {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt };
  const types = CONTENT_TYPES.map((t) => t.id);
  const items = Array.from({ length: 200 }, (_, i) => ({
    id: `item-${i}`, contentTypeId: types[i % 2], data: { title: `Item ${i} "quoted" é📋`, url: `https://example.test/a/${i}`, body: 'line\nbreak\ttab\\slash' },
    createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:14:00.000Z',
  }));
  const value = JSON.stringify({ state: { contentItems: items, projectId: 'p-raw' }, version: 0 });
  doc.localStorage[doc.localStorage.findIndex((e) => e.key === 'content-storage')] = { key: 'content-storage', value };
  return { ndjson: toNdjson(doc), value };
}

async function migrate(user: string, ndjson: string): Promise<string> {
  const token = await stack.mintToken(user);
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/x-ndjson').send(ndjson);
  expect(res.status).toBe(202);
  await expectBatchEnds(stack, res.body.batchId);
  return res.body.batchId;
}

test('a large value staged from the dump\'s bytes is what staging it from the decoded string gives, and migrates alike', async () => {
  const plain = dump('2026-11-30T10:00:00.000Z');
  const line = plain.ndjson.split('\n').find((l) => l.includes('"content-storage"'))!;
  expect(line).toContain('https://example.test/a/');
  const escaped = { ndjson: plain.ndjson.replace(line, line.replaceAll('https://example.test/', 'https:\\/\\/example.test\\/')).replace('10:00:00', '10:00:01'), value: plain.value };

  // The reader ingest uses keeps the first one's value as bytes, and decodes the second one's.
  const kept = async (ndjson: string) => {
    const { entries } = await openDump(Readable.from([Buffer.from(ndjson)]), 'ndjson', { rawStrings: true });
    for await (const e of entries) if (e.area === 'localStorage' && e.key === 'content-storage') return (e.value as unknown) instanceof RawJsonString;
  };
  expect([await kept(plain.ndjson), await kept(escaped.ndjson)]).toEqual([true, false]);

  const staged = async (batchId: string) => {
    const [e] = await stack.api.deps.ds.query(`SELECT value, value_bytes, outcome FROM dump_entries WHERE batch_id = $1 AND entry_key = '"content-storage"'`, [batchId]);
    return e as { value: string; value_bytes: number; outcome: string };
  };
  const rows = async (user: string) => stack.api.deps.ds.query(
    `SELECT source_id, data, status, created_at, updated_at FROM content_items WHERE user_id = $1 ORDER BY source_id`, [user]) as Promise<unknown[]>;
  const hits = recentlyStaged.hits;
  const a = await migrate('user-raw-a', plain.ndjson);
  expect(recentlyStaged.hits).toBe(hits + 1); // its split took the value from memory
  const b = await migrate('user-raw-b', escaped.ndjson);
  expect(recentlyStaged.hits).toBe(hits + 1); // staged from a decoded string (under 1 Mi characters): read back
  expect(recentlyStaged.size).toBe(0);
  const expected = JSON.stringify(plain.value);
  expect(await staged(a)).toEqual({ value: expected, value_bytes: Buffer.byteLength(expected), outcome: 'migrated' });
  expect(await staged(b)).toEqual(await staged(a));
  const [rowsA, rowsB] = [await rows('user-raw-a'), await rows('user-raw-b')];
  expect(rowsA).toHaveLength(200);
  const [sliced] = await stack.api.deps.ds.query(`SELECT result FROM dump_entries WHERE batch_id = $1 AND entry_key = '"content-storage"'`, [a]);
  expect(sliced.result.slices).toBeGreaterThan(1);
  expect(rowsB).toEqual(rowsA);
}, 60_000);
