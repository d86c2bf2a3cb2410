/**
 * POST /v1/dumps with Content-Encoding gzip (docs/http-api.md §2): the body is inflated while it is read,
 * bounded by DUMP_BODY_LIMIT on the inflated bytes. A gzip NDJSON or JSON dump migrates, and is the same dump
 * as its plain body (posting the plain one afterwards returns the same batch); a bomb is refused with 413
 * and leaves nothing behind.
 */
import { gzipSync } from 'node:zlib';
import { sha256Hex } from '../../core/ids';
import { catalystDump, toNdjson } from '../fixtures/catalystDump';
import { expectBatchEnds, startStack, type Stack } from '../helpers/stack';

const LIMIT = '1mb';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ config: { DUMP_BODY_LIMIT: LIMIT } });
});
afterAll(() => stack?.close());

async function post(token: string, body: Buffer | string, type: string, gzip: boolean) {
  const res = await fetch(`${stack.api.url}/v1/dumps`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': type, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) },
    body,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as any };
}

async function objectsOf(userPrefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of stack.api.deps.store.list(userPrefix)) out.push(o.key);
  return out;
}

test.each([
  ['NDJSON', 'application/x-ndjson', (doc: ReturnType<typeof catalystDump>) => toNdjson(doc)],
  ['JSON', 'application/json', (doc: ReturnType<typeof catalystDump>) => JSON.stringify(doc)],
])('a gzip %s body migrates, and is the same dump as the plain body', async (name, type, encode) => {
  const token = await stack.mintToken(`gzip-post-${name}`);
  const text = encode(catalystDump());
  const first = await post(token, gzipSync(text), type, true);
  expect(first.status).toBe(202);
  await expectBatchEnds(stack, first.body.batchId);
  const [rows] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM batch_rows WHERE batch_id = $1`, [first.body.batchId]);
  expect(rows.n).toBeGreaterThan(0);
  // The uncompressed body is the same dump: the server returns the first batch.
  const again = await post(token, text, type, false);
  expect(again).toMatchObject({ status: 200, body: { batchId: first.body.batchId, duplicate: true } });
}, 60_000);

test('a zip bomb gets 413 naming the limit; no batch, nothing stored', async () => {
  const user = 'gzip-post-bomb';
  const token = await stack.mintToken(user);
  const doc = catalystDump();
  doc.localStorage.push({ key: 'bomb', value: '0'.repeat(10 * 1000 * 1000) });
  const bomb = gzipSync(toNdjson(doc), { level: 9 });
  expect(bomb.length).toBeLessThan(64 * 1024);
  const res = await post(token, bomb, 'application/x-ndjson', true);
  expect(res.status).toBe(413);
  expect(res.body.error).toMatchObject({ code: 'payload_too_large', details: { limit: LIMIT } });
  expect(res.body.error.message).toContain(LIMIT);
  const [n] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM migration_batches WHERE user_id = $1`, [user]);
  expect(n.n).toBe(0);
  expect(await objectsOf(`dumps/${sha256Hex(user).slice(0, 16)}/`)).toEqual([]); // where its dump would be (jobs/dumpObjects.ts)
  const all = await objectsOf('');
  const [batches] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM migration_batches`);
  expect(all.filter((k) => k.startsWith('dumps/'))).toHaveLength(batches.n); // one sealed object per batch, none for the bomb
});
