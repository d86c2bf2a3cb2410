/**
 * Jobs of the maintenance queue (rollbacks, scheduled clean-ups), by job name. Each handler gets the
 * worker's dependencies and its job; payload types are in jobs/names.ts (JobPayloads).
 */
import type { Job } from 'bullmq';
import type { Config } from '../../core/config';
import type { PhaseDeps } from '../phases/context';
import { cleanupJob, discardUploadJob } from './cleanup';
import { reconcileJob } from './reconcile';
import { rollbackJob } from './rollback';

export type MaintenanceHandler = (deps: PhaseDeps, job: Job) => Promise<unknown>;

export const MAINTENANCE_HANDLERS: Record<string, MaintenanceHandler> = {
  rollback: rollbackJob as MaintenanceHandler,
  cleanup: cleanupJob,
  discardUpload: discardUploadJob as MaintenanceHandler,
  reconcile: reconcileJob,
};

/** Repeatable jobs to schedule when a worker starts (idempotent: BullMQ dedupes schedulers by id). */
export const MAINTENANCE_SCHEDULES: { id: string; name: string; everyMs: (config: Config) => number }[] = [
  // Abandoned uploads and stored dumps past retention (jobs/maintenance/cleanup.ts).
  { id: 'retention-cleanup', name: 'cleanup', everyMs: (config) => config.CLEANUP_INTERVAL_MINUTES * 60_000 },
  // Batches active in Postgres whose jobs Redis lost are queued again (jobs/maintenance/reconcile.ts).
  { id: 'reconcile-batches', name: 'reconcile', everyMs: (config) => config.RECONCILE_INTERVAL_MINUTES * 60_000 },
];
