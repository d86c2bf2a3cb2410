/**
 * The worker process killed with SIGKILL (no drain, no clean-up) at several points: during ingest, in the
 * middle of a page, during verify, during a rollback. A new worker process takes the stalled job over
 * (BullMQ stalled-job recovery, interval lowered through config) and the batch ends exactly as a clean run.
 */
import type { Config } from '../../core/config';
import { startService, waitForLine, type Service } from '../../bench/processes';
import { catalystDump } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { lockTable, lockUser, until, userLockWaiters, type HeldLock } from '../helpers/locks';
import { expectBatchEnds, startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

const USERS = { ingest: 'killed-at-ingest', page: 'killed-mid-page', verify: 'killed-at-verify' } as const;

let stack: Stack;
let worker: Service | null = null;
const expected: Record<string, Record<string, string>> = {};
let empty: Record<string, string>;

beforeAll(async () => {
  // The reference: each user's dump run cleanly in a schema of its own.
  const clean = await startStack();
  try {
    empty = await tableChecksums(clean.api.deps.ds, USERS.verify, { withoutBatchId: true });
    for (const user of Object.values(USERS)) {
      const token = await clean.mintToken(user);
      const r = await clean.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
      expect(await waitForBatch(clean, r.body.batchId)).toBe('completed');
      expected[user] = await tableChecksums(clean.api.deps.ds, user, { withoutBatchId: true });
    }
  } finally {
    await clean.close();
  }
  // The API runs in the test; the workers are real processes. A dead worker's lock expires after 1.5 s and
  // the survivor looks for stalled jobs every 0.5 s (production: BullMQ's 30 s defaults).
  stack = await startStack({ workers: false, config: { PHASE_LOCK_TIMEOUT_MS: '30000', WORKER_LOCK_DURATION_MS: '1500', WORKER_STALLED_INTERVAL_MS: '500' } });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await stack?.close();
});

const ds = () => stack.api.deps.ds;

function envOf(config: Config): Record<string, string> {
  const keys = ['DATABASE_URL', 'REDIS_URL', 'DATABASE_SCHEMA', 'QUEUE_PREFIX', 'STORAGE_DIR', 'JOB_BACKOFF_MS', 'JOB_ATTEMPTS', 'PHASE_LOCK_TIMEOUT_MS', 'WORKER_LOCK_DURATION_MS', 'WORKER_STALLED_INTERVAL_MS', 'ADMIN_TOKEN', 'PORT', 'HOST'] as const;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', WORKER_METRICS_PORT: '0' };
  for (const k of keys) env[k] = String(config[k]);
  // Asset URLs in rows are built from PORT/HOST (or PUBLIC_URL): as the in-process reference run has them.
  if (config.PUBLIC_URL) env.PUBLIC_URL = config.PUBLIC_URL;
  return env;
}

async function startWorker(): Promise<Service> {
  const w = startService('worker', 'worker/main.ts', envOf(stack.config));
  await waitForLine(w, (l) => l.includes('worker started'));
  return w;
}

/** SIGKILL: the job it holds is neither finished nor failed; only its lock in Redis expires. */
async function killWorker(): Promise<void> {
  const p = worker!.proc;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
  worker = null;
}

/** Someone waits for a lock on `table` of this test's schema (a phase blocked there). */
async function tableWaiters(table: string): Promise<number> {
  const [r] = await ds().query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = to_regclass($1)`, [table]);
  return r.n;
}

async function post(user: string): Promise<string> {
  const token = await stack.mintToken(user);
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(res.status).toBe(202);
  return res.body.batchId;
}

async function phaseStatus(batchId: string, phase: string): Promise<string | undefined> {
  const [p] = await ds().query(`SELECT status FROM migration_phases WHERE batch_id = $1 AND name = $2`, [batchId, phase]);
  return p?.status;
}

/**
 * Holds a point, kills the worker there, starts a new one, lets go: the batch must end as a clean run. The
 * point is reached when something waits there while `phase` runs: phases run side by side (userPreferences
 * beside websites, both waiting for the user's lock), so a waiter alone may be another phase's.
 */
async function killAt(user: string, hold: () => Promise<HeldLock>, held: () => Promise<boolean>, phase: string): Promise<string> {
  const lock = await hold();
  let batchId: string;
  try {
    worker ??= await startWorker();
    batchId = await post(user);
    await until(async () => (await held()) && (await phaseStatus(batchId, phase)) === 'running', 30_000);
    const [p] = await ds().query(`SELECT status FROM migration_phases WHERE batch_id = $1 AND name = $2`, [batchId, phase]);
    expect(p.status).toBe('running');
    await killWorker();
    worker = await startWorker();
  } finally {
    await lock.release();
  }
  await expectBatchEnds(stack, batchId);
  const [b] = await ds().query(`SELECT verification FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b.verification.accounting).toMatchObject({ balanced: true, pending: 0 });
  expect(await tableChecksums(ds(), user, { withoutBatchId: true })).toEqual(expected[user]);
  return batchId;
}

test('killed during ingest: the new worker ingests again, the batch ends as a clean run', async () => {
  await killAt(USERS.ingest, () => lockTable(stack, 'dump_entries'), async () => (await tableWaiters('dump_entries')) >= 1, 'ingest');
}, 90_000);

test('killed mid-page (entries read, waiting to write): the page is applied once', async () => {
  await killAt(USERS.page, () => lockUser(stack, USERS.page), async () => (await userLockWaiters(stack, USERS.page)) >= 1, 'websites');
}, 90_000);

let verified: string;
test('killed during verify: verify runs again and the batch completes', async () => {
  verified = await killAt(USERS.verify, () => lockTable(stack, 'api_writes'), async () => (await tableWaiters('api_writes')) >= 1, 'verify');
}, 90_000);

test('killed during a rollback: the new worker finishes it, the rows are exactly as before', async () => {
  const lock = await lockUser(stack, USERS.verify);
  try {
    const res = await stack.http.post(`/v1/admin/batches/${verified}/rollback`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({});
    expect(res.status).toBe(202);
    await until(async () => (await userLockWaiters(stack, USERS.verify)) >= 1, 30_000);
    await killWorker();
    worker = await startWorker();
  } finally {
    await lock.release();
  }
  expect(await waitForBatch(stack, verified, ['rolled_back'], 60_000)).toBe('rolled_back');
  expect(await tableChecksums(ds(), USERS.verify, { withoutBatchId: true })).toEqual(empty);
}, 90_000);
