/**
 * The worker heartbeat behind the "no worker alive" alert (docs/operations.md#bsmnoworkeralive): every
 * few seconds, if this process's workers are running (not closing or closed) and Redis answers a PING,
 * bsm_worker_last_alive_timestamp_seconds becomes now. A process that still serves /metrics but lost
 * Redis, or whose workers were closed for a drain, stops beating even though its scrape still succeeds.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger';
import { workerLastAlive } from '../core/metrics';

/** Six missed beats make the minute the alert waits for. */
export const HEARTBEAT_MS = 10_000;

export function startHeartbeat(opts: { workers: Worker[]; redis: Redis; log: Logger; everyMs?: number }): { stop(): void } {
  let stopped = false;
  const beat = async () => {
    if (stopped || !opts.workers.every((w) => w.isRunning() && !w.closing)) return;
    try {
      if ((await opts.redis.ping()) === 'PONG' && !stopped) workerLastAlive.set(Date.now() / 1000);
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'worker heartbeat: Redis did not answer');
    }
  };
  // The workers start on the next ticks (BullMQ's autorun); the first beat waits for them.
  const first = setTimeout(() => void beat(), 50);
  const timer = setInterval(() => void beat(), opts.everyMs ?? HEARTBEAT_MS);
  first.unref();
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
