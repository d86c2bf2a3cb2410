/**
 * docs/format.md §1c: structured-clone values ⇄ JSON. "JSON values stand for themselves.
 * Values JSON cannot hold are tagged objects" — `{"$t": <tag>, ...}`.
 *
 * Decoding never yields typed arrays, Blobs or Files: binary data becomes a
 * `BinaryValue` ({ kind, bytes: Buffer, ... }) because Node has no synchronous Blob
 * and the migrator only needs the bytes. Round trip therefore holds on decoded values:
 * `decodeValue(encodeValue(x))` deep-equals `x` for every x that decodeValue can return.
 */
import { types } from 'node:util';
import { MAX_VALUE_DEPTH } from './bounds';
import { DumpFormatError, formatPath } from './errors';

const BUFFER_KINDS = {
  ArrayBuffer: 1, DataView: 1, Int8Array: 1, Uint8Array: 1, Uint8ClampedArray: 1,
  Int16Array: 2, Uint16Array: 2, Float16Array: 2, Int32Array: 4, Uint32Array: 4,
  Float32Array: 4, Float64Array: 8, BigInt64Array: 8, BigUint64Array: 8,
} as const;

export type BufferKind = keyof typeof BUFFER_KINDS;

export interface BlobValue {
  kind: 'Blob' | 'File';
  type: string;
  size: number;
  bytes: Buffer;
  name?: string;
  lastModified?: number;
}

export interface BufferSourceValue {
  kind: BufferKind;
  bytes: Buffer;
}

export type BinaryValue = BlobValue | BufferSourceValue;

/** True for `{ kind, bytes: Buffer }` objects. Plain JSON can never hold a Buffer, so this is unambiguous. */
export function isBinaryValue(v: unknown): v is BinaryValue {
  if (v === null || typeof v !== 'object') return false;
  const { kind, bytes } = v as { kind?: unknown; bytes?: unknown };
  return Buffer.isBuffer(bytes) && typeof kind === 'string' &&
    (kind === 'Blob' || kind === 'File' || Object.hasOwn(BUFFER_KINDS, kind));
}

/** An encoded tagged object: a non-array object with an own `$t` key. */
export function isTagged(v: unknown): v is { $t: string; [k: string]: unknown } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, '$t');
}

type Path = Array<string | number>;
type Obj = Record<string, unknown>;

/** Assigns without the `__proto__` setter, as JSON.parse does. */
function setOwn(o: Obj, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function badTag(path: Path, tag: string, what: string): never {
  const where = formatPath(path) || '(root)';
  throw new DumpFormatError('dump_invalid_tag',
    `The "${tag}" tagged value at ${where} is malformed: ${what}. Re-export the dump with an uploader that follows docs/format.md §1c.`,
    { path: where });
}

// Date.parse alone accepts almost anything ("sk-123" is a date to V8); §1c says ISO 8601.
const ISO_DATE_TIME = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * An ISO 8601 date-time naming a real instant: a day the month has (V8 reads 2026-02-30 as March 2), hours
 * 00–23 (it reads T24:00 as the next day), minutes and seconds 00–59, an offset of at most ±23:59.
 */
export function isIsoDateTime(s: string): boolean {
  const m = ISO_DATE_TIME.exec(s);
  if (!m || Number.isNaN(Date.parse(s))) return false;
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((p) => (p === undefined ? undefined : Number(p))) as number[];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
function bytesOf(t: Obj, path: Path): Buffer {
  const b64 = t.b64;
  if (typeof b64 !== 'string' || !B64.test(b64) || b64.length % 4 === 1) badTag(path, String(t.$t), '"b64" must be a base64 string');
  return Buffer.from(b64, 'base64');
}

/**
 * The codec recurses, so it bounds nesting itself, at the same MAX_VALUE_DEPTH the readers enforce (a value
 * they accept always decodes): any caller, not only the readers, gets a DumpFormatError for a deeper value
 * (or a cyclic one, for encodeValue) instead of a stack overflow.
 */
function tooDeep(path: Path): never {
  const where = formatPath(path) || '(root)';
  throw new DumpFormatError('dump_value_too_deep', `The value at ${where} nests arrays/objects more than ${MAX_VALUE_DEPTH} levels deep (MAX_VALUE_DEPTH).`, { path: where, maxDepth: MAX_VALUE_DEPTH });
}

/**
 * Decodes §1c tags anywhere inside `encoded` (up to MAX_VALUE_DEPTH levels). Does not mutate its input.
 * `at` prefixes error paths, e.g. `['value']`. Throws DumpFormatError
 * `dump_unknown_tag` / `dump_invalid_tag` / `dump_value_too_deep`.
 */
export function decodeValue(encoded: unknown, at: ReadonlyArray<string | number> = []): unknown {
  return decode(encoded, [...at], 1);
}

/** `depth`: the nesting level `encoded` has if it is an array or object (the root is 1, as in depthExceeds). */
function decode(encoded: unknown, path: Path, depth: number): unknown {
  if (encoded === null || typeof encoded !== 'object') return encoded;
  if (depth > MAX_VALUE_DEPTH) tooDeep(path);
  if (Array.isArray(encoded)) {
    return encoded.map((item, i) => { path.push(i); const d = decode(item, path, depth + 1); path.pop(); return d; });
  }
  if (isTagged(encoded)) return decodeTagged(encoded, path, depth);
  return decodeObject(encoded as Obj, path, depth);
}

function decodeObject(o: Obj, path: Path, depth: number): Obj {
  if (depth > MAX_VALUE_DEPTH) tooDeep(path);
  const out: Obj = {};
  for (const k of Object.keys(o)) { path.push(k); setOwn(out, k, decode(o[k], path, depth + 1)); path.pop(); }
  return out;
}

function decodeTagged(t: Obj, path: Path, depth: number): unknown {
  const tag = t.$t;
  const v = t.v;
  // `levels`: how far below the tag object `x` sits in the encoded form (v: 1, a Set item or Map pair: 2…).
  const inner = (x: unknown, seg: string | number, levels = 2) => { path.push(seg); const d = decode(x, path, depth + levels); path.pop(); return d; };
  switch (tag) {
    case 'Date': // "an invalid date: "v":null"
      if (v === null) return new Date(NaN);
      if (typeof v !== 'string' || !isIsoDateTime(v)) badTag(path, tag, '"v" must be an ISO 8601 string or null');
      return new Date(v);
    case 'undefined':
      return undefined;
    case 'number':
      switch (v) {
        case 'NaN': return NaN;
        case 'Infinity': return Infinity;
        case '-Infinity': return -Infinity;
        case '-0': return -0;
        default: return badTag(path, tag, '"v" must be "NaN", "Infinity", "-Infinity" or "-0"');
      }
    case 'bigint':
      if (typeof v !== 'string' || !/^-?\d+$/.test(v)) badTag(path, tag, '"v" must be a decimal integer string');
      return BigInt(v);
    case 'Map':
      if (!Array.isArray(v)) badTag(path, tag, '"v" must be an array of [key, value] pairs');
      return new Map(v.map((pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2) badTag(path, tag, `"v[${i}]" must be a [key, value] pair`);
        path.push('v', i);
        const entry: [unknown, unknown] = [inner(pair[0], 0, 3), inner(pair[1], 1, 3)];
        path.length -= 2;
        return entry;
      }));
    case 'Set':
      if (!Array.isArray(v)) badTag(path, tag, '"v" must be an array');
      path.push('v');
      try { return new Set(v.map((x, i) => inner(x, i))); } finally { path.pop(); }
    case 'RegExp': {
      const { source, flags } = (v ?? {}) as { source?: unknown; flags?: unknown };
      if (typeof source !== 'string' || typeof flags !== 'string') badTag(path, tag, '"v" must be {"source","flags"} strings');
      try { return new RegExp(source, flags); } catch { return badTag(path, tag, 'not a valid regular expression'); }
    }
    case 'Blob':
    case 'File': {
      const bytes = bytesOf(t, path);
      if (typeof t.type !== 'string') badTag(path, tag, '"type" must be a string');
      if (t.size !== bytes.length) badTag(path, tag, `"size" must equal the decoded byte count (${bytes.length})`);
      const out: BlobValue = { kind: tag, type: t.type, size: bytes.length, bytes };
      if (tag === 'File') {
        if (typeof t.name !== 'string' || typeof t.lastModified !== 'number') badTag(path, tag, '"name" (string) and "lastModified" (number) are required');
        out.name = t.name;
        out.lastModified = t.lastModified;
      }
      return out;
    }
    case 'Object': // "a plain object that itself has a "$t" key": its keys are data, not tags
      if (v === null || typeof v !== 'object' || Array.isArray(v)) badTag(path, tag, '"v" must be an object');
      path.push('v');
      try { return decodeObject(v as Obj, path, depth + 1); } finally { path.pop(); }
    default: {
      if (typeof tag === 'string' && Object.hasOwn(BUFFER_KINDS, tag)) {
        const kind = tag as BufferKind;
        const bytes = bytesOf(t, path);
        if (bytes.length % BUFFER_KINDS[kind] !== 0) badTag(path, tag, `byte length must be a multiple of ${BUFFER_KINDS[kind]}`);
        return { kind, bytes } satisfies BufferSourceValue;
      }
      const where = formatPath(path) || '(root)';
      const shown = typeof tag === 'string' ? `"${tag.slice(0, 40)}"` : `a non-string ${typeof tag}`;
      throw new DumpFormatError('dump_unknown_tag',
        `Unknown tag ${shown} at ${where}. Version 1 knows the tags of docs/format.md §1c; an object that really has a "$t" key must be wrapped as {"$t":"Object","v":{...}}.`,
        { path: where });
    }
  }
}

/**
 * Encodes a JS value (as structured clone would hold it) into §1c JSON. Other objects
 * are copied as plain objects of their own enumerable keys, as structured clone does;
 * functions and symbols throw `dump_unsupported_value`.
 */
export function encodeValue(value: unknown, at: ReadonlyArray<string | number> = []): unknown {
  return encode(value, [...at], 1);
}

/** `depth`: the nesting level the encoded form of `value` has if it is a container (see decode). */
function encode(value: unknown, path: Path, depth: number): unknown {
  switch (typeof value) {
    case 'string': case 'boolean': return value;
    case 'undefined': return { $t: 'undefined' };
    case 'bigint': return { $t: 'bigint', v: value.toString() };
    case 'number':
      if (Object.is(value, -0)) return { $t: 'number', v: '-0' };
      return Number.isFinite(value) ? value : { $t: 'number', v: String(value) }; // "NaN", "Infinity", "-Infinity"
    case 'function': case 'symbol': {
      const where = formatPath(path) || '(root)';
      throw new DumpFormatError('dump_unsupported_value', `A ${typeof value} at ${where} cannot be stored in a dump (structured clone cannot hold it either).`, { path: where });
    }
  }
  if (value === null) return null;
  if (depth > MAX_VALUE_DEPTH) tooDeep(path);
  const inner = (x: unknown, seg: string | number, levels = 1) => { path.push(seg); const e = encode(x, path, depth + levels); path.pop(); return e; };
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    // Holes have no JSON form; they come back as undefined, which is what reading them gives.
    for (let i = 0; i < value.length; i++) out[i] = i in value ? inner(value[i], i) : { $t: 'undefined' };
    return out;
  }
  // util.types checks work across realms (vm contexts, jest), unlike instanceof.
  if (types.isDate(value)) return { $t: 'Date', v: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (types.isRegExp(value)) return { $t: 'RegExp', v: { source: value.source, flags: value.flags } };
  if (types.isMap(value)) return { $t: 'Map', v: [...value].map(([k, v], i) => [inner(k, i, 3), inner(v, i, 3)]) };
  if (types.isSet(value)) return { $t: 'Set', v: [...value].map((x, i) => inner(x, i, 2)) };
  if (types.isAnyArrayBuffer(value)) return { $t: 'ArrayBuffer', b64: Buffer.from(value as ArrayBuffer).toString('base64') };
  if (ArrayBuffer.isView(value)) {
    // A Buffer reports itself as Uint8Array, which is what the browser would have held.
    const kind = types.isDataView(value) ? 'DataView' : Object.prototype.toString.call(value).slice(8, -1);
    return { $t: kind, b64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (isBinaryValue(value)) {
    const b64 = value.bytes.toString('base64');
    if (value.kind !== 'Blob' && value.kind !== 'File') return { $t: value.kind, b64 };
    const base = { $t: value.kind, type: value.type, size: value.bytes.length };
    return value.kind === 'File' ? { ...base, name: value.name, lastModified: value.lastModified, b64 } : { ...base, b64 };
  }
  const out: Obj = {};
  for (const k of Object.keys(value as Obj)) setOwn(out, k, inner((value as Obj)[k], k));
  // "a plain object that itself has a "$t" key" is escaped so it is not read as a tag.
  return Object.hasOwn(out, '$t') ? { $t: 'Object', v: out } : out;
}
