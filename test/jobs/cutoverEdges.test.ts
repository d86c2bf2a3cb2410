/**
 * Cutover edge cases found in review, each once a defect: rollback stays exact around data-API writes
 * (deleted, created, already discarded), a delta needing attention holds the client instead of wedging
 * it, a delta sent twice answers its batch, and a crafted cursor is a 400.
 */
import { CONTENT_ITEMS, CONTENT_TYPES, WEBSITE_ID, catalystDump } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const ds = () => stack.api.deps.ds;
beforeAll(async () => {
  stack = await startStack({ config: { JOB_ATTEMPTS: '2' } });
});
afterAll(() => stack.close());

const header = (at: string) => JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { capturedAt: at } });
const ndjson = (at: string, lines: unknown[]) => [header(at), ...lines.map((l) => JSON.stringify(l)), JSON.stringify({ end: true, entries: lines.length })].join('\n') + '\n';
const storage = (items: unknown[]) => ({ area: 'localStorage', key: 'content-storage', value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) });
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

async function snapshot(token: string): Promise<string> {
  const res = await stack.http.post('/v1/dumps').set(bearer(token)).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  return res.body.batchId;
}
const delta = (token: string, base: string, body: string) => stack.http.post(`/v1/batches/${base}/delta`).set(bearer(token)).set('Content-Type', 'application/x-ndjson').send(body);
async function applied(token: string, base: string, body: string): Promise<string> {
  const res = await delta(token, base, body);
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  return res.body.batchId;
}
async function rollback(id: string, force: boolean) {
  const r = await stack.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({ force });
  if (r.status === 202) expect(await waitForBatch(stack, id, ['rolled_back', 'failed', 'completed', 'needs_attention'])).toBe('rolled_back');
  return r;
}
function edited() {
  const items = JSON.parse(JSON.stringify(CONTENT_ITEMS));
  items[0].data.title = 'edited in the browser';
  return items;
}

test('a forced rollback brings back a row the API deleted after the batch updated it: exactly the state after the base', async () => {
  const token = await stack.mintToken('edge-1');
  const s = await snapshot(token);
  const afterBase = await tableChecksums(ds(), 'edge-1');
  const d = await applied(token, s, ndjson('2026-11-28T10:10:00.000Z', [storage(edited())]));
  expect((await stack.http.delete(`/v1/websites/${WEBSITE_ID}/content-items/${CONTENT_ITEMS[0].id}`).set(bearer(token))).status).toBe(204);
  expect((await rollback(d, false)).status).toBe(409);
  expect((await rollback(d, true)).status).toBe(202);
  expect(await tableChecksums(ds(), 'edge-1')).toEqual(afterBase);
});

test('a prune that cascades into an API-written row journals it: the delta\'s rollback puts it back', async () => {
  const token = await stack.mintToken('edge-2');
  const s = await snapshot(token);
  const made = await stack.http.post(`/v1/websites/${WEBSITE_ID}/content-items`).set(bearer(token)).send({ sourceId: 'api-made', contentTypeId: CONTENT_TYPES[1].id, data: { fullName: 'Grace Hopper' } });
  expect(made.status).toBe(201);
  const before = await tableChecksums(ds(), 'edge-2');
  // The browser dropped the Author type (and its items): the API-made author goes with it, by cascade.
  const types = CONTENT_TYPES.filter((t) => t.id !== CONTENT_TYPES[1].id).map((t) => ({ ...t, relationships: [] }));
  const items = CONTENT_ITEMS.filter((i) => i.contentTypeId !== CONTENT_TYPES[1].id);
  const d = await applied(token, s, ndjson('2026-11-28T10:10:00.000Z', [storage(items), { area: 'localStorage', key: 'contentTypes', value: JSON.stringify(types) }]));
  expect((await ds().query(`SELECT count(*)::int AS n FROM content_items WHERE user_id = 'edge-2' AND source_id = 'api-made'`))[0].n).toBe(0);
  const [{ notes }] = await ds().query(`SELECT notes FROM migration_batches WHERE id = $1`, [d]);
  expect(notes.prunedWrittenThroughApi).toBe(1);
  expect((await ds().query(`SELECT count(*)::int AS n FROM row_journal WHERE batch_id = $1 AND row_id = $2 AND op = 'delete'`, [d, made.body.id]))[0].n).toBe(1);
  expect((await rollback(d, false)).status).toBe(202);
  expect(await tableChecksums(ds(), 'edge-2')).toEqual(before);
});

test('an API write a forced rollback discarded no longer blocks rolling back the batch before it', async () => {
  const token = await stack.mintToken('edge-3');
  const s = await snapshot(token);
  const d = await applied(token, s, ndjson('2026-11-28T10:10:00.000Z', [storage(edited())]));
  expect((await stack.http.patch(`/v1/websites/${WEBSITE_ID}/content-items/${CONTENT_ITEMS[0].id}`).set(bearer(token)).send({ data: { title: 'via api' } })).status).toBe(200);
  expect((await rollback(d, true)).status).toBe(202);
  const plain = await rollback(s, false);
  expect(plain.status).toBe(202);
});

test('a delta needing attention holds the client (switching) until an admin verifies or rolls it back', async () => {
  const token = await stack.mintToken('edge-4');
  const s = await snapshot(token);
  const d = await applied(token, s, ndjson('2026-11-28T10:10:00.000Z', []));
  await ds().query(`UPDATE migration_batches SET status = 'needs_attention' WHERE id = $1`, [d]);
  expect((await stack.http.get('/v1/cutover').set(bearer(token))).body).toMatchObject({ mode: 'switching', reason: 'delta_needs_attention' });
  await stack.http.post(`/v1/admin/batches/${d}/verify`).set(admin).expect(200);
  expect((await stack.http.get('/v1/cutover').set(bearer(token))).body).toMatchObject({ mode: 'api', latestBatchId: d });
});

test('the same delta sent twice answers its batch (200, duplicate), before and after it completed', async () => {
  const token = await stack.mintToken('edge-5');
  const s = await snapshot(token);
  const body = ndjson('2026-11-28T10:10:00.000Z', [storage(edited())]);
  const first = await delta(token, s, body);
  expect(first.status).toBe(202);
  const again = await delta(token, s, body);
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ batchId: first.body.batchId, duplicate: true });
  expect(await waitForBatch(stack, first.body.batchId)).toBe('completed');
  expect((await delta(token, s, body)).body).toMatchObject({ batchId: first.body.batchId, duplicate: true });
});

test('a crafted cursor is a 400, never a SQL error', async () => {
  const token = await stack.mintToken('edge-6');
  await snapshot(token);
  for (const parts of [['1', '00000000-0000-4000-8000-000000000000'], ['2025-13-45T99:00:00Z', '00000000-0000-4000-8000-000000000000'], ['2025-01-01T00:00:00Z', 'x']]) {
    const cursor = Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const path of [`/v1/websites/${WEBSITE_ID}/content-items?cursor=${cursor}`, `/v1/deployment-history?cursor=${cursor}`]) {
      const r = await stack.http.get(path).set(bearer(token));
      expect({ path, status: r.status, code: r.body.error?.code }).toEqual({ path, status: 400, code: 'invalid_cursor' });
    }
  }
});

test('a base past retention (dump and staged values removed) takes no delta and has no watermark: 410', async () => {
  const token = await stack.mintToken('edge-7');
  const s = await snapshot(token);
  await ds().query(`UPDATE migration_batches SET notes = notes || '{"dumpDeletedAt":"2026-12-30T00:00:00.000Z"}' WHERE id = $1`, [s]);
  await ds().query(`UPDATE dump_entries SET value = '', sealed = false WHERE batch_id = $1`, [s]);
  const refused = await delta(token, s, ndjson('2026-11-28T10:10:00.000Z', []));
  expect(refused.status).toBe(410);
  expect(refused.body.error.code).toBe('base_unavailable');
  const entries = await stack.http.get(`/v1/batches/${s}/entries`).set(bearer(token));
  expect(entries.status).toBe(410);
  expect(entries.body.error.code).toBe('entries_removed');
});

test('a rollback does not let a delta waiting on its batch write it back: refused while the delta waits, and forced, the delta fails instead of running', async () => {
  const token = await stack.mintToken('user-edge-waiting-delta');
  const before = await tableChecksums(ds(), 'user-edge-waiting-delta');
  const base = await snapshot(token);
  await stack.stopWorkers(); // the delta waits in the queue
  const res = await delta(token, base, ndjson('2026-11-29T10:00:00.000Z', [storage(edited())]));
  expect(res.status).toBe(202);
  const waiting = res.body.batchId;
  const refused = await stack.http.post(`/v1/admin/batches/${base}/rollback`).set(admin).send({});
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'rollback_conflict', details: { laterBatches: [waiting] } });
  const forced = await stack.http.post(`/v1/admin/batches/${base}/rollback`).set(admin).send({ force: true });
  expect(forced.status).toBe(202);
  stack.startWorkers();
  expect(await waitForBatch(stack, base, ['rolled_back', 'failed', 'completed', 'needs_attention'])).toBe('rolled_back');
  expect(await waitForBatch(stack, waiting)).toBe('failed');
  const [d] = await ds().query(`SELECT error FROM migration_batches WHERE id = $1`, [waiting]);
  expect(d.error).toMatchObject({ code: 'base_rolled_back' });
  // Nothing of the snapshot came back with the delta: the user's rows are as before the snapshot.
  expect(await tableChecksums(ds(), 'user-edge-waiting-delta')).toEqual(before);
  expect((await stack.http.get('/v1/cutover').set(bearer(token))).body).toMatchObject({ mode: 'browser' });
});

test('a delta never overwrites a row changed through the data API since its base: refused when sent (409), failed when the write came while it waited', async () => {
  const token = await stack.mintToken('user-edge-api-then-delta');
  const base = await snapshot(token);
  const item = `/v1/websites/${WEBSITE_ID}/content-items/${CONTENT_ITEMS[1].id}`;
  const unrelated = ndjson('2026-11-29T10:00:00.000Z', [{ op: 'delete', area: 'localStorage', key: 'project-context' }]);
  // Sent after the API write: refused, naming the change; nothing queued.
  expect((await stack.http.patch(item).set(bearer(token)).send({ data: { fullName: 'via api' } })).status).toBe(200);
  const refused = await delta(token, base, unrelated);
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'changed_through_api', details: { apiChanges: { count: 1, changes: [{ table: 'content_items', op: 'update', sourceId: CONTENT_ITEMS[1].id }] } } });
  expect((await ds().query(`SELECT count(*)::int AS n FROM migration_batches WHERE base_batch_id = $1`, [base]))[0].n).toBe(0);
  expect((await stack.http.get(item).set(bearer(token))).body.data).toEqual({ fullName: 'via api' });

  // Accepted before the API write, run after it: the delta fails under the user's lock instead of writing.
  const token2 = await stack.mintToken('user-edge-delta-then-api');
  const base2 = await snapshot(token2);
  await stack.stopWorkers();
  const accepted = await delta(token2, base2, unrelated);
  expect(accepted.status).toBe(202);
  expect((await stack.http.patch(item).set(bearer(token2)).send({ data: { fullName: 'via api, later' } })).status).toBe(200);
  stack.startWorkers();
  expect(await waitForBatch(stack, accepted.body.batchId)).toBe('failed');
  const [d] = await ds().query(`SELECT error FROM migration_batches WHERE id = $1`, [accepted.body.batchId]);
  expect(d.error).toMatchObject({ code: 'changed_through_api' });
  expect((await stack.http.get(item).set(bearer(token2))).body.data).toEqual({ fullName: 'via api, later' });
});
