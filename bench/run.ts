/**
 * `npm run bench`: a generated Catalyst-like NDJSON dump (BENCH_MB, default 500 MB) uploaded through tus to
 * the API and migrated by a worker, each a separate process on its own schema and queue prefix; prints
 * the end-to-end figures beside baselines measured in the same run, and the worker's peak RSS against the
 * 300 MB target. Everything it creates (schema, Redis keys, files) is removed at the end.
 *
 * Then the read path (bench/readPath.ts): the data API's content-type and content-item lists under load,
 * beside the same SQL straight through pg; its rows join the table.
 *
 *   BENCH_MB=50 npm run bench        # quicker
 *   BENCH_ONLY=read npm run bench    # the read path only (about 2 minutes)
 *   BENCH_ONLY=transfer npm run bench  # upload transfer rates only (bench/transfer.ts)
 *   BENCH_ONLY=items npm run bench   # 200,000 content items in one entry vs COPY and save() (bench/items200k.ts);
 *                                    # BENCH_WORKERS=1,2,4 for the scale-out table
 *   BENCH_ONLY=merge npm run bench   # the write statement's Postgres cost per row, part by part (bench/mergeCost.ts)
 *
 * The worker is started with the node flags of `npm run worker` (package.json: --max-old-space-size, without
 * which V8 on a large machine lets the heap grow to ~4x the live set before collecting). For diagnosis,
 * BENCH_WORKER_NODE_OPTIONS adds flags to the worker only.
 * bench/ reads its own knobs (BENCH_*) here; the app's settings still come from core/config.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { z } from 'zod';
import { loadConfig, type Config } from '../core/config';
import { insertRate, ndjsonReadRate, sha256Rate, timeIt, type Rate } from './baselines';
import { generateCatalystDump } from './generate';
import { describeProcess, dropRedisKeys, mintToken, npmScriptFlags, procMB, runOnce, startService, waitForLine, type Service } from './processes';
import { measureItemsScaleOut, printItems } from './items200k';
import { measureMergeCost, printMergeCost } from './mergeCost';
import { measureReadPath, type ReadPathResult, type ReadPathSettings } from './readPath';
import { printReadPath, printReport, type Report } from './report';
import { measureTransfer, printTransfer } from './transfer';
import { tusUpload } from './tusUpload';

const Settings = z.object({
  BENCH_MB: z.coerce.number().positive().default(500),
  BENCH_CHUNK_MB: z.coerce.number().positive().default(16),
  BENCH_TARGET_RSS_MB: z.coerce.number().positive().default(300),
  /** Extra node flags for the worker only, for diagnosis (e.g. --max-old-space-size=160 shows what must fit). */
  BENCH_WORKER_NODE_OPTIONS: z.string().default(''),
  /** `read`: only the read path (quick); `pipeline`: only upload + migration. Default: both. */
  BENCH_ONLY: z.enum(['read', 'pipeline', 'transfer', 'items', 'merge']).optional(),
  /** Upload transfer rates (bench/transfer.ts): dump size, and tus chunk size (issue 12: 200 MB in 8 MiB chunks). */
  BENCH_TRANSFER_MB: z.coerce.number().positive().default(200),
  BENCH_TUS_CHUNK_MIB: z.coerce.number().positive().default(8),
  /** Rounds of each transfer figure; the median is reported (the machine's loopback rate varies run to run). */
  BENCH_TRANSFER_REPEAT: z.coerce.number().int().positive().default(3),
  BENCH_READ_SECONDS: z.coerce.number().positive().default(10),
  BENCH_READ_ROUNDS: z.coerce.number().int().positive().default(5),
  BENCH_READ_WARMUP_SECONDS: z.coerce.number().positive().default(2),
  BENCH_READ_CONNECTIONS: z.coerce.number().int().positive().default(20),
  BENCH_READ_SERIAL_SECONDS: z.coerce.number().min(0).default(3),
  BENCH_READ_ITEMS: z.coerce.number().int().positive().default(100_000),
  BENCH_READ_TYPES: z.coerce.number().int().positive().default(20),
  BENCH_READ_OTHER_WEBSITES: z.coerce.number().int().min(0).default(20),
  /** Extra node flags for the read path's API only, for diagnosis (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). */
  BENCH_API_NODE_FLAGS: z.string().default(''),
});

const MB = 1e6;
const TERMINAL = ['completed', 'needs_attention', 'failed'];

async function main(): Promise<void> {
  const settings = Settings.parse(process.env);
  const app = loadConfig();
  const apiNodeFlags = settings.BENCH_API_NODE_FLAGS.split(/\s+/).filter(Boolean);
  const read: ReadPathSettings = {
    seconds: settings.BENCH_READ_SECONDS, rounds: settings.BENCH_READ_ROUNDS, warmupSeconds: settings.BENCH_READ_WARMUP_SECONDS,
    connections: settings.BENCH_READ_CONNECTIONS, serialSeconds: settings.BENCH_READ_SERIAL_SECONDS,
    items: settings.BENCH_READ_ITEMS, types: settings.BENCH_READ_TYPES, otherWebsites: settings.BENCH_READ_OTHER_WEBSITES,
    apiNodeFlags,
  };
  if (settings.BENCH_ONLY === 'items') {
    // The Fast issue's 200k-item dump (bench/items200k.ts): rows/s beside COPY and naive save(), rollback.
    if (!printItems(await measureItemsScaleOut(app, log))) process.exitCode = 1;
    return;
  }
  if (settings.BENCH_ONLY === 'merge') return printMergeCost(await measureMergeCost(app, log));
  if (settings.BENCH_ONLY === 'read') {
    const result = await measureReadPath(app, read, log);
    printReadPath(result);
    if (readPathFailed(result)) process.exitCode = 1;
    return;
  }
  const transfer = { mb: settings.BENCH_TRANSFER_MB, chunkMiB: settings.BENCH_TUS_CHUNK_MIB, repeat: settings.BENCH_TRANSFER_REPEAT, apiNodeFlags };
  if (settings.BENCH_ONLY === 'transfer') return printTransfer(await measureTransfer(app, transfer, log));
  const report = await pipeline(settings, app);
  // After the pipeline's processes are gone, so that the two do not compete for the CPU.
  if (settings.BENCH_ONLY !== 'pipeline') report.readPath = await measureReadPath(app, read, log);
  printReport(report);
  if (settings.BENCH_ONLY !== 'pipeline') printTransfer(await measureTransfer(app, transfer, log));
  if (report.status !== 'completed' || (report.readPath && readPathFailed(report.readPath))) process.exitCode = 1;
}

const readPathFailed = (r: ReadPathResult) => r.scenarios.some((s) => s.api.failures > 0 || s.pg.failures > 0);

/** Upload + migration of a generated dump: the pipeline's figures (printed by the caller). */
async function pipeline(settings: z.infer<typeof Settings>, app: Config): Promise<Report> {
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
    RATE_LIMIT_PER_TOKEN: '100000000', RATE_LIMIT_PER_IP: '100000000', // counted, never reached (readPath.ts)
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

    // The API's /healthz, probed every ~100 ms from upload start to batch end: the Fast issue's "API stays
    // responsive" figure (npm start runs the workers in a child process, as this bench runs them apart).
    const healthz: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.arrayBuffer()).catch(() => undefined);
        healthz.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    log(`uploading through tus in ${settings.BENCH_CHUNK_MB} MiB chunks`);
    const started = Date.now();
    const upload = await timeIt(() => tusUpload(base, token, file, dump, settings.BENCH_CHUNK_MB));
    batchId = upload.value;
    log(`upload done in ${upload.seconds.toFixed(1)} s: batch ${batchId}; migrating`);
    const status = await waitForBatch(db, schema, batchId, worker);
    const totalSeconds = (Date.now() - started) / 1000;
    probing = false;
    await prober;
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
    return {
      dump, status, totalSeconds, uploadSeconds: upload.seconds, verifyMs, migrationSeconds: batch.seconds, phases,
      workerPeak, apiPeak, targetMb: settings.BENCH_TARGET_RSS_MB, peakByPhase, workerProc, baselines, healthz,
    };
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

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
