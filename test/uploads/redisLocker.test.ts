/**
 * RedisLocker against real Redis, with two lockers on separate connections standing for two API processes:
 * exclusion, release requests across processes, abort and timeout, a crashed holder's lease, renewal.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ERRORS } from '@tus/utils';
import { RedisLocker } from '../../api/uploads/RedisLocker';
import { createRedis } from '../../core/redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bsmtest-lock-${randomBytes(4).toString('hex')}`;
let redisA: Redis;
let redisB: Redis;
let a: RedisLocker;
let b: RedisLocker;

beforeAll(() => {
  redisA = createRedis(REDIS_URL, 'producer');
  redisB = createRedis(REDIS_URL, 'producer');
  a = new RedisLocker({ redis: redisA, prefix });
  b = new RedisLocker({ redis: redisB, prefix });
});
afterAll(async () => {
  await redisA.quit();
  await redisB.quit();
});

const never = new AbortController().signal;
const noop = () => undefined;

test('one holder at a time; a waiter in another process asks the holder to release', async () => {
  const held = a.newLock('u1');
  let asked!: () => void;
  const releaseRequested = new Promise<void>((r) => (asked = r));
  await held.lock(never, () => asked());

  let acquired = false;
  const waiting = b.newLock('u1');
  const wait = waiting.lock(never, noop).then(() => (acquired = true));
  await releaseRequested; // delivered through Redis pub/sub, from b's process to a's
  expect(acquired).toBe(false);

  await held.unlock();
  await wait;
  expect(acquired).toBe(true);
  await waiting.unlock();
});

test('locks on different uploads do not contend', async () => {
  // Release requests are recorded and asserted below, not thrown: the callback runs inside the locker's
  // pub/sub listener, where a throw never reaches jest.
  const asked: string[] = [];
  const x = a.newLock('x');
  await x.lock(never, () => void asked.push('x'));
  // Bounded: a y contending with x (which never lets go here) would otherwise wait out the 30 s default.
  const y = b.newLock('y');
  const got = await y.lock(AbortSignal.timeout(2000), () => void asked.push('y')).then(() => 'acquired', (err: unknown) => err);
  // Flush the channel: Redis delivers one subscriber's messages in publish order, so once a request
  // published now has arrived, any request sent while y was locking has arrived too.
  let probed!: () => void;
  const delivered = new Promise<void>((r) => (probed = r));
  const probe = a.newLock('probe');
  await probe.lock(AbortSignal.timeout(2000), () => probed());
  await b.requestRelease('probe');
  await delivered;
  expect({ got, asked }).toEqual({ got: 'acquired', asked: [] });
  await Promise.all([x.unlock(), y.unlock(), probe.unlock()]);
});

test('an aborted request stops waiting with ERR_LOCK_TIMEOUT', async () => {
  const held = a.newLock('u2');
  const ac = new AbortController();
  await held.lock(never, () => ac.abort()); // the holder "refuses" to let go; the waiter gives up instead
  await expect(b.newLock('u2').lock(ac.signal, noop)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
  await held.unlock();
});

test('waiting ends with ERR_LOCK_TIMEOUT after acquireTimeoutMs', async () => {
  const impatient = new RedisLocker({ redis: redisB, prefix, acquireTimeoutMs: 300 });
  const held = a.newLock('u3');
  await held.lock(never, noop);
  const started = Date.now();
  await expect(impatient.newLock('u3').lock(never, noop)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  await held.unlock();
});

test("a crashed holder's lease runs out and the lock is taken", async () => {
  // A process that died holding the lock: the key stays only for its lease.
  await redisA.set(`${prefix}:lock:u4`, 'dead-process-token', 'PX', 300);
  const lock = b.newLock('u4');
  await lock.lock(never, noop);
  expect(await redisB.get(`${prefix}:lock:u4`)).not.toBe('dead-process-token');
  await lock.unlock();
});

test('a held lock is renewed past its lease; unlock deletes only our own key', async () => {
  // A 1 s lease (renewed every third of it): short enough to outlive several, long enough that a loaded
  // machine's late timers do not miss a renewal.
  const short = new RedisLocker({ redis: redisA, prefix, ttlMs: 1000 });
  const lock = short.newLock('u5');
  await lock.lock(never, noop);
  await new Promise((r) => setTimeout(r, 3500)); // several leases long: only renewal keeps it
  expect(await redisA.pttl(`${prefix}:lock:u5`)).toBeGreaterThan(0);
  await lock.unlock();
  expect(await redisA.exists(`${prefix}:lock:u5`)).toBe(0);
});

test('beforeRelease is awaited before the lock is let go', async () => {
  let finish!: () => void;
  const pendingWrite = new Promise<void>((r) => (finish = r));
  const slow = new RedisLocker({ redis: redisA, prefix, beforeRelease: () => pendingWrite });
  const lock = slow.newLock('u6');
  await lock.lock(never, noop);
  const unlocking = lock.unlock();
  await new Promise((r) => setImmediate(r));
  expect(await redisA.exists(`${prefix}:lock:u6`)).toBe(1);
  finish();
  await unlocking;
  expect(await redisA.exists(`${prefix}:lock:u6`)).toBe(0);
});
