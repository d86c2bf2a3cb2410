/**
 * Ids are per user (UUIDv5 of user + kind + source id), so a row of another user with an id this batch
 * produces can only be planted (by hand, by a bug). The batch must neither change it, nor journal it (a
 * rollback would then "restore" another user's row), nor expect it in verify, nor hang its own rows under
 * it; the entry is reported rejected with the reason.
 */
import { rowId } from '../../core/ids';
import { catalystDump, WEBSITE_ID } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const USER = 'owner-check';
const OTHER = 'someone-else';

beforeAll(async () => {
  stack = await startStack();
  token = await stack.mintToken(USER);
});
afterAll(() => stack.close());

test('a planted row of another user with a colliding id is not journaled, changed or built on; the entry says why', async () => {
  const ds = stack.api.deps.ds;
  const collide = rowId(USER, 'website', WEBSITE_ID); // the id USER's dump gives its website
  await ds.query(
    `INSERT INTO websites (id, user_id, source_id, name, slug, metadata, created_at, updated_at)
     VALUES ($1, $2, 'planted', 'Not yours', 'not-yours', '{"owner":"other"}', now(), now())`,
    [collide, OTHER],
  );
  const [before] = await ds.query(`SELECT to_jsonb(w) AS row FROM websites w WHERE id = $1`, [collide]);

  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(res.status).toBe(202);
  const batchId = res.body.batchId as string;
  await waitForBatch(stack, batchId, ['completed', 'needs_attention'], 60_000);

  const [after] = await ds.query(`SELECT to_jsonb(w) AS row FROM websites w WHERE id = $1`, [collide]);
  expect(after.row).toEqual(before.row);
  expect(await ds.query(`SELECT op FROM row_journal WHERE row_id = $1`, [collide])).toEqual([]);
  expect(await ds.query(`SELECT 1 FROM batch_rows WHERE row_id = $1`, [collide])).toEqual([]);
  // None of USER's rows hangs under the other user's website.
  for (const table of ['website_pages', 'website_assets', 'ai_contexts', 'ai_history_entries', 'content_types', 'content_items']) {
    expect(await ds.query(`SELECT id FROM "${table}" WHERE website_id = $1`, [collide])).toEqual([]);
  }

  const [entry] = await ds.query(`SELECT seq, outcome, reason FROM dump_entries WHERE batch_id = $1 AND kind = 'website'`, [batchId]);
  expect(entry.outcome).toBe('rejected');
  expect(entry.reason).toContain('belongs to another user');
  const rejects = await ds.query(`SELECT code FROM batch_rejects WHERE batch_id = $1 AND entry_seq = $2`, [batchId, entry.seq]);
  expect(rejects).toEqual([{ code: 'row_of_another_user' }]);
  const report = await stack.http.get(`/v1/batches/${batchId}/report`).set('Authorization', `Bearer ${token}`);
  expect(report.body.balanced).toBe(true);

  // Rolling the batch back leaves the other user's row as it is.
  const rb = await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({});
  expect(rb.status).toBeLessThan(300);
  await waitForBatch(stack, batchId, ['rolled_back'], 30_000);
  const [rolled] = await ds.query(`SELECT to_jsonb(w) AS row FROM websites w WHERE id = $1`, [collide]);
  expect(rolled.row).toEqual(before.row);
});
