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
 * written when it exits at the end).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
});

const MB = 1e6;
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
  /** CPU seconds (user + system) POST → completed: the worker process, and the Postgres backends serving it. */
  cpu: { worker: number; postgres: number; copyPostgres: number };
  workerPeakMB: number;
  workerProc: string;
}

export async function measureItems(app: Config, log: (m: string) => void): Promise<ItemsResult> {
  const settings = ItemsSettings.parse(process.env);
  const id = randomBytes(4).toString('hex');
  const schema = `bench_items_${id}`;
  const prefix = `bsmbench-items-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'bsm-bench-items-'));
  const file = join(dir, 'dump.ndjson');
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'development', DATABASE_URL: app.DATABASE_URL, REDIS_URL: app.REDIS_URL, DATABASE_SCHEMA: schema, QUEUE_PREFIX: prefix,
    STORAGE_DIR: join(dir, 'objects'), PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info',
    DUMP_BODY_LIMIT: '1gb', RATE_LIMIT_PER_TOKEN: '100000000', RATE_LIMIT_PER_IP: '100000000', WORKER_METRICS_PORT: '0',
    // The 200,000 items are one entry: parsing and mapping it is seconds of synchronous CPU, which on a
    // shared, loaded 2-core machine can outlast BullMQ's 30 s job lock and get the job declared stalled
    // (and run twice) — the Fast issue's sub-jobs would split it; until then, a longer lock here.
    WORKER_LOCK_DURATION_MS: '120000',
  };
  const services: Service[] = [];
  const db = new Client({ connectionString: app.DATABASE_URL, application_name: 'bench-items' });
  await db.connect();
  try {
    log(`generating a dump of ${settings.BENCH_ITEMS.toLocaleString('en-US')} content items`);
    const dump = await generateItemsDump(file, settings.BENCH_ITEMS);
    log(`${(dump.bytes / MB).toFixed(1)} MB, ${dump.entries} entries, content-storage ${(dump.itemsValueBytes / MB).toFixed(1)} MB`);
    await runOnce('scripts/migrate.ts', env);
    const api = startService('api', 'api/main.ts', env, [], 2000);
    services.push(api);
    const workerFlags = [...npmScriptFlags('worker'), ...settings.BENCH_WORKER_NODE_FLAGS.split(/\s+/).filter(Boolean)];
    const worker = startService('worker', 'worker/main.ts', env, workerFlags, 2000);
    services.push(worker);
    const listening = JSON.parse(await waitForLine(api, (l) => l.includes('api listening'))) as { url: string };
    await waitForLine(worker, (l) => l.includes('worker started'));
    const workerProc = describeProcess(worker.proc.pid!, 'worker/main.ts');
    const base = `http://127.0.0.1:${new URL(listening.url).port}`;
    const token = await mintToken(base, adminToken, 'bench-items');

    const body = readFileSync(file);
    log('POST /v1/dumps, then waiting for completed');
    // CPU time, which the other load on a shared machine disturbs far less than wall time: the worker's,
    // and that of the Postgres backends on the worker's connections (found by their client ports), sampled
    // so that a backend whose connection closes meanwhile still counts.
    const workerCpu0 = procCpuSeconds(worker.proc.pid!);
    const backendCpu = new Map<number, { first: number; last: number }>();
    const sampleBackends = async () => {
      const ports = tcpClientPorts(worker.proc.pid!, new URL(app.DATABASE_URL).port ? Number(new URL(app.DATABASE_URL).port) : 5432);
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
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/dumps`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson' }, body });
    if (res.status !== 202) throw new Error(`POST /v1/dumps answered ${res.status}: ${await res.text()}`);
    const postSeconds = (performance.now() - t0) / 1000;
    const { batchId } = (await res.json()) as { batchId: string };
    const status = await waitFor(db, schema, batchId, TERMINAL, worker);
    const endToEndSeconds = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    await sampleBackends();
    const workerCpu = procCpuSeconds(worker.proc.pid!) - workerCpu0;
    const postgresCpu = [...backendCpu.values()].reduce((sum, b) => sum + b.last - b.first, 0);
    const workerPeakMB = procMB(worker.proc.pid!, 'VmHWM');
    const phases = (await db.query(
      `SELECT name, extract(epoch FROM finished_at - started_at)::float AS seconds FROM "${schema}".migration_phases WHERE batch_id = $1 ORDER BY position`, [batchId],
    )).rows as { name: string; seconds: number | null }[];
    const [{ n: itemRows }] = (await db.query(`SELECT count(*)::int AS n FROM "${schema}".content_items WHERE batch_id = $1`, [batchId])).rows;
    log(`${status} in ${endToEndSeconds.toFixed(1)} s; ${itemRows} item rows`);
    if (status !== 'completed') {
      const [b] = (await db.query(`SELECT error, verification->'problems' AS problems FROM "${schema}".migration_batches WHERE id = $1`, [batchId])).rows;
      throw new Error(`the batch ended ${status}: ${JSON.stringify(b)}\n${worker.lines.slice(-10).join('\n')}`);
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
    const rollbackStatus = await waitFor(db, schema, batchId, ['rolled_back', 'failed', 'needs_attention', 'completed'], worker, ['rolling_back']);
    const rollbackSeconds = (performance.now() - r0) / 1000;
    return {
      items: settings.BENCH_ITEMS, dumpMB: dump.bytes / MB, entries: dump.entries, status, postSeconds, endToEndSeconds, phases, itemRows,
      cpu: { worker: workerCpu, postgres: postgresCpu, copyPostgres },
      copySeconds: copy.seconds, naive: { sample: settings.BENCH_NAIVE_SAMPLE, seconds: naive }, rollbackSeconds, rollbackStatus, workerPeakMB, workerProc,
    };
  } finally {
    for (const s of services.reverse()) await s.stop();
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

async function waitFor(db: Client, schema: string, batchId: string, done: string[], worker: Service, notYet: string[] = []): Promise<string> {
  for (;;) {
    if (worker.proc.exitCode !== null || worker.proc.signalCode !== null) {
      throw new Error(`the worker died (${worker.proc.exitCode ?? worker.proc.signalCode}):\n${worker.lines.slice(-20).join('\n')}`);
    }
    const [row] = (await db.query(`SELECT status FROM "${schema}".migration_batches WHERE id = $1`, [batchId])).rows;
    if (row && done.includes(row.status) && !notYet.includes(row.status)) return row.status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function printItems(r: ItemsResult): boolean {
  const copyRate = r.itemRows / r.copySeconds;
  const ours = r.itemRows / r.endToEndSeconds;
  const naiveRate = r.naive.sample / r.naive.seconds;
  const ratio = ours / copyRate;
  const rbRatio = r.rollbackSeconds / r.copySeconds;
  const ok = (b: boolean) => (b ? 'met' : '**MISSED**');
  const lines = [
    '| figure | this run | baseline (same run) |',
    '| --- | --- | --- |',
    `| dump | ${r.dumpMB.toFixed(1)} MB NDJSON, ${r.entries} entries; ${n(r.items)} content items in one \`content-storage\` entry | |`,
    `| batch | ${r.status}, ${n(r.itemRows)} content_items rows | |`,
    `| end to end (POST → completed; POST alone ${r.postSeconds.toFixed(1)} s) | ${r.endToEndSeconds.toFixed(1)} s, **${n(ours)} rows/s**; ${ratio.toFixed(2)}× COPY (target ≥ 0.5×): ${ok(ratio >= 0.5)}; ${(ours / naiveRate).toFixed(1)}× naive (target ≥ 10×): ${ok(ours / naiveRate >= 10)} | COPY FROM STDIN of the same rows into a table of the same shape: ${r.copySeconds.toFixed(2)} s, ${n(copyRate)} rows/s |`,
    `| | | naive TypeORM save() per item: ${n(r.naive.sample)} items in ${r.naive.seconds.toFixed(1)} s = ${n(naiveRate)} rows/s (sample, extrapolated: ${(r.itemRows / naiveRate).toFixed(0)} s for ${n(r.itemRows)}) |`,
    `| CPU POST → completed (user + system) | worker ${r.cpu.worker.toFixed(1)} s + Postgres ${r.cpu.postgres.toFixed(1)} s = ${((1e6 * (r.cpu.worker + r.cpu.postgres)) / r.itemRows).toFixed(0)} µs per item row (the API's POST not counted) | COPY: Postgres ${r.cpu.copyPostgres.toFixed(1)} s = ${((1e6 * r.cpu.copyPostgres) / r.itemRows).toFixed(0)} µs per row |`,
    ...r.phases.map((p) => `|   phase ${p.name} | ${p.seconds === null ? '—' : `${p.seconds.toFixed(2)} s`} | |`),
    `| rollback (admin API → rolled_back) | ${r.rollbackSeconds.toFixed(2)} s (${r.rollbackStatus}); ${rbRatio.toFixed(2)}× COPY time (target ≤ 1×): ${ok(rbRatio <= 1)} | COPY: ${r.copySeconds.toFixed(2)} s |`,
    `| worker peak RSS (VmHWM) | ${r.workerPeakMB.toFixed(0)} MB | ${r.workerProc} |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return r.status === 'completed' && r.rollbackStatus === 'rolled_back';
}
