/**
 * Strings that reach Postgres text (bodies, query filters): U+0000 and lone UTF-16 surrogates are refused
 * with a 400 where they arrive; Postgres would refuse the first (a 500) and the driver would quietly turn
 * the second into U+FFFD, so two different strings would become one (two tenants, for a token's user).
 */
import { parse as parseQueryString } from 'node:querystring';
import { z } from 'zod';
import { AppError } from '../core/errors';
import { isStorableText } from '../format';

export const storableText = (max: number, min = 0) =>
  z.string().min(min).max(max).refine(isStorableText, 'must not contain U+0000 or a lone surrogate');

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const ESCAPE = /%([0-9A-Fa-f]{2})/g;

/** URL percent-decoding (a `%` not followed by two hex digits stays as it is), then strict UTF-8: undefined where not UTF-8. */
function percentDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  let last = 0;
  for (const m of s.matchAll(ESCAPE)) {
    bytes.push(...Buffer.from(s.slice(last, m.index), 'utf8'), parseInt(m[1], 16));
    last = m.index + 3;
  }
  bytes.push(...Buffer.from(s.slice(last), 'utf8'));
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Express' query parser ("query parser" setting), strict: the query string parsed as the default ("simple",
 * node:querystring) parses it, but a name or value whose escapes are not UTF-8 (`%FF`, an encoded surrogate
 * `%ED%A0%80`) or that holds U+0000 is a 400 `invalid_query`, where the default would have decoded it into
 * U+FFFD and gone on with another string than the client sent. A `%` not followed by two hex digits stays a
 * `%`, as URLSearchParams reads it.
 */
export function parseQueryStrictly(query: string): Record<string, string | string[]> {
  let bad: string | undefined;
  const decode = (s: string) => {
    const text = percentDecode(s);
    if (text !== undefined && isStorableText(text)) return text;
    bad ??= s;
    return s;
  };
  const parsed = parseQueryString(query, '&', '=', { decodeURIComponent: decode });
  if (bad !== undefined) {
    throw new AppError(400, 'invalid_query', `The query string holds ${JSON.stringify(bad.slice(0, 60))}, which is not percent-encoded UTF-8 text (or holds U+0000): encode each name and value with encodeURIComponent.`);
  }
  return parsed as Record<string, string | string[]>;
}
