/**
 * `npm run bench:direct`: the same generated dump as `npm run bench` (BENCH_MB, deterministic: the same size
 * gives the same bytes) sent to an API on the S3 driver (an in-process s3rver, bench/s3rver.ts) three ways,
 * one after the other, each by its own user (so no upload finds the others' sealed dump):
 *   - raw PUT: one presigned PutObject of the whole file straight to the bucket — what the disk and HTTP
 *     stack can do without the API (baseline);
 *   - tus through the API (BENCH_CHUNK_MB chunks), the API writing to S3, incl. digest + validation + seal;
 *   - direct to S3: presigned part URLs (BENCH_PART_MB parts, BENCH_PARALLEL in flight, each part's MD5
 *     computed first as the browser does), then the completion (parts checked, assembled, digest +
 *     validation + seal), timed as a whole and the completion alone.
 * No worker runs: the figures are the upload's (the migration is `npm run bench`'s). Everything it creates
 * (schema, Redis keys, files) is removed at the end. Kept apart from bench/run.ts on purpose.
 *
 *   BENCH_MB=100 npm run bench:direct
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Client } from 'pg';
import { z } from 'zod';
import { loadConfig } from '../core/config';
import { timeIt } from './baselines';
import { generateCatalystDump } from './generate';
import { dropRedisKeys, mintToken, procCpuSeconds, runOnce, startService, waitForLine, type Service } from './processes';
import { startS3 } from './s3rver';
import { tusUpload } from './tusUpload';

const Settings = z.object({
  BENCH_MB: z.coerce.number().positive().default(500),
  BENCH_CHUNK_MB: z.coerce.number().positive().default(16),
  BENCH_PART_MB: z.coerce.number().min(5).default(8),
  BENCH_PARALLEL: z.coerce.number().int().positive().default(4),
});

const MB = 1e6;
const MiB = 1024 * 1024;

export interface DirectBenchResult {
  bytes: number;
  rawPutSeconds: number;
  tusSeconds: number;
  directSeconds: number;
  completeSeconds: number;
  parts: number;
  /** CPU seconds the API process spent on each upload (user + system, /proc). */
  tusApiCpu: number;
  directApiCpu: number;
}

async function main(): Promise<void> {
  const settings = Settings.parse(process.env);
  const app = loadConfig();
  const id = randomBytes(4).toString('hex');
  const schema = `benchd_${id}`;
  const prefix = `bsmbenchd-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'bsm-bench-direct-'));
  const file = join(dir, 'dump.ndjson');
  const adminToken = randomBytes(24).toString('hex');
  const s3 = await startS3('bench-direct');
  const services: Service[] = [];
  const db = new Client({ connectionString: app.DATABASE_URL });
  await db.connect();
  try {
    log(`generating a ~${settings.BENCH_MB} MB dump in ${dir}`);
    const dump = await generateCatalystDump(file, settings.BENCH_MB * MB);
    const env: Record<string, string> = {
      NODE_ENV: 'development', DATABASE_URL: app.DATABASE_URL, REDIS_URL: app.REDIS_URL, DATABASE_SCHEMA: schema, QUEUE_PREFIX: prefix,
      PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info', ...s3.env,
      UPLOAD_MAX_BYTES: String(Math.ceil(dump.bytes * 1.1) + 10 * MB),
      RATE_LIMIT_PER_TOKEN: '100000000', RATE_LIMIT_PER_IP: '100000000',
    };
    await runOnce('scripts/migrate.ts', env);
    const api = startService('api', 'api/main.ts', env, [], 2000);
    services.push(api);
    const listening = JSON.parse(await waitForLine(api, (l) => l.includes('api listening'))) as { url: string };
    const base = `http://127.0.0.1:${new URL(listening.url).port}`;

    log(`${(dump.bytes / MB).toFixed(1)} MB: raw PUT to the bucket`);
    const rawPut = await timeIt(() => rawPutOf(s3.endpoint, s3.bucket, file, dump.bytes));

    log(`tus through the API in ${settings.BENCH_CHUNK_MB} MiB chunks`);
    const apiPid = api.proc.pid!;
    const tusToken = await mintToken(base, adminToken, 'bench-tus');
    let cpu = procCpuSeconds(apiPid);
    const viaTus = await timeIt(() => tusUpload(base, tusToken, file, dump, settings.BENCH_CHUNK_MB));
    const tusApiCpu = procCpuSeconds(apiPid) - cpu;

    log(`direct to S3 in ${settings.BENCH_PART_MB} MiB parts, ${settings.BENCH_PARALLEL} in flight`);
    const token = await mintToken(base, adminToken, 'bench-direct');
    cpu = procCpuSeconds(apiPid);
    const direct = await timeIt(() => directUpload(base, token, file, dump, settings.BENCH_PART_MB * MiB, settings.BENCH_PARALLEL));
    const directApiCpu = procCpuSeconds(apiPid) - cpu;

    print({
      bytes: dump.bytes, rawPutSeconds: rawPut.seconds, tusSeconds: viaTus.seconds, directSeconds: direct.seconds,
      completeSeconds: direct.value.completeSeconds, parts: direct.value.parts, tusApiCpu, directApiCpu,
    }, settings);
  } finally {
    for (const s of services.reverse()) await s.stop();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.end();
    await dropRedisKeys(app.REDIS_URL, prefix);
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function print(r: DirectBenchResult, s: z.infer<typeof Settings>): void {
  const mbps = (sec: number) => `${(r.bytes / MB / sec).toFixed(1)} MB/s`;
  const cpu = (sec: number) => `${sec.toFixed(1)} s`;
  const rows = [
    ['raw PUT to S3 (s3rver; one presigned PutObject, no API)', `${r.rawPutSeconds.toFixed(1)} s`, mbps(r.rawPutSeconds), ''],
    [`tus through the API to S3 (${s.BENCH_CHUNK_MB} MiB chunks; incl. digest + validation + seal)`, `${r.tusSeconds.toFixed(1)} s`, mbps(r.tusSeconds), cpu(r.tusApiCpu)],
    [`direct-to-S3 (${r.parts} parts of ${s.BENCH_PART_MB} MiB, ${s.BENCH_PARALLEL} in flight; incl. completion)`, `${r.directSeconds.toFixed(1)} s`, mbps(r.directSeconds), cpu(r.directApiCpu)],
    ['  of which the completion (parts checked, assembled, digest + validation + seal)', `${r.completeSeconds.toFixed(1)} s`, mbps(r.completeSeconds), ''],
  ];
  process.stdout.write(`\nDirect-to-S3 vs tus vs raw PUT, ${(r.bytes / MB).toFixed(1)} MB NDJSON dump\n\n| path | time | throughput | API process CPU |\n|---|---|---|---|\n`);
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
}

async function rawPutOf(endpoint: string, bucket: string, file: string, bytes: number): Promise<void> {
  const client = new S3Client({
    region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: 'raw/baseline' }), { expiresIn: 600 });
  const res = await fetch(url, {
    method: 'PUT', body: Readable.toWeb(createReadStream(file, { highWaterMark: MiB })) as ReadableStream, headers: { 'Content-Length': String(bytes) }, duplex: 'half',
  } as RequestInit);
  if (!res.ok) throw new Error(`raw PUT: ${res.status} ${await res.text()}`);
  client.destroy();
}

/** The protocol of client/s3Upload.ts, from Node: MD5 per part, a URL per part, PUTs in parallel, complete. */
async function directUpload(base: string, token: string, file: string, dump: { bytes: number; sha256: string }, partSize: number, parallel: number) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/v1/uploads/direct${path}`, {
      method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const started = await call('POST', '', { filename: 'bench.ndjson', contentType: 'application/x-ndjson', sha256: dump.sha256, size: dump.bytes, partSize });
  const fh = await open(file, 'r');
  const etags: { n: number; etag: string }[] = [];
  try {
    let next = 1;
    const worker = async () => {
      while (next <= started.parts) {
        const n = next++;
        const length = Math.min(partSize, dump.bytes - (n - 1) * partSize);
        const buf = Buffer.alloc(length);
        await fh.read(buf, 0, length, (n - 1) * partSize);
        const md5 = createHash('md5').update(buf).digest('base64');
        const signed = await call('POST', `/${started.uploadId}/parts/${n}`, { md5 });
        const put = await fetch(signed.url, { method: 'PUT', body: buf, headers: signed.headers });
        if (!put.ok) throw new Error(`PUT part ${n}: ${put.status}`);
        etags.push({ n, etag: put.headers.get('etag')!.replace(/"/g, '') });
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    await fh.close();
  }
  const complete = await timeIt(() => call('POST', `/${started.uploadId}/complete`, { parts: etags.sort((a, b) => a.n - b.n) }));
  return { batchId: complete.value.batchId as string, completeSeconds: complete.seconds, parts: started.parts as number };
}

function log(msg: string): void {
  process.stderr.write(`[bench:direct] ${msg}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:direct failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
