/**
 * `BENCH_ONLY=items npm run bench`: the Fast issue's (12) ingestion figures. A Catalyst dump whose
 * `content-storage` entry holds BENCH_ITEMS (200,000) content items in ONE JSON string, plus every other kind
 * (bench/generate.ts `generateItemsDump`), POSTed to the API and migrated to `completed` by a worker process;
 * printed beside baselines from the same run:
 *   1. COPY FROM STDIN of the same item rows (read back from content_items) into a table of the same shape;
 *   2. a naive migration: TypeORM `repository.save()` per item, on a sample (BENCH_NAIVE_SAMPLE, 5,000 items),
 *      extrapolated to rows/s;
 *   3. end to end (POST → completed, journal, checksums, verification included) rows/s and its ratio to COPY
 *      (target ≥ 0.5×), ≥ 10× naive; per-phase times;
 *   4. rollback of the batch (admin API → rolled_back) against the COPY time (target ≤ 1×);
 *   5. the worker's peak RSS.
 * BENCH_WORKER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" adds node flags to the worker (profiles are
 * written when it exits at the end); BENCH_API_NODE_FLAGS the same to the API.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { z } from 'zod';
import type { Config } from '../core/config';
import { createDataSource } from '../core/db';
import { ContentItem } from '../entities';
import { timeIt } from './baselines';
import { benchItem, generateItemsDump } from './generate';
import { describeProcess, dropRedisKeys, mintToken, npmScriptFlags, procCpuSeconds, procMB, runOnce, startService, tcpClientPorts, waitForLine, type Service } from './processes';

export const ItemsSettings = z.object({
  BENCH_ITEMS: z.coerce.number().int().positive().default(200_000),
  BENCH_NAIVE_SAMPLE: z.coerce.number().int().positive().default(5_000),
  /** Extra node flags for the worker only (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). */
  BENCH_WORKER_NODE_FLAGS: z.string().default(''),
  /** Extra node flags for the API only. */
  BENCH_API_NODE_FLAGS: z.string().default(''),
  /** Worker processes, one run per count (e.g. "1,2,4" for the scale-out table); the baselines run with the first. */
  BENCH_WORKERS: z.string().regex(/^\d+(,\d+)*$/).default('1'),
  /** A directory to write each service's last log lines to (api.log, worker1.log, …) when the run ends. */
  BENCH_LOG_DIR: z.string().default(''),
  /** The services' LOG_LEVEL: `debug` logs each slice as it is written (its element count and when). */
  BENCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** The worker processes' nice value: `npm start` runs its worker at WORKER_NICE (10), below the API. */
  BENCH_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /** How often the API is probed (/healthz and the batch's status) while the batch runs. */
  BENCH_PROBE_MS: z.coerce.number().int().positive().default(50),
});

const MB = 1e6;
/** App settings passed through to the bench's processes when set (core/config.ts). */
const TUNING = ['WRITE_CHUNK_ROWS', 'SLICE_MIN_BYTES', 'SLICE_ELEMENTS', 'WORKER_CONCURRENCY'] as const;
const TERMINAL = ['completed', 'needs_attention', 'failed'];

export interface ItemsResult {
  items: number;
  dumpMB: number;
  entries: number;
  status: string;
  postSeconds: number;
  endToEndSeconds: number;
  phases: { name: string; seconds: number | null }[];
  itemRows: number;
  copySeconds: number;
  naive: { sample: number; seconds: number };
  rollbackSeconds: number;
  rollbackStatus: string;
  /** CPU seconds (user + system) POST → completed: the worker processes, and the Postgres backends serving them. */
  cpu: { worker: number; postgres: number; copyPostgres: number };
  /** The largest peak RSS of the worker processes. */
  workerPeakMB: number;
  workerProc: string;
  workers: number;
  slices: number;
  /** Latencies (ms) of the API while the batch ran (after the POST answered): /healthz and GET /v1/batches/:id. */
  probes: { healthz: number[]; status: number[]; failed: number; /** /healthz while the POST was being taken. */ duringPost: number[] };
}

/** One run per BENCH_WORKERS count; the COPY, naive and rollback figures come from the first. */
export async function measureItemsScaleOut(app: Config, log: (m: string) => void): Promise<ItemsResult[]> {
  const counts = ItemsSettings.parse(process.env).BENCH_WORKERS.split(',').map(Number);
  const out: ItemsResult[] = [];
  for (const [i, workers] of counts.entries()) {
    log(`--- ${workers} worker process(es)`);
    out.push(await measureItems(app, log, { workers, baselines: i === 0 }));
  }
  return out;
}

export async function measureItems(app: Config, log: (m: string) => void, opts: { workers: number; baselines: boolean } = { workers: 1, baselines: true }): Promise<ItemsResult> {
  const settings = ItemsSettings.parse(process.env);
  const id = randomBytes(4).toString('hex');
  const schema = `bench_items_${id}`;
  const prefix = `bsmbench-items-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'bsm-bench-items-'));
  const file = join(dir, 'dump.ndjson');
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'development', DATABASE_URL: app.DATABASE_URL, REDIS_URL: app.REDIS_URL, DATABASE_SCHEMA: schema, QUEUE_PREFIX: prefix,
    STORAGE_DIR: join(dir, 'objects'), PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: settings.BENCH_LOG_LEVEL,
    DUMP_BODY_LIMIT: '1gb', RATE_LIMIT_PER_TOKEN: '100000000', RATE_LIMIT_PER_IP: '100000000', WORKER_METRICS_PORT: '0',
    // The 200,000 items are one entry: parsing and mapping it is seconds of synchronous CPU, which on a
    // shared, loaded 2-core machine can outlast BullMQ's 30 s job lock and get the job declared stalled
    // (and run twice) — the Fast issue's sub-jobs would split it; until then, a longer lock here.
    WORKER_LOCK_DURATION_MS: '120000',
    // The write path's tuning knobs, when set for the bench run, reach its API and workers.
    ...Object.fromEntries(TUNING.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!])),
  };
  const services: Service[] = [];
  const db = new Client({ connectionString: app.DATABASE_URL, application_name: 'bench-items' });
  await db.connect();
  try {
    log(`generating a dump of ${settings.BENCH_ITEMS.toLocaleString('en-US')} content items`);
    const dump = await generateItemsDump(file, settings.BENCH_ITEMS);
    log(`${(dump.bytes / MB).toFixed(1)} MB, ${dump.entries} entries, content-storage ${(dump.itemsValueBytes / MB).toFixed(1)} MB`);
    await runOnce('scripts/migrate.ts', env);
    const api = startService('api', 'api/main.ts', env, settings.BENCH_API_NODE_FLAGS.split(/\s+/).filter(Boolean), 2000);
    services.push(api);
    const workerFlags = [...npmScriptFlags('worker'), ...settings.BENCH_WORKER_NODE_FLAGS.split(/\s+/).filter(Boolean)];
    const workers = Array.from({ length: opts.workers }, (_, i) => startService(`worker${i + 1}`, 'worker/main.ts', env, workerFlags, 2000));
    services.push(...workers);
    const worker = workers[0];
    const listening = JSON.parse(await waitForLine(api, (l) => l.includes('api listening'))) as { url: string };
    for (const w of workers) await waitForLine(w, (l) => l.includes('worker started'));
    // As `npm start` runs its worker (scripts/workerProcess.ts): below the API when both want the CPU.
    for (const w of workers) setPriority(w.proc.pid!, settings.BENCH_WORKER_NICE);
    const workerProc = `${opts.workers} × ${describeProcess(worker.proc.pid!, 'worker/main.ts')}, nice ${settings.BENCH_WORKER_NICE}`;
    const base = `http://127.0.0.1:${new URL(listening.url).port}`;
    const token = await mintToken(base, adminToken, 'bench-items');

    const body = readFileSync(file);
    log('POST /v1/dumps, then waiting for completed');
    // CPU time, which the other load on a shared machine disturbs far less than wall time: the worker's,
    // and that of the Postgres backends on the worker's connections (found by their client ports), sampled
    // so that a backend whose connection closes meanwhile still counts.
    const workersCpu = () => workers.reduce((sum, w) => sum + procCpuSeconds(w.proc.pid!), 0);
    const workerCpu0 = workersCpu();
    const backendCpu = new Map<number, { first: number; last: number }>();
    const pgPort = new URL(app.DATABASE_URL).port ? Number(new URL(app.DATABASE_URL).port) : 5432;
    const sampleBackends = async () => {
      const ports = workers.flatMap((w) => tcpClientPorts(w.proc.pid!, pgPort));
      if (ports.length === 0) return;
      const { rows } = await db.query(`SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])`, [ports]);
      for (const { pid } of rows as { pid: number }[]) {
        const c = procCpuSeconds(pid);
        const seen = backendCpu.get(pid);
        if (seen) seen.last = Math.max(seen.last, c);
        else backendCpu.set(pid, { first: c, last: c });
      }
    };
    await sampleBackends();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sampleBackends().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    // /healthz while the API takes the POST itself (reads and validates the 116 MB body), probed from a
    // process of its own: this one's event loop is busy handing the body to the socket, and probes from
    // here measured that too (~700 ms) while the API answered each /healthz in under 20 ms.
    const postProber = startProber(base, [{ path: '/healthz' }], settings.BENCH_PROBE_MS);
    await new Promise((r) => setTimeout(r, 2 * settings.BENCH_PROBE_MS)); // its first probe is out before the POST
    const t0 = performance.now();
    const postStart = Date.now();
    const res = await fetch(`${base}/v1/dumps`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson' }, body });
    const postSeconds = (performance.now() - t0) / 1000;
    const duringPost = (await postProber.stop()).filter((p) => p.at >= postStart && p.ok).map((p) => p.ms);
    if (res.status !== 202) throw new Error(`POST /v1/dumps answered ${res.status}: ${await res.text()}`);
    const { batchId } = (await res.json()) as { batchId: string };
    // The API while the batch runs (issue 12: p99 under 100 ms): /healthz and the batch's status poll, in turn,
    // from a process of its own as well, so that this one's work (sampling /proc and Postgres every 200 ms,
    // reading the services' logs) is not counted as the API's latency.
    const batchProber = startProber(base, [{ path: '/healthz' }, { path: `/v1/batches/${batchId}`, headers: { Authorization: `Bearer ${token}` } }], settings.BENCH_PROBE_MS);
    const status = await waitFor(db, schema, batchId, TERMINAL, workers);
    const endToEndSeconds = (performance.now() - t0) / 1000;
    sampling = false;
    const probed = await batchProber.stop();
    const probes = {
      healthz: probed.filter((p) => p.request === 0 && p.ok).map((p) => p.ms),
      status: probed.filter((p) => p.request === 1 && p.ok).map((p) => p.ms),
      failed: probed.filter((p) => !p.ok).length,
      duringPost,
    };
    await sampler;
    await sampleBackends();
    const workerCpu = workersCpu() - workerCpu0;
    const postgresCpu = [...backendCpu.values()].reduce((sum, b) => sum + b.last - b.first, 0);
    const workerPeakMB = Math.max(...workers.map((w) => procMB(w.proc.pid!, 'VmHWM')));
    const [{ slices }] = (await db.query(
      `SELECT coalesce(sum((result->>'slices')::int), 0)::int AS slices FROM "${schema}".dump_entries WHERE batch_id = $1`, [batchId],
    )).rows;
    const phases = (await db.query(
      `SELECT name, extract(epoch FROM finished_at - started_at)::float AS seconds FROM "${schema}".migration_phases WHERE batch_id = $1 ORDER BY position`, [batchId],
    )).rows as { name: string; seconds: number | null }[];
    const [{ n: itemRows }] = (await db.query(`SELECT count(*)::int AS n FROM "${schema}".content_items WHERE batch_id = $1`, [batchId])).rows;
    log(`${status} in ${endToEndSeconds.toFixed(1)} s; ${itemRows} item rows`);
    if (status !== 'completed') {
      const [b] = (await db.query(`SELECT error, verification->'problems' AS problems FROM "${schema}".migration_batches WHERE id = $1`, [batchId])).rows;
      throw new Error(`the batch ended ${status}: ${JSON.stringify(b)}\n${worker.lines.slice(-10).join('\n')}`);
    }
    const common = { items: settings.BENCH_ITEMS, dumpMB: dump.bytes / MB, entries: dump.entries, status, postSeconds, endToEndSeconds, phases, itemRows, workerPeakMB, workerProc, workers: opts.workers, slices, probes };
    if (!opts.baselines) {
      return { ...common, cpu: { worker: workerCpu, postgres: postgresCpu, copyPostgres: NaN }, copySeconds: NaN, naive: { sample: 0, seconds: NaN }, rollbackSeconds: NaN, rollbackStatus: 'not run' };
    }

    // 1. COPY of the same rows into a table of the same shape (its primary key and indexes, LIKE … INCLUDING ALL).
    log('baseline: COPY of the same item rows');
    const rows: Buffer[] = [];
    for await (const c of db.query(copyTo(`COPY (SELECT * FROM "${schema}".content_items WHERE batch_id = '${batchId}') TO STDOUT`))) rows.push(c as Buffer);
    await db.query(`CREATE TABLE "${schema}".bench_copy (LIKE "${schema}".content_items INCLUDING ALL)`);
    const [{ pid: benchPid }] = (await db.query(`SELECT pg_backend_pid() AS pid`)).rows;
    const copyCpu0 = procCpuSeconds(benchPid);
    const copy = await timeIt(() => pump(Readable.from(rows), db.query(copyFrom(`COPY "${schema}".bench_copy FROM STDIN`))));
    const copyPostgres = procCpuSeconds(benchPid) - copyCpu0;
    rows.length = 0;
    await db.query(`DROP TABLE "${schema}".bench_copy`);

    // 2. Naive: one TypeORM save() per item, on a sample (new ids, the batch's website and content types).
    log(`baseline: TypeORM save() per item, ${settings.BENCH_NAIVE_SAMPLE} items`);
    const naive = await naiveSave(app, schema, batchId, settings.BENCH_NAIVE_SAMPLE);

    // 4. Rollback through the admin API, to rolled_back.
    log('rollback');
    const r0 = performance.now();
    const rb = await fetch(`${base}/v1/admin/batches/${batchId}/rollback`, { method: 'POST', headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' }, body: '{}' });
    if (rb.status >= 300) throw new Error(`rollback answered ${rb.status}: ${await rb.text()}`);
    const rollbackStatus = await waitFor(db, schema, batchId, ['rolled_back', 'failed', 'needs_attention', 'completed'], workers, ['rolling_back']);
    const rollbackSeconds = (performance.now() - r0) / 1000;
    return {
      ...common, cpu: { worker: workerCpu, postgres: postgresCpu, copyPostgres },
      copySeconds: copy.seconds, naive: { sample: settings.BENCH_NAIVE_SAMPLE, seconds: naive }, rollbackSeconds, rollbackStatus,
    };
  } finally {
    for (const s of services.reverse()) await s.stop();
    if (settings.BENCH_LOG_DIR) {
      mkdirSync(settings.BENCH_LOG_DIR, { recursive: true });
      for (const s of services) writeFileSync(join(settings.BENCH_LOG_DIR, `${s.name}-${opts.workers}.log`), `${s.lines.join('\n')}\n`);
    }
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.end();
    await dropRedisKeys(app.REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds for `sample` items saved one by one with TypeORM (then removed again). */
async function naiveSave(app: Config, schema: string, batchId: string, sample: number): Promise<number> {
  const ds = createDataSource({ url: app.DATABASE_URL, schema, poolSize: 2, applicationName: 'bench-naive' });
  await ds.initialize();
  try {
    const [site] = await ds.query(`SELECT website_id, user_id FROM content_items WHERE batch_id = $1 LIMIT 1`, [batchId]);
    const types: { id: string }[] = await ds.query(`SELECT id FROM content_types WHERE user_id = $1 ORDER BY id`, [site.user_id]);
    const repo = ds.getRepository(ContentItem);
    const ids: string[] = [];
    const { seconds } = await timeIt(async () => {
      for (let i = 0; i < sample; i++) {
        // What a hand-written migration does per item: parse it, build the entity, save it.
        const src = JSON.parse(JSON.stringify(benchItem(i))) as ReturnType<typeof benchItem>;
        const e = repo.create({
          id: randomUUID(), userId: site.user_id, sourceId: src.id, contentTypeId: types[i % types.length].id, websiteId: site.website_id,
          data: src.data, status: 'draft', createdAt: new Date(src.createdAt), updatedAt: new Date(src.updatedAt),
        } as Partial<ContentItem>);
        await repo.save(e);
        ids.push(e.id);
      }
    });
    await ds.query(`DELETE FROM content_items WHERE id = ANY($1::uuid[])`, [ids]);
    return seconds;
  } finally {
    await ds.destroy();
  }
}

async function waitFor(db: Client, schema: string, batchId: string, done: string[], workers: Service[], notYet: string[] = []): Promise<string> {
  for (;;) {
    for (const worker of workers) {
      if (worker.proc.exitCode !== null || worker.proc.signalCode !== null) {
        throw new Error(`${worker.name} died (${worker.proc.exitCode ?? worker.proc.signalCode}):\n${worker.lines.slice(-20).join('\n')}`);
      }
    }
    const [row] = (await db.query(`SELECT status FROM "${schema}".migration_batches WHERE id = $1`, [batchId])).rows;
    if (row && done.includes(row.status) && !notYet.includes(row.status)) return row.status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

/** Nearest-rank percentile of `xs` (ms). */
function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function printItems(results: ItemsResult[]): boolean {
  const r = results[0];
  const copyRate = r.itemRows / r.copySeconds;
  const ours = r.itemRows / r.endToEndSeconds;
  const naiveRate = r.naive.sample / r.naive.seconds;
  const ratio = ours / copyRate;
  const rbRatio = r.rollbackSeconds / r.copySeconds;
  const ok = (b: boolean) => (b ? 'met' : '**MISSED**');
  const probeLine = (x: ItemsResult) => {
    const h = pct(x.probes.healthz, 99);
    const st = pct(x.probes.status, 99);
    return `/healthz p50 ${pct(x.probes.healthz, 50).toFixed(1)} / p99 ${h.toFixed(1)} ms (${x.probes.healthz.length}); status poll p50 ${pct(x.probes.status, 50).toFixed(1)} / p99 ${st.toFixed(1)} ms (${x.probes.status.length}); ${x.probes.failed} failed; p99 < 100 ms: ${ok(h < 100 && st < 100 && x.probes.failed === 0)}`;
  };
  const lines = [
    '| figure | this run | baseline (same run) |',
    '| --- | --- | --- |',
    `| dump | ${r.dumpMB.toFixed(1)} MB NDJSON, ${r.entries} entries; ${n(r.items)} content items in one \`content-storage\` entry | |`,
    `| batch | ${r.status}, ${n(r.itemRows)} content_items rows; ${r.slices} slices | |`,
    `| end to end (POST → completed; POST alone ${r.postSeconds.toFixed(1)} s), ${r.workers} worker process(es) | ${r.endToEndSeconds.toFixed(1)} s, **${n(ours)} rows/s**; ${ratio.toFixed(2)}× COPY (target ≥ 0.5×): ${ok(ratio >= 0.5)}; ${(ours / naiveRate).toFixed(1)}× naive (target ≥ 10×): ${ok(ours / naiveRate >= 10)} | COPY FROM STDIN of the same rows into a table of the same shape: ${r.copySeconds.toFixed(2)} s, ${n(copyRate)} rows/s |`,
    `| | | naive TypeORM save() per item: ${n(r.naive.sample)} items in ${r.naive.seconds.toFixed(1)} s = ${n(naiveRate)} rows/s (sample, extrapolated: ${(r.itemRows / naiveRate).toFixed(0)} s for ${n(r.itemRows)}) |`,
    `| CPU POST → completed (user + system) | workers ${r.cpu.worker.toFixed(1)} s + Postgres ${r.cpu.postgres.toFixed(1)} s = ${((1e6 * (r.cpu.worker + r.cpu.postgres)) / r.itemRows).toFixed(0)} µs per item row (the API's POST not counted) | COPY: Postgres ${r.cpu.copyPostgres.toFixed(1)} s = ${((1e6 * r.cpu.copyPostgres) / r.itemRows).toFixed(0)} µs per row |`,
    ...r.phases.map((p) => `|   phase ${p.name} | ${p.seconds === null ? '—' : `${p.seconds.toFixed(2)} s`} | |`),
    `| API while the batch runs (after the POST answered) | ${probeLine(r)} | |`,
    `| /healthz while the API takes the POST (${r.postSeconds.toFixed(1)} s) | p50 ${pct(r.probes.duringPost, 50).toFixed(1)} / max ${Math.max(...r.probes.duringPost).toFixed(1)} ms (${r.probes.duringPost.length} probes) | |`,
    `| rollback (admin API → rolled_back) | ${r.rollbackSeconds.toFixed(2)} s (${r.rollbackStatus}); ${rbRatio.toFixed(2)}× COPY time (target ≤ 1×): ${ok(rbRatio <= 1)} | COPY: ${r.copySeconds.toFixed(2)} s |`,
    `| worker peak RSS (VmHWM, largest worker) | ${r.workerPeakMB.toFixed(0)} MB | ${r.workerProc} |`,
  ];
  if (results.length > 1) {
    lines.push('', '| worker processes | end to end | rows/s | × COPY | speed-up vs 1st | contentItems phase | CPU workers + Postgres | API p99 healthz / status | peak RSS |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const x of results) {
      const rate = x.itemRows / x.endToEndSeconds;
      const items = x.phases.find((p) => p.name === 'contentItems')?.seconds;
      lines.push(`| ${x.workers} | ${x.endToEndSeconds.toFixed(1)} s | ${n(rate)} | ${(rate / copyRate).toFixed(2)}× | ${(r.endToEndSeconds / x.endToEndSeconds).toFixed(2)}× | ${items?.toFixed(1) ?? '—'} s | ${x.cpu.worker.toFixed(1)} + ${x.cpu.postgres.toFixed(1)} s | ${pct(x.probes.healthz, 99).toFixed(0)} / ${pct(x.probes.status, 99).toFixed(0)} ms | ${x.workerPeakMB.toFixed(0)} MB |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return results.every((x) => x.status === 'completed') && r.rollbackStatus === 'rolled_back';
}

interface Probe { request: number; at: number; ms: number; ok: boolean }

/**
 * A child process that sends `requests` to the API one after the other, again every `everyMs`, and reports
 * each answer's latency (2xx: ok; an error or a timeout of 5 s: not). stop() ends it and returns what it saw.
 * Headers travel in its environment, not its command line.
 */
function startProber(base: string, requests: { path: string; headers?: Record<string, string> }[], everyMs: number): { stop(): Promise<Probe[]> } {
  const child = spawn(process.execPath, ['-e', `
    const base = process.env.PROBE_BASE, every = Number(process.env.PROBE_EVERY_MS), requests = JSON.parse(process.env.PROBE_REQUESTS);
    (async () => { for (;;) {
      for (const [i, q] of requests.entries()) {
        const at = Date.now(), p0 = performance.now();
        const r = await fetch(base + q.path, { headers: q.headers ?? {}, signal: AbortSignal.timeout(5000) }).catch(() => null);
        if (r) await r.arrayBuffer().catch(() => null);
        process.stdout.write(i + ' ' + at + ' ' + (performance.now() - p0).toFixed(3) + ' ' + (r && r.ok ? 1 : 0) + '\\n');
      }
      await new Promise((res) => setTimeout(res, every));
    } })();`], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PROBE_BASE: base, PROBE_EVERY_MS: String(everyMs), PROBE_REQUESTS: JSON.stringify(requests) } });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => void (out += c.toString()));
  return {
    async stop() {
      child.kill();
      await once(child, 'exit');
      const lines = out.split('\n').filter((l) => /^\d+ \d+ [\d.]+ [01]$/.test(l)); // a line cut by the kill is left out
      return lines.map((l) => l.split(' ').map(Number)).map(([request, at, ms, ok]) => ({ request, at, ms, ok: ok === 1 }));
    },
  };
}
