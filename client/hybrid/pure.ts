/**
 * The hybrid client's pure helpers: no DOM, no IndexedDB, so the Node tests (and the root type-check,
 * which has no DOM lib) can use them directly.
 */
import { sha256HexOf } from '../digest';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with sorted keys: equal values give equal text whatever order the server or app put keys in. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Obj;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** A value's digest, independent of key order (what "the version we saw" is compared by). */
export const digest = (v: unknown): string => sha256HexOf(new TextEncoder().encode(canonical(v)));

/** RFC 7386 patch that turns `from` into `to` (arrays and scalars replace; removed keys become null). */
export function mergeDiff(from: unknown, to: unknown): unknown {
  if (!isObj(to) || !isObj(from)) return to;
  const out: Obj = {};
  for (const k of Object.keys(from)) if (!(k in to)) out[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (canonical(from[k]) === canonical(v) && k in from) continue;
    out[k] = isObj(from[k]) && isObj(v) ? mergeDiff(from[k], v) : v;
  }
  return out;
}

/** `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
