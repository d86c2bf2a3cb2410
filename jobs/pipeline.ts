/**
 * A batch as a BullMQ flow: a chain of phase jobs in PHASES order (each phase is the child of the next,
 * so a parent runs only after its child completed; verify is the root). Job data carries ids only. Job
 * ids are `${batchId}.${phase}`, so adding the same flow twice is a no-op.
 */
import { FlowProducer, type FlowJob, type JobsOptions } from 'bullmq';
import type { Config } from '../core/config';
import { PHASES, QUEUES, phaseJobId, type JobPayloads } from './names';

export function phaseJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10000 },
    removeOnFail: false,
  };
}

export function batchFlow(batchId: string, config: Config, run = 1): FlowJob {
  let node: FlowJob | undefined;
  for (const phase of PHASES) {
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

export async function enqueueBatch(flows: FlowProducer, batchId: string, config: Config, run = 1): Promise<void> {
  await flows.add(batchFlow(batchId, config, run));
}
