/**
 * Direct-to-S3 upload (docs/http-api.md §2b): when the server stores dumps in S3 it offers
 * `/v1/uploads/direct`, and a large dump goes from the page straight to the bucket in parts of at least
 * 5 MiB, through short-lived presigned PUT URLs, several parts at a time; the API only hands out URLs and
 * at the end verifies and assembles them (whole SHA-256, validation, batch) — the same finish as tus.
 *
 * Integrity per part: each part's URL is asked for with the MD5 of its bytes and signs it as Content-MD5,
 * so S3 refuses a part altered on the way; the ETag S3 answers (its MD5 of what it stored) is compared here
 * too, and the server compares every stored part again before assembling. A refused part is sent again.
 *
 * Resuming: the upload is remembered in the same resume store as tus uploads (same fingerprint, the same
 * header line, so the same bytes), with its uploadId; the next call asks the server which parts it holds
 * (`GET …/parts`) and sends only the others. Takes the upload as a Blob plus its sha256: nothing here
 * needs the dump itself.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { apiError, ApiError } from './follow';
import { parseRetryAfter } from './hybrid/pure';
import { ResumeStore, type StoredUpload } from './resumeStore';
import type { MigrationProgress } from './types';

/** What `GET /v1/uploads/direct` answers when the server offers direct uploads. */
export interface DirectCapabilities {
  available: boolean;
  minPartSize?: number;
  defaultPartSize?: number;
  maxParts?: number;
  maxSize?: number;
}

export interface DirectParams {
  /** API base with `/v1`. */
  apiBase: string;
  token: string;
  websiteId?: string;
  /** The layout the server maps the dump with; the server's default when absent. */
  layout?: string;
  /** 'gzip' when the file is the dump gzip-compressed (its sha256 is then that of the compressed bytes). */
  contentEncoding?: 'gzip';
  /** The resume store's fingerprint (the same tus uses) and the header line the file was built with. */
  fingerprint: string;
  header: string;
  sha256: string;
  filename: string;
  contentType: string;
  /** Bytes per part (every part but the last; at least 5 MiB). @defaultValue the server's default (8 MiB) */
  partSize?: number;
  /** Parts in flight at once. @defaultValue 4 */
  parallel?: number;
  /** Waits (ms) before each retry of one part (or one API call); its length is the number of retries. */
  retryDelays: number[];
  onProgress?: (p: MigrationProgress) => void;
  signal?: AbortSignal;
}

export const DEFAULT_DIRECT_PARALLEL = 4;

interface DirectRecord extends StoredUpload {
  direct: { uploadId: string; apiBase: string };
}

interface UploadView {
  uploadId: string;
  status: string;
  size: number;
  partSize: number;
  parts: number;
  batchId?: string;
}

/**
 * Whether the server offers direct uploads (null when it does not, or cannot say: the caller uses tus).
 * An API without the route (an older server) answers 404, which means "no" too.
 */
export async function directCapabilities(apiBase: string, token: string, signal?: AbortSignal): Promise<DirectCapabilities | null> {
  try {
    const res = await fetch(`${apiBase}/uploads/direct`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, signal });
    if (!res.ok) return null;
    const caps = (await res.json()) as DirectCapabilities;
    return caps.available ? caps : null;
  } catch (err) {
    if (signal?.aborted) throw err;
    return null;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal?.reason ?? new Error('aborted')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Worth trying again: the network, a 5xx, a 429 (after its Retry-After), an expired URL (403 from S3). */
function retryable(status: number): boolean {
  return status === 0 || status === 429 || status === 408 || status >= 500;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export async function sendDirect(file: Blob, p: DirectParams): Promise<{ batchId: string; resumed: boolean }> {
  const store = new ResumeStore(p.header);
  const delays = p.retryDelays;

  /** One JSON call to the API, retried on the network, 5xx and 429; anything else is final (ApiError). */
  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let text = '';
      let retryAfter: string | null = null;
      try {
        const res = await fetch(`${p.apiBase}/uploads/direct${path}`, {
          method,
          headers: { Authorization: `Bearer ${p.token}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
          signal: p.signal,
        });
        status = res.status;
        text = await res.text();
        retryAfter = res.headers.get('Retry-After');
        if (res.ok) return { status, body: (text ? JSON.parse(text) : {}) as T };
      } catch (err) {
        if (p.signal?.aborted) throw err;
      }
      if (!retryable(status) || attempt >= delays.length) throw status ? withDetails(apiError(status, text, 'The direct upload'), text) : new Error('The direct upload could not reach the API.');
      await sleep(Math.max(status === 429 ? 1000 : 0, parseRetryAfter(retryAfter) ?? delays[attempt]), p.signal);
    }
  }

  // Resume: the same bytes (size and sha256) remembered with an uploadId on this API.
  const remembered = (await store.findUploadsByFingerprint(p.fingerprint)).find(
    (r): r is DirectRecord => 'direct' in r && (r as DirectRecord).direct?.apiBase === p.apiBase && r.size === file.size && r.metadata?.sha256 === p.sha256,
  );
  let upload: UploadView | null = null;
  let done = new Map<number, string>(); // part → ETag
  let recordKey: string | null = null;
  if (remembered) {
    try {
      const listed = await api<UploadView & { stored: { n: number; etag: string; ok: boolean }[] }>('GET', `/${remembered.direct.uploadId}/parts`);
      upload = listed.body;
      if (upload.status === 'completed' && upload.batchId) {
        await store.removeUpload(remembered.urlStorageKey);
        return { batchId: upload.batchId, resumed: true };
      }
      done = new Map(listed.body.stored.filter((s) => s.ok).map((s) => [s.n, s.etag]));
      recordKey = remembered.urlStorageKey;
    } catch (err) {
      if (!(err instanceof ApiError) || ![404, 410].includes(err.status)) throw err;
      await store.removeUpload(remembered.urlStorageKey); // expired or gone: start afresh
      upload = null;
    }
  }
  const resumed = upload !== null;
  if (!upload) {
    upload = (await api<UploadView>('POST', '', {
      filename: p.filename, contentType: p.contentType, sha256: p.sha256, size: file.size,
      ...(p.websiteId ? { websiteId: p.websiteId } : {}), ...(p.layout ? { layout: p.layout } : {}),
      ...(p.contentEncoding ? { contentEncoding: p.contentEncoding } : {}), ...(p.partSize ? { partSize: p.partSize } : {}),
    })).body;
    const record: DirectRecord = {
      size: file.size, metadata: { sha256: p.sha256, filename: p.filename }, creationTime: new Date().toISOString(), uploadUrl: null, parallelUploadUrls: null,
      urlStorageKey: '', // the store names it
      direct: { uploadId: upload.uploadId, apiBase: p.apiBase },
    };
    recordKey = await store.addUpload(p.fingerprint, record);
  }
  const u = upload;
  const partBlob = (n: number) => file.slice((n - 1) * u.partSize, Math.min(file.size, n * u.partSize));
  const resumedFrom = resumed ? [...done.keys()].reduce((sum, n) => sum + partBlob(n).size, 0) : null;
  let sent = resumedFrom ?? 0;
  p.onProgress?.({ stage: 'upload', bytesSent: sent, bytesTotal: file.size, resumedFrom });

  /** Sends one part: its MD5, a URL signing it, the PUT; retried (with a new URL) until S3 has it intact. */
  async function sendPart(n: number): Promise<void> {
    const bytes = new Uint8Array(await partBlob(n).arrayBuffer());
    const digest = md5(bytes);
    const md5b64 = base64(digest);
    const expected = bytesToHex(digest);
    for (let attempt = 0; ; attempt++) {
      const signed = (await api<{ url: string; headers: Record<string, string> }>('POST', `/${u.uploadId}/parts/${n}`, { md5: md5b64 })).body;
      let status = 0;
      let retryAfter: string | null = null;
      let problem: string;
      let noEtag = false;
      try {
        const res = await fetch(signed.url, { method: 'PUT', body: bytes, headers: signed.headers, signal: p.signal });
        status = res.status;
        retryAfter = res.headers.get('Retry-After');
        const etag = (res.headers.get('ETag') ?? '').replace(/"/g, '').toLowerCase();
        if (res.ok && etag === expected) {
          done.set(n, etag);
          sent += bytes.length;
          p.onProgress?.({ stage: 'upload', bytesSent: sent, bytesTotal: file.size, resumedFrom });
          return;
        }
        if (res.ok) {
          // S3 stored other bytes than these (or the bucket's CORS hides ETag: docs/operations.md).
          noEtag = !etag;
          status = 0;
          problem = `part ${n} arrived altered (ETag ${etag}, expected ${expected})`;
        } else {
          problem = `part ${n}: S3 answered ${status} ${(await res.text()).slice(0, 200)}`;
          // BadDigest (400) is S3 refusing an altered part; 403 may be a URL that expired while waiting.
          if (status === 400 || status === 403) status = 0;
        }
      } catch (err) {
        if (p.signal?.aborted) throw err;
        problem = `part ${n}: ${(err as Error).message}`;
      }
      if (noEtag) throw new Error('S3 answered a part without an ETag the page can read: the bucket\'s CORS rule must expose the ETag header (docs/operations.md).');
      if (!retryable(status) || attempt >= delays.length) throw new Error(`The direct upload gave up on ${problem}.`);
      await sleep(Math.max(status === 429 ? 1000 : 0, parseRetryAfter(retryAfter) ?? delays[attempt]), p.signal);
    }
  }

  /** Every part not yet stored, `parallel` at a time; the first failure stops the others. */
  async function sendMissing(): Promise<void> {
    const queue: number[] = [];
    for (let n = 1; n <= u.parts; n++) if (!done.has(n)) queue.push(n);
    let failed: unknown = null;
    const worker = async () => {
      while (queue.length > 0 && failed === null) {
        const n = queue.shift()!;
        try {
          await sendPart(n);
        } catch (err) {
          failed ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(p.parallel ?? DEFAULT_DIRECT_PARALLEL, queue.length)) }, worker));
    if (failed !== null) throw failed;
  }

  for (let round = 0; ; round++) {
    await sendMissing();
    try {
      const parts = [...done].map(([n, etag]) => ({ n, etag })).sort((a, b) => a.n - b.n);
      const completed = (await api<{ batchId: string }>('POST', `/${u.uploadId}/complete`, { parts })).body;
      if (recordKey) await store.removeUpload(recordKey);
      return { batchId: completed.batchId, resumed };
    } catch (err) {
      // Parts the server found missing, short or altered are sent again (once more per round).
      const details = err instanceof ApiError ? partsNamed(err) : null;
      if (!details || round >= 2) {
        if (err instanceof ApiError && err.code === 'upload_digest_mismatch' && recordKey) await store.removeUpload(recordKey); // the server removed it
        throw err;
      }
      for (const n of details) done.delete(n);
    }
  }
}

type DetailedApiError = ApiError & { details?: { missing?: number[]; parts?: (number | { n: number })[] } };

/** The error's `details` (which parts a completion refused), kept beside the message. */
function withDetails(err: ApiError, body: string): DetailedApiError {
  try {
    (err as DetailedApiError).details = (JSON.parse(body) as { error?: { details?: DetailedApiError['details'] } }).error?.details;
  } catch {
    // not JSON: no details
  }
  return err;
}

/** The part numbers a completion refusal names (upload_parts_missing, …_size_mismatch, …_digest_mismatch). */
function partsNamed(err: DetailedApiError): number[] | null {
  const details = err.details;
  if (!['upload_parts_missing', 'upload_part_size_mismatch', 'upload_part_digest_mismatch', 'upload_part_etag_mismatch'].includes(err.code)) return null;
  const list = details?.missing ?? details?.parts?.map((x) => (typeof x === 'number' ? x : x.n));
  return list && list.length > 0 ? list : [];
}
