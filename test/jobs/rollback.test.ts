/**
 * Admins can trust a batch: exact rollback from the journal, refused and forced rollbacks, re-apply,
 * retry after failure, verification catching rows changed behind the system's back, and the audit log.
 */
import { CONTENT_ITEMS, catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { lockTable, until } from '../helpers/locks';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const USER = 'user-rollback';
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

beforeAll(async () => {
  stack = await startStack({ config: { JOB_ATTEMPTS: '2', PHASE_LOCK_TIMEOUT_MS: '200' } });
  token = await stack.mintToken(USER);
});
afterAll(() => stack.close());

const ds = () => stack.api.deps.ds;

async function apply(doc: DumpDoc, expected = 'completed'): Promise<string> {
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, res.body.batchId)).toBe(expected);
  return res.body.batchId;
}

/** Batch 2: the same user a day later edited an item, renamed the website and added an item. */
function laterDump(): DumpDoc {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: '2026-11-29T10:00:00.000Z' };
  const items = JSON.parse(JSON.stringify(CONTENT_ITEMS));
  items[0].data.title = 'Hello again';
  items.push({ id: '1754999000000_newitem00', contentTypeId: items[1].contentTypeId, data: { fullName: 'Grace Hopper' }, createdAt: '2025-08-13T07:10:00.000Z', updatedAt: '2025-08-13T07:10:00.000Z' });
  doc.localStorage = doc.localStorage.map((e) => (e.key === 'content-storage' ? { key: e.key, value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) } : e));
  const site = doc.indexedDB[0].stores[0].records[0].value as Record<string, unknown>;
  site.name = 'Coffee Shop & Roastery';
  return doc;
}

/**
 * A rollback job's outcome is audited last, after it released the batches' assets (a scan of every table
 * under the asset's lock): a test that locks a table next must wait for it, or the scan waits on the test.
 */
async function audited(batchId: string): Promise<void> {
  await until(async () => (await ds().query(`SELECT 1 FROM audit_log WHERE target = $1 AND outcome IN ('ok', 'failed') AND action LIKE 'batch.rollback%'`, [`batch:${batchId}`]))[0]);
}

async function rollback(batchId: string, force = false) {
  return stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set(admin).send({ force });
}

let b1: string;
let b2: string;
let beforeB1: Record<string, string>;
let beforeB2: Record<string, string>;

test('(1) rolling back the second of two overlapping batches restores the exact earlier state', async () => {
  beforeB1 = await tableChecksums(ds(), USER);
  b1 = await apply(catalystDump());
  beforeB2 = await tableChecksums(ds(), USER);
  b2 = await apply(laterDump());
  const afterB2 = await tableChecksums(ds(), USER);
  expect(afterB2.content_items).not.toBe(beforeB2.content_items);
  expect(afterB2.websites).not.toBe(beforeB2.websites);
  const [{ n }] = await ds().query(`SELECT count(*)::int AS n FROM row_journal WHERE batch_id = $1 AND op = 'update'`, [b2]);
  expect(n).toBeGreaterThan(0);

  const res = await rollback(b2);
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ status: 'rolling_back', batches: [b2] });
  expect(await waitForBatch(stack, b2, ['rolled_back', 'failed', 'completed'])).toBe('rolled_back');
  await audited(b2);
  expect(await tableChecksums(ds(), USER)).toEqual(beforeB2);
  const status = await stack.http.get(`/v1/batches/${b2}`).set('Authorization', `Bearer ${token}`);
  expect(status.body.status).toBe('rolled_back');
});

test('a rolled-back batch can be applied again', async () => {
  const res = await stack.http.post(`/v1/admin/batches/${b2}/retry`).set(admin);
  expect(res.status).toBe(202);
  expect(res.body.run).toBe(2);
  expect(await waitForBatch(stack, b2)).toBe('completed');
  const [item] = await ds().query(`SELECT data FROM content_items WHERE user_id = $1 AND source_id = $2`, [USER, CONTENT_ITEMS[0].id]);
  expect(item.data.title).toBe('Hello again');
});

test('(2) rolling back a batch a later batch built on is refused with 409 naming it; forced, both go, newest first', async () => {
  const refused = await rollback(b1);
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('rollback_conflict');
  expect(refused.body.error.details.laterBatches).toEqual([b2]);
  expect(refused.body.error.message).toContain(b2);

  const forced = await rollback(b1, true);
  expect(forced.status).toBe(202);
  expect(forced.body.batches).toEqual([b2, b1]);
  expect(await waitForBatch(stack, b1, ['rolled_back', 'failed', 'completed'])).toBe('rolled_back');
  expect(await waitForBatch(stack, b2, ['rolled_back'])).toBe('rolled_back');
  await audited(b1);
  expect(await tableChecksums(ds(), USER)).toEqual(beforeB1);
});

test('(3) a row changed behind the system\'s back during a run ends the batch needs_attention, naming the row', async () => {
  // Hold the preserve phase (it writes preserved_entries) while someone edits a content item directly.
  const lock = await lockTable(stack, 'preserved_entries');
  try {
    const doc = catalystDump();
    doc.source = { ...doc.source, capturedAt: '2026-11-30T10:00:00.000Z' };
    const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
    const id = res.body.batchId;
    await until(async () => (await ds().query(`SELECT status FROM migration_phases WHERE batch_id = $1 AND name = 'preserve'`, [id]))[0].status === 'running');
    await ds().query(`UPDATE content_items SET data = jsonb_set(data, '{title}', '"edited by hand"') WHERE user_id = $1 AND source_id = $2`, [USER, CONTENT_ITEMS[0].id]);
    await lock.release();
    expect(await waitForBatch(stack, id)).toBe('needs_attention');
    const status = await stack.http.get(`/v1/batches/${id}`).set(admin);
    const v = status.body.report.verification;
    expect(v.ok).toBe(false);
    expect(v.differences).toEqual([expect.objectContaining({ table: 'content_items', sourceId: CONTENT_ITEMS[0].id, problem: 'changed' })]);
    expect(status.body.error.code).toBe('verification_failed');
    // Put it right and verify again (the CLI's `verify`): the batch is completed.
    await stack.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({});
    expect(await waitForBatch(stack, id, ['rolled_back'])).toBe('rolled_back');
  } finally {
    await lock.release();
  }
});

test('(4) a retry after a failure reaches the same final state as a clean run', async () => {
  const clean = await startStack();
  try {
    const cleanToken = await clean.mintToken('user-retry');
    const r = await clean.http.post('/v1/dumps').set('Authorization', `Bearer ${cleanToken}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    expect(await waitForBatch(clean, r.body.batchId)).toBe('completed');
    const expected = await tableChecksums(clean.api.deps.ds, 'user-retry', { withoutBatchId: true });

    const retryToken = await stack.mintToken('user-retry');
    const lock = await lockTable(stack, 'deployment_history');
    const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${retryToken}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    expect(await waitForBatch(stack, res.body.batchId)).toBe('failed'); // both attempts hit the lock
    await lock.release();
    const failed = await stack.http.get(`/v1/batches/${res.body.batchId}`).set(admin);
    expect(failed.body.error.phase).toBe('deploymentHistory');
    // The phases beside it waited for the user's row lock while its stuck pages held it (lockForBatchWrite
    // allows them USER_LOCK_WAIT_FACTOR lock timeouts): none of them failed in its place.
    expect(failed.body.phases.filter((p: { status: string }) => p.status === 'failed').map((p: { name: string }) => p.name)).toEqual(['deploymentHistory']);
    const retry = await stack.http.post(`/v1/admin/batches/${res.body.batchId}/retry`).set(admin);
    expect(retry.status).toBe(202);
    expect(retry.body.retried).toEqual([`${res.body.batchId}.deploymentHistory`]);
    expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
    expect(await tableChecksums(ds(), 'user-retry', { withoutBatchId: true })).toEqual(expected);
  } finally {
    await clean.close();
  }
});

test('(5) the audit log holds each admin action with who, what and the outcome', async () => {
  // A rollback job audits its outcome last (after releasing the batch's assets): wait for the forced one's.
  await until(async () => (await ds().query(`SELECT 1 FROM audit_log WHERE action = 'batch.rollback.forced' AND outcome = 'ok' AND target = $1`, [`batch:${b1}`]))[0]);
  const res = await stack.http.get('/v1/admin/audit?limit=200').set(admin);
  expect(res.status).toBe(200);
  const seen = res.body.entries.map((e: { action: string; outcome: string; target: string }) => `${e.action}:${e.outcome}:${e.target}`);
  expect(seen).toEqual(expect.arrayContaining([
    `token.mint:ok:user:${USER}`,
    `batch.rollback:queued:batch:${b2}`,
    `batch.rollback:ok:batch:${b2}`,
    `batch.rollback:refused:batch:${b1}`,
    `batch.rollback.forced:queued:batch:${b1}`,
    `batch.rollback.forced:ok:batch:${b1}`,
    `batch.retry:ok:batch:${b2}`,
  ]));
  for (const e of res.body.entries) expect(e).toMatchObject({ actor: expect.any(String), at: expect.any(String) });
  const forbidden = await stack.http.get('/v1/admin/audit').set('Authorization', `Bearer ${token}`);
  expect(forbidden.status).toBe(403);
});

test('while a user\'s batch rolls back, a new batch of that user waits, then runs', async () => {
  const user = 'user-waits';
  const t = await stack.mintToken(user);
  const post = (doc: DumpDoc) => stack.http.post('/v1/dumps').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  const first = (await post(catalystDump())).body.batchId;
  expect(await waitForBatch(stack, first)).toBe('completed');
  await stack.workers!.maintenance.pause(); // the rollback job stays queued: the batch is rolling_back
  expect((await rollback(first)).status).toBe(202);
  const second = (await post(laterDump())).body.batchId;
  const ingest = await stack.api.deps.queues.migration.getJob(`${second}.ingest`);
  await until(async () => (await ingest!.getState()) === 'delayed'); // it checked, found the rollback, and waits
  expect((await ds().query(`SELECT status FROM migration_batches WHERE id = $1`, [second]))[0].status).toBe('queued');
  stack.workers!.maintenance.resume();
  expect(await waitForBatch(stack, first, ['rolled_back'])).toBe('rolled_back');
  expect(await waitForBatch(stack, second)).toBe('completed');
  const [times] = await ds().query(
    `SELECT (SELECT (notes->>'rolledBackAt')::timestamptz FROM migration_batches WHERE id = $1) AS rolled, (SELECT started_at FROM migration_batches WHERE id = $2) AS started`,
    [first, second],
  );
  expect(times.started.getTime()).toBeGreaterThanOrEqual(times.rolled.getTime());
});

test('a non-empty dump that migrated nothing is never completed', async () => {
  const t = await stack.mintToken('user-nothing');
  const doc = catalystDump();
  doc.localStorage = [{ key: 'sitemapComments', value: '[]' }, { key: 'featureFlags', value: '{"debugMode":true}' }];
  doc.sessionStorage = [];
  doc.indexedDB = [];
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(await waitForBatch(stack, res.body.batchId)).toBe('needs_attention');
  const status = await stack.http.get(`/v1/batches/${res.body.batchId}`).set(admin);
  expect(status.body.report.verification.problems).toContain('the dump has entries but none was migrated');
  expect(status.body.counts).toMatchObject({ entries: 2, preserved: 2, migrated: 0 });
});

test('a batch whose dump the retention removed cannot be re-applied: 409 with the reason', async () => {
  const t = await stack.mintToken('user-retention');
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: '2026-12-01T10:00:00.000Z' };
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  const id = res.body.batchId;
  expect(await waitForBatch(stack, id)).toBe('completed');
  expect((await rollback(id)).status).toBe(202);
  expect(await waitForBatch(stack, id, ['rolled_back'])).toBe('rolled_back');
  await ds().query(`UPDATE migration_batches SET notes = notes || '{"dumpDeletedAt":"2026-12-31T00:00:00Z"}' WHERE id = $1`, [id]);
  const retry = await stack.http.post(`/v1/admin/batches/${id}/retry`).set(admin);
  expect(retry.status).toBe(409);
  expect(retry.body.error).toMatchObject({ code: 'dump_deleted', message: expect.stringContaining('upload the dump again') });
});

test('a later batch that found rows unchanged still depends on them: rolling back the earlier one is refused', async () => {
  const t = await stack.mintToken('user-unchanged');
  const post = (doc: DumpDoc) => stack.http.post('/v1/dumps').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  const a = (await post(catalystDump())).body.batchId;
  expect(await waitForBatch(stack, a)).toBe('completed');
  const same = catalystDump();
  same.source = { ...same.source, capturedAt: '2026-12-02T10:00:00.000Z' };
  same.localStorage.push({ key: 'sitemapComments-2', value: '[]' }); // everything else unchanged: not journaled
  const b = (await post(same)).body.batchId;
  expect(await waitForBatch(stack, b)).toBe('completed');
  const refused = await rollback(a);
  expect(refused.status).toBe(409);
  expect(refused.body.error.details.laterBatches).toEqual([b]);
  const forced = await rollback(a, true);
  expect(forced.body.batches).toEqual([b, a]);
  expect(await waitForBatch(stack, a, ['rolled_back'])).toBe('rolled_back');
  expect((await tableChecksums(ds(), 'user-unchanged')).websites).toBe('0:-');
});

test('the rollback job undoes what the request planned (its data names the batches); a job queued without them plans on its own', async () => {
  const user = 'user-job-plan';
  const t = await stack.mintToken(user);
  const post = async (doc: DumpDoc) => (await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/json').send(JSON.stringify(doc))).body.batchId as string;
  const first = await post(catalystDump());
  expect(await waitForBatch(stack, first)).toBe('completed');
  await stack.workers!.maintenance.pause();
  try {
    const res = await rollback(first);
    expect(res.status).toBe(202);
    const job = await stack.api.deps.queues.maintenance.getJob(res.body.jobId);
    expect(job!.data).toMatchObject({ batchId: first, batches: [first] });
    // As a job queued by an earlier version carries it: no plan in its data.
    const { batches: _planned, ...older } = job!.data;
    await job!.updateData(older);
  } finally {
    stack.workers!.maintenance.resume();
  }
  expect(await waitForBatch(stack, first, ['rolled_back'])).toBe('rolled_back');
  await audited(first);
  const [{ n }] = await ds().query(`SELECT count(*)::int AS n FROM content_items WHERE batch_id = $1`, [first]);
  expect(n).toBe(0);
});
