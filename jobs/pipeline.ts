/**
 * A batch as a BullMQ flow: a chain of phase jobs in the batch's phase order (migration_phases, from its
 * layout at creation; each phase is the child of the next,
 * so a parent runs only after its child completed; verify is the root). Job data carries ids only. Job
 * ids are `${batchId}.${phase}`, so adding the same flow twice is a no-op.
 */
import { FlowProducer, type FlowJob, type JobsOptions } from 'bullmq';
import type { DataSource, EntityManager } from 'typeorm';
import type { Config } from '../core/config';
import { batchPhases } from './batches';
import { QUEUES, phaseJobId, type JobPayloads, type PhaseName } from './names';

export function phaseJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10000 },
    removeOnFail: false,
  };
}

export function batchFlow(batchId: string, phases: readonly PhaseName[], config: Config, run = 1): FlowJob {
  let node: FlowJob | undefined;
  for (const phase of phases) {
    const data: JobPayloads['phase'] = { batchId, phase };
    node = {
      name: phase,
      queueName: QUEUES.migration,
      data,
      opts: { ...phaseJobOptions(config), jobId: phaseJobId(batchId, phase, run) },
      children: node ? [node] : undefined,
    };
  }
  return node!;
}

/** Adds the batch's flow, over the phases recorded for it (`db`: the caller's transaction, if any). */
export async function enqueueBatch(flows: FlowProducer, db: DataSource | EntityManager, batchId: string, config: Config, run = 1): Promise<void> {
  await flows.add(batchFlow(batchId, await batchPhases(db, batchId), config, run));
}
