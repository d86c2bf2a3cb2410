/**
 * A real stack per test file: its own Postgres schema, its own BullMQ queue prefix and object-store
 * directory, the real API (supertest against the Express app) and real workers. Nothing is mocked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig, type Config } from '../../core/config';
import { createLogger } from '../../core/logger';
import { createWorkers, type Workers } from '../../worker/createWorkers';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export function testConfig(overrides: Record<string, string> = {}): Config {
  const id = randomBytes(5).toString('hex');
  return loadConfig({
    DATABASE_URL: process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_SCHEMA: `t_${id}`,
    QUEUE_PREFIX: `bsmtest-${id}`,
    STORAGE_DIR: mkdtempSync(join(tmpdir(), 'bsm-objects-')),
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    JOB_BACKOFF_MS: '50',
    JOB_ATTEMPTS: '3',
    PHASE_LOCK_TIMEOUT_MS: '300',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    NODE_ENV: 'test',
    // The sources run as TypeScript here: a dump-check thread loads tsx first (api/uploads/checkThread.ts).
    VALIDATION_THREAD_PRELOAD: 'tsx/cjs',
    ...overrides,
  });
}

export interface Stack {
  config: Config;
  api: RunningApi;
  app: Express;
  http: ReturnType<typeof request>;
  workers: Workers | null;
  startWorkers(): Workers;
  stopWorkers(): Promise<void>;
  mintToken(userId: string, role?: 'uploader' | 'operator'): Promise<string>;
  close(): Promise<void>;
}

export async function startStack(opts: { workers?: boolean; config?: Record<string, string>; logTo?: NodeJS.WritableStream } = {}): Promise<Stack> {
  const config = testConfig(opts.config);
  const log = createLogger(config.LOG_LEVEL, {}, opts.logTo as never);
  const api = await startApi(config, { migrate: true, log });
  const app = api.app;
  const stack: Stack = {
    config, api, app,
    http: request(app),
    workers: null,
    startWorkers() {
      stack.workers ??= createWorkers({ config, ds: api.deps.ds, store: api.deps.store, log });
      return stack.workers;
    },
    async stopWorkers() {
      await stack.workers?.close();
      stack.workers = null;
    },
    async mintToken(userId, role = 'uploader') {
      const res = await request(app).post('/v1/admin/tokens').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ userId, role });
      if (res.status !== 201) throw new Error(`mint failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async close() {
      await stack.stopWorkers();
      await api.deps.queues.migration.obliterate({ force: true }).catch(() => undefined);
      await api.deps.queues.maintenance.obliterate({ force: true }).catch(() => undefined);
      await api.deps.ds.query(`DROP SCHEMA IF EXISTS "${config.DATABASE_SCHEMA}" CASCADE`).catch(() => undefined);
      await api.close();
      rmSync(config.STORAGE_DIR, { recursive: true, force: true });
    },
  };
  if (opts.workers !== false) stack.startWorkers();
  return stack;
}

/** Waits until the batch reaches one of `statuses` (polling Postgres, where the pipeline records state). */
export async function waitForBatch(stack: Stack, batchId: string, statuses: string[] = ['completed', 'needs_attention', 'failed'], timeoutMs = 20000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await stack.api.deps.ds.query(`SELECT status FROM migration_batches WHERE id = $1`, [batchId]);
    if (row && statuses.includes(row.status)) return row.status;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${row?.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for the batch to finish and expects `status`; a mismatch shows the batch's error and phases. */
export async function expectBatchEnds(stack: Stack, batchId: string, status = 'completed', timeoutMs = 60_000): Promise<void> {
  await waitForBatch(stack, batchId, ['completed', 'needs_attention', 'failed', 'rolled_back'], timeoutMs);
  const [b] = await stack.api.deps.ds.query(`SELECT status, error FROM migration_batches WHERE id = $1`, [batchId]);
  const phases = await stack.api.deps.ds.query(`SELECT name, status, attempts, error FROM migration_phases WHERE batch_id = $1 AND (attempts > 1 OR error IS NOT NULL)`, [batchId]);
  expect({ ...b, phases }).toMatchObject({ status });
}
