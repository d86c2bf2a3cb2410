/**
 * Postgres restarted (every connection cut) while a phase of a batch runs: the phase attempt fails, BullMQ
 * retries it with backoff once Postgres is back, and the batch ends exactly as a clean run. Runs against a
 * private cluster: the shared one must never be restarted under other tests.
 */
import { Client } from 'pg';
import { catalystDump } from '../fixtures/catalystDump';
import { tableChecksums } from '../helpers/checksums';
import { until, userLockWaiters } from '../helpers/locks';
import { missingBinaries, startPrivatePostgres, type PrivatePostgres } from '../helpers/privateServices';
import { expectBatchEnds, startStack, waitForBatch, type Stack } from '../helpers/stack';

const USER = 'user-postgres-restart';
const skip = missingBinaries({ postgres: true });
if (skip) console.warn(`postgresRestart.test.ts ${skip}`);
const maybe = skip ? test.skip : test;

let pg: PrivatePostgres;
let stack: Stack;
let expected: Record<string, string>;

beforeAll(async () => {
  if (skip) return;
  const clean = await startStack();
  try {
    const token = await clean.mintToken(USER);
    const r = await clean.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    expect(await waitForBatch(clean, r.body.batchId)).toBe('completed');
    expected = await tableChecksums(clean.api.deps.ds, USER, { withoutBatchId: true });
  } finally {
    await clean.close();
  }
  pg = await startPrivatePostgres();
  // Backoff 200 ms doubling over 8 attempts: about 25 s of retries, far more than a restart takes.
  stack = await startStack({ config: { DATABASE_URL: pg.url, JOB_ATTEMPTS: '8', JOB_BACKOFF_MS: '200', PHASE_LOCK_TIMEOUT_MS: '30000' } });
}, 120_000);

afterAll(async () => {
  if (skip) return;
  await stack?.close();
  await pg?.stop();
});

maybe('a restart mid-phase: the phase is retried with backoff and the batch ends as a clean run', async () => {
  const ds = stack.api.deps.ds;
  // The user's row lock held from a connection of our own (the restart cuts it; its error is expected).
  const holder = new Client({ connectionString: pg.url });
  holder.on('error', () => undefined);
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`bsm:user-rows:${USER}`]);
  const token = await stack.mintToken(USER);
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(res.status).toBe(202);
  const batchId = res.body.batchId as string;
  await until(async () => (await userLockWaiters(stack, USER)) >= 1, 30_000); // a page is inside its transaction, waiting
  const started = Date.now();
  await pg.restart();
  await holder.end().catch(() => undefined);
  const restartMs = Date.now() - started;

  await expectBatchEnds(stack, batchId);
  const phases: { name: string; attempts: number }[] = await ds.query(`SELECT name, attempts FROM migration_phases WHERE batch_id = $1 AND attempts > 1`, [batchId]);
  expect(phases.length).toBeGreaterThanOrEqual(1); // the cut phase ran again
  expect(await tableChecksums(ds, USER, { withoutBatchId: true })).toEqual(expected);
  const [b] = await ds.query(`SELECT verification FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b.verification.accounting).toMatchObject({ balanced: true, pending: 0 });
  expect(restartMs).toBeLessThan(20_000);
}, 120_000);
