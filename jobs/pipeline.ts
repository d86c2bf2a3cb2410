/**
 * A batch as a BullMQ flow. A BullMQ parent runs only after all its children completed, and a job has one
 * parent, so the flow is a tree over the batch's phases (migration_phases, from its layout at creation):
 * `verify` is the root, `prune` its child, `preserve` prune's, and each phase is the child of the first
 * phase (in list order) that waits for it (jobs/names.ts phaseDependencies) — Catalyst's contentItems ←
 * contentTypes ← websites ← ingest, deploymentHistory ← deploymentConfigs, and websiteStorage, aiData,
 * userPreferences beside them under preserve. A phase whose other dependencies the tree does not order
 * (websiteStorage needs websites too) waits for them when it starts (jobs/runPhase.ts), and is woken
 * when they complete; so phases that need nothing of each other run side by side.
 * Job data carries ids only. Job ids are `${batchId}.${phase}`, so adding the same flow twice is a no-op.
 */
import { FlowProducer, type FlowJob, type JobsOptions } from 'bullmq';
import type { DataSource, EntityManager } from 'typeorm';
import type { Config } from '../core/config';
import { batchPhases } from './batches';
import { batchDependencies } from './layouts';
import { QUEUES, phaseJobId, type JobPayloads, type PhaseName } from './names';

export function phaseJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10000 },
    removeOnFail: false,
  };
}

export function batchFlow(batchId: string, phases: readonly PhaseName[], deps: ReadonlyMap<PhaseName, readonly PhaseName[]>, config: Config, run = 1): FlowJob {
  const root = phases[phases.length - 1];
  const children = new Map<PhaseName, PhaseName[]>(phases.map((p) => [p, []]));
  for (const p of phases) {
    if (p === root) continue;
    const parent = phases.find((q) => deps.get(q)?.includes(p)) ?? root;
    children.get(parent)!.push(p);
  }
  const node = (phase: PhaseName): FlowJob => {
    const data: JobPayloads['phase'] = { batchId, phase };
    const kids = children.get(phase)!;
    return {
      name: phase,
      queueName: QUEUES.migration,
      data,
      opts: { ...phaseJobOptions(config), jobId: phaseJobId(batchId, phase, run) },
      children: kids.length ? kids.map(node) : undefined,
    };
  };
  return node(root);
}

/** Adds the batch's flow, over the phases recorded for it (`db`: the caller's transaction, if any). */
export async function enqueueBatch(flows: FlowProducer, db: DataSource | EntityManager, batchId: string, config: Config, run = 1): Promise<void> {
  const phases = await batchPhases(db, batchId);
  const [{ layout }] = await db.query(`SELECT layout FROM migration_batches WHERE id = $1`, [batchId]);
  await flows.add(batchFlow(batchId, phases, batchDependencies(layout, phases), config, run));
}
