/**
 * GET /v1/admin/batches as the overview uses it: filters by status, user and date, search by batch id,
 * user, upload id (Idempotency-Key / notes.uploadId) and request id; progress (rows/s, ETA) computed from
 * migration_phases.
 */
import { batchProgress } from '../../dashboard/progress';
import { catalystDump } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';

let stack: Stack;
const ids: string[] = [];

beforeAll(async () => {
  stack = await startStack({ workers: false });
  for (const [i, user] of ['alice-list', 'bob-list'].entries()) {
    const doc = catalystDump();
    doc.source = { ...doc.source, capturedAt: `2026-11-28T0${i}:00:00.000Z` };
    const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${await stack.mintToken(user)}`).set('Content-Type', 'application/json')
      .set('Idempotency-Key', `upload-${user}`).set('X-Request-Id', `req-${user}`).send(JSON.stringify(doc));
    expect(res.status).toBe(202);
    ids.push(res.body.batchId);
  }
  await stack.api.deps.ds.query(`UPDATE migration_batches SET notes = notes || '{"uploadId":"tus-abc123"}' WHERE id = $1`, [ids[1]]);
});
afterAll(() => stack.close());

const list = async (query: Record<string, string>) => {
  const res = await stack.http.get('/v1/admin/batches').query(query).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
  expect(res.status).toBe(200);
  return res.body.batches.map((b: { id: string }) => b.id) as string[];
};

test('filters and search', async () => {
  expect((await list({})).sort()).toEqual([...ids].sort());
  expect(await list({ userId: 'alice-list' })).toEqual([ids[0]]);
  expect(await list({ status: 'queued', userId: 'bob-list' })).toEqual([ids[1]]);
  expect(await list({ status: 'failed' })).toEqual([]);
  expect(await list({ q: ids[0] })).toEqual([ids[0]]);
  expect(await list({ q: 'bob' })).toEqual([ids[1]]);
  expect(await list({ q: 'upload-alice-list' })).toEqual([ids[0]]);
  expect(await list({ q: 'tus-abc123' })).toEqual([ids[1]]);
  expect(await list({ q: 'req-bob-list' })).toEqual([ids[1]]);
  expect(await list({ since: new Date(Date.now() + 60000).toISOString() })).toEqual([]);
  expect((await list({ until: new Date(Date.now() + 60000).toISOString() })).length).toBe(2);
});

test('each batch carries phases with timestamps, counts, requestId and progress', async () => {
  const res = await stack.http.get('/v1/admin/batches').query({ q: ids[0] }).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
  const [b] = res.body.batches;
  expect(b).toMatchObject({ id: ids[0], status: 'queued', requestId: 'req-alice-list', counts: { migrated: 0, preserved: 0, rejected: 0, pending: 0 }, verification: null });
  expect(b.phases).toHaveLength(12);
  expect(b.phases[0]).toMatchObject({ name: 'ingest', status: 'pending', done: 0, total: 0, startedAt: null });
  expect(b.progress).toEqual({ fraction: 0, rowsPerSecond: null, etaSeconds: null, currentPhase: null });
});

test('batchProgress: rows/s over phase run time, ETA over the work left', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const now = Date.UTC(2026, 0, 1, 0, 0, 30);
  const phases = [
    { name: 'ingest', status: 'completed', done: 1000, total: 1000, startedAt: t(0), finishedAt: t(10) },
    // A queue wait of 5 s before websites started is not run time.
    { name: 'websites', status: 'completed', done: 100, total: 100, startedAt: t(15), finishedAt: t(20) },
    { name: 'contentItems', status: 'running', done: 400, total: 900, startedAt: t(20), finishedAt: null },
    { name: 'preserve', status: 'pending', done: 0, total: 0, startedAt: null, finishedAt: null },
  ];
  // done = 1000 staged + 500 settled over 10 + 5 + 10 = 25 s → 60 rows/s; left 2000 − 1500 → ETA 8 s.
  expect(batchProgress({ status: 'running', entryCount: 1000 }, phases, now)).toEqual({ fraction: 0.75, rowsPerSecond: 60, etaSeconds: 8, currentPhase: 'contentItems' });
  // Once preserve runs, its done (every settled entry) replaces the sum of the mapped phases.
  const later = phases.map((p) => (p.name === 'preserve' ? { ...p, status: 'running', done: 900, total: 1000, startedAt: t(30) } : { ...p, status: 'completed', finishedAt: p.finishedAt ?? t(30) }));
  expect(batchProgress({ status: 'running', entryCount: 1000 }, later, Date.UTC(2026, 0, 1, 0, 0, 35)).fraction).toBe(0.95);
  expect(batchProgress({ status: 'failed', entryCount: 1000 }, phases, now).etaSeconds).toBeNull();
  expect(batchProgress({ status: 'completed', entryCount: 1000 }, phases, now).fraction).toBe(1);
});
