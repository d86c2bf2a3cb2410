/**
 * Two entries of one dump that say different things about the same value or row: the later entry wins,
 * and the report says so (the other entry, or its row, is rejected naming the winner's seq) instead of
 * counting both as migrated while one value was dropped.
 *  - The same source key twice (localStorage, IndexedDB): the earlier entry is rejected at ingest.
 *  - Distinct entries that produce the same row, in one page or in pages apart: the write path keeps
 *    the later entry's row, whichever page is written first.
 */
import { randomUUID } from 'node:crypto';
import { rowId } from '../../core/ids';
import { upsertRows } from '../../jobs/write/upsertRows';
import { catalystDump, WEBSITE_ID, type DumpDoc } from '../fixtures/catalystDump';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const USER = 'duplicates';

beforeAll(async () => {
  stack = await startStack({ config: { JOB_ATTEMPTS: '2' } });
  token = await stack.mintToken(USER);
});
afterAll(() => stack.close());

let n = 0;
function freshDump(): DumpDoc {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: new Date(Date.UTC(2026, 2, 1, 0, 0, n++)).toISOString() };
  return doc;
}

interface Staged { seq: number; entry_key: string; outcome: string; reason: string | null; result: Record<string, unknown> | null }

async function migrate(doc: DumpDoc): Promise<{ batchId: string; entries: Staged[]; rejects: { entry_seq: number; code: string; reason: string }[] }> {
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  const batchId = res.body.batchId as string;
  expect(await waitForBatch(stack, batchId, undefined, 60_000)).toBe('completed');
  const report = await stack.http.get(`/v1/batches/${batchId}/report`).set('Authorization', `Bearer ${token}`);
  expect(report.body.balanced).toBe(true);
  const ds = stack.api.deps.ds;
  const entries = await ds.query(`SELECT seq, entry_key, outcome, reason, result FROM dump_entries WHERE batch_id = $1 ORDER BY seq`, [batchId]);
  const rejects = await ds.query(`SELECT entry_seq, code, reason FROM batch_rejects WHERE batch_id = $1 ORDER BY id`, [batchId]);
  return { batchId, entries, rejects };
}

const withKey = (entries: Staged[], key: unknown) => entries.filter((e) => e.entry_key === JSON.stringify(key));

describe('the same source key twice: the later entry wins, the earlier is rejected naming it', () => {
  test('a localStorage key a group merges (previewSettings) and an unknown one', async () => {
    const doc = freshDump();
    doc.localStorage.push({ key: 'previewSettings', value: JSON.stringify({ zoom: 3 }) }, { key: 'scratch', value: 'first' }, { key: 'scratch', value: 'second' });
    const { batchId, entries } = await migrate(doc);
    for (const key of ['previewSettings', 'scratch']) {
      const [earlier, later] = withKey(entries, key);
      expect(later.outcome).not.toBe('rejected');
      expect(earlier).toMatchObject({ outcome: 'rejected', result: { supersededBy: later.seq } });
      expect(earlier.reason).toContain(`entry #${later.seq}`);
      expect(earlier.reason).toMatch(/localStorage key.*later entry wins/);
    }
    const ds = stack.api.deps.ds;
    const [prefs] = await ds.query(`SELECT preferences FROM user_preferences WHERE batch_id = $1`, [batchId]);
    expect(prefs.preferences.previewAlt ?? prefs.preferences.preview).toEqual({ zoom: 3 }); // the later value, not the first
    const kept = await ds.query(`SELECT value FROM preserved_entries WHERE batch_id = $1 AND entry_key = '"scratch"'`, [batchId]);
    expect(kept.map((k: { value: string }) => k.value)).toEqual(['"second"']);
  });

  test('an IndexedDB key twice in one store', async () => {
    const doc = freshDump();
    const websites = doc.indexedDB[0].stores[0].records;
    websites.push({ key: WEBSITE_ID, value: { ...(websites[0].value as object), name: 'Renamed Shop' } });
    const { batchId, entries } = await migrate(doc);
    const [earlier, later] = withKey(entries, WEBSITE_ID);
    expect(earlier).toMatchObject({ outcome: 'rejected', result: { supersededBy: later.seq } });
    expect(earlier.reason).toContain('key in IndexedDB store catalyst_global/websites');
    expect(later.outcome).toBe('migrated');
    const [site] = await stack.api.deps.ds.query(`SELECT name FROM websites WHERE batch_id = $1 AND source_id = $2`, [batchId, WEBSITE_ID]);
    expect(site.name).toBe('Renamed Shop');
  });
});

describe('distinct entries producing the same row', () => {
  const SITE = 'website_1754981234999_dupes0001';
  const page = (id: string, title: string) => ({ id, title, slug: id, content: `<h1>${title}</h1>` });

  test('in one page and in pages apart, the later entry writes the row; the earlier is told which entry won', async () => {
    const doc = freshDump();
    const records: { key: unknown; value: unknown }[] = [
      { key: 'a-early', value: { pages: [page('home', 'A home'), page('about', 'A about')] } },
      { key: 'b-early', value: { pages: [page('team', 'B team')] } },
      { key: 'c-1', value: { pages: [page('shop', 'C1 shop')] } },
      { key: 'c-2', value: { pages: [page('shop', 'C2 shop')] } }, // same page of the phase as c-1
    ];
    // 250 records in between: the next ones land in a later page of the phase (pages hold 200 entries).
    for (let i = 0; i < 250; i++) records.push({ key: `filler-${i}`, value: { pages: [] } });
    records.push(
      { key: 'a-late', value: { pages: [page('home', 'A2 home'), page('contact', 'A2 contact')] } },
      { key: 'b-late', value: { pages: [page('team', 'B2 team')] } },
    );
    doc.indexedDB.push({ name: `website_${SITE}_content`, version: 1, stores: [{ name: 'data', keyPath: null, autoIncrement: false, indexes: [], records }] });
    const { batchId, entries, rejects } = await migrate(doc);
    const seq = (key: string) => withKey(entries, key)[0];

    const titles = Object.fromEntries((await stack.api.deps.ds.query(
      `SELECT source_id, title FROM website_pages WHERE batch_id = $1 AND website_id = $2`, [batchId, rowId(USER, 'website', SITE)],
    )).map((r: { source_id: string; title: string }) => [r.source_id, r.title]));
    expect(titles).toEqual({ home: 'A2 home', about: 'A about', contact: 'A2 contact', team: 'B2 team', shop: 'C2 shop' });

    // Across pages, the earlier entry still has a row of its own: migrated, with a reject naming the winner.
    expect(seq('a-early').outcome).toBe('migrated');
    expect(rejects).toContainEqual(expect.objectContaining({ entry_seq: seq('a-early').seq, code: 'duplicate_row', reason: expect.stringContaining(`entry #${seq('a-late').seq}`) }));
    expect(seq('a-early').result).toMatchObject({ tables: { website_pages: 1 }, rejects: 1 });
    // ... or none left: rejected, the reason naming the winner.
    expect(seq('b-early')).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining(`entry #${seq('b-late').seq}`) });
    expect(seq('b-early').result).toMatchObject({ tables: { website_pages: 0 } });
    // Within one page, likewise.
    expect(seq('c-1')).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining(`entry #${seq('c-2').seq}`) });
    for (const k of ['a-late', 'b-late', 'c-2']) expect(seq(k).outcome).toBe('migrated');
  });

  test('whichever page is written first (group pages follow buckets, not seq), the later entry keeps the row', async () => {
    const ds = stack.api.deps.ds;
    const target = { batchId: randomUUID(), phase: 'preserve' };
    const row = (value: string) => ({
      id: rowId(USER, 'preserved_entry', 'test-out-of-order'), userId: USER, sourceId: 'test-out-of-order', area: 'localStorage',
      dbName: null, storeName: null, entryKey: '"k"', value, reason: 'test',
    });
    const later = await ds.transaction((m) => upsertRows(m, target, 'preserved_entries', [row('"from #9"')], 100, [9]));
    expect(later.superseded).toEqual([]);
    const earlier = await ds.transaction((m) => upsertRows(m, target, 'preserved_entries', [row('"from #3"')], 100, [3]));
    expect(earlier.superseded).toEqual([{ row: expect.objectContaining({ value: '"from #3"' }), by: 9 }]);
    const evenLater = await ds.transaction((m) => upsertRows(m, target, 'preserved_entries', [row('"from #12"')], 100, [12]));
    expect(evenLater.displaced).toEqual([expect.objectContaining({ seq: 9, by: 12 })]);
    const [stored] = await ds.query(`SELECT value FROM preserved_entries WHERE id = $1`, [row('').id]);
    expect(stored.value).toBe('"from #12"');
    const [expected] = await ds.query(`SELECT entry_seq FROM batch_rows WHERE batch_id = $1`, [target.batchId]);
    expect(expected.entry_seq).toBe(12);
  });
});
