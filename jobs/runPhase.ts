/**
 * The processor of the migration queue: runs one phase of one batch and mirrors its state into Postgres
 * (migration_phases, migration_batches), so the API and dashboard never need Redis to answer.
 * A permanent error, or the last attempt of a transient one, fails the phase and the batch with a
 * readable reason; earlier attempts are recorded and retried with backoff by BullMQ.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { batchOutcomes, jobDuration, phaseLastProgress, zeroSeries } from '../core/metrics';
import { MigrationBatch } from '../entities';
import { classifyJobError } from './errors';
import { transition } from './lifecycle';
import { runOf } from './batches';
import { ALL_PHASES, batchDependencies } from './layouts';
import { phaseJobId, type JobPayloads } from './names';
import type { PhaseDeps, PhaseRun } from './phases/context';
import { phaseHandler } from './phases';
import { SLICE_RECHECK_MS, WaitForSlices } from './phases/slices';
import { BatchRolledBack } from './write/userLock';

const TERMINAL = new Set(['rolling_back', 'rolled_back']);

// Every outcome a worker can count, at 0 from the start (see zeroSeries): the first failure alerts too.
zeroSeries(batchOutcomes, [
  { status: 'completed', phase: 'verify' }, { status: 'needs_attention', phase: 'verify' },
  ...ALL_PHASES.map((phase) => ({ status: 'failed', phase })),
]);

/** How long a batch waits before checking again whether the user's other batch has finished. */
const USER_WAIT_MS = 500;
/** How long a phase waits before checking its dependencies again (their completion wakes it sooner). */
const DEPENDENCY_WAIT_MS = 1000;
/** How long a phase waits while another phase of its batch has failed for good (until a retry or rollback). */
const FAILED_WAIT_MS = 5000;

/** The batch's phases and what each waits for, with their statuses (migration_phases). */
async function batchGraph(ds: PhaseDeps['ds'], batch: MigrationBatch) {
  const rows: { name: string; status: string }[] = await ds.query(`SELECT name, status FROM migration_phases WHERE batch_id = $1 ORDER BY position`, [batch.id]);
  const status = new Map(rows.map((r) => [r.name, r.status]));
  return { status, deps: batchDependencies(batch.layout, rows.map((r) => r.name)) };
}

/** The phases `phase` needs that have not completed (in this run: a new run sets every phase pending). */
async function unmetDependencies(ds: PhaseDeps['ds'], batch: MigrationBatch, phase: string): Promise<string[]> {
  const { status, deps } = await batchGraph(ds, batch);
  return (deps.get(phase) ?? []).filter((d) => status.get(d) !== 'completed');
}

/** Wakes the phases waiting (delayed) for `phase`, now that it completed. */
async function wakeDependents(deps: PhaseDeps, batch: MigrationBatch, phase: string): Promise<void> {
  if (!deps.queue) return;
  const { deps: graph } = await batchGraph(deps.ds, batch);
  for (const [other, needs] of graph) if (needs.includes(phase)) await deps.queue.wake(phaseJobId(batch.id, other, runOf(batch)));
}

export async function runPhase(deps: PhaseDeps, job: Job<JobPayloads['phase']>, token?: string): Promise<{ phase: string; skipped?: string }> {
  const { batchId, phase } = job.data;
  const { ds } = deps;
  let log = deps.log.child({ batchId, phase, jobId: job.id, attempt: job.attemptsMade + 1 });
  const batch = await ds.getRepository(MigrationBatch).findOneBy({ id: batchId });
  if (!batch) throw new UnrecoverableError(`batch ${batchId} does not exist`);
  // The id of the API request that created the batch (postDump), so one id follows it from HTTP to every phase.
  if (typeof batch.notes?.requestId === 'string') log = log.child({ reqId: batch.notes.requestId });
  // The batch's own layout: a name no longer registered, or a phase it does not have, can never run.
  const layout = Object.hasOwn(deps.layouts, batch.layout) ? deps.layouts[batch.layout] : undefined;
  if (!layout) throw new UnrecoverableError(`batch ${batchId} has layout ${batch.layout}, which this worker does not know`);
  const handler = phaseHandler(layout, phase);
  if (!handler) throw new UnrecoverableError(`layout ${batch.layout} has no phase ${phase}`);
  if (TERMINAL.has(batch.status)) {
    log.info({ status: batch.status }, 'batch is being or was rolled back; phase skipped');
    return { phase, skipped: batch.status };
  }
  if (token) {
    // One user's batches apply in order, and never while one of theirs rolls back (issue 6). Checked at
    // every phase, not only ingest: a retried later phase, or an older batch re-applied, waits its turn too.
    const [other] = await ds.query(
      `SELECT id, status FROM migration_batches WHERE user_id = $1 AND id <> $2
         AND (status = 'rolling_back' OR (status IN ('queued', 'running') AND created_at < $3)) LIMIT 1`,
      [batch.userId, batchId, batch.createdAt],
    );
    if (other) {
      log.info({ waitingFor: other.id, status: other.status }, 'waiting for the user\'s other batch');
      await job.moveToDelayed(Date.now() + USER_WAIT_MS, token);
      throw new DelayedError();
    }
    // Phases side by side (jobs/pipeline.ts): this one starts once the phases it needs completed in this
    // run, woken by the last of them. While another phase of the batch has failed for good, it waits for the
    // batch's retry (or its rollback) instead of running the batch again.
    const unmet = await unmetDependencies(ds, batch, phase);
    if (batch.status === 'failed' || unmet.length > 0) {
      log.debug({ waitingFor: unmet, status: batch.status }, 'waiting for the phases it needs');
      await job.moveToDelayed(Date.now() + (batch.status === 'failed' ? FAILED_WAIT_MS : DEPENDENCY_WAIT_MS), token);
      throw new DelayedError();
    }
  }
  // Compare-and-set: a rollback that claimed the batch since the check above wins, and the phase skips; a
  // sibling phase that failed for good since (the batch `failed`) wins too, and this one waits for the
  // retry as above — moving the batch back to `running` would leave it there, with nothing left to end it.
  // A batch already completed (a stalled verify run again) keeps its status; the phase's work is idempotent.
  const started = await transition(ds, batchId, { from: ['received', 'queued', 'running'], to: 'running', set: { error: null, startedAt: 'keep' } });
  if (!started) {
    const [now] = await ds.query(`SELECT status FROM migration_batches WHERE id = $1`, [batchId]);
    if (TERMINAL.has(now?.status)) {
      log.info({ status: now.status }, 'batch is being or was rolled back; phase skipped');
      return { phase, skipped: now.status };
    }
    if (now?.status === 'failed' && token) {
      log.debug('a phase beside this one failed for good meanwhile; waiting for the retry');
      await job.moveToDelayed(Date.now() + FAILED_WAIT_MS, token);
      throw new DelayedError();
    }
  }
  // A job delayed while its entry's slices ran (jobs/phases/slices.ts) resumes: the same attempt, not a new one.
  const resumed = job.data.waiting === true;
  if (resumed) await job.updateData({ batchId, phase });
  await ds.query(
    `UPDATE migration_phases SET status = 'running', attempts = attempts + $3, error = NULL, started_at = coalesce(started_at, now()), finished_at = NULL
     WHERE batch_id = $1 AND name = $2`,
    [batchId, phase, resumed ? 0 : 1],
  );
  // For the stalled-phase alert: the series lives while this attempt runs (removed in `finally`).
  const series = { batch_id: batchId, phase };
  phaseLastProgress.set(series, Date.now() / 1000);
  const run: PhaseRun = {
    deps, batch, layout, phase, log, jobId: job.id!, resumed,
    progress: async (done, total, rejected = 0) => {
      phaseLastProgress.set(series, Date.now() / 1000);
      await job.updateProgress({ done, total, rejected });
      await ds.query(`UPDATE migration_phases SET done = $3, total = $4, rejected = $5 WHERE batch_id = $1 AND name = $2`, [batchId, phase, done, total, rejected]);
    },
  };
  const startedMs = Date.now();
  try {
    await handler(run);
  } catch (raw) {
    if (raw instanceof BatchRolledBack) {
      // A rollback claimed the batch while this phase ran (beside a phase that failed): it stops, as a phase
      // that starts after the claim skips, and is not a failure of its own.
      log.info({ status: raw.status }, 'batch is being or was rolled back; phase stopped');
      await ds.query(`UPDATE migration_phases SET status = 'pending' WHERE batch_id = $1 AND name = $2 AND status = 'running'`, [batchId, phase]);
      return { phase, skipped: raw.status };
    }
    if (raw instanceof WaitForSlices && token) {
      log.info({ seq: raw.seq, pending: raw.pending }, 'waiting for the slices of a large entry');
      await job.updateData({ batchId, phase, waiting: true });
      await job.moveToDelayed(Date.now() + SLICE_RECHECK_MS, token);
      throw new DelayedError();
    }
    const err = classifyJobError(raw) as Error & { code?: string };
    const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const message = err.message || String(err);
    log.warn({ err: message, final }, final ? 'phase failed' : 'phase attempt failed; will retry');
    if (final) await markPhaseFailed(ds, job, err);
    else await ds.query(`UPDATE migration_phases SET error = $3 WHERE batch_id = $1 AND name = $2`, [batchId, phase, message]);
    jobDuration.observe({ phase, outcome: final ? 'failed' : 'retry' }, (Date.now() - startedMs) / 1000);
    throw err;
  } finally {
    phaseLastProgress.remove(series);
  }
  await ds.query(`UPDATE migration_phases SET status = 'completed', finished_at = now() WHERE batch_id = $1 AND name = $2`, [batchId, phase]);
  jobDuration.observe({ phase, outcome: 'completed' }, (Date.now() - startedMs) / 1000);
  log.info({ ms: Date.now() - startedMs }, 'phase completed');
  await wakeDependents(deps, batch, phase);
  return { phase };
}

/**
 * Records a phase's final failure in Postgres: the phase and its batch `failed`, with a readable reason.
 * Called by the processor, and by the worker's `failed` listener for failures the processor never sees
 * (a job that stalled too often is failed by BullMQ without running it again).
 */
export async function markPhaseFailed(ds: PhaseDeps['ds'], job: Job<JobPayloads['phase']>, err: Error & { code?: string }): Promise<void> {
  const { batchId, phase } = job.data;
  const message = err.message || String(err);
  const reason = { code: err.code ?? 'phase_failed', message: `Phase ${phase} failed: ${message}`, phase, attempts: job.attemptsMade + 1 };
  await ds.query(`UPDATE migration_phases SET status = 'failed', error = $3 WHERE batch_id = $1 AND name = $2`, [batchId, phase, message]);
  const moved = await transition(ds, batchId, { from: ['running', 'queued'], to: 'failed', set: { error: reason, finishedAt: 'now' } });
  // Counted by whoever moved the batch: the processor and the `failed` listener both call this.
  if (moved) batchOutcomes.inc({ status: 'failed', phase });
}

/** Whether a failed job will not be tried again. */
export function isFinalFailure(job: Job, err: Error): boolean {
  return err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || err.name === 'PermanentJobError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}
