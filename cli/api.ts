/** The CLI's HTTP client: the API with a token, errors turned into one readable line. */
export interface CliContext {
  url: string;
  token: string;
}

export class CliError extends Error {}

export async function call(ctx: CliContext, method: string, path: string, body?: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(new URL(path, ctx.url), {
      method,
      headers: { Authorization: `Bearer ${ctx.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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
