/**
 * The rollback job: undoes the batch (and, when forced, the later batches that built on it) newest first,
 * reporting progress per batch, and records the outcome in the audit log. If it cannot finish, the batches
 * not yet undone go back to the status they had.
 *
 * The plan made at the request (the batches it claimed, in the job's data) is only a first look: each step
 * plans again under the user's row lock (undoNext), so a batch that wrote over these rows since is taken
 * along (forced) or refuses the rollback, and a batch of the plan that is running fails the job at once,
 * never undone mid-phase. The job does not plan a third time on its own: with 200,000 rows a plan costs
 * ~0.6 s of the rollback's ~4 (its dependents are found through every row the batch inserted).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { rollbackOutcomes, zeroSeries } from '../../core/metrics';
import { ApiChangesError, type ApiChange } from '../apiChanges';
import { releaseAssets } from '../assets';
import { recordAudit } from '../audit';
import { giveBackRollback } from '../lifecycle';
import type { JobPayloads } from '../names';
import type { PhaseDeps } from '../phases/context';
import { BatchBusyError, planRollback, undoNext } from '../rollback';

zeroSeries(rollbackOutcomes, [{ outcome: 'ok' }, { outcome: 'failed' }]);

export async function rollbackJob(deps: PhaseDeps, job: Job<JobPayloads['rollback']>): Promise<unknown> {
  const { ds, config, log } = deps;
  const { batchId, force, actor, auditId } = job.data;
  const action = force ? 'batch.rollback.forced' : 'batch.rollback';
  // Every batch any plan named: what a failed job gives back, and whose assets leave with it.
  const involved = new Set(job.data.batches ?? (await planRollback(ds, batchId, force)).order);
  const done: Record<string, unknown> = {};
  const overwritten: ApiChange[] = [];
  let overwrittenCount = 0;
  try {
    // Later batches that changed its rows since the request refuse it in undoNext. Batches an earlier
    // attempt of this job undid are rolled_back already: undoNext passes over them.
    for (let step = await undoNext(ds, batchId, config.PHASE_LOCK_TIMEOUT_MS, force); step; step = await undoNext(ds, batchId, config.PHASE_LOCK_TIMEOUT_MS, force)) {
      for (const id of step.order) involved.add(id);
      const id = step.batchId;
      done[id] = step.tables;
      overwrittenCount += step.apiChanges.count;
      overwritten.push(...step.apiChanges.changes);
      log.info({ batchId: id, tables: step.tables, apiChangesOverwritten: step.apiChanges.count }, 'batch rolled back');
      await job.updateProgress({ done: Object.keys(done).length, total: involved.size, batchId: id });
    }
  } catch (err) {
    // Data-API writes appeared since the request, or a batch of the plan is running: retrying cannot
    // help (the running batch would be applied by then, and still in the plan); an admin decides again.
    const refused = err instanceof ApiChangesError || err instanceof BatchBusyError;
    const final = refused || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (final) {
      await giveBackRollback(ds, [...involved], { code: 'rollback_failed', message: `Rollback failed: ${(err as Error).message}` });
      rollbackOutcomes.inc({ outcome: 'failed' });
      await recordAudit(ds, { actor, action, target: `batch:${batchId}`, outcome: 'failed', details: { requestId: auditId, reason: (err as Error).message, undone: Object.keys(done), ...(err instanceof ApiChangesError ? { apiChanges: err.changes } : {}), ...(err instanceof BatchBusyError ? { busy: err.batches } : {}) } });
    }
    throw refused ? new UnrecoverableError(err.message) : err;
  }
  // A batch an earlier plan took along that the last plan no longer needs (what tied it to this one is gone)
  // was claimed and not undone: it goes back to what it was, instead of staying rolling_back for ever.
  const untouched = await giveBackRollback(ds, [...involved].filter((id) => !(id in done)));
  if (untouched.length) log.info({ batchId, givenBack: untouched }, 'batches the rollback no longer needed were given back');
  // Assets the undone batches stored leave with them, unless something still needs them (jobs/assets.ts).
  // After the undo committed, so what is checked is what stays; a failure here leaves the records for the
  // periodic clean-up, and the rollback itself stands.
  let assets: { deleted: number; kept: number } | undefined;
  try {
    const released = await releaseAssets(ds, deps.store, [...involved]);
    assets = { deleted: released.deleted.length, kept: released.kept.length };
  } catch (err) {
    log.warn({ batchId, err: (err as Error).message }, 'assets of the rolled-back batch not released yet; the clean-up will');
  }
  // A forced rollback says what it overwrote: every discarded data-API write, with the value it had.
  const apiNote = overwrittenCount > 0 ? { overwrittenApiWrites: { count: overwrittenCount, changes: overwritten } } : {};
  rollbackOutcomes.inc({ outcome: 'ok' });
  await recordAudit(ds, { actor, action, target: `batch:${batchId}`, outcome: 'ok', details: { requestId: auditId, batches: [...involved], tables: done, ...(assets ? { assets } : {}), ...apiNote } });
  return { batches: [...involved] };
}
