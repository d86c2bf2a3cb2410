/**
 * Dates in the Catalyst layout come two ways (docs/catalyst-layout.md §2.1 "Dates"): ISO strings in
 * localStorage and in the chat JSON (never revived by the app), and real `Date` objects in the
 * IndexedDB website DBs (I2/I3, structured clone; the §1c codec turns an invalid one into `new Date(NaN)`).
 * We accept both, and never guess: anything else is 'invalid' and the caller reports it as an
 * ElementReject with code 'invalid_date'.
 */
import { isStorableDate, type ElementReject } from '../types';

/**
 * ISO 8601 as written by `Date.prototype.toISOString` and friends; a space instead of `T` is tolerated.
 * V8's own parser is NOT used alone because it silently rolls `2025-02-30` over to March 2 (a guess).
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * `null` when there is no value (undefined/null), a fresh `Date` when valid, `'invalid'` otherwise (outside
 * the storable years too). Numbers are epoch milliseconds (`InitialPromptData.timestamp`, §2.9).
 */
export function toDate(v: unknown): Date | null | 'invalid' {
  const d = parseDate(v);
  return d instanceof Date && !isStorableDate(d) ? 'invalid' : d;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal number v[from, to) spells, or -1 if a character there is not a digit. */
function digits(v: string, from: number, to: number): number {
  let x = 0;
  for (let i = from; i < to; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/**
 * The common case, exactly what toISOString writes (`2025-08-12T07:13:20.000Z`, years 100–9999), read
 * digit by digit: a fifth of the cost of the general path below, which gives the same Date for it. Null for
 * anything else, or an impossible day, which the general path then judges.
 */
function canonicalIso(v: string): Date | null {
  if (v.length !== 24 || v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':' || v[19] !== '.' || v[23] !== 'Z') return null;
  const y = digits(v, 0, 4);
  const mo = digits(v, 5, 7);
  const d = digits(v, 8, 10);
  const h = digits(v, 11, 13);
  const mi = digits(v, 14, 16);
  const s = digits(v, 17, 19);
  const ms = digits(v, 20, 23);
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || ms < 0) return null;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : MONTH_DAYS[mo - 1])) return null;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
}

function parseDate(v: unknown): Date | null | 'invalid' {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'invalid' : new Date(v.getTime());
  if (typeof v === 'number') {
    const d = new Date(v);
    return Number.isFinite(v) && !Number.isNaN(d.getTime()) ? d : 'invalid';
  }
  if (typeof v !== 'string') return 'invalid';
  const fast = canonicalIso(v);
  if (fast) return fast;
  const m = ISO.exec(v.trim());
  if (!m) return 'invalid';
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? 0 : Number(x)));
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return 'invalid';
  // No offset → UTC, so the result never depends on the server's time zone (V8 would read local time).
  const text = m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : v.trim().replace(' ', 'T') + (m[7] ? '' : 'Z');
  const parsed = new Date(text);
  return Number.isNaN(parsed.getTime()) ? 'invalid' : parsed;
}

/** A short, safe description of a bad value for a reject reason (values are echoed only when asked). */
export function describeValue(v: unknown, echo: boolean): string {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'an invalid Date object' : 'a Date outside the years 1 to 9999';
  if (typeof v === 'string') return echo && v.length <= 40 ? JSON.stringify(v) : `a string of ${v.length} characters`;
  if (typeof v === 'number') return echo ? String(v) : 'a number';
  return `a value of type ${Array.isArray(v) ? 'array' : typeof v}`;
}

/**
 * Reads an optional date at `path`: an invalid value is reported (code 'invalid_date') and read as
 * null, which callers with a NOT NULL column turn into "the element is not written".
 * `echo` is false for secret-bearing kinds so no reason ever repeats a stored value there.
 */
export function readDate(v: unknown, path: string, rejects: ElementReject[], echo = true): Date | null | 'invalid' {
  const d = toDate(v);
  if (d === 'invalid') {
    const parsed = parseDate(v);
    const why = parsed instanceof Date ? 'outside the years 1 to 9999 a stored date can hold' : 'not a valid date';
    rejects.push({ path, code: 'invalid_date', reason: `${path} is ${describeValue(v, echo)}, ${why}; it was not guessed` });
  }
  return d;
}

/**
 * A NOT NULL date: missing → 'missing_date' reject, invalid → 'invalid_date' reject; both return
 * undefined, meaning "do not write this element".
 */
export function requireDate(v: unknown, path: string, rejects: ElementReject[], echo = true): Date | undefined {
  const d = readDate(v, path, rejects, echo);
  if (d === 'invalid') return undefined;
  if (d === null) {
    rejects.push({ path, code: 'missing_date', reason: `${path} is missing; the target column requires a date` });
    return undefined;
  }
  return d;
}

/** Earliest valid date among `values` (anything toDate accepts), or null. */
export function earliest(values: Iterable<unknown>): Date | null {
  let best: Date | null = null;
  for (const v of values) {
    const d = toDate(v);
    if (d instanceof Date && (best === null || d.getTime() < best.getTime())) best = d;
  }
  return best;
}

/** Sentinel for NOT NULL timestamps the source never had (documented per use): 1970-01-01T00:00:00Z. */
export const UNKNOWN_DATE_MS = 0;
export const unknownDate = (): Date => new Date(UNKNOWN_DATE_MS);
