/** The CLI's HTTP client: the API with a token, errors turned into one readable line. */
export interface CliContext {
  url: string;
  token: string;
}

export class CliError extends Error {}

/**
 * A JSON body from the API, read field by field as the server documents it (docs/http-api.md). The CLI
 * imports nothing of the server (not even its types), so these bodies stay untyped here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type ApiJson = any;

/** How often one request is retried after a 429 (or a 503 with Retry-After), and the longest wait accepted. */
export const RETRY_LIMIT = 3;
export const MAX_WAIT_S = 120;

/** `Retry-After` as seconds (delay-seconds or an HTTP-date, RFC 9110 §10.2.3); null if absent or unreadable. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Sends `send()` again after the server's Retry-After when it answers 429 (rate limited) or 503 with a
 * Retry-After (busy): neither applied the request, so repeating it is safe, also for POSTs. Bounded
 * (RETRY_LIMIT times, waits up to MAX_WAIT_S) and said on stderr, so a script never hangs silently;
 * past that the last answer is returned and reported as an error by the caller.
 */
export async function withRetryAfter(send: () => Promise<Response>, say: (line: string) => void = (l) => process.stderr.write(l)): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await send();
    const wait = res.status === 429 || res.status === 503 ? retryAfterSeconds(res.headers.get('Retry-After')) ?? (res.status === 429 ? 1 : null) : null;
    if (wait === null || attempt > RETRY_LIMIT || wait > MAX_WAIT_S) return res;
    await res.body?.cancel().catch(() => undefined);
    const why = res.status === 429 ? 'rate limited' : 'server busy';
    say(`${why} (HTTP ${res.status}): waiting ${wait} s as the server asks (Retry-After), then retry ${attempt} of ${RETRY_LIMIT}\n`);
    await new Promise((r) => setTimeout(r, wait * 1000));
  }
}

export async function call(ctx: CliContext, method: string, path: string, body?: unknown): Promise<ApiJson> {
  let res: Response;
  try {
    res = await withRetryAfter(() => fetch(new URL(path, ctx.url), {
      method,
      headers: { Authorization: `Bearer ${ctx.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }));
  } catch (err) {
    throw new CliError(`cannot reach ${ctx.url}: ${(err as Error).message}`);
  }
  const text = await res.text();
  const json = text ? safeJson(text) : null;
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } })?.error;
    throw new CliError(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}`.trim());
  }
  return json;
}

function safeJson(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}
