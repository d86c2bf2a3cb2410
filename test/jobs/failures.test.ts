/** Transient errors are retried with backoff and the batch completes; permanent ones fail it with a reason. */
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
