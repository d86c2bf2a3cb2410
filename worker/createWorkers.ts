/**
 * The worker side: one BullMQ Worker per queue, with the production settings (own connection with
 * maxRetriesPerRequest: null, error listeners) and a close() that lets running jobs finish.
 */
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { DataSource } from 'typeorm';
import type { Config } from '../core/config';
import { SecretBox } from '../core/crypto';
import type { Logger } from '../core/logger';
import { cleanupInterval, recordCleanupSuccess } from '../core/metrics';
import type { ObjectStore } from '../core/objectStore';
import { createRedis } from '../core/redis';
import { LAYOUTS } from '../jobs/layouts';
import { QUEUES, SLICE_JOB, type JobPayloads } from '../jobs/names';
import type { PhaseDeps, MigrationQueue } from '../jobs/phases/context';
import { markSliceFailed, runSlice } from '../jobs/phases/slices';
import { phaseJobOptions } from '../jobs/pipeline';
import { MAINTENANCE_HANDLERS, MAINTENANCE_SCHEDULES } from '../jobs/maintenance';
import { isFinalFailure, markPhaseFailed, runPhase } from '../jobs/runPhase';
import { startHeartbeat } from './heartbeat';

export interface Workers {
  migration: Worker;
  maintenance: Worker;
  close(): Promise<void>;
}

export function createWorkers(opts: { config: Config; ds: DataSource; store: ObjectStore; log: Logger }): Workers {
  const { config, log } = opts;
  const connection = createRedis(config.REDIS_URL, 'worker', log, config.REDIS_CLUSTER);
  const migrationQueue = new Queue<JobPayloads['slice']>(QUEUES.migration, { connection, prefix: config.QUEUE_PREFIX });
  const deps: PhaseDeps = {
    ...opts,
    secrets: new SecretBox(config.encryptionKeys, config.ENCRYPTION_KEY_ID),
    layouts: LAYOUTS, // each batch runs with its own layout (migration_batches.layout)
    queue: migrationQueueOf(migrationQueue, config),
  };
  type MigrationJob = Job<JobPayloads['phase']> | Job<JobPayloads['slice']>;
  const isSlice = (job: MigrationJob): job is Job<JobPayloads['slice']> => job.name === SLICE_JOB;
  const migration = new Worker(QUEUES.migration, (job: MigrationJob, token?: string) => (isSlice(job) ? runSlice(deps, job) : runPhase(deps, job, token)), {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_DURATION_MS,
    stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
  });
  const maintenance = new Worker(
    QUEUES.maintenance,
    async (job: Job) => {
      const handler = MAINTENANCE_HANDLERS[job.name];
      if (!handler) throw new UnrecoverableError(`no maintenance handler for job "${job.name}"`);
      return handler(deps, job);
    },
    { connection, prefix: config.QUEUE_PREFIX, concurrency: 1, lockDuration: config.WORKER_LOCK_DURATION_MS, stalledInterval: config.WORKER_STALLED_INTERVAL_MS },
  );
  for (const w of [migration, maintenance]) {
    w.on('error', (err) => log.error({ err: err.message, queue: w.name }, 'worker error'));
    w.on('failed', (job, err) => log.debug({ jobId: job?.id, queue: w.name, err: err.message }, 'job attempt failed'));
  }
  // A phase that stalled too often (its worker died mid-job) is failed by BullMQ without the processor
  // running: record it, or the batch would stay `running` forever. Idempotent with what runPhase records.
  migration.on('failed', (job, err) => {
    if (!job || !isFinalFailure(job, err)) return;
    const recorded = isSlice(job) ? markSliceFailed(deps, job, err) : markPhaseFailed(opts.ds, job, err);
    recorded.catch((e: Error) => log.error({ jobId: job.id, err: e.message }, 'could not record a failed job'));
  });
  // For the alerts (docs/operations.md): the clean-up's last success survives restarts in Redis.
  cleanupInterval.set(config.CLEANUP_INTERVAL_MINUTES * 60);
  maintenance.on('completed', (job) => {
    if (job.name !== 'cleanup') return;
    recordCleanupSuccess(connection, config.QUEUE_PREFIX).catch((e: Error) => log.warn({ err: e.message }, 'could not record the clean-up time'));
  });
  const heartbeat = startHeartbeat({ workers: [migration, maintenance], redis: connection, log });
  let scheduled = scheduleMaintenance(config, connection, log);
  // A Redis that comes back empty lost the schedules too: upsert them again (and reconcile) on every
  // reconnect, or nothing would re-queue the batches it lost until a worker restarts.
  let connectedOnce = false;
  connection.on('ready', () => {
    if (!connectedOnce) { connectedOnce = true; return; }
    log.info('redis connection back: scheduling maintenance and reconciling');
    scheduled = scheduled.then(() => scheduleMaintenance(config, connection, log));
  });
  return {
    migration,
    maintenance,
    async close() {
      heartbeat.stop(); // draining: this process takes no new work, so it no longer counts as alive
      await scheduled;
      await Promise.all([migration.close(), maintenance.close()]);
      await migrationQueue.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/** Slice jobs go on the migration queue with the phase jobs' attempts and backoff; waking moves a delayed phase job up. */
function migrationQueueOf(queue: Queue<JobPayloads['slice']>, config: Config): MigrationQueue {
  return {
    async addSlices(jobs) {
      if (jobs.length === 0) return;
      await queue.addBulk(jobs.map((j) => ({ name: SLICE_JOB, data: j.data, opts: { ...phaseJobOptions(config), jobId: j.id } })));
    },
    async wake(jobId) {
      const job = await Job.fromId(queue, jobId);
      // Only a job still delayed: one already running, or done, needs nothing.
      if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
    },
  };
}

/**
 * Upserts the repeatable maintenance jobs (MAINTENANCE_SCHEDULES). Idempotent by scheduler id, so every
 * worker process may do it at start; a changed interval replaces the old one.
 */
async function scheduleMaintenance(config: Config, connection: ReturnType<typeof createRedis>, log: Logger): Promise<void> {
  const queue = new Queue(QUEUES.maintenance, { connection, prefix: config.QUEUE_PREFIX });
  try {
    for (const s of MAINTENANCE_SCHEDULES) {
      await queue.upsertJobScheduler(s.id, { every: s.everyMs(config) }, { name: s.name, data: {} });
    }
    // Once at start too: a worker started after Redis came back empty re-queues the lost batches now, not
    // an interval later. A fixed id dedupes starts of several workers while one is waiting.
    await queue.add('reconcile', {}, { jobId: `reconcile-at-start-${Math.floor(Date.now() / 60_000)}`, removeOnComplete: true, removeOnFail: true });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'could not schedule maintenance jobs');
  } finally {
    await queue.close();
  }
}
