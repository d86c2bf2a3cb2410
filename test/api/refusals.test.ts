/**
 * POST /v1/dumps refuses what it cannot take with a 4xx in the error form, and a refused request leaves
 * nothing behind: no stored dump object, no batch. Table-driven, so a new kind of bad input is one row.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ workers: false });
  token = await stack.mintToken('refusals');
});
afterAll(() => stack.close());

/** A dump no other case posts (dumps are deduplicated by digest). */
let n = 0;
function freshDump(): DumpDoc {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n++)).toISOString() };
  return doc;
}

interface Case {
  body: string | Buffer;
  type?: string;
  query?: string;
  headers?: Record<string, string>;
  /** Expected status and error code. */
  status: number;
  code: string;
  /** The message must say what is wrong: matched against it. */
  says?: RegExp;
}

/** Over fetch rather than supertest: superagent re-encodes some bodies it is given (a gzip Buffer). */
async function send(c: Pick<Case, 'body' | 'type' | 'query' | 'headers'>) {
  const res = await fetch(`${stack.api.url}/v1/dumps${c.query ?? ''}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': c.type ?? 'application/json', ...c.headers },
    body: c.body,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

function storedObjects(): string[] {
  const dir = join(stack.config.STORAGE_DIR, 'dumps');
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.sealed'));
  } catch {
    return [];
  }
}

async function batchCount(): Promise<number> {
  const [row] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM migration_batches`);
  return row.n;
}

const CASES: Record<string, () => Case> = {
  'Content-Encoding gzip on a body that is not gzip': () => ({
    body: JSON.stringify(freshDump()), headers: { 'Content-Encoding': 'gzip' }, status: 400, code: 'invalid_content_encoding', says: /Content-Encoding/,
  }),
  'Content-Encoding gzip on a cut-off gzip body': () => ({
    body: gzipSync(JSON.stringify(freshDump())).subarray(0, 200), headers: { 'Content-Encoding': 'gzip' }, status: 400, code: 'invalid_content_encoding',
  }),
  'Content-Encoding deflate on a body that is not deflate': () => ({
    body: JSON.stringify(freshDump()), headers: { 'Content-Encoding': 'deflate' }, status: 400, code: 'invalid_content_encoding',
  }),
  'Content-Encoding br on a body that is not brotli': () => ({
    body: JSON.stringify(freshDump()), headers: { 'Content-Encoding': 'br' }, status: 400, code: 'invalid_content_encoding', says: /Content-Encoding/,
  }),
  'Content-Encoding br on a cut-off brotli body': () => ({
    body: brotliCompressSync(JSON.stringify(freshDump())).subarray(0, 60), headers: { 'Content-Encoding': 'br' }, status: 400, code: 'invalid_content_encoding',
  }),
  'an unknown Content-Encoding': () => ({
    body: JSON.stringify(freshDump()), headers: { 'Content-Encoding': 'x-unknown' }, status: 415, code: 'unsupported_content_encoding', says: /gzip/,
  }),
  'U+0000 in a source field of the header': () => ({
    body: JSON.stringify({ ...freshDump(), source: { capturedAt: '2026-02-01T00:00:00Z', app: 'cat\u0000alyst' } }), status: 400, code: 'dump_invalid_header', says: /source\.app.*U\+0000/,
  }),
  'U+0000 in a nested extra field of the header': () => ({
    body: JSON.stringify({ ...freshDump(), source: { capturedAt: '2026-02-01T00:00:01Z', extra: { tags: ['ok', 'x\u0000'] } } }), status: 400, code: 'dump_invalid_header', says: /source\.extra\.tags\[1\]/,
  }),
  'U+0000 in a key of the header': () => ({
    body: JSON.stringify({ ...freshDump(), source: { capturedAt: '2026-02-01T00:00:02Z', ['k\u0000']: 1 } }), status: 400, code: 'dump_invalid_header',
  }),
  'a lone surrogate in the header': () => ({
    body: JSON.stringify({ ...freshDump(), source: { capturedAt: '2026-02-01T00:00:03Z', userAgent: 'a\ud800b' } }), status: 400, code: 'dump_invalid_header',
  }),
  'U+0000 in the header of an NDJSON dump': () => ({
    body: `${JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { capturedAt: '2026-02-01T00:00:04Z', origin: '\u0000' } })}\n{"end":true,"entries":0}\n`,
    type: 'application/x-ndjson', status: 400, code: 'dump_invalid_header',
  }),
  'a capturedAt on a day its month does not have (it would become March 2)': () => ({
    body: JSON.stringify({ ...freshDump(), source: { capturedAt: '2026-02-30T10:00:00Z' } }), status: 400, code: 'dump_invalid_header', says: /capturedAt/,
  }),
  'a capturedAt at hour 24': () => ({
    body: JSON.stringify({ ...freshDump(), source: { capturedAt: '2026-02-01T24:00:00Z' } }), status: 400, code: 'dump_invalid_header', says: /capturedAt/,
  }),
  'U+0000 in the websiteId query': () => ({ body: JSON.stringify(freshDump()), query: '?websiteId=site%00one', status: 400, code: 'invalid_query', says: /U\+0000/ }),
  'a JSON dump without its indexedDB array': () => {
    const { indexedDB: _omitted, ...doc } = freshDump();
    return { body: JSON.stringify(doc), status: 400, code: 'dump_missing_array', says: /"indexedDB"/ };
  },
  'a JSON dump without its localStorage and sessionStorage arrays': () => {
    const { localStorage: _l, sessionStorage: _s, ...doc } = freshDump();
    return { body: JSON.stringify(doc), status: 400, code: 'dump_missing_array', says: /"localStorage", "sessionStorage"/ };
  },
  'an IndexedDB value nested 10,000 deep (JSON document)': () => ({
    body: JSON.stringify(withRecord(freshDump(), 'DEEP')).replace('"DEEP"', deepText(10_000)), status: 400, code: 'dump_value_too_deep', says: /1000 levels/,
  }),
  'an IndexedDB value nested 10,000 deep (NDJSON)': () => ({
    body: ndjson(`{"area":"indexedDB","db":"d","dbVersion":1,"store":"s","key":"k","value":${deepText(10_000)}}`),
    type: 'application/x-ndjson', status: 400, code: 'dump_value_too_deep',
  }),
  'an IndexedDB key nested 10,000 deep': () => ({
    body: JSON.stringify(withRecord(freshDump(), 1)).replace('"key":"DEEP-KEY"', `"key":${'['.repeat(10_000)}1${']'.repeat(10_000)}`), status: 400, code: 'dump_value_too_deep',
  }),
  'a header source nested 10,000 deep': () => ({
    body: JSON.stringify({ ...freshDump(), source: { capturedAt: '2026-03-01T00:00:00Z', x: 'DEEP' } }).replace('"DEEP"', deepText(10_000)), status: 400, code: 'dump_invalid_header',
  }),
};

/** Nested JSON text built as text (JSON.stringify of such a value would itself overflow). */
const deepText = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

function withRecord(doc: DumpDoc, value: unknown): DumpDoc {
  doc.indexedDB.push({ name: 'deep', version: 1, stores: [{ name: 's', keyPath: null, autoIncrement: false, indexes: [], records: [{ key: 'DEEP-KEY', value }] }] });
  return doc;
}

function ndjson(...entries: string[]): string {
  const head = JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { capturedAt: new Date(Date.UTC(2026, 4, 1, 0, 0, n++)).toISOString() } });
  return [head, ...entries, JSON.stringify({ end: true, entries: entries.length })].join('\n');
}

describe('refused with a 4xx, nothing left behind', () => {
  test.each(Object.keys(CASES))('%s', async (name) => {
    const c = CASES[name]();
    const [objectsBefore, batchesBefore] = [storedObjects(), await batchCount()];
    const res = await send(c);
    expect(res.status).toBeLessThan(500);
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: c.status, code: c.code });
    expect(typeof res.body.error.message).toBe('string');
    if (c.says) expect(res.body.error.message).toMatch(c.says);
    expect(storedObjects()).toEqual(objectsBefore);
    expect(await batchCount()).toBe(batchesBefore);
  });
});

test('a batch that cannot be created leaves no stored dump behind', async () => {
  // A real Postgres refusal (a trigger), after the dump was validated and stored: the request fails, and
  // the object it stored goes with it.
  const ds = stack.api.deps.ds;
  await ds.query(`CREATE FUNCTION refuse_batch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`);
  await ds.query(`CREATE TRIGGER refuse_batch BEFORE INSERT ON migration_batches FOR EACH ROW EXECUTE FUNCTION refuse_batch()`);
  try {
    const [objectsBefore, batchesBefore] = [storedObjects(), await batchCount()];
    const res = await send({ body: JSON.stringify(freshDump()) });
    expect(res.status).toBe(500);
    expect(storedObjects()).toEqual(objectsBefore);
    expect(await batchCount()).toBe(batchesBefore);
  } finally {
    await ds.query(`DROP TRIGGER refuse_batch ON migration_batches; DROP FUNCTION refuse_batch()`);
  }
});

test('a real gzip body is read (the refusals above are about the encoding, not about gzip)', async () => {
  const res = await send({ body: gzipSync(JSON.stringify(freshDump())), headers: { 'Content-Encoding': 'gzip' } });
  expect(res.status).toBe(202);
});
