/** Queue handles shared by the API and the dashboard (producers). Workers build their own connections. */
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config';

export interface Queues {
  migration: Queue;
  maintenance: Queue;
  flows: FlowProducer;
  close(): Promise<void>;
}

export function createQueues(config: Config, connection: Redis): Queues {
  const opts = { connection, prefix: config.QUEUE_PREFIX };
  const migration = new Queue('migration', opts);
  const maintenance = new Queue('maintenance', opts);
  const flows = new FlowProducer(opts);
  return {
    migration, maintenance, flows,
    async close() {
      await Promise.all([migration.close(), maintenance.close(), flows.close()]);
    },
  };
}
