/** Transient errors are retried with backoff and the batch completes; permanent ones fail it with a reason. */
import { Client } from 'pg';
import { phaseJobId } from '../../jobs/names';
import { catalystDump } from '../fixtures/catalystDump';
import { lockTable, until } from '../helpers/locks';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ workers: false, config: { JOB_ATTEMPTS: '6', JOB_BACKOFF_MS: '50', PHASE_LOCK_TIMEOUT_MS: '200' } });
  token = await stack.mintToken('user-failures');
});
afterAll(() => stack.close());

const post = (doc: unknown) =>
  stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));

test('a phase that hits a transient error (a lock timeout) is retried and the batch completes', async () => {
  const lock = await lockTable(stack, 'content_items');
  try {
    const doc = catalystDump();
    doc.source = { ...doc.source, capturedAt: '2026-11-28T11:00:00.000Z' };
    const res = await post(doc);
    expect(res.status).toBe(202);
    stack.startWorkers();
    const failedAttempt = await until(async () => {
      const [p] = await stack.api.deps.ds.query(`SELECT error, attempts FROM migration_phases WHERE batch_id = $1 AND name = 'contentItems'`, [res.body.batchId]);
      return p?.error ? p : null;
    });
    expect(failedAttempt.error).toMatch(/lock/i);
    await lock.release();
    expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
    const [p] = await stack.api.deps.ds.query(`SELECT status, attempts, error FROM migration_phases WHERE batch_id = $1 AND name = 'contentItems'`, [res.body.batchId]);
    expect(p.status).toBe('completed');
    expect(p.attempts).toBeGreaterThanOrEqual(2);
    expect(p.error).toBeNull();
  } finally {
    await lock.release();
  }
});

test('a permanent error fails the batch at once with a readable reason', async () => {
  await stack.stopWorkers();
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: '2026-11-28T12:00:00.000Z' };
  const res = await post(doc);
  expect(res.status).toBe(202);
  const [b] = await stack.api.deps.ds.query(`SELECT dump_key FROM migration_batches WHERE id = $1`, [res.body.batchId]);
  await stack.api.deps.store.delete(b.dump_key); // the stored dump is gone: no retry can fix that
  stack.startWorkers();
  expect(await waitForBatch(stack, res.body.batchId)).toBe('failed');
  const status = await stack.http.get(`/v1/batches/${res.body.batchId}`).set('Authorization', `Bearer ${token}`);
  expect(status.body.status).toBe('failed');
  expect(status.body.error).toMatchObject({ code: 'dump_missing', phase: 'ingest' });
  expect(status.body.error.message).toMatch(/missing.*upload it again/i);
  const ingest = status.body.phases.find((p: { name: string }) => p.name === 'ingest');
  expect(ingest).toMatchObject({ status: 'failed', attempts: 1 });
  const later = status.body.phases.filter((p: { name: string }) => p.name !== 'ingest');
  for (const p of later) expect(p.status).toBe('pending');
});

test('a phase never moves a batch that failed meanwhile back to running: it waits for the retry', async () => {
  await stack.stopWorkers();
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: '2026-11-28T13:00:00.000Z' };
  const res = await post(doc);
  expect(res.status).toBe(202);
  const batchId: string = res.body.batchId;
  // Hold the batch's row, so that the first phase's move to `running` waits on it; meanwhile a sibling
  // phase fails for good (here: the status it writes), and the row is let go.
  const c = new Client({ connectionString: stack.config.DATABASE_URL, options: `-c search_path=${stack.config.DATABASE_SCHEMA}` });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT 1 FROM migration_batches WHERE id = $1 FOR UPDATE`, [batchId]);
    stack.startWorkers();
    await until(async () => (await c.query(
      `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.query LIKE 'UPDATE migration_batches b SET%'`)).rowCount);
    await c.query(`UPDATE migration_batches SET status = 'failed', error = '{"code":"test"}' WHERE id = $1`, [batchId]);
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
  const job = await stack.api.deps.queues.migration.getJob(phaseJobId(batchId, 'ingest', 1));
  expect(await until(async () => ((await job!.getState()) === 'delayed' ? 'delayed' : null))).toBe('delayed');
  const [b] = await stack.api.deps.ds.query(`SELECT status FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b.status).toBe('failed');
});
