/**
 * A tus `Locker` whose locks live in Redis, so that several API processes can serve one upload (@tus/server
 * only ships MemoryLocker, which locks within one process).
 *
 * Semantics follow MemoryLocker (node_modules/@tus/server/dist/lockers/MemoryLocker.js):
 * - `lock(signal, requestRelease)` waits until the lock is free, asking the current holder to let go
 *   meanwhile; it gives up with ERRORS.ERR_LOCK_TIMEOUT when `signal` aborts or `acquireTimeoutMs` passes.
 * - The holder's `requestRelease` is called whenever another request, in any process, wants the lock; tus
 *   then cancels the holder's request, which unlocks after its drain timeout.
 *
 * Mechanism: `SET key token NX PX ttl` takes the lock; a timer renews the lease while it is held (a crashed
 * process loses it after `ttlMs`); unlock deletes the key only if the token is still ours. Two pub/sub
 * channels carry "please release <id>" to holders and "<id> was released" to waiters; waiters also poll
 * every `retryMs`, so a missed message (reconnect, crashed holder) only costs latency.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';
import type { Logger } from '../../core/logger';

export interface RedisLockerOptions {
  /** Connection for commands; a duplicate of it is made for the subscriber. */
  redis: Redis;
  /** Namespace of the lock keys and channels (one per deployment, e.g. `${QUEUE_PREFIX}:tus`). */
  prefix: string;
  /** Lease length; renewed every third of it while held. @defaultValue 10000 */
  ttlMs?: number;
  /** How long lock() waits before ERR_LOCK_TIMEOUT, as MemoryLocker's acquireLockTimeout. @defaultValue 30000 */
  acquireTimeoutMs?: number;
  /** Polling interval of a waiter between release notifications. @defaultValue 100 */
  retryMs?: number;
  log?: Logger;
  /** Awaited before a lock is released, e.g. for the data store to finish a write (UploadStore.writesSettled). */
  beforeRelease?: (id: string) => Promise<void>;
}

// Deletes / extends the key only if it still holds our token: another process may own it by now.
const RELEASE_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export class RedisLocker implements Locker {
  readonly redis: Redis;
  readonly ttlMs: number;
  readonly acquireTimeoutMs: number;
  readonly retryMs: number;
  readonly log?: Logger;
  readonly beforeRelease?: (id: string) => Promise<void>;
  private readonly keyPrefix: string;
  private readonly releaseChannel: string;
  private readonly freedChannel: string;
  /** Locks held in this process, by upload id: their holders' release callbacks. */
  private readonly holders = new Map<string, Set<RequestRelease>>();
  /** Waiters in this process, by upload id: woken when the lock is freed anywhere. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscriber: Redis | null = null;
  private subscribed: Promise<void> | null = null;

  constructor(opts: RedisLockerOptions) {
    this.redis = opts.redis;
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.acquireTimeoutMs = opts.acquireTimeoutMs ?? 30_000;
    this.retryMs = opts.retryMs ?? 100;
    this.log = opts.log;
    this.beforeRelease = opts.beforeRelease;
    this.keyPrefix = `${opts.prefix}:lock:`;
    this.releaseChannel = `${opts.prefix}:lock-release`;
    this.freedChannel = `${opts.prefix}:lock-freed`;
    // The subscriber lives as long as the command connection: when the API quits Redis, it goes too.
    this.redis.once('end', () => void this.close());
  }

  newLock(id: string): Lock {
    return new RedisLock(this, id);
  }

  keyOf(id: string): string {
    return this.keyPrefix + id;
  }

  /** Subscribes once per locker; lock() awaits it so no release request can be missed while holding. */
  ensureSubscribed(): Promise<void> {
    this.subscribed ??= (async () => {
      const sub = this.redis.duplicate();
      this.subscriber = sub;
      sub.on('error', (err) => this.log?.warn({ err: err.message }, 'tus lock subscriber error'));
      sub.on('message', (channel: string, id: string) => {
        const targets = channel === this.releaseChannel ? this.holders.get(id) : this.waiters.get(id);
        for (const fn of targets ?? []) void Promise.resolve(fn()).catch(() => undefined);
      });
      await sub.subscribe(this.releaseChannel, this.freedChannel);
    })();
    return this.subscribed;
  }

  addHolder(id: string, fn: RequestRelease): void {
    addTo(this.holders, id, fn);
  }

  removeHolder(id: string, fn: RequestRelease): void {
    removeFrom(this.holders, id, fn);
  }

  /** Resolves on the next "freed" notice for `id`, after `ms`, or when `signal` aborts, whichever is first. */
  waitForFree(id: string, ms: number, signal: AbortSignal): { promise: Promise<void>; cancel(): void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    const timer = setTimeout(() => done(), ms);
    const wake = () => done();
    addTo(this.waiters, id, wake);
    signal.addEventListener('abort', wake, { once: true });
    const cancel = () => {
      clearTimeout(timer);
      removeFrom(this.waiters, id, wake);
      signal.removeEventListener('abort', wake);
      done();
    };
    void promise.then(cancel);
    return { promise, cancel };
  }

  async requestRelease(id: string): Promise<void> {
    await this.redis.publish(this.releaseChannel, id);
  }

  async announceFreed(id: string): Promise<void> {
    await this.redis.publish(this.freedChannel, id);
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = null;
    this.subscribed = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}

class RedisLock implements Lock {
  private token: string | null = null;
  private renewal: NodeJS.Timeout | null = null;
  private release: RequestRelease | null = null;

  constructor(
    private readonly locker: RedisLocker,
    private readonly id: string,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const { locker, id } = this;
    await locker.ensureSubscribed();
    const token = randomUUID();
    const deadline = Date.now() + locker.acquireTimeoutMs;
    for (;;) {
      if (signal.aborted || Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      // Listen before trying, so a "freed" notice sent between our SET and our wait is not lost.
      const wait = locker.waitForFree(id, Math.min(locker.retryMs, Math.max(1, deadline - Date.now())), signal);
      const ok = await locker.redis.set(locker.keyOf(id), token, 'PX', locker.ttlMs, 'NX');
      if (ok === 'OK') {
        wait.cancel();
        this.hold(token, requestRelease);
        return;
      }
      // Someone holds it: ask them (wherever they run) to finish up, as MemoryLocker does on every retry.
      await locker.requestRelease(id);
      await wait.promise;
    }
  }

  private hold(token: string, requestRelease: RequestRelease): void {
    const { locker, id } = this;
    this.token = token;
    this.release = requestRelease;
    locker.addHolder(id, requestRelease);
    this.renewal = setInterval(() => {
      locker.redis
        .eval(RENEW_LUA, 1, locker.keyOf(id), token, String(locker.ttlMs))
        .then((renewed) => {
          if (renewed === 1) return;
          // The lease ran out (a long stall): stop the request now rather than write without the lock.
          locker.log?.warn({ uploadId: id }, 'tus lock lease lost');
          this.stopRenewal();
          return requestRelease();
        })
        .catch((err: Error) => locker.log?.warn({ uploadId: id, err: err.message }, 'tus lock renewal failed'));
    }, Math.max(10, Math.floor(locker.ttlMs / 3)));
    this.renewal.unref();
  }

  private stopRenewal(): void {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
  }

  async unlock(): Promise<void> {
    const { locker, id, token } = this;
    if (!token) throw new Error('Releasing an unlocked lock!');
    // Still renewing meanwhile: the lease must not lapse while the store finishes.
    await locker.beforeRelease?.(id);
    this.stopRenewal();
    if (this.release) locker.removeHolder(id, this.release);
    this.token = null;
    this.release = null;
    const released = await locker.redis.eval(RELEASE_LUA, 1, locker.keyOf(id), token);
    await locker.announceFreed(id);
    // Lost the lease while holding it: whatever this request wrote may have raced another one. Failing
    // the request makes the client ask for the offset (HEAD) again instead of trusting ours.
    if (released !== 1) throw new Error(`tus lock for ${id} expired while held`);
  }
}

function addTo<T>(map: Map<string, Set<T>>, id: string, value: T): void {
  let set = map.get(id);
  if (!set) map.set(id, (set = new Set()));
  set.add(value);
}

function removeFrom<T>(map: Map<string, Set<T>>, id: string, value: T): void {
  const set = map.get(id);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(id);
}
