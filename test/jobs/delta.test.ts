/**
 * Cutover on the server (docs/cutover.md): the state a client learns, the watermark, and deltas applied as
 * follow-up batches — only changed rows written (counted), removals pruned, an empty delta writes nothing,
 * a stale base refused, and rolling a delta back restores exactly the state after its base.
 */
import { createHash } from 'node:crypto';
import { CONTENT_ITEMS, WEBSITE_ID, catalystDump } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const USER = 'user-delta';
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const auth = () => ({ Authorization: `Bearer ${token}` });
const ds = () => stack.api.deps.ds;

beforeAll(async () => {
  stack = await startStack();
  token = await stack.mintToken(USER);
});
afterAll(() => stack.close());

const header = (at: string) => JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { capturedAt: at } });
const ndjson = (at: string, lines: unknown[]) => [header(at), ...lines.map((l) => JSON.stringify(l)), JSON.stringify({ end: true, entries: lines.length })].join('\n') + '\n';

async function postDelta(base: string, body: string) {
  return stack.http.post(`/v1/batches/${base}/delta`).set(auth()).set('Content-Type', 'application/x-ndjson').send(body);
}
const cutover = async () => (await stack.http.get('/v1/cutover').set(auth())).body;

let snapshot: string;
let delta1: string;
let afterSnapshot: Record<string, string>;

test('before and while migrating the state says browser / migrating; after it, ready with the global website', async () => {
  expect(await cutover()).toMatchObject({ mode: 'browser', reason: 'not_migrated', snapshotBatchId: null });
  const res = await stack.http.post('/v1/dumps').set(auth()).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  snapshot = res.body.batchId;
  expect(['migrating', 'ready']).toContain((await cutover()).mode);
  expect(await waitForBatch(stack, snapshot)).toBe('completed');
  const state = await cutover();
  expect(state).toMatchObject({ mode: 'ready', snapshotBatchId: snapshot, latestBatchId: snapshot, deltaBatchIds: [], globalWebsite: { sourceId: WEBSITE_ID } });
  afterSnapshot = await tableChecksums(ds(), USER);
});

test('the watermark digests each entry\'s value text as the NDJSON line carries it; sealed entries have none', async () => {
  const res = await stack.http.get(`/v1/batches/${snapshot}/entries`).set(auth());
  expect(res.status).toBe(200);
  const doc = catalystDump();
  const ct = res.body.entries.find((e: { area: string; key: unknown }) => e.area === 'localStorage' && e.key === 'contentTypes');
  const value = doc.localStorage.find((e) => e.key === 'contentTypes')!.value;
  expect(ct.sha256).toBe(createHash('sha256').update(JSON.stringify(value)).digest('hex'));
  const secret = res.body.entries.find((e: { key: unknown }) => e.key === 'cms-provider-configs');
  expect(secret.sha256).toBeNull();
  const site = res.body.entries.find((e: { db: string | null }) => e.db === 'catalyst_global');
  expect(site.key).toBe(WEBSITE_ID);
  expect((await stack.http.get(`/v1/batches/${snapshot}/entries`).set('Authorization', `Bearer ${await stack.mintToken('someone-else')}`)).status).toBe(404);
});

test('a delta writes only what changed: one item edited, one added, one removed, a key removed', async () => {
  const items = JSON.parse(JSON.stringify(CONTENT_ITEMS));
  items[0].data.title = 'Edited while the batch ran';
  items.splice(2, 1); // removed in the browser
  items.push({ id: 'added-later', contentTypeId: CONTENT_ITEMS[1].contentTypeId, data: { fullName: 'Grace Hopper' }, createdAt: '2026-11-28T10:05:00.000Z', updatedAt: '2026-11-28T10:05:00.000Z' });
  const body = ndjson('2026-11-28T10:10:00.000Z', [
    { area: 'localStorage', key: 'content-storage', value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) },
    { op: 'delete', area: 'localStorage', key: 'project-context' },
  ]);
  const res = await postDelta(snapshot, body);
  expect(res.status).toBe(202);
  delta1 = res.body.batchId;
  expect(res.body.baseBatchId).toBe(snapshot);
  expect(await waitForBatch(stack, delta1)).toBe('completed');

  const report = (await stack.http.get(`/v1/batches/${delta1}/report`).set(auth())).body;
  expect(report.kind).toBe('delta');
  expect(report.balanced).toBe(true);
  expect(report.changes).toEqual({
    content_items: { inserted: 1, updated: 1, deleted: 1 },
    user_preferences: { inserted: 0, updated: 1, deleted: 0 },
  });
  expect(report.notes.delta).toMatchObject({ puts: 1, removals: 1 });
  const titles = await ds().query(`SELECT source_id, data->>'title' AS title FROM content_items WHERE user_id = $1 ORDER BY source_id`, [USER]);
  expect(titles.map((t: { source_id: string }) => t.source_id)).toEqual(['1754981200000_h4g5f6d7s', '1754982000000_r5t6y7u8i', 'added-later']);
  expect(titles.find((t: { source_id: string }) => t.source_id === '1754982000000_r5t6y7u8i').title).toBe('Edited while the batch ran');
  const [prefs] = await ds().query(`SELECT preferences FROM user_preferences WHERE user_id = $1`, [USER]);
  expect(prefs.preferences.projectContext).toBeUndefined();

  const state = await cutover();
  expect(state).toMatchObject({ mode: 'api', latestBatchId: delta1, deltaBatchIds: [delta1] });
  const view = (await stack.http.get(`/v1/batches/${snapshot}`).set(auth())).body;
  expect(view.followedBy).toEqual([delta1]);
});

test('an empty delta writes nothing; a stale base is refused; removals are refused in a dump', async () => {
  const empty = await postDelta(delta1, ndjson('2026-11-28T10:20:00.000Z', []));
  expect(empty.status).toBe(202);
  expect(await waitForBatch(stack, empty.body.batchId)).toBe('completed');
  expect((await stack.http.get(`/v1/batches/${empty.body.batchId}/report`).set(auth())).body.changes).toEqual({});
  const stale = await postDelta(delta1, ndjson('2026-11-28T10:30:00.000Z', []));
  expect(stale.status).toBe(409);
  expect(stale.body.error).toMatchObject({ code: 'stale_base', details: { latestBatchId: empty.body.batchId } });
  const inDump = await stack.http.post('/v1/dumps').set(auth()).set('Content-Type', 'application/x-ndjson').send(ndjson('2026-11-28T10:40:00.000Z', [{ op: 'delete', area: 'localStorage', key: 'x' }]));
  expect(inDump.status).toBe(400);
  expect(inDump.body.error.code).toBe('dump_removal_outside_delta');
  const badDelta = await postDelta(empty.body.batchId, ndjson('2026-11-28T10:50:00.000Z', [{ op: 'delete', area: 'localStorage', key: 'x', value: 'y' }]));
  expect(badDelta.status).toBe(400);
  expect(badDelta.body.error.code).toBe('dump_invalid_entry');
  // Roll the empty one back first: it is the newest of the chain.
  await stack.http.post(`/v1/admin/batches/${empty.body.batchId}/rollback`).set(admin).send({}).expect(202);
  expect(await waitForBatch(stack, empty.body.batchId, ['rolled_back', 'failed'])).toBe('rolled_back');
  expect((await cutover()).mode).toBe('browser');
});

test('rolling the delta back restores exactly the state after the snapshot, pruned rows included', async () => {
  const res = await stack.http.post(`/v1/admin/batches/${delta1}/rollback`).set(admin).send({});
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, delta1, ['rolled_back', 'failed', 'completed'])).toBe('rolled_back');
  expect(await tableChecksums(ds(), USER)).toEqual(afterSnapshot);
  expect(await cutover()).toMatchObject({ mode: 'browser', reason: 'rolled_back' });
});

test('two deltas on one base at the same moment: one is accepted, the other refused; the chain never forks', async () => {
  const token2 = await stack.mintToken('delta-race');
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token2}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  const send = (at: string) => stack.http.post(`/v1/batches/${res.body.batchId}/delta`).set('Authorization', `Bearer ${token2}`).set('Content-Type', 'application/x-ndjson')
    .send(ndjson(at, [{ area: 'localStorage', key: 'sitemapComments', value: `["${at}"]` }]));
  const answers = await Promise.all(['2026-11-28T13:00:00.000Z', '2026-11-28T13:00:00.001Z', '2026-11-28T13:00:00.002Z'].map(send));
  expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409]);
  for (const a of answers.filter((x) => x.status === 409)) expect(['delta_in_progress', 'stale_base']).toContain(a.body.error.code);
  const [{ n }] = await ds().query(`SELECT count(*)::int AS n FROM migration_batches WHERE base_batch_id = $1`, [res.body.batchId]);
  expect(n).toBe(1);
});
