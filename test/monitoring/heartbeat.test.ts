/**
 * The worker heartbeat behind BsmNoWorkerAlive: it beats while the workers run and Redis answers, and stops
 * when they close (a drain) or Redis does not answer — even though the process itself lives on.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger } from '../../core/logger';
import { workerLastAlive } from '../../core/metrics';
import { startHeartbeat } from '../../worker/heartbeat';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = createLogger('silent');
const lastBeat = async () => (await workerLastAlive.get()).values[0]?.value ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A beat within `ms` (polled: on a loaded machine the first PING can take a while). */
async function beatsWithin(ms: number): Promise<boolean> {
  const before = await lastBeat();
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(20)) if ((await lastBeat()) > before) return true;
  return false;
}

async function beatsAfter(ms: number): Promise<boolean> {
  const before = await lastBeat();
  await sleep(ms);
  return (await lastBeat()) > before;
}

test('beats while the worker runs, stops once it is closing', async () => {
  const connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(`hb-${randomBytes(4).toString('hex')}`, async () => undefined, { connection, prefix: 'bsmtest-hb' });
  const hb = startHeartbeat({ workers: [worker], redis: connection, log, everyMs: 20 });
  try {
    expect(await beatsWithin(5000)).toBe(true);
    expect(Date.now() / 1000 - (await lastBeat())).toBeLessThan(1);
    await worker.close();
    await sleep(50);
    expect(await beatsAfter(200)).toBe(false);
  } finally {
    hb.stop();
    await worker.close();
    await connection.quit();
  }
});

test('does not beat while Redis does not answer', async () => {
  const connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(`hb-${randomBytes(4).toString('hex')}`, async () => undefined, { connection, prefix: 'bsmtest-hb' });
  // The heartbeat's own client has lost Redis (closed): its PING fails like one to a Redis that is down.
  const deaf = new IORedis(REDIS_URL, { maxRetriesPerRequest: 0, lazyConnect: true });
  deaf.disconnect();
  const hb = startHeartbeat({ workers: [worker], redis: deaf, log, everyMs: 20 });
  try {
    await sleep(100); // let the worker start
    expect(await beatsAfter(200)).toBe(false);
  } finally {
    hb.stop();
    await worker.close();
    await connection.quit();
  }
});
