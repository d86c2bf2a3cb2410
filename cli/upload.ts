/**
 * `bsm upload <dump-file>`: the resumable path (tus, /v1/uploads; cli/tus.ts) for every size, with a progress
 * bar on stderr. A whole-body POST /v1/dumps is capped by DUMP_BODY_LIMIT; a tus upload is not, and an
 * interrupted one resumes when the same command runs again.
 */
import { statSync } from 'node:fs';
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

export async function uploadFile(ctx: CliContext, file: string, opts: { websiteId?: string; layout?: string; out: NodeJS.WritableStream }): Promise<{ batchId: string; status: string; duplicate: boolean }> {
  const size = statSync(file).size;
  if (size === 0) throw new CliError(`${file} is empty: there is no dump to upload`);
  const contentType = /\.(ndjson|jsonl)$/i.test(file) ? 'application/x-ndjson' : 'application/json';
  const { batchId, serverStart } = await tusUpload(ctx, {
    file, size, contentType, websiteId: opts.websiteId, layout: opts.layout, sha256: await sha256OfFile(file), chunkBytes: chunkBytes(),
    progress: (offset) => opts.out.write(`\r${progressBar(offset, size)}`),
    say: (line) => opts.out.write(`\n${line}`), // below the progress bar, which the next chunk redraws
  });
  opts.out.write('\n');
  // The final PATCH names the batch only; its status, and whether the dump had been uploaded before (the
  // server then answers with the first batch: created before this run began, by the server's clock; Date
  // has whole seconds), come from the batch itself.
  const batch = await call(ctx, 'GET', `/v1/batches/${batchId}`);
  return { batchId, status: String(batch.status), duplicate: Date.parse(batch.createdAt) < serverStart - 1000 };
}
