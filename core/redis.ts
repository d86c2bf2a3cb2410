/**
 * Redis connections for BullMQ. Workers need `maxRetriesPerRequest: null` (BullMQ production guide);
 * producers fail fast instead of queueing commands while Redis is away.
 *
 * Redis Cluster (`REDIS_CLUSTER=true`, REDIS_URL naming any node; the rest are discovered): an ioredis
 * Cluster in the same shape. Everything here uses only single-key commands, single-key Lua scripts and
 * pub/sub, which Cluster routes; BullMQ's scripts touch several keys of one queue, which Cluster allows
 * only in one hash slot, so the config requires a hash tag in QUEUE_PREFIX (`{bsm}`; core/config.ts).
 * Listing keys (SCAN) must visit every master: `scanAll`.
 */
import IORedis, { Cluster, type Redis } from 'ioredis';
import type { Logger } from './logger';

export function createRedis(url: string, role: 'worker' | 'producer', log?: Logger, cluster = false): Redis {
  const options = role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 3, enableOfflineQueue: true };
  let conn: Redis;
  if (cluster) {
    const u = new URL(url);
    const redisOptions = { ...options, username: decodeURIComponent(u.username) || undefined, password: decodeURIComponent(u.password) || undefined, ...(u.protocol === 'rediss:' ? { tls: {} } : {}) };
    // The same commands as a single-node client (ioredis' Commander), so the code base keeps one type.
    conn = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], { redisOptions }) as unknown as Redis;
  } else {
    conn = new IORedis(url, options);
  }
  conn.on('error', (err: Error) => log?.warn({ err: err.message, role }, 'redis connection error'));
  return conn;
}

/** Every key matching a SCAN pattern, on one node or on every master of a cluster. */
export async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const nodes: Redis[] = redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
  const keys = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
      cursor = next;
      for (const k of batch) keys.add(k);
    } while (cursor !== '0');
  }
  return [...keys];
}
