/**
 * What admins can do to a batch: retry it, roll it back (as a job), verify it again. Each action is
 * audited (asked for, refused, or done). Called by the API's admin handlers; the CLI goes through the API.
 */
import type { DataSource } from 'typeorm';
import type { Config } from '../core/config';
import { AppError, Errors } from '../core/errors';
import type { Queues } from '../core/queues';
import type { MigrationBatch } from '../entities';
import { describeApiChanges, findApiChanges } from './apiChanges';
import { recordAudit } from './audit';
import { ACTIVE, giveBackRollback, transition } from './lifecycle';
import { batchPhases, runOf } from './batches';
import { layoutFor } from './layouts';
import { phaseJobId, type JobPayloads } from './names';
import { enqueueBatch } from './pipeline';
import { planRollback } from './rollback';
import { verifyBatch, type Verification } from './phases/verify';

export interface ActionDeps {
  ds: DataSource;
  queues: Queues;
  config: Config;
}

class StatusChanged extends Error {}


async function refuse(deps: ActionDeps, actor: string, action: string, batchId: string, err: AppError): Promise<never> {
  await recordAudit(deps.ds, { actor, action, target: `batch:${batchId}`, outcome: 'refused', details: { code: err.code, reason: err.message, ...(err.details ? { details: err.details } : {}) } });
  throw err;
}

/** Re-runs what failed (the failed job continues the flow), or re-applies a rolled-back batch as a new run. */
export async function retryBatch(deps: ActionDeps, batch: MigrationBatch, actor: string, force = false): Promise<{ status: string; run: number; retried: string[] }> {
  const { ds, queues } = deps;
  if (batch.status !== 'failed' && batch.status !== 'rolled_back') {
    await refuse(deps, actor, 'batch.retry', batch.id, Errors.conflict('nothing_to_retry', `Batch is ${batch.status}: only failed or rolled-back batches can be retried.`, { status: batch.status }));
  }
  // Running an older batch again would overwrite what later batches of the user wrote since (its upserts
  // know nothing of them): refused, naming them, unless forced — as a rollback that later batches block.
  const later: { id: string }[] = await ds.query(
    `SELECT id FROM migration_batches WHERE user_id = $1 AND id <> $2 AND created_at > $3 AND status IN ('completed', 'needs_attention', 'failed')
     ORDER BY created_at`,
    [batch.userId, batch.id, batch.createdAt],
  );
  if (later.length > 0 && !force) {
    const ids = later.map((l) => l.id);
    await refuse(deps, actor, 'batch.retry', batch.id, Errors.conflict('later_batches', `Later batches of this user were applied since: ${ids.join(', ')}. Running this one again would overwrite their rows; roll them back first, or force the retry.`, { laterBatches: ids }));
  }
  let run = runOf(batch);
  const failedJobs = [];
  if (batch.status === 'failed') {
    for (const phase of await batchPhases(ds, batch.id)) {
      const job = await queues.migration.getJob(phaseJobId(batch.id, phase, run));
      if (job && (await job.getState()) === 'failed') failedJobs.push(job);
    }
  }
  const reapply = failedJobs.length === 0;
  if (reapply && (batch.notes as { dumpDeletedAt?: string })?.dumpDeletedAt) {
    await refuse(deps, actor, 'batch.retry', batch.id, Errors.conflict('dump_deleted', 'Its stored dump was removed by the retention clean-up (DUMP_RETENTION_DAYS), so the batch cannot run again; upload the dump again instead.'));
  }
  if (reapply) run += 1; // re-apply (or a failed job no longer in Redis): a new run of every phase; done work is idempotent
  // Postgres first, compare-and-set: a worker that picks the job up at once finds the batch queued, and two
  // admins retrying at once cannot both win.
  const claimed = await ds.transaction(async (m) => {
    const done = await transition(m, batch.id, {
      from: [batch.status], to: 'queued',
      set: { error: null, finishedAt: null, ...(reapply ? { verification: null, startedAt: null, notes: { run } } : {}) },
    });
    if (!done) return false;
    await m.query(
      reapply
        ? `UPDATE migration_phases SET status = 'pending', total = 0, done = 0, rejected = 0, attempts = 0, error = NULL, started_at = NULL, finished_at = NULL WHERE batch_id = $1`
        : `UPDATE migration_phases SET status = 'pending', error = NULL WHERE batch_id = $1 AND status = 'failed'`,
      [batch.id],
    );
    return true;
  });
  if (!claimed) await refuse(deps, actor, 'batch.retry', batch.id, Errors.conflict('status_changed', 'The batch changed state meanwhile; reload it and try again.'));
  try {
    if (reapply) await enqueueBatch(queues.flows, ds, batch.id, deps.config, run);
    else for (const job of failedJobs) await job.retry('failed', { resetAttemptsMade: true });
  } catch (err) {
    await transition(ds, batch.id, { from: ['queued'], to: batch.status });
    await recordAudit(ds, { actor, action: 'batch.retry', target: `batch:${batch.id}`, outcome: 'failed', details: { reason: (err as Error).message } });
    throw Errors.unavailable('The job queue (Redis)');
  }
  const retried = failedJobs.map((j) => j.id!);
  await recordAudit(ds, { actor, action: force ? 'batch.retry.forced' : 'batch.retry', target: `batch:${batch.id}`, outcome: 'ok', details: { from: batch.status, run, retriedJobs: retried, ...(later.length ? { laterBatches: later.map((l) => l.id) } : {}) } });
  return { status: 'queued', run, retried };
}

/** Checks and queues a rollback; the maintenance worker carries it out (jobs/maintenance/rollback.ts). */
export async function requestRollback(deps: ActionDeps, batch: MigrationBatch, force: boolean, actor: string) {
  const { ds, queues } = deps;
  const action = force ? 'batch.rollback.forced' : 'batch.rollback';
  if (ACTIVE.includes(batch.status)) await refuse(deps, actor, action, batch.id, Errors.conflict('batch_active', `Batch is ${batch.status}; wait until it finishes, then roll it back.`));
  if (batch.status === 'rolling_back' || batch.status === 'rolled_back') await refuse(deps, actor, action, batch.id, Errors.conflict(`already_${batch.status}`, `Batch is already ${batch.status.replace('_', ' ')}.`));
  const [busy] = await ds.query(`SELECT id FROM migration_batches WHERE user_id = $1 AND id <> $2 AND status IN ('running', 'rolling_back') LIMIT 1`, [batch.userId, batch.id]);
  // (A queued batch of the user is fine: its ingest waits while this one rolls back.)
  if (busy) await refuse(deps, actor, action, batch.id, Errors.conflict('user_busy', `Another batch of this user (${busy.id}) is running or rolling back; try again when it has finished.`, { batchId: busy.id }));
  // A delta built on this batch that has not run yet: its writes would carry this batch's entries forward
  // again. Refused unless forced; forced, the delta fails when it runs (BaseRolledBack), writing nothing.
  const [waiting]: { id: string }[] = await ds.query(
    `WITH RECURSIVE later (id, status, depth) AS (
       SELECT id, status, 1 FROM migration_batches WHERE base_batch_id = $1
       UNION ALL
       SELECT b.id, b.status, l.depth + 1 FROM migration_batches b JOIN later l ON b.base_batch_id = l.id WHERE l.depth < 10000)
     SELECT id FROM later WHERE status = ANY($2) LIMIT 1`,
    [batch.id, ACTIVE],
  );
  if (waiting && !force) {
    await refuse(deps, actor, action, batch.id, Errors.conflict('rollback_conflict', `A delta built on this batch (${waiting.id}) is waiting to run; rolling back now would have it write this batch's entries again. Wait until it has finished, or force the rollback (the delta then fails instead of running).`, { laterBatches: [waiting.id] }));
  }
  const plan = await planRollback(ds, batch.id, force);
  if (plan.conflicts.length > 0 && !force) {
    await refuse(deps, actor, action, batch.id, Errors.conflict('rollback_conflict', `Later batches changed rows of this batch: ${plan.conflicts.join(', ')}. Roll them back first, or force to roll back all of them, newest first.`, { laterBatches: plan.conflicts }));
  }
  // Writes made through the data API since would be discarded: refused unless forced (the job re-checks
  // under the user's row lock and audits what a forced rollback overwrote).
  const apiChanges = await findApiChanges(ds, batch.userId, plan.order, 20);
  if (apiChanges.count > 0 && !force) {
    await refuse(deps, actor, action, batch.id, Errors.conflict('changed_through_api', `Rows of this batch were changed through the data API since it ran (${describeApiChanges(apiChanges)}). Rolling back would discard those changes; force the rollback to discard them (the audit log keeps what is overwritten).`, { apiChanges: { count: apiChanges.count, changes: apiChanges.changes.map(({ value: _v, ...c }) => c) } }));
  }
  // All or none, compare-and-set: if one of them started running or rolling back meanwhile, the
  // transaction gives back what it claimed and the request is refused.
  const claimed = await ds.transaction(async (m) => {
    for (const id of plan.order) {
      const done = await transition(m, id, { from: ['completed', 'needs_attention', 'failed'], to: 'rolling_back', set: { rememberStatus: true } });
      if (!done) throw new StatusChanged();
    }
    return true;
  }).catch((err) => { if (err instanceof StatusChanged) return false; throw err; });
  if (!claimed) await refuse(deps, actor, action, batch.id, Errors.conflict('status_changed', 'A batch of this rollback changed state meanwhile; reload and try again.'));
  const auditId = await recordAudit(ds, { actor, action, target: `batch:${batch.id}`, outcome: 'queued', details: { batches: plan.order, laterBatches: plan.conflicts, ...(apiChanges.count ? { apiChangesToOverwrite: apiChanges.count } : {}) } });
  const data: JobPayloads['rollback'] = { batchId: batch.id, force, actor, auditId, batches: plan.order };
  try {
    const job = await queues.maintenance.add('rollback', data, { jobId: `rollback.${batch.id}.${auditId}`, attempts: 3, backoff: { type: 'exponential', delay: deps.config.JOB_BACKOFF_MS }, removeOnComplete: { age: 30 * 24 * 3600 } });
    return { status: 'rolling_back' as const, batches: plan.order, jobId: job.id };
  } catch {
    await giveBackRollback(ds, plan.order);
    await recordAudit(ds, { actor, action, target: `batch:${batch.id}`, outcome: 'failed', details: { requestId: auditId, reason: 'the job queue (Redis) is unreachable' } });
    throw Errors.unavailable('The job queue (Redis)');
  }
}

/** Verifies a finished batch again and records the result (completed ⇄ needs_attention). */
export async function reverifyBatch(deps: ActionDeps, batch: MigrationBatch, actor: string): Promise<Verification> {
  if (!['completed', 'needs_attention'].includes(batch.status)) {
    await refuse(deps, actor, 'batch.verify', batch.id, Errors.conflict('not_verifiable', `Batch is ${batch.status}; only completed batches or batches needing attention can be verified.`));
  }
  const v = await verifyBatch({ deps: { ds: deps.ds } as never, batch, layout: layoutFor(batch.layout) });
  // Compare-and-set: a rollback (or retry) that claimed the batch while it was being verified keeps it.
  const done = await transition(deps.ds, batch.id, { from: ['completed', 'needs_attention'], to: v.ok ? 'completed' : 'needs_attention', set: { verification: v as unknown as Record<string, unknown> } });
  if (!done) await refuse(deps, actor, 'batch.verify', batch.id, Errors.conflict('status_changed', 'The batch changed state while it was being verified (a rollback or retry took it); nothing was recorded.'));
  await recordAudit(deps.ds, { actor, action: 'batch.verify', target: `batch:${batch.id}`, outcome: 'ok', details: { ok: v.ok, problems: v.problems } });
  return v;
}
