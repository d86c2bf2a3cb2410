/**
 * Redis connections for BullMQ. Workers need `maxRetriesPerRequest: null` (BullMQ production guide);
 * producers fail fast instead of queueing commands while Redis is away.
 */
import IORedis, { type Redis } from 'ioredis';
import type { Logger } from './logger';

export function createRedis(url: string, role: 'worker' | 'producer', log?: Logger): Redis {
  const conn = new IORedis(url, role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 3, enableOfflineQueue: true });
  conn.on('error', (err) => log?.warn({ err: err.message, role }, 'redis connection error'));
  return conn;
}
