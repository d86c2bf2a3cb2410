/**
 * Redis restarted without persistence in the middle of a batch (and of a rollback): every job is gone,
 * Postgres still says `running` / `rolling_back`. The reconciler re-queues them from where they stopped;
 * the batch ends exactly as a clean run, nothing lost or applied twice, and the rollback exactly undoes it.
 */
import IORedis from 'ioredis';
import { catalystDump } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { lockUser, until, userLockWaiters } from '../helpers/locks';
import { missingBinaries, startPrivateRedis, type PrivateRedis } from '../helpers/privateServices';
import { expectBatchEnds, startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';
import { reconcile } from '../../jobs/maintenance/reconcile';

const USER = 'user-redis-lost';
const skip = missingBinaries({ redis: true });
if (skip) console.warn(`redisLost.test.ts ${skip}`);
const maybe = skip ? test.skip : test;

let redis: PrivateRedis;
let stack: Stack;
let expected: Record<string, string>;
let empty: Record<string, string>;

beforeAll(async () => {
  if (skip) return;
  // The reference: the same dump for the same user, run cleanly in a schema of its own.
  const clean = await startStack();
  try {
    const token = await clean.mintToken(USER);
    empty = await tableChecksums(clean.api.deps.ds, USER, { withoutBatchId: true });
    const r = await clean.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    expect(await waitForBatch(clean, r.body.batchId)).toBe('completed');
    expected = await tableChecksums(clean.api.deps.ds, USER, { withoutBatchId: true });
  } finally {
    await clean.close();
  }
  redis = await startPrivateRedis();
  // Pages wait at the held lock rather than time out; no grace: the test reconciles right after the loss.
  stack = await startStack({ config: { REDIS_URL: redis.url, RECONCILE_GRACE_MS: '0', PHASE_LOCK_TIMEOUT_MS: '30000' } });
}, 120_000);

afterAll(async () => {
  if (skip) return;
  await stack?.close();
  await redis?.stop();
});

const ds = () => stack.api.deps.ds;

async function reconcileNow(): Promise<string[]> {
  const conn = new IORedis(redis.url, { maxRetriesPerRequest: null });
  try {
    const report = await reconcile({ ds: ds(), config: stack.config, log: stack.api.deps.log }, conn);
    return [...report.requeued, ...report.rollbacks];
  } finally {
    conn.disconnect();
  }
}

/** Kills Redis and starts it again, empty (`lostKey` is gone); then runs the reconciler as the schedule would. */
async function loseRedis(lostKey: string): Promise<void> {
  // With Redis intact the reconciler leaves the batch alone: its jobs exist.
  expect(await reconcileNow()).toEqual([]);
  const conn = new IORedis(redis.url, { maxRetriesPerRequest: null });
  expect(await conn.exists(lostKey)).toBe(1);
  conn.disconnect();
  await redis.kill();
  await redis.start();
  const after = new IORedis(redis.url, { maxRetriesPerRequest: null });
  expect(await after.exists(lostKey)).toBe(0);
  after.disconnect();
  await reconcileNow();
}

let batchId: string;

maybe('a batch whose jobs Redis lost mid-phase is re-queued and ends as a clean run', async () => {
  const token = await stack.mintToken(USER);
  const held = await lockUser(stack, USER);
  try {
    const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    expect(res.status).toBe(202);
    batchId = res.body.batchId;
    await until(async () => (await userLockWaiters(stack, USER)) >= 1, 30_000); // a page read its entries and waits to write
    const [waiting] = await ds().query(`SELECT name FROM migration_phases WHERE batch_id = $1 AND status = 'running'`, [batchId]);
    expect(waiting).toBeDefined();
    await loseRedis(`${stack.config.QUEUE_PREFIX}:migration:${batchId}.verify`);
    // Whoever reconciled (this call, or the worker on reconnecting), the batch runs again as run 2.
    await until(async () => (await ds().query(`SELECT notes->>'run' AS run FROM migration_batches WHERE id = $1`, [batchId]))[0].run === '2');
  } finally {
    await held.release();
  }
  await expectBatchEnds(stack, batchId);
  expect(await tableChecksums(ds(), USER, { withoutBatchId: true })).toEqual(expected);
  const [b] = await ds().query(`SELECT verification FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b.verification.accounting).toMatchObject({ balanced: true, pending: 0 });
  const dupRejects = await ds().query(`SELECT 1 FROM batch_rejects WHERE batch_id = $1 GROUP BY entry_seq, path, code HAVING count(*) > 1`, [batchId]);
  expect(dupRejects).toEqual([]);
}, 120_000);

maybe('a rollback whose job Redis lost is re-queued and undoes the batch exactly', async () => {
  expect(batchId).toBeDefined();
  const held = await lockUser(stack, USER);
  try {
    const res = await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({});
    expect(res.status).toBe(202);
    await until(async () => (await userLockWaiters(stack, USER)) >= 1, 30_000); // the rollback waits at the user's rows
    await loseRedis(`${stack.config.QUEUE_PREFIX}:maintenance:${res.body.jobId}`);
    await until(async () => (await ds().query(`SELECT 1 FROM audit_log WHERE action = 'batch.rollback' AND outcome = 'queued'`)).length > 0);
  } finally {
    await held.release();
  }
  expect(await waitForBatch(stack, batchId, ['rolled_back'], 60_000)).toBe('rolled_back');
  expect(await tableChecksums(ds(), USER, { withoutBatchId: true })).toEqual(empty);
}, 120_000);
