/**
 * Phases side by side: a batch's flow is a tree over its phases (jobs/pipeline.ts), each phase waits for what
 * it needs (jobs/runPhase.ts), so phases that need nothing of each other run while another is held up. On the
 * real stack: Catalyst's contentItems is stopped before it writes anything (its slices' table is locked), and
 * website storage, AI data, preferences and deployments complete meanwhile; preserve waits for all of them.
 * And a rollback that claims a failed batch while one of its phases still runs: that phase writes nothing more.
 */
import type { FlowJob } from 'bullmq';
import { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { catalystDump, CONTENT_TYPES, type DumpDoc } from '../fixtures/catalystDump';
import { batchFlow } from '../../jobs/pipeline';
import { batchDependencies, phasesOf } from '../../jobs/layouts';
import { BatchRolledBack, lockForBatchWrite } from '../../jobs/write/userLock';
import { tableChecksums } from '../helpers/checksums';
import { testConfig, expectBatchEnds, startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

/** Catalyst's dump with 30 content items: over the stacks' SLICE_MIN_BYTES below, so contentItems slices it. */
function dumpWithItems(prefix: string): DumpDoc {
  const doc = catalystDump();
  const items = Array.from({ length: 30 }, (_, i) => ({
    id: `${prefix}-${i}`, contentTypeId: CONTENT_TYPES[0].id, data: { title: `Item ${i}` }, createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:13:20.000Z',
  }));
  const at = doc.localStorage.findIndex((e) => e.key === 'content-storage');
  doc.localStorage[at] = { key: 'content-storage', value: JSON.stringify({ state: { contentItems: items }, version: 0 }) };
  return doc;
}

/**
 * Holds the slices' table: contentItems splits its large entry before it takes the user's row lock, so it
 * stops there, and nothing else needs that table. Returns the release (idempotent).
 */
async function holdSlicesTable(ds: DataSource): Promise<() => Promise<void>> {
  const qr = ds.createQueryRunner();
  const client = (await qr.connect()) as PoolClient;
  await client.query('BEGIN');
  await client.query('LOCK TABLE entry_slices IN ACCESS EXCLUSIVE MODE');
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await client.query('ROLLBACK').catch(() => undefined);
    await qr.release();
  };
}

/** The flow as nested names: `phase(children…)`. */
const shape = (f: FlowJob): string => (f.children?.length ? `${f.name}(${f.children.map(shape).join(' ')})` : f.name);

test("Catalyst's flow is a tree: what needs nothing of each other sits side by side under preserve", () => {
  const phases = phasesOf('catalyst');
  const flow = batchFlow('b', phases, batchDependencies('catalyst', phases), testConfig());
  expect(shape(flow)).toBe(
    'verify(prune(preserve(contentItems(contentTypes(websites(ingest))) websiteStorage aiData userPreferences deploymentHistory(deploymentConfigs))))',
  );
  // What the tree does not order, the dependencies do: website storage needs websites (and ingest) too.
  const deps = batchDependencies('catalyst', phases);
  expect(deps.get('websiteStorage')).toEqual(['ingest', 'websites']);
  expect(deps.get('userPreferences')).toEqual(['ingest']);
  expect(deps.get('deploymentHistory')).toEqual(['ingest', 'websites', 'deploymentConfigs']);
  expect(deps.get('preserve')).toEqual(phases.slice(1, -3));
  // The generic layout, and a batch whose phases are not its layout's list (an older version's), are chains.
  expect(shape(batchFlow('b', phasesOf('generic'), batchDependencies('generic', phasesOf('generic')), testConfig()))).toBe('verify(prune(preserve(entries(ingest))))');
  const old = ['ingest', 'websites', 'contentItems', 'preserve', 'verify'];
  expect(shape(batchFlow('b', old, batchDependencies('catalyst', old), testConfig()))).toBe('verify(preserve(contentItems(websites(ingest))))');
});

describe('on the real stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ config: { SLICE_MIN_BYTES: '1000', SLICE_ELEMENTS: '5' } });
    stack.startWorkers();
  });
  afterAll(() => stack.close());

  test('phases that need nothing of each other complete while another is held up; preserve waits for all', async () => {
    const ds = stack.api.deps.ds;
    const doc = dumpWithItems('graph');
    const release = await holdSlicesTable(ds);
    try {
      const token = await stack.mintToken('user-graph');
      const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
      expect(res.status).toBe(202);
      const batchId = res.body.batchId;
      const others = ['websiteStorage', 'aiData', 'userPreferences', 'deploymentConfigs', 'deploymentHistory'];
      const deadline = Date.now() + 30_000;
      let status: Record<string, string> = {};
      for (;;) {
        const rows: { name: string; status: string }[] = await ds.query(`SELECT name, status FROM migration_phases WHERE batch_id = $1`, [batchId]);
        status = Object.fromEntries(rows.map((r) => [r.name, r.status]));
        if (others.every((p) => status[p] === 'completed')) break;
        if (Date.now() > deadline) throw new Error(`phases did not complete beside contentItems: ${JSON.stringify(status)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(status).toMatchObject({ ingest: 'completed', websites: 'completed', contentTypes: 'completed', contentItems: 'running', preserve: 'pending', verify: 'pending' });
      await release();
      await expectBatchEnds(stack, batchId);
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM content_items WHERE user_id = 'user-graph'`);
      expect(n).toBe(30);
      // preserve started only after the last of the phases it waits for had finished.
      const [order] = await ds.query(
        `SELECT (SELECT started_at FROM migration_phases WHERE batch_id = $1 AND name = 'preserve') >= max(finished_at) AS after
         FROM migration_phases WHERE batch_id = $1 AND name NOT IN ('preserve', 'prune', 'verify')`,
        [batchId],
      );
      expect(order.after).toBe(true);
    } finally {
      await release();
    }
  });

  test('a rollback while a phase still runs beside one that failed: that phase writes nothing once the rollback claimed the batch; the rollback is exact', async () => {
    const ds = stack.api.deps.ds;
    const user = 'user-graph-rollback';
    const doc = dumpWithItems('rb');
    const empty = await tableChecksums(ds, user);
    // deploymentHistory fails for good; contentItems is held before it writes anything (as above).
    await ds.query(`CREATE FUNCTION history_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected history fault'; END $$`);
    await ds.query(`CREATE TRIGGER history_fault BEFORE INSERT ON deployment_history FOR EACH ROW EXECUTE FUNCTION history_fault()`);
    const release = await holdSlicesTable(ds);
    try {
      const token = await stack.mintToken(user);
      const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
      const batchId = res.body.batchId;
      expect(await waitForBatch(stack, batchId, ['failed'], 30_000)).toBe('failed');
      const [items0] = await ds.query(`SELECT status FROM migration_phases WHERE batch_id = $1 AND name = 'contentItems'`, [batchId]);
      expect(items0.status).toBe('running');
      const rb = await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set({ Authorization: `Bearer ${TEST_ADMIN_TOKEN}` }).send({});
      expect(rb.status).toBe(202);
      expect(await waitForBatch(stack, batchId, ['rolled_back'], 30_000)).toBe('rolled_back');
      await release();
      // contentItems goes on: it splits, its slices find the batch rolled back, and it stops when it resumes.
      const job = await stack.api.deps.queues.migration.getJob(`${batchId}.contentItems`);
      const deadline = Date.now() + 30_000;
      while ((await job!.getState()) !== 'completed') {
        if (Date.now() > deadline) throw new Error(`contentItems is ${await job!.getState()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await stack.api.deps.queues.migration.getJob(`${batchId}.contentItems`))!.returnvalue).toEqual({ phase: 'contentItems', skipped: 'rolled_back' });
      expect(await tableChecksums(ds, user)).toEqual(empty);
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM row_journal WHERE batch_id = $1`, [batchId]);
      expect(n).toBe(0);
    } finally {
      await release();
      await ds.query(`DROP TRIGGER IF EXISTS history_fault ON deployment_history`);
    }
  });
});

test('a phase write checks its batch under the user lock: a batch a rollback claimed refuses it, a failed one does not', async () => {
  const stack = await startStack();
  try {
    const ds = stack.api.deps.ds;
    const token = await stack.mintToken('user-lock-check');
    const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    const batch = { id: res.body.batchId as string, userId: 'user-lock-check' };
    for (const [status, refused] of [['failed', false], ['rolling_back', true], ['rolled_back', true], ['running', false]] as const) {
      await ds.query(`UPDATE migration_batches SET status = $2 WHERE id = $1`, [batch.id, status]);
      const attempt = ds.transaction((m) => lockForBatchWrite(m, batch, 1000));
      if (refused) await expect(attempt).rejects.toBeInstanceOf(BatchRolledBack);
      else await expect(attempt).resolves.toBeUndefined();
    }
  } finally {
    await stack.close();
  }
});
