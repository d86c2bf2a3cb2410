/**
 * `npm run bench`: a generated Catalyst-like NDJSON dump (BENCH_MB, default 500 MB) uploaded through tus to
 * the API and migrated by a worker, each a separate process on its own schema and queue prefix; prints
 * the end-to-end figures beside baselines measured in the same run, and the worker's peak RSS against the
 * 300 MB target. Everything it creates (schema, Redis keys, files) is removed at the end.
 *
 *   BENCH_MB=50 npm run bench        # quicker
 *
 * The worker is started with the node flags of `npm run worker` (package.json: --max-old-space-size, without
 * which V8 on a large machine lets the heap grow to ~4x the live set before collecting). For diagnosis,
 * BENCH_WORKER_NODE_OPTIONS adds flags to the worker only.
 * bench/ reads its own knobs (BENCH_*) here; the app's settings still come from core/config.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { Client } from 'pg';
import * as tus from 'tus-js-client';
import { z } from 'zod';
import { loadConfig } from '../core/config';
import { insertRate, ndjsonReadRate, sha256Rate, timeIt, type Rate } from './baselines';
import { generateCatalystDump } from './generate';
import { describeProcess, npmScriptFlags, procMB, runOnce, startService, waitForLine, type Service } from './processes';
import { printReport } from './report';

const Settings = z.object({
  BENCH_MB: z.coerce.number().positive().default(500),
  BENCH_CHUNK_MB: z.coerce.number().positive().default(16),
  BENCH_TARGET_RSS_MB: z.coerce.number().positive().default(300),
  /** Extra node flags for the worker only, for diagnosis (e.g. --max-old-space-size=160 shows what must fit). */
  BENCH_WORKER_NODE_OPTIONS: z.string().default(''),
});

const MB = 1e6;
const TERMINAL = ['completed', 'needs_attention', 'failed'];

async function main(): Promise<void> {
  const settings = Settings.parse(process.env);
  const app = loadConfig();
  const id = randomBytes(4).toString('hex');
  const schema = `bench_${id}`;
  const prefix = `bsmbench-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'bsm-bench-'));
  const file = join(dir, 'dump.ndjson');
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'development', DATABASE_URL: app.DATABASE_URL, REDIS_URL: app.REDIS_URL, DATABASE_SCHEMA: schema, QUEUE_PREFIX: prefix,
    STORAGE_DIR: join(dir, 'objects'), PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info',
    UPLOAD_MAX_BYTES: String(Math.ceil(settings.BENCH_MB * MB * 1.1) + 10 * MB),
  };
  const services: Service[] = [];
  const db = new Client({ connectionString: app.DATABASE_URL });
  await db.connect();
  try {
    log(`generating a ~${settings.BENCH_MB} MB dump in ${dir}`);
    const gen = await timeIt(() => generateCatalystDump(file, settings.BENCH_MB * MB));
    const dump = gen.value;
    log(`${(dump.bytes / MB).toFixed(1)} MB, ${dump.entries} entries, ${dump.websites} websites, largest entry ${(dump.largestEntry / 1024).toFixed(1)} KiB (${gen.seconds.toFixed(1)} s)`);

    await runOnce('scripts/migrate.ts', env);
    const api = startService('api', 'api/main.ts', env);
    services.push(api);
    // Exactly what `npm run worker` runs (its node flags included), as its own process.
    const worker = startService('worker', 'worker/main.ts', { ...env, ...(settings.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: settings.BENCH_WORKER_NODE_OPTIONS } : {}) }, npmScriptFlags('worker'));
    services.push(worker);
    // PORT=0: the OS picks a free port, which the API logs.
    const listening = JSON.parse(await waitForLine(api, (l) => l.includes('api listening'))) as { url: string };
    await waitForLine(worker, (l) => l.includes('worker started'));
    const workerProc = describeProcess(worker.proc.pid!, 'worker/main.ts');
    const base = `http://127.0.0.1:${new URL(listening.url).port}`;
    const token = await mintToken(base, adminToken);

    // Sample the worker's RSS with the phase it is in, to tell which phase drives the peak.
    let batchId: string | null = null;
    const peakByPhase = new Map<string, number>();
    let sampling = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(async () => {
        const rss = procMB(worker.proc.pid!, 'VmRSS');
        let phase = 'upload + verify (API)';
        if (batchId) {
          const [row] = (await db.query(`SELECT name FROM "${schema}".migration_phases WHERE batch_id = $1 AND status = 'running' ORDER BY position LIMIT 1`, [batchId])).rows;
          phase = row?.name ?? 'between phases';
        }
        peakByPhase.set(phase, Math.max(peakByPhase.get(phase) ?? 0, rss));
      }).catch(() => undefined);
    }, 250);

    log(`uploading through tus in ${settings.BENCH_CHUNK_MB} MiB chunks`);
    const started = Date.now();
    const upload = await timeIt(() => tusUpload(base, token, file, dump, settings.BENCH_CHUNK_MB));
    batchId = upload.value;
    log(`upload done in ${upload.seconds.toFixed(1)} s: batch ${batchId}; migrating`);
    const status = await waitForBatch(db, schema, batchId, worker);
    const totalSeconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    await sampling;
    const workerPeak = procMB(worker.proc.pid!, 'VmHWM');
    const apiPeak = procMB(api.proc.pid!, 'VmHWM');
    const phases = (await db.query(
      `SELECT name, status, total, done, extract(epoch FROM finished_at - started_at)::float AS seconds FROM "${schema}".migration_phases WHERE batch_id = $1 ORDER BY position`, [batchId],
    )).rows;
    const [batch] = (await db.query(`SELECT extract(epoch FROM finished_at - created_at)::float AS seconds FROM "${schema}".migration_batches WHERE id = $1`, [batchId])).rows;
    const verifyLine = api.lines.find((l) => l.includes('upload finished'));
    const verifyMs = verifyLine ? Number(JSON.parse(verifyLine).verifyMs) : NaN;

    // Baselines after the pipeline, so that they do not compete with it for the CPU.
    log('measuring baselines');
    const baselines: Record<string, Rate> = {
      ndjson: await ndjsonReadRate(file, dump.bytes),
      sha256: await sha256Rate(file, dump.bytes),
      insert: await insertRate(app.DATABASE_URL, schema),
    };
    printReport({
      dump, status, totalSeconds, uploadSeconds: upload.seconds, verifyMs, migrationSeconds: batch.seconds, phases,
      workerPeak, apiPeak, targetMb: settings.BENCH_TARGET_RSS_MB, peakByPhase, workerProc, baselines,
    });
    if (status !== 'completed') process.exitCode = 1;
  } finally {
    for (const s of services.reverse()) await s.stop();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.end();
    await dropRedisKeys(app.REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function mintToken(base: string, adminToken: string): Promise<string> {
  const res = await fetch(`${base}/v1/admin/tokens`, {
    method: 'POST', headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ userId: 'bench-user' }),
  });
  if (res.status !== 201) throw new Error(`minting a token failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

function tusUpload(base: string, token: string, file: string, dump: { bytes: number; sha256: string }, chunkMiB: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(createReadStream(file), {
      endpoint: `${base}/v1/uploads`,
      chunkSize: Math.floor(chunkMiB * 1024 * 1024),
      uploadSize: dump.bytes,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: 'bench.ndjson', contentType: 'application/x-ndjson', sha256: dump.sha256 },
      retryDelays: [0, 1000, 3000],
      onSuccess: ({ lastResponse }) => {
        const id = lastResponse.getHeader('Migration-Batch-Id');
        if (id) resolve(id);
        else reject(new Error('the final PATCH carried no Migration-Batch-Id'));
      },
      onError: reject,
    });
    up.start();
  });
}

async function waitForBatch(db: Client, schema: string, batchId: string, worker: Service): Promise<string> {
  for (;;) {
    if (worker.proc.exitCode !== null || worker.proc.signalCode !== null) {
      throw new Error(`the worker died (${worker.proc.exitCode ?? worker.proc.signalCode}):\n${worker.lines.slice(-20).join('\n')}`);
    }
    const [row] = (await db.query(`SELECT status FROM "${schema}".migration_batches WHERE id = $1`, [batchId])).rows;
    if (row && TERMINAL.includes(row.status)) return row.status;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new IORedis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
