/**
 * The generic layout, end to end on the real stack: a dump uploaded with `?layout=generic` becomes one
 * browser_entries row per entry (odd keys included: numbers, strings that look like numbers, arrays, Dates,
 * binary), the batch completes and verifies, GET /v1/entries finds the rows by area, database, store and
 * key, and a rollback removes them exactly. The same dump with the default layout is another batch, migrated
 * as Catalyst; an unknown layout is refused with nothing stored.
 */
import { createHash } from 'node:crypto';
import { catalystDump, entryCount, type DumpDoc } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const USER = 'user-generic-layout';
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const ds = () => stack.api.deps.ds;
const DATE_KEY = { $t: 'Date', v: '2026-01-02T03:04:05.000Z' };
const BINARY_KEY = { $t: 'ArrayBuffer', b64: 'AAEC/w==' };

beforeAll(async () => {
  stack = await startStack();
  token = await stack.mintToken(USER);
});
afterAll(() => stack.close());

/** Catalyst's dump plus entries no app layout knows, with every odd key kind IndexedDB allows. */
function mixedDump(): DumpDoc {
  const doc = catalystDump();
  doc.localStorage.push({ key: 'settings', value: '{"theme": "dark",  "n": 1.0}' }, { key: 'greeting', value: 'hello' }, { key: 'nothing', value: 'null' });
  doc.sessionStorage.push({ key: 'tab', value: '42' });
  doc.indexedDB.push({
    name: 'app', version: 3,
    stores: [{
      name: 'items', keyPath: null, autoIncrement: false, indexes: [],
      records: [
        { key: 1, value: { n: 'number one', at: { $t: 'Date', v: '2025-05-05T05:05:05.000Z' } } },
        { key: '1', value: 'string one' },
        { key: [1, 'a'], value: [1, 'a'] },
        { key: DATE_KEY, value: { bytes: { $t: 'Uint8Array', b64: 'AQID' } } },
        { key: BINARY_KEY, value: null },
      ],
    }],
  });
  return doc;
}

const post = (doc: DumpDoc, query = '') =>
  stack.http.post(`/v1/dumps${query}`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
const entries = (query: Record<string, string | number>) => stack.http.get('/v1/entries').query(query).set('Authorization', `Bearer ${token}`);

let catalystBatch: string;
let genericBatch: string;
let beforeGeneric: Record<string, string>;

test('the same dump with the default layout migrates as Catalyst', async () => {
  const res = await post(mixedDump());
  expect(res.status).toBe(202);
  catalystBatch = res.body.batchId;
  expect(await waitForBatch(stack, catalystBatch)).toBe('completed');
  const batch = await stack.http.get(`/v1/batches/${catalystBatch}`).set('Authorization', `Bearer ${token}`);
  expect(batch.body.phases.map((p: { name: string }) => p.name)).toEqual([
    'ingest', 'websites', 'contentTypes', 'contentItems', 'websiteStorage', 'aiData', 'userPreferences', 'deploymentConfigs', 'deploymentHistory', 'preserve', 'prune', 'verify',
  ]);
  expect(batch.body.layout).toBe('catalyst');
  expect(await ds().query(`SELECT source_id FROM websites WHERE user_id = $1`, [USER])).toEqual([{ source_id: 'website_1754981234567_k2j8d9x0q' }]);
  // The entries Catalyst does not know are kept raw, and nothing went to the generic table.
  const [{ n: preserved }] = await ds().query(`SELECT count(*)::int AS n FROM preserved_entries WHERE user_id = $1 AND (db_name = 'app' OR entry_key IN ('"settings"', '"greeting"', '"tab"'))`, [USER]);
  expect(preserved).toBe(8);
  expect((await ds().query(`SELECT count(*)::int AS n FROM browser_entries WHERE user_id = $1`, [USER]))[0].n).toBe(0);
});

test('with ?layout=generic: another batch, completed, one browser_entries row per entry', async () => {
  const doc = mixedDump();
  beforeGeneric = await tableChecksums(ds(), USER);
  const res = await post(doc, '?layout=generic');
  expect(res.status).toBe(202);
  expect(res.body.duplicate).toBe(false);
  genericBatch = res.body.batchId;
  expect(genericBatch).not.toBe(catalystBatch);
  expect(await waitForBatch(stack, genericBatch)).toBe('completed');

  const batch = await stack.http.get(`/v1/batches/${genericBatch}`).set('Authorization', `Bearer ${token}`);
  expect(batch.body.layout).toBe('generic');
  expect(batch.body.phases.map((p: { name: string }) => p.name)).toEqual(['ingest', 'entries', 'preserve', 'prune', 'verify']);
  const [b] = await ds().query(`SELECT layout, verification FROM migration_batches WHERE id = $1`, [genericBatch]);
  expect(b.layout).toBe('generic');
  expect(b.verification.ok).toBe(true);
  // Every entry of the dump is migrated (the fixture repeats no key), each into exactly one row of its own.
  const total = entryCount(doc);
  expect(b.verification.accounting).toMatchObject({ entries: total, migrated: total, preserved: 0, rejected: 0, pending: 0 });
  expect(b.verification.tables).toEqual({ browser_entries: expect.objectContaining({ expected: total, present: total, changed: 0, missing: 0 }) });
  const [{ n }] = await ds().query(`SELECT count(*)::int AS n FROM browser_entries WHERE user_id = $1 AND batch_id = $2`, [USER, genericBatch]);
  expect(n).toBe(total);

  // The cutover state is per layout: the Catalyst client still follows the Catalyst snapshot.
  const cut = async (q: string) => (await stack.http.get(`/v1/cutover${q}`).set('Authorization', `Bearer ${token}`)).body;
  expect(await cut('')).toMatchObject({ mode: 'ready', snapshotBatchId: catalystBatch });
  expect(await cut('?layout=generic')).toMatchObject({ mode: 'ready', snapshotBatchId: genericBatch, globalWebsite: null });
  expect((await cut('?layout=nope')).error.code).toBe('unknown_layout');
  // Posting it again with the same layout is the same batch; with the other, the Catalyst one.
  const again = await post(doc, '?layout=generic');
  expect(again.body).toMatchObject({ batchId: genericBatch, duplicate: true });
  const asCatalyst = await post(doc);
  expect(asCatalyst.body).toMatchObject({ batchId: catalystBatch, duplicate: true });
});

test('GET /v1/entries finds the rows by area, database, store and key', async () => {
  const store = await entries({ area: 'indexedDB', db: 'app', store: 'items' });
  expect(store.status).toBe(200);
  expect(store.body.items).toHaveLength(5);
  expect(store.body.nextCursor).toBeNull();
  const byKeyText = Object.fromEntries(store.body.items.map((i: { keyText: string; key: unknown }) => [`${typeof i.key}:${i.keyText}`, i]));
  // The number 1 and the string "1" are two rows; `key=1` finds both, each saying which it is.
  expect(byKeyText['number:1'].value).toEqual({ n: 'number one', at: { $t: 'Date', v: '2025-05-05T05:05:05.000Z' } });
  expect(byKeyText['string:1'].value).toBe('string one');
  expect(byKeyText['number:1'].id).not.toBe(byKeyText['string:1'].id);
  const ones = await entries({ area: 'indexedDB', db: 'app', store: 'items', key: '1' });
  expect(ones.body.items.map((i: { key: unknown }) => i.key).sort()).toEqual([1, '1'].sort());

  const arr = await entries({ db: 'app', store: 'items', key: '[1,"a"]' });
  expect(arr.body.items).toHaveLength(1);
  expect(arr.body.items[0]).toMatchObject({ key: [1, 'a'], value: [1, 'a'], area: 'indexedDB', db: 'app', store: 'items', batchId: genericBatch });
  const date = await entries({ store: 'items', key: JSON.stringify(DATE_KEY) });
  expect(date.body.items).toHaveLength(1);
  expect(date.body.items[0]).toMatchObject({ key: DATE_KEY, value: { bytes: { $t: 'Uint8Array', b64: 'AQID' } } });
  const bin = await entries({ store: 'items', key: JSON.stringify(BINARY_KEY) });
  expect(bin.body.items).toEqual([expect.objectContaining({ key: BINARY_KEY, value: null })]);

  // Web storage: JSON values are parsed for querying, and the stored string is kept exactly.
  const settings = await entries({ area: 'localStorage', key: 'settings' });
  expect(settings.body.items).toEqual([expect.objectContaining({ db: null, store: null, key: 'settings', value: { theme: 'dark', n: 1 }, rawValue: '{"theme": "dark",  "n": 1.0}' })]);
  const greeting = await entries({ area: 'localStorage', key: 'greeting' });
  expect(greeting.body.items[0]).toMatchObject({ value: 'hello', rawValue: null });
  const nothing = await entries({ area: 'localStorage', key: 'nothing' });
  expect(nothing.body.items[0]).toMatchObject({ value: null, rawValue: 'null' });
  const tab = await entries({ area: 'sessionStorage', key: 'tab' });
  expect(tab.body.items[0]).toMatchObject({ value: 42, rawValue: '42' });
  // Another area's key of the same name is not found.
  expect((await entries({ area: 'sessionStorage', key: 'settings' })).body.items).toEqual([]);

  // Keyset pages: every row once, in id order.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await entries({ limit: 7, ...(cursor ? { cursor } : {}) });
    expect(page.body.items.length).toBeLessThanOrEqual(7);
    seen.push(...page.body.items.map((i) => i.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  expect(seen).toEqual([...seen].sort());
  expect(new Set(seen).size).toBe(entryCount(mixedDump()));
  expect((await entries({ cursor: 'not-a-cursor' })).body.error.code).toBe('invalid_cursor');
  expect((await entries({ area: 'cookies' })).status).toBe(400);
});

test('a delta of a generic batch stays generic: changed entries updated, removed ones pruned, its rollback exact', async () => {
  const afterSnapshot = await tableChecksums(ds(), USER);
  const lines = [
    { format: 'browser-storage-dump', version: 1, source: { capturedAt: '2026-11-29T12:00:00.000Z' } },
    { area: 'localStorage', key: 'greeting', value: 'hi' },
    { op: 'delete', area: 'indexedDB', db: 'app', store: 'items', key: 1 },
    { op: 'delete', area: 'indexedDB', db: 'app', store: 'items', key: DATE_KEY },
    { end: true, entries: 3 },
  ];
  const res = await stack.http.post(`/v1/batches/${genericBatch}/delta`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/x-ndjson')
    .send(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  expect(res.status).toBe(202);
  const delta = res.body.batchId as string;
  expect(await waitForBatch(stack, delta)).toBe('completed');
  const [d] = await ds().query(`SELECT layout, notes FROM migration_batches WHERE id = $1`, [delta]);
  expect(d.layout).toBe('generic');
  expect(d.notes.pruned).toEqual({ browser_entries: 2 });
  const items = (await entries({ db: 'app', store: 'items' })).body.items;
  expect(items.map((i: { key: unknown }) => i.key)).toEqual(expect.arrayContaining(['1', [1, 'a'], BINARY_KEY]));
  expect(items).toHaveLength(3);
  expect((await entries({ area: 'localStorage', key: 'greeting' })).body.items[0]).toMatchObject({ value: 'hi', batchId: delta, updatedAt: '2026-11-29T12:00:00.000Z' });

  const rb = await stack.http.post(`/v1/admin/batches/${delta}/rollback`).set(admin).send({});
  expect(rb.status).toBe(202);
  expect(await waitForBatch(stack, delta, ['rolled_back', 'failed', 'completed'])).toBe('rolled_back');
  expect(await tableChecksums(ds(), USER)).toEqual(afterSnapshot);
});

test('rolling back the generic batch removes its rows exactly', async () => {
  const res = await stack.http.post(`/v1/admin/batches/${genericBatch}/rollback`).set(admin).send({});
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, genericBatch, ['rolled_back', 'failed', 'completed'])).toBe('rolled_back');
  expect(await tableChecksums(ds(), USER)).toEqual(beforeGeneric);
  expect((await ds().query(`SELECT count(*)::int AS n FROM browser_entries WHERE user_id = $1`, [USER]))[0].n).toBe(0);
  // The Catalyst batch of the same dump is untouched.
  const [c] = await ds().query(`SELECT status FROM migration_batches WHERE id = $1`, [catalystBatch]);
  expect(c.status).toBe('completed');
});

test('an unknown layout is refused, naming the known ones, with nothing stored', async () => {
  const other = await stack.mintToken('user-unknown-layout');
  const keys = async () => { const out: string[] = []; for await (const o of stack.api.deps.store.list('')) out.push(o.key); return out.sort(); };
  const objectsBefore = await keys();
  const res = await stack.http.post('/v1/dumps?layout=wordpress').set('Authorization', `Bearer ${other}`).set('Content-Type', 'application/json').send(JSON.stringify(mixedDump()));
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('unknown_layout');
  expect(res.body.error.message).toContain('catalyst, generic');
  const body = JSON.stringify(mixedDump());
  const sha = createHash('sha256').update(body).digest('hex');
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const tus = await stack.http.post('/v1/uploads').set('Authorization', `Bearer ${other}`).set('Tus-Resumable', '1.0.0')
    .set('Upload-Length', String(Buffer.byteLength(body)))
    .set('Upload-Metadata', `filename ${b64('d.json')},contentType ${b64('application/json')},sha256 ${b64(sha)},layout ${b64('wordpress')}`);
  expect(tus.status).toBe(400);
  expect(tus.text).toContain('unknown_layout');
  expect(await ds().query(`SELECT id FROM migration_batches WHERE user_id = 'user-unknown-layout'`)).toEqual([]);
  expect(await keys()).toEqual(objectsBefore);
});
