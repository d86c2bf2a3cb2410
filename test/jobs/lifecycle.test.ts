/**
 * The batch lifecycle (jobs/lifecycle.ts) under races, on the real stack: each race is held open at an
 * exact point with real row and table locks (no sleeps), then let go.
 *  - A forced rollback never undoes a batch in the middle of a phase: a later batch of the user that got
 *    past its turn check before the rollback was claimed is running when the job plans; the job fails
 *    cleanly and gives the claimed batch back, and the running batch finishes untouched.
 *  - Re-verify never overwrites rolling_back with completed.
 */
import { Client } from 'pg';
import { CONTENT_ITEMS, catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { lockTable, until, type HeldLock } from '../helpers/locks';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';
import { allowed, transition } from '../../jobs/lifecycle';

let stack: Stack;
let token: string;
const USER = 'user-lifecycle';
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

beforeAll(async () => {
  stack = await startStack({ config: { JOB_ATTEMPTS: '2', PHASE_LOCK_TIMEOUT_MS: '200' } });
  token = await stack.mintToken(USER);
});
// Locks a failed test left held are let go, so the next test (and the stack's close) is not stuck on them.
const held: HeldLock[] = [];
afterEach(async () => { for (const l of held.splice(0)) await l.release(); });
afterAll(() => stack.close());

const ds = () => stack.api.deps.ds;
const status = async (id: string) => (await ds().query(`SELECT status FROM migration_batches WHERE id = $1`, [id]))[0]?.status;

async function upload(doc: DumpDoc): Promise<string> {
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  return res.body.batchId;
}

/** The same user later: an item edited (a row of the first batch changed), so the later batch blocks its rollback. */
function laterDump(): DumpDoc {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: '2026-11-29T10:00:00.000Z' };
  const items = JSON.parse(JSON.stringify(CONTENT_ITEMS));
  items[0].data.title = 'Hello again';
  doc.localStorage = doc.localStorage.map((e) => (e.key === 'content-storage' ? { key: e.key, value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) } : e));
  return doc;
}

/** Row locks (SELECT … FOR UPDATE) held from a second connection until released; `waiters` counts who waits on them. */
async function lockRows(sql: string, params: unknown[]): Promise<HeldLock & { waiters(): Promise<number> }> {
  const c = new Client({ connectionString: stack.config.DATABASE_URL, options: `-c search_path=${stack.config.DATABASE_SCHEMA}` });
  await c.connect();
  await c.query('BEGIN');
  const { rowCount } = await c.query(sql, params);
  if (!rowCount) throw new Error(`nothing to lock: ${sql}`);
  // A session blocked on these rows waits for this transaction's id.
  const { rows: [{ xid }] } = await c.query(`SELECT pg_current_xact_id()::xid::text AS xid`);
  let released = false;
  const lock = {
    async release() { if (!released) { released = true; await c.query('COMMIT').catch(() => undefined); await c.end(); } },
    async waiters() {
      const [r] = await ds().query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype = 'transactionid' AND transactionid::text = $1`, [xid]);
      return r.n;
    },
  };
  held.push(lock);
  return lock;
}

/** Sessions waiting for a lock on this test's table `table` (held by lockTable). */
async function tableWaiters(table: string): Promise<number> {
  const [r] = await ds().query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype = 'relation' AND relation = to_regclass($1)`, [`"${stack.config.DATABASE_SCHEMA}"."${table}"`]);
  return r.n;
}

test('the transition table refuses an edge it does not have, before touching the database', async () => {
  expect(allowed('rolling_back', 'completed')).toBe(true);
  expect(allowed('running', 'rolling_back')).toBe(false);
  await expect(transition(ds(), '00000000-0000-4000-8000-000000000000', { from: ['running'], to: 'rolling_back' })).rejects.toThrow(/not an allowed transition/);
});

let first: string;
let later: string;

test('a forced rollback never undoes a batch that is in the middle of a phase: the job fails cleanly', async () => {
  first = await upload(catalystDump());
  expect(await waitForBatch(stack, first)).toBe('completed');

  // The later batch is queued while the workers are stopped, and held at the start of its verify phase
  // (its phase row locked): by then it has written all its rows, over the first batch's.
  await stack.stopWorkers();
  later = await upload(laterDump());
  const verifyRow = await lockRows(`SELECT 1 FROM migration_phases WHERE batch_id = $1 AND name = 'verify' FOR UPDATE`, [later]);
  // The rollback request passes its checks (the later batch is only queued and wrote nothing) and waits
  // to claim the first batch: its row is locked.
  const firstRow = await lockRows(`SELECT 1 FROM migration_batches WHERE id = $1 FOR UPDATE`, [first]);
  const requested = stack.http.post(`/v1/admin/batches/${first}/rollback`).set(admin).send({ force: true }).then((r) => r);
  await until(async () => (await firstRow.waiters()) > 0);
  // Meanwhile the later batch runs: each phase finds the first batch completed, not rolling back.
  stack.startWorkers();
  await until(async () => (await verifyRow.waiters()) > 0, 30000);
  expect(await status(later)).toBe('running');
  await firstRow.release();
  const res = await requested;
  expect(res.status).toBe(202);
  expect(res.body.batches).toEqual([first]);

  // The job plans again: the later batch is in the plan now, and running. It must not be touched.
  const [audit] = await until(async () => {
    const rows = await ds().query(`SELECT outcome, details FROM audit_log WHERE action = 'batch.rollback.forced' AND outcome IN ('ok', 'failed') AND target = $1`, [`batch:${first}`]);
    return rows.length ? rows : null;
  }, 30000);
  expect(await status(later)).toBe('running');
  expect(audit.outcome).toBe('failed');
  expect(audit.details.reason).toContain(later);
  expect(audit.details.undone).toEqual([]);
  expect(await status(first)).toBe('completed'); // given back to what it was
  const [firstBatch] = await ds().query(`SELECT error FROM migration_batches WHERE id = $1`, [first]);
  expect(firstBatch.error.code).toBe('rollback_failed');

  await verifyRow.release();
  expect(await waitForBatch(stack, later)).toBe('completed');
  expect(await waitForBatch(stack, first, ['completed'])).toBe('completed');
});

test('re-verify never overwrites rolling_back with completed', async () => {
  // Re-verify is held at its last read (the dump's entries); meanwhile the batch is claimed for rollback,
  // whose job waits (the maintenance worker paused).
  await stack.workers!.maintenance.pause();
  const entries = await lockTable(stack, 'dump_entries');
  held.push(entries);
  const reverify = stack.http.post(`/v1/admin/batches/${later}/verify`).set(admin).send({}).then((r) => r);
  await until(async () => (await tableWaiters('dump_entries')) > 0);
  const rb = await stack.http.post(`/v1/admin/batches/${later}/rollback`).set(admin).send({});
  expect(rb.status).toBe(202);
  expect(await status(later)).toBe('rolling_back');
  await entries.release();
  const res = await reverify;
  expect(res.status).toBe(409);
  expect(res.body.error.code).toBe('status_changed');
  expect(await status(later)).toBe('rolling_back');
  stack.workers!.maintenance.resume();
  expect(await waitForBatch(stack, later, ['rolled_back', 'completed', 'failed'])).toBe('rolled_back');
});
