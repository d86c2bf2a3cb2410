/** Small pure helpers shared by the Catalyst transforms. */
import type { ElementReject, Row, TransformContext, TransformResult } from '../types';

export type Obj = Record<string, unknown>;

/** A plain object (not an array, Date, Buffer...). */
export function isRecord(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export type Parsed = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * localStorage/sessionStorage values are raw strings; chat values in IndexedDB are JSON strings too
 * (§2.10: `store.put(JSON.stringify(data), key)`). A non-string value is taken as already decoded.
 * The parser's message is NOT repeated: V8 quotes the input in it, and the input may hold a secret.
 */
export function parseJson(raw: unknown): Parsed {
  if (typeof raw !== 'string') return { ok: true, value: raw };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false, reason: `value is not valid JSON (${raw.length} characters); kept raw in the dump entry` };
  }
}

/** A rejected whole entry. */
export function rejected(reason: string, extra: Partial<TransformResult> = {}): TransformResult {
  return { outcome: 'rejected', reason, ...extra };
}

/**
 * URL-safe lower-case slug: camelCase/PascalCase words are split (`BlogPost` → `blog-post`), accents
 * dropped, anything else becomes `-`. Empty result → `fallback`. At most `max` characters.
 */
export function slugify(name: string, fallback = 'item', max = 200): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return s || fallback;
}

/** Text columns: strings as is, anything else as its JSON (brief: "non-string → JSON.stringify"). */
export function textOf(v: unknown, missing = ''): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return missing;
  if (typeof v === 'bigint') return v.toString();
  try {
    // A bigint anywhere inside (§1c decodes them) is written as its decimal text: JSON would throw on it. Not
    // String(v) as a fallback: an object whose `toString` is data (an IndexedDB value can be anything) throws.
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? missing;
  } catch {
    return Object.prototype.toString.call(v);
  }
}

export function objOr<T>(v: unknown, fallback: T): Obj | T {
  return isRecord(v) ? v : fallback;
}

/**
 * Element keys for deterministic row ids: the element's own id when it has one, else its index. A key
 * seen twice in one array gets `#<index>` so two source elements never collapse into one row id.
 */
export class ElementKeys {
  private readonly seen = new Set<string>();
  key(id: unknown, index: number): string {
    let k = typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : String(index);
    if (this.seen.has(k)) k = `${k}#${index}`;
    this.seen.add(k);
    return k;
  }
}

/** Common columns of every migrated row (entities/MigratedRow.ts); batchId is the pipeline's. */
export function row(ctx: TransformContext, id: string, sourceId: string, cols: Obj): Row {
  return { id, userId: ctx.userId, sourceId, ...cols };
}

/** Rejects an element whose text would not fit its varchar column (Postgres would fail the whole statement). */
export function fits(v: string, max: number, path: string, rejects: ElementReject[]): boolean {
  if (v.length <= max) return true;
  rejects.push({ path, code: 'value_too_long', reason: `${path} has ${v.length} characters; the column holds at most ${max}` });
  return false;
}

/** Keys of `o` other than `known`, for notes about data that has no column. */
export function otherKeys(o: Obj, known: readonly string[]): string[] {
  return Object.keys(o).filter((k) => !known.includes(k) && o[k] !== undefined);
}

/**
 * TransformResult requires an outcome when no rows were produced: every element rejected → 'rejected';
 * a legitimately empty value (e.g. the default `{pages:[]...}` section) → 'migrated' with a reason.
 */
export function finish(result: TransformResult, emptyReason?: string): TransformResult {
  const count = Object.values(result.rows ?? {}).reduce((n, rs) => n + (rs?.length ?? 0), 0);
  if (count > 0 || result.outcome) return result;
  if (result.rejects?.length) {
    return { ...result, outcome: 'rejected', reason: `every element was rejected (${result.rejects.length} rejects; see them for reasons)` };
  }
  return { ...result, outcome: 'migrated', reason: emptyReason ?? 'nothing to write (empty value)' };
}

/** What happened to one source entry when several are merged into shared rows (see index.ts groupTransforms). */
export interface EntryOutcome {
  seq: number;
  outcome: 'migrated' | 'preserved' | 'rejected';
  reason?: string;
  /** Element-level rejects that belong to THIS entry (batch_rejects rows are per entry). */
  rejects?: ElementReject[];
}

/** A merge over a group of entries: the rows (in `result`, whose own `rejects` stay empty) and per-entry outcomes. */
export interface GroupResult {
  result: TransformResult;
  outcomes: EntryOutcome[];
}

/** True when a section record holds nothing but `id` and empty defaults (§2.11 createWebsite defaults). */
export function isEmptyRecord(v: unknown): boolean {
  if (!isRecord(v)) return false;
  return Object.entries(v).every(([k, x]) =>
    k === 'id' || x === undefined || x === null || (Array.isArray(x) && x.length === 0) || (isRecord(x) && Object.keys(x).length === 0));
}
