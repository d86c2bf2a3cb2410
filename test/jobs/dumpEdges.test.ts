/**
 * Values at the edges of what a browser can hold: each dump is either refused up front (4xx, no batch) or
 * migrated to a balanced report (every entry migrated, preserved or rejected with a reason); a batch never
 * fails on them.
 */
import { randomBytes } from 'node:crypto';
import { MAX_SLICED_VALUE_NODES, MAX_VALUE_DEPTH, MAX_VALUE_NODES } from '../../format';
import { catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { indexTooLarge, textIndexes } from '../../jobs/write/indexedText';
import { PAGE_NODES } from '../../jobs/phases/staged';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ config: { JOB_ATTEMPTS: '2' } });
  token = await stack.mintToken('edges');
});
afterAll(() => stack.close());

let n = 0;
function freshDump(): DumpDoc {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: new Date(Date.UTC(2026, 1, 1, 0, 0, n++)).toISOString() };
  return doc;
}

const post = (body: string) =>
  stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(body);

/** Posts, waits, and checks the batch ended well with a balanced report; returns the staged entries. */
async function migrate(body: string): Promise<{ batchId: string; entries: { seq: number; entry_key: string; db_version: string | null; outcome: string; reason: string | null }[] }> {
  const res = await post(body);
  expect(res.status).toBe(202);
  const batchId = res.body.batchId as string;
  expect(await waitForBatch(stack, batchId, undefined, 30_000)).toBe('completed');
  const report = await stack.http.get(`/v1/batches/${batchId}/report`).set('Authorization', `Bearer ${token}`);
  expect(report.status).toBe(200);
  const [acc] = await stack.api.deps.ds.query(`SELECT verification->'accounting' AS a FROM migration_batches WHERE id = $1`, [batchId]);
  expect(acc.a).toMatchObject({ balanced: true, pending: 0 });
  const entries = await stack.api.deps.ds.query(`SELECT seq, entry_key, db_version, outcome, reason FROM dump_entries WHERE batch_id = $1 ORDER BY seq`, [batchId]);
  for (const e of entries) if (e.outcome !== 'migrated') expect(e.reason).toEqual(expect.any(String));
  return { batchId, entries };
}

function withDatabase(doc: DumpDoc, name: string, version: number, records: { key: unknown; value: unknown }[]): DumpDoc {
  doc.indexedDB.push({ name, version, stores: [{ name: 's', keyPath: null, autoIncrement: false, indexes: [], records }] });
  return doc;
}

describe('IndexedDB database versions', () => {
  test('the largest version a browser allows (2^53−1) migrates, kept exactly', async () => {
    const doc = withDatabase(freshDump(), 'big_version', Number.MAX_SAFE_INTEGER, [{ key: 'k', value: { a: 1 } }]);
    const { entries } = await migrate(JSON.stringify(doc));
    const staged = entries.find((e) => e.entry_key === '"k"')!;
    expect(staged.db_version).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(staged.outcome).toBe('preserved');
  });

  test('2^31 (one past a Postgres integer) migrates', async () => {
    const doc = withDatabase(freshDump(), 'v2_31', 2 ** 31, [{ key: 'k', value: 1 }]);
    const { entries } = await migrate(JSON.stringify(doc));
    expect(entries.find((e) => e.entry_key === '"k"')!.db_version).toBe(String(2 ** 31));
  });

  test('a version no browser can have (2^53) is refused up front', async () => {
    const doc = withDatabase(freshDump(), 'too_big', 2 ** 53, [{ key: 'k', value: 1 }]);
    const res = await post(JSON.stringify(doc));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('dump_invalid_structure');
  });
});

/** Nested JSON text built as text (JSON.stringify of such a value would itself overflow). */
const deepText = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('deeply nested values (MAX_VALUE_DEPTH)', () => {
  test('JSON text nested 10,000 deep in string values is kept raw with the reason; the rest migrates', async () => {
    const doc = freshDump();
    doc.localStorage = doc.localStorage.map((e) => (e.key === 'project-context' ? { ...e, value: deepText(10_000) } : e));
    doc.localStorage.push({ key: 'scratch-deep', value: deepText(10_000) });
    const persistence = doc.indexedDB.find((d) => d.name === 'catalyst-studio')!.stores[0].records;
    persistence[0] = { ...persistence[0], value: deepText(10_000) }; // the chat copy: a JSON string the chat transform parses
    const { batchId, entries } = await migrate(JSON.stringify(doc));
    const byKey = (k: string) => entries.find((e) => e.entry_key === JSON.stringify(k))!;
    for (const k of ['project-context', 'scratch-deep', 'catalyst:chat:default']) {
      expect(byKey(k)).toMatchObject({ outcome: 'preserved', reason: expect.stringContaining(`${MAX_VALUE_DEPTH} levels deep`) });
    }
    // The other preference keys still make their row: the deep one did not take the group down with it.
    expect(byKey('catalyst-navigation-state').outcome).toBe('migrated');
    const [prefs] = await stack.api.deps.ds.query(`SELECT preferences FROM user_preferences WHERE batch_id = $1`, [batchId]);
    expect(prefs.preferences.navigation).toMatchObject({ activeView: 'content' });
    const [kept] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM preserved_entries WHERE batch_id = $1 AND reason LIKE '%MAX_VALUE_DEPTH%'`, [batchId]);
    expect(kept.n).toBe(3);
  });

  test('values nested exactly MAX_VALUE_DEPTH deep migrate (a preference UI key, an IndexedDB record)', async () => {
    const doc = freshDump();
    doc.localStorage.push({ key: 'preview-device-type', value: deepText(MAX_VALUE_DEPTH) });
    const body = JSON.stringify(withDatabase(doc, 'deep_ok', 1, [{ key: 'k', value: 'DEEP' }])).replace('"DEEP"', deepText(MAX_VALUE_DEPTH));
    const { entries } = await migrate(body);
    expect(entries.find((e) => e.entry_key === '"preview-device-type"')!.outcome).toBe('migrated');
    expect(entries.find((e) => e.entry_key === '"k"')!.outcome).toBe('preserved');
  });
});

describe('values holding too many JSON values (MAX_VALUE_NODES)', () => {
  /** `[{},{},…]`: 2 per element by the text's count (bounds.ts jsonTextNodes). */
  const empties = (n: number) => `[${'{},'.repeat(n - 1)}{}]`;

  test('JSON text over the bound in string values is kept raw with the reason, mapped whole or in slices; the rest migrates', async () => {
    const doc = freshDump();
    doc.localStorage = doc.localStorage.map((e) => {
      if (e.key === 'deployment-history') return { ...e, value: empties(PAGE_NODES / 2) }; // 250,001
      if (e.key === 'content-storage') return { ...e, value: `{"state":{"contentItems":${empties(MAX_SLICED_VALUE_NODES / 2)}},"version":0}` };
      return e;
    });
    // An IndexedDB record within what a dump may hold (MAX_VALUE_NODES) but more than one page maps: a row
    // per page would be ~1.6 KB of heap each (500,000 such pages took a worker to 965 MB).
    const pagesDoc = withDatabase(doc, 'website_many-pages_content', 1, [{ key: 'main', value: 'PAGES' }]);
    pagesDoc.indexedDB[pagesDoc.indexedDB.length - 1].stores[0].name = 'data';
    const { batchId, entries } = await migrate(JSON.stringify(pagesDoc).replace('"PAGES"', `{"id":"main","pages":${empties(PAGE_NODES / 2)}}`));
    const byKey = (k: string) => entries.find((e) => e.entry_key === JSON.stringify(k))!;
    const [pages] = await stack.api.deps.ds.query(`SELECT outcome, reason FROM dump_entries WHERE batch_id = $1 AND db_name = 'website_many-pages_content'`, [batchId]);
    expect(pages).toMatchObject({ outcome: 'preserved', reason: expect.stringContaining('more than 250,000 values and object keys (PAGE_NODES)') });
    expect(byKey('deployment-history')).toMatchObject({ outcome: 'preserved', reason: expect.stringContaining('more than 250,000 values and object keys (PAGE_NODES)') });
    expect(byKey('content-storage')).toMatchObject({ outcome: 'preserved', reason: expect.stringContaining('more than 8,000,000 values and object keys (MAX_SLICED_VALUE_NODES)') });
    expect(byKey('catalyst-navigation-state').outcome).toBe('migrated');
    const kept = await stack.api.deps.ds.query(`SELECT entry_key FROM preserved_entries WHERE batch_id = $1 AND reason LIKE '%values and object keys%' ORDER BY 1`, [batchId]);
    expect(kept.map((k: { entry_key: string }) => k.entry_key)).toEqual(['"content-storage"', '"deployment-history"', '"main"']);
    const [rejects] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM batch_rejects WHERE batch_id = $1`, [batchId]);
    expect(rejects.n).toBeLessThan(100); // not a reject per element
  });

  test('an IndexedDB value over the bound is refused up front: 400, no batch', async () => {
    const batches = async () => (await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM migration_batches WHERE user_id = 'edges'`))[0].n as number;
    const before = await batches();
    const doc = withDatabase(freshDump(), 'many', 1, [{ key: 'k', value: 'MANY' }]);
    const res = await post(JSON.stringify(doc).replace('"MANY"', empties(MAX_VALUE_NODES)));
    expect(res.status).toBe(400);
    const path = `indexedDB[${doc.indexedDB.length - 1}].stores[0].records[0]`;
    expect(res.body.error).toMatchObject({ code: 'dump_value_too_large', details: { path, part: 'value', maxNodes: MAX_VALUE_NODES } });
    expect(await batches()).toBe(before);
  });
});

describe('text longer than an index entry holds (jobs/write/indexedText.ts)', () => {
  test('the indexes checked are read from the catalog; their text columns count together, in UTF-8 bytes', async () => {
    const indexes = await textIndexes(stack.api.deps.ds.manager, 'websites');
    expect(indexes).toEqual(expect.arrayContaining([
      { name: 'idx_websites_user_source', columns: ['user_id', 'source_id'] },
      { name: 'uq_websites_user_slug', columns: ['user_id', 'slug'] },
    ]));
    expect(indexes.every((i) => !i.columns.includes('id'))).toBe(true); // uuid keys are not text
    expect(indexTooLarge({ user_id: 'u'.repeat(800), source_id: 'é'.repeat(600), slug: 's' }, indexes)).toBeNull(); // 800 + 1,200
    expect(indexTooLarge({ user_id: 'u'.repeat(801), source_id: 'é'.repeat(600), slug: 's' }, indexes))
      .toBe('its user_id + source_id are 2,001 bytes of text, more than the 2,000 one entry of the index idx_websites_user_source can hold, so the row cannot be written');
  });

  test('a content item whose id is 20,000 bytes is refused with the reason, its reject names it cut short; the other items migrate', async () => {
    const doc = freshDump();
    const at = doc.localStorage.findIndex((e) => e.key === 'content-storage');
    const storage = JSON.parse(doc.localStorage[at].value);
    const items = storage.state.contentItems as { id: string }[];
    const long = randomBytes(15_000).toString('base64'); // 20,000 characters nothing compresses
    items[0].id = long;
    doc.localStorage[at] = { key: 'content-storage', value: JSON.stringify(storage) };
    const { batchId, entries } = await migrate(JSON.stringify(doc));
    expect(entries.find((e) => e.entry_key === '"content-storage"')!.outcome).toBe('migrated');
    const ds = stack.api.deps.ds;
    const rejects = await ds.query(`SELECT path, code, reason FROM batch_rejects WHERE batch_id = $1`, [batchId]);
    expect(rejects).toEqual([{
      path: `content_items:${long.slice(0, 200)}…`,
      code: 'too_large_for_index',
      reason: expect.stringMatching(/^its source_id is 20,000 bytes of text, more than the 2,000 one entry of the index idx_content_items_website_source can hold/),
    }]);
    // The other items are in place (earlier tests of this file migrated them for this user already).
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM content_items WHERE user_id = 'edges' AND source_id = ANY($1)`, [items.map((i) => i.id)]);
    expect(n).toBe(items.length - 1);
  });
});

describe('IndexedDB values JSON cannot carry, dates Postgres cannot read (found by the property tests)', () => {
  test('a bigint, a Map and NaN in jsonb columns are stored in their §1c form; a date past year 9999 is rejected, not a failed batch', async () => {
    const doc = freshDump();
    const config = doc.indexedDB.find((d) => d.name.endsWith('_config'))!.stores[0].records[0];
    (config.value as Record<string, unknown>).settings = { quota: { $t: 'bigint', v: '12345678901234567890' }, seen: { $t: 'Map', v: [['a', { $t: 'number', v: 'NaN' }]] } };
    const content = doc.indexedDB.find((d) => d.name.endsWith('_content'))!.stores[0].records[0];
    const page = (content.value as { pages: Record<string, unknown>[] }).pages[0];
    page.createdAt = { $t: 'Date', v: '+010000-01-01T00:00:00.000Z' };
    page.title = { toString: ['not a function'] };
    const { batchId, entries } = await migrate(JSON.stringify(doc));
    const ds = stack.api.deps.ds;
    const [site] = await ds.query(`SELECT metadata FROM websites WHERE batch_id = $1 AND source_id <> '__imported__'`, [batchId]);
    expect(site.metadata.settings).toEqual({ quota: { $t: 'bigint', v: '12345678901234567890' }, seen: { $t: 'Map', v: [['a', { $t: 'number', v: 'NaN' }]] } });
    const [stored] = await ds.query(`SELECT title, created_at FROM website_pages WHERE batch_id = $1`, [batchId]);
    expect(stored).toEqual({ title: '{"toString":["not a function"]}', created_at: null });
    const [reject] = await ds.query(`SELECT code, reason FROM batch_rejects WHERE batch_id = $1 AND path = 'pages[0].createdAt'`, [batchId]);
    expect(reject).toEqual({ code: 'invalid_date', reason: expect.stringContaining('outside the years 1 to 9999') });
    expect(entries.filter((e) => e.outcome === 'migrated').length).toBeGreaterThan(5);
  });
});

describe('large values (staged by a bind parameter after the COPY, jobs/phases/ingest.ts)', () => {
  test('a 3 MB value of every character COPY escapes is staged and preserved exactly; a repeated key keeps its last copy; a large secret is sealed', async () => {
    const doc = freshDump();
    const tricky = 'tab\there\nnew line\r\\back\\slash "quoted" ünïcødé 🎉 \u0001\u001f end;';
    const big = tricky.repeat(Math.ceil((3 * 1024 * 1024) / tricky.length));
    doc.localStorage.push({ key: 'big-note', value: `${big}first` }, { key: 'other', value: 'small' }, { key: 'big-note', value: `${big}last` });
    const cms = doc.localStorage.find((e) => e.key === 'cms-provider-configs')!;
    const configs = JSON.parse(cms.value);
    configs.contentful.config.padding = big; // ~3 MB of a secret-bearing kind: sealed at rest, large
    cms.value = JSON.stringify(configs);
    const { batchId, entries } = await migrate(JSON.stringify(doc));
    const ds = stack.api.deps.ds;
    const notes = entries.filter((e) => e.entry_key === '"big-note"');
    expect(notes.map((e) => e.outcome)).toEqual(['rejected', 'preserved']);
    const [staged] = await ds.query(`SELECT value, value_bytes FROM dump_entries WHERE batch_id = $1 AND seq = $2`, [batchId, notes[1].seq]);
    expect(staged.value).toBe(JSON.stringify(`${big}last`));
    expect(staged.value_bytes).toBe(Buffer.byteLength(staged.value));
    const [kept] = await ds.query(`SELECT value FROM preserved_entries WHERE batch_id = $1 AND entry_key = '"big-note"'`, [batchId]);
    expect(kept.value).toBe(JSON.stringify(`${big}last`));
    const [secret] = await ds.query(`SELECT sealed, position('CFPAT' in value) AS at FROM dump_entries WHERE batch_id = $1 AND entry_key = '"cms-provider-configs"'`, [batchId]);
    expect(secret).toEqual({ sealed: true, at: 0 });
    const [config] = await ds.query(`SELECT count(*)::int AS n FROM deployment_configs WHERE batch_id = $1`, [batchId]);
    expect(config.n).toBeGreaterThan(0);
  });
});
