/**
 * The rollback job: undoes the batch (and, when forced, the later batches that built on it) newest first,
 * reporting progress per batch, and records the outcome in the audit log. If it cannot finish, the batches
 * not yet undone go back to the status they had.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { rollbackOutcomes, zeroSeries } from '../../core/metrics';
import { ApiChangesError, type ApiChange } from '../apiChanges';
import { releaseAssets } from '../assets';
import { recordAudit } from '../audit';
import { giveBackRollback, transition } from '../lifecycle';
import type { JobPayloads } from '../names';
import type { PhaseDeps } from '../phases/context';
import { planRollback, undoBatch } from '../rollback';

zeroSeries(rollbackOutcomes, [{ outcome: 'ok' }, { outcome: 'failed' }]);

export async function rollbackJob(deps: PhaseDeps, job: Job<JobPayloads['rollback']>): Promise<unknown> {
  const { ds, config, log } = deps;
  const { batchId, force, actor, auditId } = job.data;
  const action = force ? 'batch.rollback.forced' : 'batch.rollback';
  const plan = await planRollback(ds, batchId, force);
  const done: Record<string, unknown> = {};
  const overwritten: ApiChange[] = [];
  let overwrittenCount = 0;
  try {
    if (plan.conflicts.length > 0 && !force) throw new Error(`later batches changed its rows meanwhile: ${plan.conflicts.join(', ')}`);
    for (const [i, id] of plan.order.entries()) {
      const [b] = await ds.query(`SELECT status FROM migration_batches WHERE id = $1`, [id]);
      if (b?.status === 'rolled_back') continue; // finished by an earlier attempt of this job
      if (b?.status !== 'rolling_back') await transition(ds, id, { from: ['completed', 'needs_attention', 'failed'], to: 'rolling_back', set: { rememberStatus: true } });
      const undone = await undoBatch(ds, id, config.PHASE_LOCK_TIMEOUT_MS, force);
      done[id] = undone.tables;
      overwrittenCount += undone.apiChanges.count;
      overwritten.push(...undone.apiChanges.changes);
      log.info({ batchId: id, tables: undone.tables, apiChangesOverwritten: undone.apiChanges.count }, 'batch rolled back');
      await job.updateProgress({ done: i + 1, total: plan.order.length, batchId: id });
    }
  } catch (err) {
    // Data-API writes appeared since the request: retrying cannot help; an admin must decide (force).
    const refused = err instanceof ApiChangesError;
    const final = refused || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (final) {
      await giveBackRollback(ds, plan.order, { code: 'rollback_failed', message: `Rollback failed: ${(err as Error).message}` });
      rollbackOutcomes.inc({ outcome: 'failed' });
      await recordAudit(ds, { actor, action, target: `batch:${batchId}`, outcome: 'failed', details: { requestId: auditId, reason: (err as Error).message, undone: Object.keys(done), ...(refused ? { apiChanges: err.changes } : {}) } });
    }
    throw refused ? new UnrecoverableError(err.message) : err;
  }
  // Assets the undone batches stored leave with them, unless something still needs them (jobs/assets.ts).
  // After the undo committed, so what is checked is what stays; a failure here leaves the records for the
  // periodic clean-up, and the rollback itself stands.
  let assets: { deleted: number; kept: number } | undefined;
  try {
    const released = await releaseAssets(ds, deps.store, plan.order);
    assets = { deleted: released.deleted.length, kept: released.kept.length };
  } catch (err) {
    log.warn({ batchId, err: (err as Error).message }, 'assets of the rolled-back batch not released yet; the clean-up will');
  }
  // A forced rollback says what it overwrote: every discarded data-API write, with the value it had.
  const apiNote = overwrittenCount > 0 ? { overwrittenApiWrites: { count: overwrittenCount, changes: overwritten } } : {};
  rollbackOutcomes.inc({ outcome: 'ok' });
  await recordAudit(ds, { actor, action, target: `batch:${batchId}`, outcome: 'ok', details: { requestId: auditId, batches: plan.order, tables: done, ...(assets ? { assets } : {}), ...apiNote } });
  return { batches: plan.order };
}
