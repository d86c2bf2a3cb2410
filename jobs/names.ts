/**
 * Queue and job names, and the one map from job name to payload (docs/style.md §2.9). Payloads carry ids only:
 * Redis keeps job data in clear text, so dump content and secrets never go there.
 */
export const QUEUES = { migration: 'migration', maintenance: 'maintenance' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * Phases in dependency order: websites → content types → content items; website storage and AI data need
 * websites; user preferences; deployment configs → deployment history; then whatever is left is preserved
 * raw; a delta's prune removes rows its new state no longer has (docs/cutover.md), and verification checks
 * what landed. Rollback undoes them in reverse.
 */
export const PHASES = [
  'ingest',
  'websites',
  'contentTypes',
  'contentItems',
  'websiteStorage',
  'aiData',
  'userPreferences',
  'deploymentConfigs',
  'deploymentHistory',
  'preserve',
  'prune',
  'verify',
] as const;
export type PhaseName = (typeof PHASES)[number];

export interface JobPayloads {
  phase: { batchId: string; phase: PhaseName };
  rollback: { batchId: string; force: boolean; actor: string; auditId: string };
  cleanup: Record<string, never>;
  reconcile: Record<string, never>;
  discardUpload: { uploadKey: string };
}

/**
 * BullMQ custom ids may not contain ':'; one job per batch, phase and run makes re-adding a flow a no-op.
 * A batch is re-applied (after a rollback) as a new run, whose jobs get a `.r<run>` suffix.
 */
export function phaseJobId(batchId: string, phase: PhaseName, run = 1): string {
  return run > 1 ? `${batchId}.${phase}.r${run}` : `${batchId}.${phase}`;
}
