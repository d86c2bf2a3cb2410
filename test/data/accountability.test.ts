/**
 * Writes through the data API stay accountable: rolling back a migration batch whose rows were changed
 * through the API since is refused (409 naming what changed) unless forced, and a forced rollback's audit
 * entry says what it overwrote. Re-verifying the batch does not count the app's own writes as damage.
 */
import { CONTENT_ITEMS, WEBSITE_ID, catalystDump } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { until } from '../dashboard/helpers';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const USER = 'user-accountable';
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const ds = () => stack.api.deps.ds;

beforeAll(async () => {
  stack = await startStack({ config: { JOB_ATTEMPTS: '2' } });
  token = await stack.mintToken(USER);
});
afterAll(() => stack.close());

async function migrate(capturedAt = '2026-11-28T10:00:00.000Z'): Promise<string> {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt };
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  return res.body.batchId;
}

const item = CONTENT_ITEMS[0];

test('an API edit blocks a plain rollback (409 naming it), re-verify stays completed, a forced rollback audits what it overwrote', async () => {
  const before = await tableChecksums(ds(), USER);
  const batchId = await migrate();

  const path = `/v1/websites/${WEBSITE_ID}/content-items/${item.id}`;
  const read = await stack.http.get(path).set('Authorization', `Bearer ${token}`);
  expect(read.status).toBe(200);
  const edit = await stack.http.patch(path).set('Authorization', `Bearer ${token}`).set('If-Match', read.headers.etag).send({ data: { ...item.data, title: 'Edited in the app' } });
  expect(edit.status).toBe(200);
  const [row] = await ds().query(`SELECT batch_id FROM content_items WHERE id = $1`, [read.body.id]);
  expect(row.batch_id).toBeNull(); // last written through the API

  const refused = await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set(admin).send({});
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('changed_through_api');
  expect(refused.body.error.message).toContain(item.id);
  expect(refused.body.error.details.apiChanges.changes[0]).toMatchObject({ table: 'content_items', sourceId: item.id, op: 'update' });
  expect((await stack.http.get(`/v1/batches/${batchId}`).set(admin)).body.status).toBe('completed');

  const verify = await stack.http.post(`/v1/admin/batches/${batchId}/verify`).set(admin);
  expect(verify.status).toBe(200);
  expect(verify.body.ok ?? verify.body.verification?.ok).toBe(true);
  const [b] = await ds().query(`SELECT status, verification FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b.status).toBe('completed');
  expect(b.verification.tables.content_items.changedThroughApi).toBe(1);

  const forced = await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set(admin).send({ force: true });
  expect(forced.status).toBe(202);
  expect(await waitForBatch(stack, batchId, ['rolled_back', 'failed', 'completed'])).toBe('rolled_back');
  // Exactly the state before the batch: the batch's rows (and the API's edit of one of them) are gone.
  expect(await tableChecksums(ds(), USER)).toEqual(before);
  // The job audits its outcome after the undo committed (and the batch's assets were released): wait for it.
  const audit = await until(async () => (await ds().query(`SELECT details FROM audit_log WHERE action = 'batch.rollback.forced' AND outcome = 'ok' AND target = $1`, [`batch:${batchId}`]))[0], 'the forced rollback\'s audit entry');
  expect(audit.details.overwrittenApiWrites.count).toBe(1);
  expect(audit.details.overwrittenApiWrites.changes[0]).toMatchObject({ table: 'content_items', sourceId: item.id, op: 'update', actor: expect.stringMatching(/^token:/) });
  expect(audit.details.overwrittenApiWrites.changes[0].value.data.title).toBe('Edited in the app');
});

test('an item created through the API in a migrated content type blocks the rollback too (its delete would cascade)', async () => {
  const batchId = await migrate('2026-11-28T11:00:00.000Z'); // another snapshot, so another batch
  const created = await stack.http.post(`/v1/websites/${WEBSITE_ID}/content-items`).set('Authorization', `Bearer ${token}`).send({ contentTypeId: CONTENT_ITEMS[1].contentTypeId, data: { fullName: 'Grace Hopper' } });
  expect(created.status).toBe(201);
  const refused = await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set(admin).send({});
  expect(refused.status).toBe(409);
  expect(refused.body.error.details.apiChanges.changes.some((c: { sourceId: string; op: string }) => c.sourceId === created.body.sourceId)).toBe(true);
});

test('an API write waiting on a migration page of the same user answers 503 busy with Retry-After, and writes nothing', async () => {
  const slow = await startStack({ workers: false, config: { PHASE_LOCK_TIMEOUT_MS: '200' } });
  try {
    const t = await slow.mintToken('busy-user');
    const site = await slow.http.post('/v1/websites').set('Authorization', `Bearer ${t}`).send({ name: 'Busy' });
    expect(site.status).toBe(201);
    // Hold the user's row lock as a migration page does (jobs/write/userLock.ts).
    const qr = slow.api.deps.ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    await qr.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, ['bsm:user-rows:busy-user']);
    try {
      const res = await slow.http.patch(`/v1/websites/${site.body.id}`).set('Authorization', `Bearer ${t}`).send({ name: 'Changed' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('busy');
      expect(res.headers['retry-after']).toBe('2');
    } finally {
      await qr.rollbackTransaction();
      await qr.release();
    }
    expect((await slow.http.get(`/v1/websites/${site.body.id}`).set('Authorization', `Bearer ${t}`)).body.name).toBe('Busy');
  } finally {
    await slow.close();
  }
});
