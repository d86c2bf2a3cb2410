/**
 * The reconciler: Postgres is the source of truth for batch state, Redis only carries the jobs. If Redis
 * lost its data (restarted without persistence, flushed, failed over to an empty replica), batches stay
 * `queued`/`running`/`rolling_back` in Postgres with no job left to move them (or `received`, when the API
 * died between creating a batch and queueing it). This finds them and queues them again from where they
 * stopped:
 * - a phase flow: re-added as a new run (fresh job ids, as an admin re-apply does). Completed phases run
 *   again as no-ops (idempotent upserts against the journal); an entry phase continues at its first
 *   pending entry; nothing is applied twice.
 * - a rollback job: re-added with its original id and payload (from the audit log); it skips batches
 *   already rolled back and resumes with the next one.
 * Run on a schedule (MAINTENANCE_SCHEDULES), when a worker starts and when its Redis connection comes back
 * (worker/createWorkers.ts). Proven by test/faults/redisLost.test.ts.
 */
import { transition } from '../lifecycle';
import { FlowProducer, Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../../core/redis';
import { runOf } from '../batches';
import { QUEUES, ROOT_PHASE, phaseJobId, type JobPayloads } from '../names';
import { enqueueBatch } from '../pipeline';
import type { PhaseDeps } from '../phases/context';

export type ReconcileDeps = Pick<PhaseDeps, 'ds' | 'config' | 'log'>;

export interface ReconcileReport {
  /** Batches whose flow was gone and was re-added (as a new run). */
  requeued: string[];
  /** Rollback jobs that were gone and were re-added. */
  rollbacks: string[];
}

/** The root of a batch's flow: it exists (waiting for its children, or running) until the batch finishes. */
const ROOT = ROOT_PHASE;

export async function reconcileJob(deps: PhaseDeps, _job: Job): Promise<ReconcileReport> {
  // A short-lived connection of its own: the worker's blocking connection must not carry producer calls.
  const connection = createRedis(deps.config.REDIS_URL, 'producer', deps.log, deps.config.REDIS_CLUSTER);
  try {
    return await reconcile(deps, connection);
  } finally {
    await connection.quit().catch(() => connection.disconnect());
  }
}

export async function reconcile(deps: ReconcileDeps, connection: Redis): Promise<ReconcileReport> {
  const { ds, config, log } = deps;
  const opts = { connection, prefix: config.QUEUE_PREFIX };
  const migration = new Queue(QUEUES.migration, opts);
  const maintenance = new Queue(QUEUES.maintenance, opts);
  const flows = new FlowProducer(opts);
  const report: ReconcileReport = { requeued: [], rollbacks: [] };
  try {
    // The grace period covers the moment between Postgres saying `queued` and the flow being added
    // (retryBatch writes Postgres first): a batch touched that recently is left for the next run.
    const active: { id: string; status: string }[] = await ds.query(
      `SELECT id, status FROM migration_batches
       WHERE status IN ('received', 'queued', 'running', 'rolling_back') AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
       ORDER BY created_at`,
      [config.RECONCILE_GRACE_MS],
    );
    for (const b of active) {
      if (b.status === 'rolling_back') {
        if (await requeueRollback(deps, maintenance, b.id)) report.rollbacks.push(b.id);
        continue;
      }
      const run = await requeueFlow(deps, migration, flows, b.id);
      if (run === null) continue;
      log.warn({ batchId: b.id, run }, 'batch had no jobs in Redis; re-queued from where it stopped');
      report.requeued.push(b.id);
    }
  } finally {
    await Promise.all([migration.close(), maintenance.close(), flows.close()]);
  }
  if (report.requeued.length || report.rollbacks.length) log.info(report, 'reconciled batches with Redis');
  return report;
}

/**
 * Re-adds a batch's flow as the next run if the current run's root job is gone; returns that run, or null.
 * Under the batch's row lock: a second reconciler (another worker starting, the schedule) waits, then sees
 * the new run's jobs and leaves the batch alone; without it both could re-queue it, as runs 2 and 3.
 * The flow is added before the commit: if the commit fails, the next pass re-adds the same job ids (a no-op).
 */
async function requeueFlow(deps: ReconcileDeps, migration: Queue, flows: FlowProducer, batchId: string): Promise<number | null> {
  return deps.ds.transaction(async (m) => {
    const [row] = await m.query(`SELECT notes FROM migration_batches WHERE id = $1 AND status IN ('received', 'queued', 'running') FOR UPDATE`, [batchId]);
    if (!row) return null;
    const run = runOf(row);
    if (await migration.getJob(phaseJobId(batchId, ROOT, run))) return null; // its flow is alive
    const next = run + 1;
    await transition(m, batchId, { from: ['received', 'queued', 'running'], to: 'queued', set: { notes: { run: next } } });
    // Every phase runs again in the new run (done work is idempotent), so every phase is pending again: phases
    // wait for what they need to complete in this run (jobs/runPhase.ts), not for a completion of the lost one.
    await m.query(`UPDATE migration_phases SET status = 'pending' WHERE batch_id = $1`, [batchId]);
    await enqueueBatch(flows, m, batchId, deps.config, next);
    return next;
  });
}

/**
 * A batch `rolling_back` belongs to the rollback requested last that covers it (audit `queued` entry,
 * whose id is the job's auditId). If that job is gone, it is added again with the same id and payload.
 */
async function requeueRollback(deps: ReconcileDeps, maintenance: Queue, batchId: string): Promise<boolean> {
  const [req]: { id: string; actor: string; action: string; target: string }[] = await deps.ds.query(
    `SELECT id::text AS id, actor, action, target FROM audit_log
     WHERE action IN ('batch.rollback', 'batch.rollback.forced') AND outcome = 'queued' AND details->'batches' ? $1
     ORDER BY id DESC LIMIT 1`,
    [batchId],
  );
  if (!req) return false;
  const requested = req.target.replace(/^batch:/, '');
  const jobId = `rollback.${requested}.${req.id}`;
  if (await maintenance.getJob(jobId)) return false;
  const data: JobPayloads['rollback'] = { batchId: requested, force: req.action === 'batch.rollback.forced', actor: req.actor, auditId: req.id };
  await maintenance.add('rollback', data, { jobId, attempts: 3, backoff: { type: 'exponential', delay: deps.config.JOB_BACKOFF_MS }, removeOnComplete: { age: 30 * 24 * 3600 } });
  deps.log.warn({ batchId, jobId }, 'rollback job was gone from Redis; re-queued');
  return true;
}
