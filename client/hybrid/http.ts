/**
 * The API as the hybrid client sees it: bearer token, JSON, ETags, and every failure sorted by what the
 * caller should do about it — retry later (network, 5xx, 429), look again (412), stop and tell the app
 * (401/403), or give the write up to the conflict log (other 4xx).
 */
import { parseRetryAfter } from './pure';

export type FailureKind = 'network' | 'transient' | 'conflict' | 'not_found' | 'exists' | 'auth' | 'rejected';

export class ApiFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly status: number,
    readonly code: string,
    message: string,
    /** From `Retry-After` (429/503), in ms. */
    readonly retryAfterMs: number | null = null,
    readonly details: unknown = undefined,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  /** Worth retrying as is, later. */
  get transient(): boolean {
    return this.kind === 'network' || this.kind === 'transient';
  }
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  etag: string | null;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (NDJSON deltas); `body` is JSON-encoded otherwise. */
  rawBody?: Blob | string;
  contentType?: string;
  ifMatch?: string | null;
  signal?: AbortSignal;
}

function kindOf(status: number): FailureKind {
  if (status === 412) return 'conflict';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 409) return 'exists';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'rejected';
}

export class Api {
  readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(apiOrigin: string, private readonly token: string, fetchFn?: typeof fetch) {
    this.base = apiOrigin.replace(/\/+$/, '');
    // Bound: a bare `fetch` reference called as a method of another object throws "Illegal invocation".
    this.fetchFn = fetchFn ?? globalThis.fetch.bind(globalThis);
  }

  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    let body: BodyInit | undefined;
    if (o.rawBody !== undefined) {
      body = o.rawBody;
      headers['Content-Type'] = o.contentType ?? 'application/octet-stream';
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['Content-Type'] = o.contentType ?? 'application/json';
    }
    if (o.ifMatch) headers['If-Match'] = o.ifMatch;
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, { method, headers, body, signal: o.signal, cache: 'no-store' });
    } catch (err) {
      if (o.signal?.aborted) throw err;
      throw new ApiFailure('network', 0, 'network_error', `${method} ${path}: the API could not be reached (${(err as Error).message})`);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) throw failure(res, text, `${method} ${path}`);
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed as T, etag: res.headers.get('ETag') };
  }
}

function failure(res: Response, text: string, what: string): ApiFailure {
  let code = 'http_error';
  let message = `${what} failed with HTTP ${res.status}`;
  let details: unknown;
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } }).error;
    if (e?.code) code = e.code;
    if (e?.message) message = e.message;
    details = e?.details;
  } catch {
    // not the API's JSON error (a proxy's page): the generic message stands
  }
  return new ApiFailure(kindOf(res.status), res.status, code, message, parseRetryAfter(res.headers.get('Retry-After')), details);
}
