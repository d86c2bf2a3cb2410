/**
 * BullMQ recovers a stalled job by running it again, possibly while the first run is still alive. Two runs
 * of one phase then read the same pending page before either takes the user's lock; each page must still be
 * applied once: no duplicate rejects, outcomes and notes written once, progress counted from the database.
 */
import { transition } from '../../jobs/lifecycle';
import { SecretBox } from '../../core/crypto';
import { MigrationBatch } from '../../entities';
import { LAYOUTS } from '../../jobs/layouts';
import { phaseHandler } from '../../jobs/phases';
import type { PhaseDeps, PhaseRun } from '../../jobs/phases/context';
import type { PhaseName } from '../../jobs/names';
import { catalystDump } from '../fixtures/catalystDump';
import { advisoryWaiters, lockUser, until } from '../helpers/locks';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let deps: PhaseDeps;
const USER = 'stalled-rerun';

beforeAll(async () => {
  // No workers: the test is the worker, and runs phases by hand. Pages wait at the lock, not time out.
  stack = await startStack({ workers: false, config: { PHASE_LOCK_TIMEOUT_MS: '20000' } });
  const { config, ds, store, log } = { ...stack.api.deps, config: stack.config };
  deps = { config, ds, store, log, secrets: new SecretBox(config.encryptionKeys, config.ENCRYPTION_KEY_ID), layouts: LAYOUTS };
});
afterAll(() => stack.close());

async function phaseRun(batchId: string, phase: PhaseName, progress: number[][]): Promise<PhaseRun> {
  const batch = await deps.ds.getRepository(MigrationBatch).findOneByOrFail({ id: batchId });
  return {
    deps, batch, layout: LAYOUTS[batch.layout], phase, log: deps.log, jobId: `${batchId}.${phase}`, resumed: false,
    progress: async (done, total, rejected = 0) => {
      progress.push([done, total, rejected]);
      await deps.ds.query(`UPDATE migration_phases SET done = $3, total = $4, rejected = $5 WHERE batch_id = $1 AND name = $2`, [batchId, phase, done, total, rejected]);
    },
  };
}

const handler = (phase: PhaseName) => phaseHandler(LAYOUTS.catalyst, phase)!;
const run = async (batchId: string, phase: PhaseName) => handler(phase)(await phaseRun(batchId, phase, []));

test('the same phase run twice at once, both past their read: each page applied once, the report balanced', async () => {
  const doc = catalystDump();
  const items = JSON.parse(doc.localStorage[1].value);
  // Element rejects to count: items without an id, one without a content type, one with a bad date.
  items.state.contentItems.push({ contentTypeId: 'x' }, { id: 'no-type', createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z' }, { id: 'bad-date', contentTypeId: '1754981100456_p0o9i8u7y', createdAt: 'yesterday', updatedAt: '2025-01-01T00:00:00Z' });
  doc.localStorage[1].value = JSON.stringify(items);
  const token = await stack.mintToken(USER);
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  const batchId = res.body.batchId as string;
  // As runPhase does before a phase: the batch is running (verify records its outcome only from running).
  expect(await transition(deps.ds, batchId, { from: ['received', 'queued'], to: 'running' })).not.toBeNull();
  for (const phase of ['ingest', 'websites', 'contentTypes'] as const) await run(batchId, phase);

  const held = await lockUser(stack, USER);
  const progress: number[][][] = [[], []];
  const both = Promise.all([0, 1].map(async (i) => handler('contentItems')(await phaseRun(batchId, 'contentItems', progress[i]))));
  await until(async () => (await advisoryWaiters(stack)) >= 2); // both read the page and wait to apply it
  await held.release();
  await both;

  const ds = deps.ds;
  const rejects: { entry_seq: number; path: string; code: string; n: number }[] = await ds.query(
    `SELECT entry_seq, path, code, count(*)::int AS n FROM batch_rejects WHERE batch_id = $1 AND phase = 'contentItems' GROUP BY 1, 2, 3`, [batchId]);
  expect(rejects.length).toBeGreaterThanOrEqual(3);
  expect(rejects.filter((r) => r.n > 1)).toEqual([]);
  // Progress: the last word of each run is the database's count, never more than there is.
  const [phase] = await ds.query(`SELECT done, total, rejected FROM migration_phases WHERE batch_id = $1 AND name = 'contentItems'`, [batchId]);
  expect(phase).toEqual({ done: 1, total: 1, rejected: rejects.length });
  for (const p of progress) expect(p[p.length - 1]).toEqual([1, 1, rejects.length]);

  for (const name of ['websiteStorage', 'aiData', 'userPreferences', 'deploymentConfigs', 'deploymentHistory', 'preserve', 'prune', 'verify'] as const) await run(batchId, name);
  const [b] = await ds.query(`SELECT status, verification FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b.verification.accounting).toMatchObject({ balanced: true, pending: 0 });
  expect(b.status).toBe('completed');
});
