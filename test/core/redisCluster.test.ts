/**
 * A real three-master Redis Cluster: with REDIS_CLUSTER=true and a hash tag in QUEUE_PREFIX, a posted
 * dump and a resumable (tus) upload migrate to completed, every key of the deployment sits in the tag's
 * slot, and listing keys (tus's KvStore) visits every master. Without a hash tag the config is refused.
 */
import { randomBytes } from 'node:crypto';
import IORedis, { type Redis } from 'ioredis';
import { catalystDump } from '../fixtures/catalystDump';
import { bigDump, MiB, tusUpload } from '../uploads/harness';
import { missingBinaries, startPrivateRedisCluster, type PrivateRedisCluster } from '../helpers/privateServices';
import { startStack, testConfig, waitForBatch, type Stack } from '../helpers/stack';
import { createRedis } from '../../core/redis';
import { RedisKvStore } from '../../api/uploads/RedisKvStore';

const skip = missingBinaries({ redis: true });
const maybe = skip ? test.skip : test;
let cluster: PrivateRedisCluster;
let stack: Stack;
const prefix = `{bsmcl-${randomBytes(3).toString('hex')}}`;

beforeAll(async () => {
  if (skip) return;
  cluster = await startPrivateRedisCluster();
  stack = await startStack({ config: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', QUEUE_PREFIX: prefix } });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await cluster?.stop();
});

maybe('a posted dump and a tus upload migrate through BullMQ on the cluster; every key is in the hash tag\'s slot', async () => {
  const token = await stack.mintToken('user-cluster');
  const posted = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(posted.status).toBe(202);
  expect(await waitForBatch(stack, posted.body.batchId, undefined, 60_000)).toBe('completed');

  const dump = bigDump(2.5 * MiB, 'cluster');
  const up = await tusUpload(stack.api.url, token, dump.bytes, { chunkSize: MiB });
  expect(up.batchId).toBeTruthy();
  expect(await waitForBatch(stack, up.batchId!, undefined, 60_000)).toBe('completed');

  // Each master's keys of this deployment: all on the one master that owns the tag's slot.
  const redis = stack.api.deps.redis;
  expect(redis.isCluster).toBe(true);
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', prefix));
  const perNode: number[] = [];
  for (const port of cluster.ports) {
    const node = new IORedis(port, '127.0.0.1');
    try {
      const keys = (await node.keys(`${prefix}*`)) as string[];
      perNode.push(keys.length);
      for (const k of keys.slice(0, 50)) expect(Number(await node.call('CLUSTER', 'KEYSLOT', k))).toBe(slot);
    } finally {
      node.disconnect();
    }
  }
  expect(perNode.filter((n) => n > 0)).toHaveLength(1);
}, 120_000);

maybe('listing keys visits every master', async () => {
  const conn: Redis = createRedis(cluster.url, 'producer', undefined, true);
  try {
    // No hash tag here on purpose: the keys spread over the masters, and list() must find them all.
    const kv = new RedisKvStore<{ n: number }>(conn, `kvlist-${randomBytes(3).toString('hex')}:`, 60_000);
    const names = Array.from({ length: 60 }, (_, i) => `upload-${i}`);
    for (const [i, n] of names.entries()) await kv.set(n, { n: i });
    const slots = new Set(await Promise.all(names.map(async (n) => Number(await conn.call('CLUSTER', 'KEYSLOT', kv.prefix + n)))));
    expect(slots.size).toBeGreaterThan(10);
    expect((await kv.list()).sort()).toEqual([...names].sort());
  } finally {
    conn.disconnect();
  }
});

test('REDIS_CLUSTER=true without a hash tag in QUEUE_PREFIX is refused, saying why', () => {
  expect(() => testConfig({ REDIS_CLUSTER: 'true', QUEUE_PREFIX: 'bsm' })).toThrow(/QUEUE_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag, e\.g\. "\{bsm\}"/);
  expect(testConfig({ REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{bsm}' }).REDIS_CLUSTER).toBe(true);
});
