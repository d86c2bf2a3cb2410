/**
 * The worker side: one BullMQ Worker per queue, with the production settings (own connection with
 * maxRetriesPerRequest: null, error listeners) and a close() that lets running jobs finish.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { DataSource } from 'typeorm';
import type { Config } from '../core/config';
import { SecretBox } from '../core/crypto';
import type { Logger } from '../core/logger';
import { cleanupInterval, recordCleanupSuccess } from '../core/metrics';
import type { ObjectStore } from '../core/objectStore';
import { createRedis } from '../core/redis';
import { QUEUES, type JobPayloads } from '../jobs/names';
import type { PhaseDeps } from '../jobs/phases/context';
import { MAINTENANCE_HANDLERS, MAINTENANCE_SCHEDULES } from '../jobs/maintenance';
import { isFinalFailure, markPhaseFailed, runPhase } from '../jobs/runPhase';
import { catalystLayout } from '../jobs/transforms/catalyst';
import { startHeartbeat } from './heartbeat';

export interface Workers {
  migration: Worker;
  maintenance: Worker;
  close(): Promise<void>;
}

export function createWorkers(opts: { config: Config; ds: DataSource; store: ObjectStore; log: Logger }): Workers {
  const { config, log } = opts;
  const deps: PhaseDeps = {
    ...opts,
    secrets: new SecretBox(config.encryptionKeys, config.ENCRYPTION_KEY_ID),
    layout: catalystLayout,
  };
  const connection = createRedis(config.REDIS_URL, 'worker', log, config.REDIS_CLUSTER);
  const migration = new Worker<JobPayloads['phase']>(QUEUES.migration, (job: Job<JobPayloads['phase']>, token?: string) => runPhase(deps, job, token), {
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
    markPhaseFailed(opts.ds, job, err).catch((e: Error) => log.error({ jobId: job.id, err: e.message }, 'could not record a failed phase'));
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
      await connection.quit().catch(() => connection.disconnect());
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
