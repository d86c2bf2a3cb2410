/**
 * Follows a batch after upload: polls `GET /v1/batches/:id` (docs/http-api.md §2), reports every change of a
 * phase's progress, and fetches the report once the batch reaches a terminal status.
 */
import { parseRetryAfter } from './hybrid/pure';
import type { BatchReport, BatchStatus, MigrationProgress } from './types';

/** Statuses after which nothing more happens without an operator (retry/rollback). */
export const TERMINAL_STATUSES = ['completed', 'needs_attention', 'failed', 'rolled_back'];

export interface FollowOptions {
  /** API base including `/v1`, e.g. `https://migrate.example.com/v1`. */
  apiBase: string;
  token: string;
  /** @defaultValue 500 */
  pollIntervalMs?: number;
  onProgress?: (p: MigrationProgress) => void;
  signal?: AbortSignal;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly retryAfterMs: number | null = null) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API's `{"error":{code,message}}` body as an Error, or a generic one for anything else. */
export function apiError(status: number, body: string, what: string, retryAfterMs: number | null = null): ApiError {
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    if (e?.message) return new ApiError(status, e.code ?? 'error', e.message, retryAfterMs);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(status, 'http_error', `${what} failed with HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`, retryAfterMs);
}

async function getJson<T>(url: string, token: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, signal });
  const text = await res.text();
  if (!res.ok) throw apiError(res.status, text, `GET ${url}`, parseRetryAfter(res.headers.get('Retry-After')));
  return JSON.parse(text) as T;
}

/** A 429 (rate limited) is not the answer: wait the server's Retry-After and ask again, a few times. */
async function getJsonPatiently<T>(url: string, token: string, signal?: AbortSignal, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await getJson<T>(url, token, signal);
    } catch (err) {
      const e = err as ApiError;
      if (e.status !== 429 || i >= tries || signal?.aborted) throw err;
      await wait(e.retryAfterMs ?? 1000, signal);
    }
  }
}

const wait = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });

/** Only progress the caller has not seen yet is reported (polling returns the same state often). */
function fingerprint(b: BatchStatus): string {
  return JSON.stringify([b.status, b.phases.map((p) => [p.name, p.status, p.done, p.total, p.rejected])]);
}

export async function followBatch(batchId: string, opts: FollowOptions): Promise<{ batch: BatchStatus; report: BatchReport | null }> {
  const base = opts.apiBase.replace(/\/+$/, '');
  const url = `${base}/batches/${encodeURIComponent(batchId)}`;
  const interval = opts.pollIntervalMs ?? 500;
  let seen = '';
  let transientFailures = 0;
  let graceLeft = 20;
  for (;;) {
    let batch: BatchStatus;
    try {
      batch = await getJson<BatchStatus>(url, opts.token, opts.signal);
      transientFailures = 0;
    } catch (err) {
      // A flaky network, a restarting API or a rate limit (429) must not end the wait; another 4xx (bad
      // token, no such batch) does. A 429 or 503 says when to ask again (Retry-After): not before.
      const { status, retryAfterMs } = err as ApiError;
      if (opts.signal?.aborted || (status >= 400 && status < 500 && status !== 429) || ++transientFailures > 10) throw err;
      await wait(Math.max(retryAfterMs ?? 0, Math.min(interval * 2 ** transientFailures, 10000)), opts.signal);
      continue;
    }
    const f = fingerprint(batch);
    if (f !== seen) {
      seen = f;
      opts.onProgress?.({ stage: 'processing', batch });
    }
    // The batch status and its last phase's row are written one after the other, so a poll can see a
    // terminal batch whose last phase still says `running`; a few more polls let that settle.
    const terminal = TERMINAL_STATUSES.includes(batch.status);
    const settling = terminal && batch.phases.some((ph) => ph.status === 'running') && graceLeft-- > 0;
    if (terminal && !settling) {
      const report = await getJsonPatiently<BatchReport>(`${url}/report`, opts.token, opts.signal).catch(() => null);
      opts.onProgress?.({ stage: 'done', batch, report });
      return { batch, report };
    }
    await wait(interval, opts.signal);
  }
}
