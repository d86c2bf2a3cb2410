/** Queue handles shared by the API and the dashboard (producers). Workers build their own connections. */
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config';
import type { Logger } from './logger';

export interface Queues {
  migration: Queue;
  maintenance: Queue;
  flows: FlowProducer;
  close(): Promise<void>;
}

export function createQueues(config: Config, connection: Redis, log?: Logger): Queues {
  const opts = { connection, prefix: config.QUEUE_PREFIX };
  const migration = new Queue('migration', opts);
  const maintenance = new Queue('maintenance', opts);
  const flows = new FlowProducer(opts);
  // Without a listener BullMQ prints each connection error raw to stderr while Redis is away; the
  // connection's own listener (core/redis.ts) already logs it, so these only keep it out of stderr.
  const quiet = (err: Error) => log?.debug({ err: err.message }, 'queue connection error');
  migration.on('error', quiet);
  maintenance.on('error', quiet);
  flows.on('error', quiet);
  return {
    migration, maintenance, flows,
    async close() {
      await Promise.all([migration.close(), maintenance.close(), flows.close()]);
    },
  };
}
