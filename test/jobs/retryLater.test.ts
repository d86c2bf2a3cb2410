/**
 * Retrying an older batch must not silently overwrite what a later batch of the same user wrote: refused
 * with 409 naming the later batch, unless forced (and then audited as forced).
 */
import { CONTENT_ITEMS, catalystDump } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

async function post(token: string, capturedAt: string, title: string): Promise<string> {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt };
  const items = JSON.parse(JSON.stringify(CONTENT_ITEMS));
  items[0].data.title = title;
  doc.localStorage = doc.localStorage.map((e) => (e.key === 'content-storage' ? { key: e.key, value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) } : e));
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  return res.body.batchId;
}

const title = async () => (await stack.api.deps.ds.query(`SELECT data->>'title' AS t FROM content_items WHERE user_id = 'retry-later' AND source_id = $1`, [CONTENT_ITEMS[0].id]))[0]?.t;

test('re-applying a rolled-back batch after a later one was applied is refused, naming it; forced, it runs and is audited', async () => {
  const token = await stack.mintToken('retry-later');
  const older = await post(token, '2026-11-28T10:00:00.000Z', 'older');
  await stack.http.post(`/v1/admin/batches/${older}/rollback`).set(admin).send({}).expect(202);
  expect(await waitForBatch(stack, older, ['rolled_back', 'failed'])).toBe('rolled_back');
  const newer = await post(token, '2026-11-29T10:00:00.000Z', 'newer');
  expect(await title()).toBe('newer');

  const refused = await stack.http.post(`/v1/admin/batches/${older}/retry`).set(admin).send({});
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'later_batches', details: { laterBatches: [newer] } });
  expect(refused.body.error.message).toContain(newer);
  expect(await title()).toBe('newer');
  expect((await stack.http.get(`/v1/batches/${older}`).set(admin)).body.status).toBe('rolled_back');

  const forced = await stack.http.post(`/v1/admin/batches/${older}/retry`).set(admin).send({ force: true });
  expect(forced.status).toBe(202);
  expect(await waitForBatch(stack, older)).toBe('completed');
  expect(await title()).toBe('older');
  const [audit] = await stack.api.deps.ds.query(`SELECT details FROM audit_log WHERE action = 'batch.retry.forced' AND target = $1`, [`batch:${older}`]);
  expect(audit.details.laterBatches).toEqual([newer]);
});
