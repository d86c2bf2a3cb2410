/**
 * upload(): sends a dump as NDJSON (§1b) through the resumable upload endpoint (tus 1.0.0, docs/http-api.md §2),
 * or, for a large dump when the server offers it, straight to S3 (s3Upload.ts, §2b; `transport`), then
 * follows the batch the server created until it reaches a terminal status.
 *
 * Resuming after a reload: the fingerprint is the sha256 of the entry lines (not the whole file, whose
 * header carries the new snapshot's `capturedAt`) plus websiteId and endpoint. If an unfinished upload with
 * that fingerprint is remembered (resumeStore.ts), its header line is reused, so the file is byte for byte
 * the one the server holds part of, and tus-js-client asks the server for its offset (HEAD) and continues.
 *
 * Memory: the file is a Blob built in one pass with both digests (ndjsonBlob.ts), so besides the dump the
 * page holds no copy of it; only a resumed upload (another header) reads the Blob back to hash it again.
 */
import { Upload, type DetailedError, type HttpRequest, type HttpResponse } from 'tus-js-client';
import { checksummingHttpStack, shouldRetryChunk } from './chunkChecksum';
import { apiError, followBatch } from './follow';
import { parseRetryAfter } from './hybrid/pure';
import { buildNdjsonBlob, NDJSON_TYPE, ndjsonFile, type Compression, type NdjsonBlob } from './ndjsonBlob';
import { ResumeStore, type StoredUpload } from './resumeStore';
import { sha256HexOfBlob } from './digest';
import { directCapabilities, sendDirect } from './s3Upload';
import type { Dump, MigrationProgress, MigrationResult } from './types';

export interface UploadOptions {
  /**
   * Where the API is: its origin (`https://migrate.example.com`, what the README shows) or the tus endpoint
   * itself (`…/v1/uploads`). An origin, or any URL whose path is `/`, means `<origin>/v1/uploads`.
   * @defaultValue `${location.origin}/v1/uploads`
   */
  endpoint?: string;
  /** An uploader token (docs/http-api.md §2: minted by an admin). */
  token: string;
  /** Source id of the website that global (not per-website) data belongs to; sent as tus metadata. */
  websiteId?: string;
  /** How the server maps the dump (docs/http-api.md §2): `catalyst` (the default) or `generic`; sent as tus metadata. */
  layout?: string;
  onProgress?: (p: MigrationProgress) => void;
  /** Bytes per PATCH. Smaller chunks lose less on a dropped connection. @defaultValue 5 MiB */
  chunkSize?: number;
  /** Waits (ms) before each retry of a failed request; its length is the number of retries. */
  retryDelays?: number[];
  /** Batch status polling interval (ms). @defaultValue 500 */
  pollIntervalMs?: number;
  /** API base with `/v1`, for the batch status. @defaultValue the endpoint without its last segment */
  apiBase?: string;
  /** Stops the upload (it stays resumable) and the waiting. */
  signal?: AbortSignal;
  /**
   * `auto`: straight to S3 (s3Upload.ts) when the server offers it and the file is at least
   * `directThreshold` bytes, else tus; `tus` or `direct` force one (`direct` fails where it is not offered).
   * @defaultValue 'auto'
   */
  transport?: 'auto' | 'tus' | 'direct';
  /** From this size on, `auto` uploads straight to S3. @defaultValue 64 MiB */
  directThreshold?: number;
  /** Direct uploads: bytes per part (at least 5 MiB) and parts in flight. @defaultValue server's (8 MiB), 4 */
  partSize?: number;
  parallel?: number;
  /** `gzip`: compress with CompressionStream where the browser has it (tus metadata `contentEncoding`); `none`. @defaultValue DEFAULT_COMPRESSION */
  compression?: Compression;
}

export const DEFAULT_DIRECT_THRESHOLD = 64 * 1024 * 1024;

/** Exponential backoff, capped: about two minutes of retrying before giving up. */
export const DEFAULT_RETRY_DELAYS = [0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
export const DEFAULT_CHUNK_SIZE = 5 * 1024 * 1024;

/**
 * How long to wait before sending a request the server refused with 429 (rate limited), or null when it
 * is not a 429 or the upload has waited `attempt` times already (as many as `delays` has entries). The
 * server's Retry-After if it gave one, else the backoff delay; at least a second, never less than asked.
 */
export function rateLimitWait(status: number, retryAfter: string | null, attempt: number, delays: number[] = DEFAULT_RETRY_DELAYS): number | null {
  if (status !== 429 || attempt >= delays.length) return null;
  return Math.max(1000, parseRetryAfter(retryAfter) ?? delays[attempt]);
}

/** Hex SHA-256 of a Blob, read slice by slice (any size, bounded memory). */
export function sha256Hex(data: Blob): Promise<string> {
  return sha256HexOfBlob(data);
}

function defaultEndpoint(): string {
  return new URL('/v1/uploads', location.href).href;
}

/** The tus endpoint for what the caller passed: an API origin gets `/v1/uploads`, a full URL is kept. */
export function tusEndpoint(given: string | undefined): string {
  const u = new URL(given ?? defaultEndpoint(), location.href);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/uploads';
  return u.href;
}

/** `https://host/v1/uploads` → `https://host/v1`. */
function apiBaseOf(endpoint: string): string {
  const u = new URL(endpoint, location.href);
  u.pathname = u.pathname.replace(/\/+$/, '').replace(/\/[^/]*$/, '');
  u.search = '';
  return u.href.replace(/\/+$/, '');
}

export async function upload(dump: Dump, opts: UploadOptions): Promise<MigrationResult> {
  return uploadBuilt(dump, await buildNdjsonBlob(dump, { compression: opts.compression }), opts);
}

/**
 * upload() for a dump already built (migrate() builds once, for the summary and the upload). When the built
 * Blob is gzip (`built.contentEncoding`), that goes as metadata `contentEncoding` and sha256 is that of the
 * compressed bytes (docs/format.md §1g).
 */
export async function uploadBuilt(dump: Pick<Dump, 'source'>, built: NdjsonBlob, opts: UploadOptions): Promise<MigrationResult> {
  const endpoint = tusEndpoint(opts.endpoint);
  const fingerprint = `${built.entriesSha256}.${opts.websiteId ?? ''}.${endpoint}${opts.layout ? `.${opts.layout}` : ''}`;
  const previous = (await new ResumeStore().findUploadsByFingerprint(fingerprint)).find((p) => typeof p.header === 'string');
  const usedHeader = previous?.header ?? built.header;
  const file = await ndjsonFile(built, usedHeader);
  // The stored upload's own sha256 metadata is not trusted: a wrong one would fail only at the very end.
  const sha256 = usedHeader === built.header ? built.sha256 : await sha256Hex(file);

  const params = { ...opts, endpoint, fingerprint, sha256, header: usedHeader, capturedAt: dump.source.capturedAt, contentEncoding: built.contentEncoding };
  const direct = await chooseDirect(file, opts, opts.apiBase ?? apiBaseOf(endpoint));
  const sent = direct ? await sendDirect(file, { ...params, ...direct, filename: dumpFilename(params.capturedAt, params.contentEncoding) }) : await sendTus(file, params);
  if (!sent.batchId) {
    // The server had every byte already (an earlier page finished the upload but was gone before reading
    // the answer), so no PATCH carried Migration-Batch-Id. The record is removed on success, so one fresh
    // upload (new header, new digest) gets a batch; re-migrating the same data updates rows in place.
    if (previous) return uploadBuilt(dump, built, opts);
    throw new Error('The upload completed but the server did not report a batch (no Migration-Batch-Id header).');
  }
  opts.onProgress?.({ stage: 'uploaded', batchId: sent.batchId, bytesTotal: file.size });
  const { batch, report } = await followBatch(sent.batchId, {
    apiBase: opts.apiBase ?? apiBaseOf(endpoint),
    token: opts.token,
    pollIntervalMs: opts.pollIntervalMs,
    onProgress: opts.onProgress,
    signal: opts.signal,
  });
  return { batchId: sent.batchId, status: batch.status, batch, report, resumed: sent.resumed };
}

const dumpFilename = (capturedAt: string, contentEncoding?: string) => `dump-${capturedAt.replace(/[:.]/g, '-')}.ndjson${contentEncoding === 'gzip' ? '.gz' : ''}`;

/** Direct-to-S3 or not (UploadOptions.transport); what sendDirect needs besides the tus parameters. */
async function chooseDirect(file: Blob, opts: UploadOptions, apiBase: string) {
  const transport = opts.transport ?? 'auto';
  if (transport === 'tus' || (transport === 'auto' && file.size < (opts.directThreshold ?? DEFAULT_DIRECT_THRESHOLD))) return null;
  if (!(await directCapabilities(apiBase, opts.token, opts.signal))) {
    if (transport === 'direct') throw new Error('The server does not offer direct-to-S3 uploads (GET /v1/uploads/direct): use transport \'tus\' or \'auto\'.');
    return null;
  }
  return { apiBase, contentType: NDJSON_TYPE, retryDelays: opts.retryDelays ?? DEFAULT_RETRY_DELAYS };
}

interface TusParams extends UploadOptions {
  endpoint: string;
  fingerprint: string;
  sha256: string;
  header: string;
  capturedAt: string;
  contentEncoding: 'gzip' | undefined;
}

function sendTus(file: Blob, p: TusParams): Promise<{ batchId: string | null; resumed: boolean }> {
  return new Promise((resolve, reject) => {
    let batchId: string | null = null;
    let resumedFrom: number | null = null;
    const metadata: Record<string, string> = {
      filename: dumpFilename(p.capturedAt, p.contentEncoding),
      contentType: NDJSON_TYPE,
      // The sha256 covers the bytes as uploaded: compressed, when they are.
      sha256: p.sha256,
      ...(p.contentEncoding ? { contentEncoding: p.contentEncoding } : {}),
      ...(p.websiteId ? { websiteId: p.websiteId } : {}),
      ...(p.layout ? { layout: p.layout } : {}),
      ...(p.contentEncoding ? { contentEncoding: p.contentEncoding } : {}),
    };
    // tus-js-client retries 5xx, 409, 423 and network failures by itself (retryDelays), but takes any other
    // 4xx as final, and never reads Retry-After. A 429 wrote nothing, so after the server's Retry-After the
    // upload is simply started again: it asks for the offset (HEAD) and goes on from there.
    const retryDelays = p.retryDelays ?? DEFAULT_RETRY_DELAYS;
    let limitedWaits = 0;
    let restarted = false; // our own restart's HEAD is not "resumed an earlier upload"
    let limitedTimer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      clearTimeout(limitedTimer);
      void up.abort(false); // keep the server's copy: the next call resumes it
      reject(p.signal?.reason ?? new Error('aborted'));
    };
    const settle = (finish: () => void) => {
      p.signal?.removeEventListener('abort', onAbort);
      finish();
    };
    const up: Upload = new Upload(file, {
      endpoint: p.endpoint,
      headers: { Authorization: `Bearer ${p.token}` },
      metadata,
      chunkSize: p.chunkSize ?? DEFAULT_CHUNK_SIZE,
      retryDelays,
      // Every PATCH carries Upload-Checksum of its chunk; a chunk refused with 460 is sent again.
      httpStack: checksummingHttpStack(),
      onShouldRetry: (err) => shouldRetryChunk(err),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      urlStorage: new ResumeStore(p.header),
      fingerprint: async () => p.fingerprint,
      onAfterResponse: (req: HttpRequest, res: HttpResponse) => {
        // "the final PATCH response carries Migration-Batch-Id" (docs/http-api.md §2)
        const id = res.getHeader('Migration-Batch-Id');
        if (id) batchId = id;
        if (req.getMethod() === 'HEAD' && res.getStatus() < 300 && !restarted) resumedFrom = Number(res.getHeader('Upload-Offset') ?? NaN);
      },
      onProgress: (bytesSent, bytesTotal) => p.onProgress?.({ stage: 'upload', bytesSent, bytesTotal, resumedFrom }),
      onChunkComplete: () => { limitedWaits = 0; }, // progress: a later 429 gets the whole budget again
      onSuccess: () => settle(() => resolve({ batchId, resumed: resumedFrom !== null })),
      onError: (err) => {
        const res = (err as DetailedError).originalResponse;
        const delay = res && !p.signal?.aborted ? rateLimitWait(res.getStatus(), res.getHeader('Retry-After') ?? null, limitedWaits, retryDelays) : null;
        if (delay === null) return settle(() => reject(describe(err as DetailedError)));
        limitedWaits++;
        restarted = true;
        limitedTimer = setTimeout(() => up.start(), delay);
      },
    });
    if (p.signal?.aborted) return onAbort();
    p.signal?.addEventListener('abort', onAbort, { once: true });
    up.findPreviousUploads().then((found: StoredUpload[]) => {
      const same = found.find((f) => !('direct' in f) && f.size === file.size && f.metadata?.sha256 === p.sha256);
      if (same) up.resumeFromPreviousUpload(same);
      up.start();
    }, reject);
  });
}

/** tus-js-client's errors quote the whole response; prefer the API's own `{"error":{message}}`. */
function describe(err: DetailedError): Error {
  const res = err.originalResponse;
  if (res && res.getStatus() >= 400) {
    const e = apiError(res.getStatus(), res.getBody() ?? '', 'The upload');
    e.cause = err;
    return e;
  }
  return err;
}
