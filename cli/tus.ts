/**
 * The few tus 1.0.0 requests `bsm upload` needs (docs/http-api.md §2), over fetch: POST to create (with
 * Upload-Metadata filename/contentType/sha256, and contentEncoding gzip for a compressed dump), PATCH chunk
 * by chunk at Upload-Offset, each with Upload-Checksum (sha256 of the chunk: the Checksum extension; a chunk
 * altered in transit is refused with 460 and sent again), HEAD to learn where an interrupted upload stands. Not tus-js-client: it is a devDependency (the server no longer bundles it)
 * and a production install runs the compiled CLI without it; this subset is small, and owning it lets the
 * CLI keep its own resume state and Retry-After handling (cli/api.ts) on every request.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CliError, withRetryAfter, type CliContext } from './api';

const TUS = { 'Tus-Resumable': '1.0.0' };
/** Large enough that a dump needs few requests (each counts against the rate limit), small enough to redo. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export interface TusUpload {
  file: string;
  /** Upload-Metadata filename. @defaultValue the file's name */
  filename?: string;
  /** The file is the dump gzip-compressed (sha256 and size are the compressed file's). */
  contentEncoding?: 'gzip';
  size: number;
  sha256: string;
  contentType: string;
  websiteId?: string;
  /** The layout the server maps the dump with (tus metadata `layout`); the server's default when absent. */
  layout?: string;
  chunkBytes: number;
  /** Called with the bytes the server holds: after the resume point is known and after each chunk. */
  progress(offset: number): void;
  /** One line for stderr (resuming, retries). */
  say(line: string): void;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Where an unfinished upload's URL is kept between runs: one small file per dump (its sha256) and server,
 * under the OS temp dir (BSM_STATE_DIR overrides), so re-running the same command resumes it.
 */
function statePath(ctx: CliContext, sha256: string): string {
  const server = createHash('sha256').update(new URL(ctx.url).origin).digest('hex').slice(0, 12);
  return join(process.env.BSM_STATE_DIR ?? join(tmpdir(), 'bsm-uploads'), `${sha256}.${server}.json`);
}

async function readState(path: string): Promise<{ url: string; size: number } | null> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as { url?: unknown; size?: unknown };
    return typeof s.url === 'string' && typeof s.size === 'number' ? { url: s.url, size: s.size } : null;
  } catch {
    return null;
  }
}

function authed(ctx: CliContext, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${ctx.token}`, ...TUS, ...extra };
}

async function failure(res: Response, what: string): Promise<CliError> {
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  return new CliError(`${res.status} ${body.error?.code ?? ''}: ${body.error?.message ?? `${what} refused`}`);
}

/** "The value MUST be Base64 encoded" (tus 1.0.0, Upload-Metadata); pairs are `key value`, comma-separated. */
function metadataHeader(u: TusUpload): string {
  const pairs: Record<string, string> = { filename: u.filename ?? basename(u.file), contentType: u.contentType, sha256: u.sha256 };
  if (u.websiteId) pairs.websiteId = u.websiteId;
  if (u.layout) pairs.layout = u.layout;
  if (u.contentEncoding) pairs.contentEncoding = u.contentEncoding;
  return Object.entries(pairs).map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`).join(',');
}

/** The server's offset of an upload, or null if it is gone, not ours, or already complete (start afresh). */
async function headOffset(ctx: CliContext, url: string, size: number, seen: (r: Response) => Response = (r) => r): Promise<number | null> {
  const res = seen(await withRetryAfter(() => fetch(url, { method: 'HEAD', headers: authed(ctx) })));
  const offset = Number(res.headers.get('Upload-Offset'));
  if (!res.ok || !Number.isSafeInteger(offset) || offset >= size) return null;
  return offset;
}

async function create(ctx: CliContext, u: TusUpload, seen: (r: Response) => Response): Promise<string> {
  const res = seen(await withRetryAfter(() =>
    fetch(new URL('/v1/uploads', ctx.url), {
      method: 'POST',
      headers: authed(ctx, { 'Upload-Length': String(u.size), 'Upload-Metadata': metadataHeader(u) }),
    }), u.say));
  const location = res.headers.get('Location');
  if (res.status !== 201 || !location) throw await failure(res, 'upload creation');
  return new URL(location, ctx.url).toString();
}

/**
 * Uploads the file through tus, resuming a previous run's upload of the same dump. Returns the batch id and
 * the server's clock (Date) when this run started, to tell a new batch from an earlier one of the same dump.
 */
export async function tusUpload(ctx: CliContext, u: TusUpload): Promise<{ batchId: string; serverStart: number }> {
  const state = statePath(ctx, u.sha256);
  const saved = await readState(state);
  let serverStart = Number.NaN;
  const clock = (res: Response) => {
    if (Number.isNaN(serverStart)) serverStart = Date.parse(res.headers.get('Date') ?? '');
    return res;
  };
  let url: string | null = null;
  let offset = 0;
  if (saved && saved.size === u.size) {
    const at = await headOffset(ctx, saved.url, u.size, clock).catch(() => null);
    if (at !== null) {
      url = saved.url;
      offset = at;
      u.say(`resuming the upload at byte ${offset} of ${u.size}\n`);
    }
  }
  if (!url) {
    url = await create(ctx, u, clock);
    await mkdir(join(state, '..'), { recursive: true });
    await writeFile(state, JSON.stringify({ url, size: u.size }));
  }
  u.progress(offset);
  const fh = await open(u.file, 'r');
  try {
    for (let conflicts = 0, mismatches = 0; ; ) {
      const length = Math.min(u.chunkBytes, u.size - offset);
      const chunk = Buffer.alloc(length);
      await fh.read(chunk, 0, length, offset);
      let res: Response;
      try {
        res = await withRetryAfter(() =>
          fetch(url, {
            method: 'PATCH',
            headers: authed(ctx, {
              'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset),
              'Upload-Checksum': `sha256 ${createHash('sha256').update(chunk).digest('base64')}`,
            }),
            body: chunk,
          }), u.say);
      } catch (err) {
        throw new CliError(`upload interrupted at byte ${offset} of ${u.size} (${(err as Error).message}): run the same command again to resume`);
      }
      if (res.status === 409 && conflicts++ < 3) {
        // Our offset is not the server's (a chunk landed though its answer was lost): ask, and go on from there.
        await res.body?.cancel().catch(() => undefined);
        const at = await headOffset(ctx, url, u.size);
        if (at === null) throw new CliError('the upload is no longer on the server: run the same command again to start over');
        offset = at;
        continue;
      }
      if (res.status === 460 && mismatches++ < 3) {
        // Checksum Mismatch: the chunk arrived altered and was not kept (offset unchanged): send it again.
        await res.body?.cancel().catch(() => undefined);
        u.say(`the chunk at byte ${offset} arrived altered (460 Checksum Mismatch); sending it again\n`);
        continue;
      }
      if (res.status !== 204) {
        // A refused last chunk (invalid dump, digest mismatch) discards the upload on the server: so does the CLI.
        if (res.status < 500 && res.status !== 429) await rm(state, { force: true });
        throw await failure(res, 'upload');
      }
      offset = Number(res.headers.get('Upload-Offset') ?? offset + length);
      u.progress(offset);
      if (offset >= u.size) {
        await rm(state, { force: true });
        const batchId = res.headers.get('Migration-Batch-Id');
        if (!batchId) throw new CliError('the server finished the upload but named no batch');
        return { batchId, serverStart };
      }
    }
  } finally {
    await fh.close();
  }
}
