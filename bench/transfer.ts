/**
 * Upload transfer rates (`BENCH_ONLY=transfer npm run bench`, and after the pipeline in a full run): the
 * same generated dump (BENCH_TRANSFER_MB, default 200 MB) sent
 *   - by a raw HTTP PUT to a do-nothing Node server (its own process: reads the body, discards it): the
 *     ceiling of this machine's loopback HTTP, as one streamed request and as BENCH_TUS_CHUNK_MIB requests;
 *   - through tus to the API (its own process, as `npm run api`), in BENCH_TUS_CHUNK_MIB chunks (default
 *     8 MiB; issue 12: tus at least 0.7x the raw PUT), without and with Upload-Checksum on every PATCH;
 *   - gzip-compressed (metadata contentEncoding gzip), in the same chunks;
 *   - plain tus again, to a second API process whose finish reads the upload back after its last byte
 *     (UPLOAD_STREAMED_FINISH_MIN_BYTES above the dump): what the streamed finish saves, in the same run.
 * Each figure is measured BENCH_TRANSFER_REPEAT times (rounds interleaved); the table gives the median.
 * The tus client is a plain fetch loop (POST, then PATCH per chunk, like cli/tus.ts), so the figures are the
 * server's, not a client library's. "to the final answer" includes what the final PATCH does (digest,
 * validation through the inflater, sealing, batch creation; the API's verifyMs); "transfer" leaves it out.
 * No worker runs: the batches stay queued. Everything (schema, Redis keys, files) is removed at the end.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Client } from 'pg';
import type { Config } from '../core/config';
import { timeIt } from './baselines';
import { generateCatalystDump } from './generate';
import { dropRedisKeys, mintToken, procCpuSeconds, runOnce, startService, waitForLine, type Service } from './processes';

export interface TransferSettings {
  mb: number;
  chunkMiB: number;
  /** Rounds per figure (BENCH_TRANSFER_REPEAT); the table gives the median. */
  repeat: number;
  /** Extra node flags for the API process that takes the tus uploads (BENCH_API_NODE_FLAGS, e.g. --cpu-prof). */
  apiNodeFlags?: string[];
}

export interface TransferRow {
  figure: string;
  /** Bytes that travelled. */
  bytes: number;
  seconds: number;
  /** Seconds of the final PATCH's server-side work (verifyMs), for tus rows. */
  finishSeconds?: number;
  /** Fastest and slowest round, when there were several. */
  spread?: [number, number];
  /** CPU seconds the API process (all its threads) used in the median round, for tus rows. */
  apiCpu?: number;
  note?: string;
}

export interface TransferResult {
  settings: TransferSettings;
  dumpBytes: number;
  gzipBytes: number;
  gzipSeconds: number;
  rows: TransferRow[];
}

const MB = 1e6;

/** A server that reads every request body and throws it away (204), in its own process. */
async function startNullServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const code = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => { s.statusCode = 204; s.end(); }); })
    .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [data] = (await once(proc.stdout!, 'data')) as [Buffer];
  return {
    port: Number(data.toString().trim()),
    async stop() {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** One PUT streaming the whole file. */
function putWhole(port: number, file: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/', headers: { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`PUT: ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

/** Reads the file chunk by chunk and hands each chunk to `send` in order. */
async function inChunks(file: string, size: number, chunkBytes: number, send: (chunk: Buffer, offset: number) => Promise<void>): Promise<void> {
  const fh = await open(file, 'r');
  try {
    for (let offset = 0; offset < size; offset += chunkBytes) {
      const chunk = Buffer.alloc(Math.min(chunkBytes, size - offset));
      await fh.read(chunk, 0, chunk.length, offset);
      await send(chunk, offset);
    }
  } finally {
    await fh.close();
  }
}

/** tus: POST, then one PATCH per chunk; resolves with the batch id of the final answer. */
async function tusSend(base: string, token: string, file: string, chunkBytes: number, meta: Record<string, string>, checksum: boolean): Promise<string> {
  const size = statSync(file).size;
  const auth = { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0' };
  const metadata = Object.entries(meta).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',');
  const created = await fetch(`${base}/v1/uploads`, { method: 'POST', headers: { ...auth, 'Upload-Length': String(size), 'Upload-Metadata': metadata } });
  if (created.status !== 201) throw new Error(`tus creation: ${created.status} ${await created.text()}`);
  const url = new URL(created.headers.get('location')!, base).href;
  let batchId: string | null = null;
  await inChunks(file, size, chunkBytes, async (chunk, offset) => {
    const headers: Record<string, string> = { ...auth, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) };
    if (checksum) headers['Upload-Checksum'] = `sha256 ${createHash('sha256').update(chunk).digest('base64')}`;
    const res = await fetch(url, { method: 'PATCH', headers, body: chunk });
    if (res.status !== 204) throw new Error(`tus PATCH at ${offset}: ${res.status} ${await res.text()}`);
    batchId = res.headers.get('Migration-Batch-Id') ?? batchId;
  });
  if (!batchId) throw new Error('the final PATCH carried no Migration-Batch-Id');
  return batchId;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of createReadStream(file)) hash.update(c as Buffer);
  return hash.digest('hex');
}

export async function measureTransfer(app: Config, settings: TransferSettings, log: (m: string) => void): Promise<TransferResult> {
  const id = randomBytes(4).toString('hex');
  const schema = `bench_xfer_${id}`;
  const prefix = `bsmbench-xfer-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'bsm-bench-xfer-'));
  const file = join(dir, 'dump.ndjson');
  const gz = join(dir, 'dump.ndjson.gz');
  const chunkBytes = Math.floor(settings.chunkMiB * 1024 * 1024);
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'development', DATABASE_URL: app.DATABASE_URL, REDIS_URL: app.REDIS_URL, DATABASE_SCHEMA: schema, QUEUE_PREFIX: prefix,
    STORAGE_DIR: join(dir, 'objects'), PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info',
    UPLOAD_MAX_BYTES: String(Math.ceil(settings.mb * MB * 1.1) + 10 * MB),
    RATE_LIMIT_PER_TOKEN: '100000000', RATE_LIMIT_PER_IP: '100000000',
  };
  let api: Service | null = null;
  let readBackApi: Service | null = null;
  const nul = await startNullServer();
  const db = new Client({ connectionString: app.DATABASE_URL });
  await db.connect();
  try {
    log(`transfer: generating a ~${settings.mb} MB dump`);
    const dump = await generateCatalystDump(file, settings.mb * MB);
    const compress = await timeIt(() => pipeline(createReadStream(file), createGzip({ level: 6 }), createWriteStream(gz)));
    const gzipBytes = statSync(gz).size;
    const [sha, gzSha] = [await sha256File(file), await sha256File(gz)];

    await runOnce('scripts/migrate.ts', env);
    api = startService('api', 'api/main.ts', env, settings.apiNodeFlags ?? [], 2000);
    // A second API on the same database and queues that checks every upload after its last byte, by
    // reading it back (as before the streamed finish): the same upload against both, in the same run.
    readBackApi = startService('api-readback', 'api/main.ts', { ...env, UPLOAD_STREAMED_FINISH_MIN_BYTES: String(2 ** 50) }, [], 2000);
    const baseOf = async (s: Service) => `http://127.0.0.1:${new URL((JSON.parse(await waitForLine(s, (l) => l.includes('api listening'))) as { url: string }).url).port}`;
    const base = await baseOf(api);
    const readBackBase = await baseOf(readBackApi);
    // The API logs the final PATCH's work (verifyMs) just before it answers; the line may reach us after the answer.
    const verifySecondsOf = async (service: Service, batchId: string) =>
      Number(JSON.parse(await waitForLine(service, (l) => l.includes('upload finished') && l.includes(batchId), 10_000)).verifyMs) / 1000;

    const runs: { figure: string; file: string; bytes: number; meta: Record<string, string>; checksum: boolean; user: string; note?: string; readBack?: boolean }[] = [
      { figure: `tus MB/s (${settings.chunkMiB} MiB chunks)`, file, bytes: dump.bytes, meta: { filename: 'b.ndjson', contentType: 'application/x-ndjson', sha256: sha }, checksum: false, user: 'xfer-plain' },
      {
        figure: `tus, checked after the last byte (${settings.chunkMiB} MiB chunks; streamed finish off)`, file, bytes: dump.bytes,
        meta: { filename: 'b.ndjson', contentType: 'application/x-ndjson', sha256: sha }, checksum: false, user: 'xfer-readback', readBack: true,
      },
      { figure: `tus + Upload-Checksum (${settings.chunkMiB} MiB chunks)`, file, bytes: dump.bytes, meta: { filename: 'b.ndjson', contentType: 'application/x-ndjson', sha256: sha }, checksum: true, user: 'xfer-sum' },
      {
        figure: `tus gzip MB/s (${settings.chunkMiB} MiB chunks of the compressed file)`, file: gz, bytes: gzipBytes,
        meta: { filename: 'b.ndjson.gz', contentType: 'application/x-ndjson', sha256: gzSha, contentEncoding: 'gzip' }, checksum: true, user: 'xfer-gz',
        note: `dump MB per second: ${(dump.bytes / MB).toFixed(1)} MB of dump`,
      },
    ];
    // Every figure is measured `repeat` times, the rounds interleaved so that a noisy moment hits all of
    // them alike; the table gives each figure's median round. Each tus round is a new user's upload, so
    // none finds the dump already sealed.
    const rounds = new Map<string, { row: Omit<TransferRow, 'seconds'>; samples: { seconds: number; finishSeconds?: number; apiCpu?: number }[] }>();
    const sample = (row: Omit<TransferRow, 'seconds'>, s: { seconds: number; finishSeconds?: number; apiCpu?: number }) => {
      const r = rounds.get(row.figure) ?? { row, samples: [] };
      r.samples.push(s);
      rounds.set(row.figure, r);
    };
    for (let round = 1; round <= settings.repeat; round++) {
      log(`transfer: round ${round} of ${settings.repeat}: raw PUT to a do-nothing server`);
      sample({ figure: 'raw HTTP PUT, one request (do-nothing Node server)', bytes: dump.bytes }, { seconds: (await timeIt(() => putWhole(nul.port, file, dump.bytes))).seconds });
      const chunked = await timeIt(() => inChunks(file, dump.bytes, chunkBytes, async (chunk) => {
        const res = await fetch(`http://127.0.0.1:${nul.port}/`, { method: 'PUT', body: chunk });
        await res.arrayBuffer();
      }));
      sample({ figure: `raw HTTP PUT, ${settings.chunkMiB} MiB requests (do-nothing Node server)`, bytes: dump.bytes }, { seconds: chunked.seconds });
      for (const r of runs) {
        log(`transfer: round ${round}: ${r.figure}`);
        const [service, url] = r.readBack ? [readBackApi, readBackBase] : [api, base];
        const token = await mintToken(url, adminToken, `${r.user}-${round}`);
        const cpu0 = procCpuSeconds(service.proc.pid!);
        const t = await timeIt(() => tusSend(url, token, r.file, chunkBytes, r.meta, r.checksum));
        const apiCpu = procCpuSeconds(service.proc.pid!) - cpu0;
        sample({ figure: r.figure, bytes: r.bytes, note: r.note }, { seconds: t.seconds, finishSeconds: await verifySecondsOf(service, t.value), apiCpu });
      }
    }
    const rows: TransferRow[] = [...rounds.values()].map(({ row, samples }) => {
      const sorted = [...samples].sort((a, b) => a.seconds - b.seconds);
      const median = sorted[Math.floor((sorted.length - 1) / 2)];
      return { ...row, ...median, spread: samples.length > 1 ? [sorted[0].seconds, sorted[sorted.length - 1].seconds] : undefined };
    });
    return { settings, dumpBytes: dump.bytes, gzipBytes, gzipSeconds: compress.seconds, rows };
  } finally {
    await api?.stop();
    await readBackApi?.stop();
    await nul.stop();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.end();
    await dropRedisKeys(app.REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printTransfer(r: TransferResult): void {
  const mbps = (bytes: number, s: number) => `${(bytes / MB / s).toFixed(1)} MB/s`;
  const rawChunked = r.rows.find((x) => x.figure.startsWith('raw HTTP PUT,') && x.figure.includes('MiB'))!;
  const rawRate = rawChunked.bytes / rawChunked.seconds;
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [
    `Upload transfer: median of ${r.settings.repeat} round(s); ${(r.dumpBytes / MB).toFixed(1)} MB NDJSON dump, gzip -6 ${(r.gzipBytes / MB).toFixed(1)} MB (${(r.dumpBytes / r.gzipBytes).toFixed(1)}x; compressing took ${r.gzipSeconds.toFixed(1)} s, ${mbps(r.dumpBytes, r.gzipSeconds)})`,
    '',
    line(['figure', 'to the final answer', 'transfer (without the final PATCH\'s work)', 'API CPU', `vs raw PUT in ${r.settings.chunkMiB} MiB requests`]),
    line(['---', '---', '---', '---', '---']),
    ...r.rows.map((x) => {
      const transfer = x.finishSeconds === undefined ? '' : `${mbps(x.bytes, x.seconds - x.finishSeconds)} (final PATCH ${x.finishSeconds.toFixed(1)} s)`;
      // gzip: bytes sent, and the dump's bytes delivered (what the raw PUT of the uncompressed file delivers).
      const ratio = x === rawChunked ? '1.00x' : `${(x.bytes / x.seconds / rawRate).toFixed(2)}x${x.note ? `; ${(r.dumpBytes / x.seconds / rawRate).toFixed(2)}x in dump bytes` : ''}`;
      const gzipDump = x.note ? `; ${mbps(r.dumpBytes, x.seconds)} of dump` : '';
      const spread = x.spread ? ` (rounds ${x.spread.map((t) => mbps(x.bytes, t).replace(' MB/s', '')).reverse().join('–')})` : '';
      const cpu = x.apiCpu === undefined ? '' : `${x.apiCpu.toFixed(1)} s`;
      return line([x.figure, `${x.seconds.toFixed(1)} s, ${mbps(x.bytes, x.seconds)}${spread}${gzipDump}`, transfer, cpu, ratio]);
    }),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
