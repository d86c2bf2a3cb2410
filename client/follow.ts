/**
 * Follows a batch after upload: polls `GET /v1/batches/:id` (CONTRACT §2), reports every change of a
 * phase's progress, and fetches the report once the batch reaches a terminal status.
 */
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
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API's `{"error":{code,message}}` body as an Error, or a generic one for anything else. */
export function apiError(status: number, body: string, what: string): ApiError {
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    if (e?.message) return new ApiError(status, e.code ?? 'error', e.message);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(status, 'http_error', `${what} failed with HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
}

async function getJson<T>(url: string, token: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, signal });
  const text = await res.text();
  if (!res.ok) throw apiError(res.status, text, `GET ${url}`);
  return JSON.parse(text) as T;
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
      // A flaky network or a restarting API must not end the wait; a 4xx (bad token, no such batch) does.
      const status = (err as ApiError).status;
      if (opts.signal?.aborted || (status >= 400 && status < 500) || ++transientFailures > 10) throw err;
      await wait(Math.min(interval * 2 ** transientFailures, 10000), opts.signal);
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
      const report = await getJson<BatchReport>(`${url}/report`, opts.token, opts.signal).catch(() => null);
      opts.onProgress?.({ stage: 'done', batch, report });
      return { batch, report };
    }
    await wait(interval, opts.signal);
  }
}
