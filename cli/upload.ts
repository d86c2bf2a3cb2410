/**
 * `bsm upload <dump-file>`: the resumable path (tus, /v1/uploads; cli/tus.ts) for every size, with a progress
 * bar on stderr. A whole-body POST /v1/dumps is capped by DUMP_BODY_LIMIT; a tus upload is not, and an
 * interrupted one resumes when the same command runs again.
 *
 * gzip: a `.gz` file (`dump.ndjson.gz`, `dump.json.gz`) is sent as it is, with metadata contentEncoding gzip;
 * `--gzip` compresses an uncompressed file first, into a temporary file (tus needs the upload's length up
 * front), removed afterwards. The compression is deterministic, so running the command again after an
 * interruption makes the same bytes and resumes the same upload.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { call, CliError, type CliContext } from './api';
import { DEFAULT_CHUNK_BYTES, sha256OfFile, tusUpload } from './tus';

export function progressBar(done: number, total: number, width = 30): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const fill = Math.round(f * width);
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(total)} MB`;
}

/** BSM_CHUNK_BYTES: bytes per PATCH (tests use a small one to interrupt an upload between chunks). */
function chunkBytes(): number {
  const raw = process.env.BSM_CHUNK_BYTES;
  if (raw === undefined || raw === '') return DEFAULT_CHUNK_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`BSM_CHUNK_BYTES must be a positive whole number of bytes, not "${raw}"`);
  return n;
}

async function gzipToTemp(file: string): Promise<{ path: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bsm-gzip-'));
  const path = join(dir, `${basename(file)}.gz`);
  await pipeline(createReadStream(file), createGzip({ level: 6 }), createWriteStream(path));
  return { path, dir };
}

export async function uploadFile(
  ctx: CliContext, file: string, opts: { websiteId?: string; layout?: string; gzip?: boolean; out: NodeJS.WritableStream },
): Promise<{ batchId: string; status: string; duplicate: boolean }> {
  if (statSync(file).size === 0) throw new CliError(`${file} is empty: there is no dump to upload`);
  const isGz = /\.gz$/i.test(file);
  const dumpName = isGz ? file.slice(0, -3) : file;
  const contentType = /\.(ndjson|jsonl)$/i.test(dumpName) ? 'application/x-ndjson' : 'application/json';
  const temp = opts.gzip && !isGz ? await gzipToTemp(file) : null;
  const sent = temp?.path ?? file;
  const size = statSync(sent).size;
  let uploaded: { batchId: string; serverStart: number };
  try {
    uploaded = await tusUpload(ctx, {
      file: sent, filename: basename(sent), size, contentType, websiteId: opts.websiteId, layout: opts.layout, sha256: await sha256OfFile(sent), chunkBytes: chunkBytes(),
      ...(isGz || temp ? { contentEncoding: 'gzip' as const } : {}),
      progress: (offset) => opts.out.write(`\r${progressBar(offset, size)}`),
      say: (line) => opts.out.write(`\n${line}`), // below the progress bar, which the next chunk redraws
    });
  } finally {
    if (temp) await rm(temp.dir, { recursive: true, force: true });
  }
  const { batchId, serverStart } = uploaded;
  opts.out.write('\n');
  // The final PATCH names the batch only; its status, and whether the dump had been uploaded before (the
  // server then answers with the first batch: created before this run began, by the server's clock; Date
  // has whole seconds), come from the batch itself.
  const batch = await call(ctx, 'GET', `/v1/batches/${batchId}`);
  return { batchId, status: String(batch.status), duplicate: Date.parse(batch.createdAt) < serverStart - 1000 };
}
