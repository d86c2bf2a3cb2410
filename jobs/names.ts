/**
 * Queue and job names, and the one map from job name to payload (docs/style.md §2.9). Payloads carry ids only:
 * Redis keeps job data in clear text, so dump content and secrets never go there.
 */
export const QUEUES = { migration: 'migration', maintenance: 'maintenance' } as const;
/** The name of slice jobs in the migration queue (every other job there is named after its phase). */
export const SLICE_JOB = 'slice';
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * A batch's phases: the pipeline's own `ingest` first, then its layout's phases in their dependency order
 * (Layout.phases: Catalyst's websites … deploymentHistory, the generic layout's `entries`), then whatever is
 * left is preserved raw; a delta's prune removes rows its new state no longer has (docs/cutover.md), and
 * verification checks what landed. Rollback undoes them in reverse. The list is fixed per batch when it is
 * created (migration_phases rows, by position); `verify` is always last, the root of the batch's flow.
 */
export const FIRST_PHASES = ['ingest'] as const;
export const LAST_PHASES = ['preserve', 'prune', 'verify'] as const;
export const PIPELINE_PHASES: readonly string[] = [...FIRST_PHASES, ...LAST_PHASES];
export const ROOT_PHASE = 'verify';
/** A phase name: one of PIPELINE_PHASES or a layout's phase. */
export type PhaseName = string;

/** The whole phase list of a batch whose layout has `layoutPhases`. */
export function phaseList(layoutPhases: readonly { name: string }[]): PhaseName[] {
  return [...FIRST_PHASES, ...layoutPhases.map((p) => p.name), ...LAST_PHASES];
}

/**
 * What each phase of a batch waits for: `ingest` nothing; a layout phase `ingest` and the layout phases it
 * names in `after` (by default the one before it); `preserve` every layout phase; `prune` and `verify` the
 * one before. A batch whose recorded phases are not its layout's list (created by an older version) keeps
 * the plain chain, each phase after the one before.
 */
export function phaseDependencies(layoutPhases: readonly { name: string; after?: readonly string[] }[], phases: readonly PhaseName[]): Map<PhaseName, PhaseName[]> {
  const deps = new Map<PhaseName, PhaseName[]>();
  const expected = phaseList(layoutPhases);
  if (expected.length !== phases.length || expected.some((p, i) => p !== phases[i])) {
    phases.forEach((p, i) => deps.set(p, i === 0 ? [] : [phases[i - 1]]));
    return deps;
  }
  for (const p of FIRST_PHASES) deps.set(p, []);
  layoutPhases.forEach((p, i) => deps.set(p.name, [...FIRST_PHASES, ...(p.after ?? (i > 0 ? [layoutPhases[i - 1].name] : []))]));
  let before: PhaseName[] = layoutPhases.length ? layoutPhases.map((p) => p.name) : [...FIRST_PHASES];
  for (const p of LAST_PHASES) {
    deps.set(p, before);
    before = [p];
  }
  return deps;
}

export interface JobPayloads {
  /** `waiting`: the job was delayed until its entry's slices were done (jobs/phases/slices.ts), not a new attempt. */
  phase: { batchId: string; phase: PhaseName; waiting?: boolean };
  /** One slice of a large entry (jobs/phases/slices.ts); `parentJobId`: the phase job that waits for it. */
  slice: { batchId: string; phase: PhaseName; seq: number; slice: number; generation: number; parentJobId: string };
  /** `batches`: what the request planned and claimed rolling_back (absent in jobs queued before it was sent). */
  rollback: { batchId: string; force: boolean; actor: string; auditId: string; batches?: string[] };
  cleanup: Record<string, never>;
  reconcile: Record<string, never>;
  discardUpload: { uploadKey: string };
}

/** A slice job's id: its phase job's, the entry, the slice and the generation (a failed slice queued again is a new job). */
export function sliceJobId(parentJobId: string, seq: number, slice: number, generation: number): string {
  return `${parentJobId}.s${seq}-${slice}.g${generation}`;
}

/**
 * BullMQ custom ids may not contain ':'; one job per batch, phase and run makes re-adding a flow a no-op.
 * A batch is re-applied (after a rollback) as a new run, whose jobs get a `.r<run>` suffix.
 */
export function phaseJobId(batchId: string, phase: PhaseName, run = 1): string {
  return run > 1 ? `${batchId}.${phase}.r${run}` : `${batchId}.${phase}`;
}
