/**
 * Upload state (tus `KvStore`) in Redis, shared by every API process. Unlike @tus/utils' IoRedisKvStore,
 * entries expire (an abandoned upload's record must not outlive it: no job has to sweep Redis) and list()
 * returns keys without the prefix, as get() expects them.
 */
import type { Redis } from 'ioredis';
import type { KvStore } from '@tus/utils';
import { scanAll } from '../../core/redis';

export class RedisKvStore<T> implements KvStore<T> {
  constructor(
    private readonly redis: Redis,
    /** e.g. `${QUEUE_PREFIX}:tus:upload:`; keeps deployments (and test suites) apart. */
    readonly prefix: string,
    /** Every set() (re)starts this time to live. */
    private readonly ttlMs: number,
  ) {}

  async get(key: string): Promise<T | undefined> {
    const raw = await this.redis.get(this.prefix + key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  }

  async set(key: string, value: T): Promise<void> {
    await this.redis.set(this.prefix + key, JSON.stringify(value), 'PX', this.ttlMs);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async list(): Promise<string[]> {
    // SCAN patterns are globs: escape the prefix so that a prefix holding * or [ matches only itself.
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    return (await scanAll(this.redis, pattern)).map((k) => k.slice(this.prefix.length));
  }
}
