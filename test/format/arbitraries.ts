/**
 * fast-check arbitraries for the property tests: strings that hold what a browser can store (U+0000, lone
 * surrogates, astral characters, JSON's own delimiters), §1c values in their decoded form (every tag), and
 * whole dumps in both encodings' shape. Also the test-side oracles (equality, storable text), written apart
 * from format/ so a property never checks the code against itself.
 */
import fc from 'fast-check';
import { types } from 'node:util';
import type { BinaryValue } from '../../format';

/** A seed from FC_SEED replays a failure printed by fc.assert ("seed: …, path: …"). */
export const fcParams = (numRuns: number): fc.Parameters<unknown> =>
  process.env.FC_SEED ? { numRuns, seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : { numRuns };

const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const tricky = fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00', '"', '\\', '\n', '\r', '\u2028', '\ufeff', '$t', 'é', '{', '[');
export const anyString = fc.string({ unit: fc.oneof(codeUnit, tricky, fc.constantFrom('a', 'b', '1', ' ')), maxLength: 10 });
/** Text a browser app plausibly writes (for names that should usually be legal). */
export const plainString = fc.string({ unit: fc.constantFrom('a', 'b', 'z', '_', '-', '1', 'é', '🙂'), minLength: 1, maxLength: 8 });
const objectKey = fc.oneof(anyString, fc.constantFrom('__proto__', '$t', 'constructor', 'toString', '0', 'length', 'v'));

/** Postgres text can hold it: no U+0000, no lone surrogate (the oracle, independent of format/bounds.ts). */
export function storableText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** An own property even for "__proto__", as JSON.parse makes it. */
export function objectOf(pairs: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const MS = 8.64e15;
export const anyDate = fc.oneof(fc.integer({ min: -MS, max: MS }).map((t) => new Date(t)), fc.constant(new Date(NaN)));
const regexp = fc.tuple(fc.constantFrom('a+', '', '(?:x|y)*', '\\u{1F600}', '[\\]]', '^$'), fc.subarray(['d', 'g', 'i', 'm', 's', 'u', 'y']))
  .map(([src, flags]) => new RegExp(src, flags.includes('u') || !src.includes('\\u{') ? flags.join('') : [...flags, 'u'].join('')));
const bytes = (multiple = 1) => fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a.subarray(0, a.length - (a.length % multiple))));
const SIZES = { ArrayBuffer: 1, DataView: 1, Int8Array: 1, Uint8Array: 1, Uint8ClampedArray: 1, Int16Array: 2, Uint16Array: 2, Float16Array: 2, Int32Array: 4, Uint32Array: 4, Float32Array: 4, Float64Array: 8, BigInt64Array: 8, BigUint64Array: 8 } as const;
const bufferSource = fc.constantFrom(...(Object.keys(SIZES) as (keyof typeof SIZES)[]))
  .chain((kind) => bytes(SIZES[kind]).map((b): BinaryValue => ({ kind, bytes: b })));
const blob = fc.tuple(anyString, bytes()).map(([type, b]): BinaryValue => ({ kind: 'Blob', type, size: b.length, bytes: b }));
const file = fc.tuple(anyString, bytes(), anyString, fc.integer({ min: -MS, max: MS }))
  .map(([type, b, name, lastModified]): BinaryValue => ({ kind: 'File', type, size: b.length, bytes: b, name, lastModified }));

/** Every scalar and leaf a §1c decode can return. */
const leaf = fc.oneof(
  fc.constant(null), fc.boolean(), anyString, fc.double(), fc.integer(), fc.bigInt(), fc.constant(undefined),
  anyDate, regexp, bufferSource, blob, file,
);

/** Values as decodeValue returns them (the domain on which encode∘decode must round-trip). */
export const decodedValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown>; map: Map<unknown, unknown>; set: Set<unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('map'), tie('set')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.array(fc.tuple(objectKey, tie('value')), { maxLength: 4 }).map(objectOf),
  map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((p) => new Map(p)),
  set: fc.array(tie('value'), { maxLength: 3 }).map((a) => new Set(a)),
})).value;

/** Deep equality on decoded values: NaN = NaN, -0 ≠ 0, invalid Dates equal, Maps and Sets in order. */
export function same(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (a === null || b === null || typeof a !== 'object') return Object.is(a, b);
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (types.isDate(a) || types.isDate(b)) return types.isDate(a) && types.isDate(b) && Object.is(a.getTime(), b.getTime());
  if (types.isRegExp(a) || types.isRegExp(b)) return types.isRegExp(a) && types.isRegExp(b) && a.source === b.source && a.flags === b.flags;
  if (types.isMap(a) || types.isMap(b)) return types.isMap(a) && types.isMap(b) && same([...a], [...b]);
  if (types.isSet(a) || types.isSet(b)) return types.isSet(a) && types.isSet(b) && same([...a], [...b]);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** `depth` levels of alternating arrays and objects around a scalar: exactly `depth` deep. */
export function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

// ---- whole dumps ----

export interface GenStore { name: string; keyPath?: string | string[] | null; autoIncrement?: boolean; indexes?: Record<string, unknown>[]; records: { key: unknown; value: unknown }[] }
export interface GenDb { name: string; version: number; stores: GenStore[] }
export interface GenDump {
  source: Record<string, unknown>;
  localStorage: { key: string; value: string }[];
  sessionStorage: { key: string; value: string }[];
  indexedDB: GenDb[];
  /** Top-level key order of the JSON document (entries come in this order too). */
  order: string[];
  /** Depth of a value nested into the first record, if any: legal up to MAX_VALUE_DEPTH (1000). */
  deep: number | null;
}

/** Mostly plain names, sometimes anything (empty, U+0000, a lone surrogate: refused with the dump). */
const name = fc.oneof({ weight: 6, arbitrary: plainString }, { weight: 1, arbitrary: anyString });
const keyPath = fc.option(fc.oneof(fc.constant(null), plainString, fc.array(plainString, { minLength: 1, maxLength: 2 })), { nil: undefined });
const index = fc.record({ name: anyString, keyPath: fc.oneof(plainString, fc.array(plainString, { maxLength: 2 })), unique: fc.boolean() }, { requiredKeys: ['name', 'keyPath'] });

export function encodedWith(encode: (v: unknown) => unknown): fc.Arbitrary<unknown> {
  return decodedValue.map((v) => encode(v));
}

export function dumpArb(encode: (v: unknown) => unknown): fc.Arbitrary<GenDump> {
  const encoded = encodedWith(encode);
  const kv = fc.array(fc.record({ key: anyString, value: anyString }), { maxLength: 4 });
  const store = fc.record({
    name, keyPath,
    autoIncrement: fc.option(fc.boolean(), { nil: undefined }),
    indexes: fc.option(fc.array(index, { maxLength: 2 }), { nil: undefined }),
    records: fc.array(fc.record({ key: encoded, value: encoded }), { maxLength: 3 }),
  }).map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as unknown as GenStore);
  const db = fc.record({ name, version: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constant(Number.MAX_SAFE_INTEGER)), stores: fc.array(store, { maxLength: 3 }) });
  const source = fc.record({
    capturedAt: fc.constantFrom('2026-11-28T10:00:00.000Z', '2026-01-01T00:00:00Z', '+010000-01-01T00:00:00+01:00'),
    app: fc.option(anyString, { nil: undefined }),
    custom: fc.option(fc.array(anyString, { maxLength: 2 }), { nil: undefined }),
  }).map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));
  const order = fc.shuffledSubarray(['format', 'version', 'source', 'localStorage', 'sessionStorage', 'indexedDB', 'unknownKey'], { minLength: 7 });
  return fc.record({
    source, localStorage: kv, sessionStorage: kv, indexedDB: fc.array(db, { maxLength: 3 }), order,
    deep: fc.option(fc.integer({ min: 995, max: 1005 }), { freq: 4 }),
  }).map((d) => {
    const first = d.indexedDB.flatMap((b) => b.stores).find((s) => s.records.length > 0);
    if (d.deep !== null && first) first.records[0] = { ...first.records[0], value: nested(d.deep) };
    else d.deep = null;
    return d;
  });
}

/**
 * Whether the dump must be accepted (else it must be refused with a DumpFormatError). NDJSON names a database
 * and store only on the lines of its records, so one without records is not in that encoding at all.
 */
export function isLegal(d: GenDump, encoding: 'json' | 'ndjson' = 'json'): boolean {
  const shown = (s: GenStore) => encoding === 'json' || s.records.length > 0;
  const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(strings) : []);
  return (d.deep === null || d.deep <= 1000)
    && Object.values(d.source).flatMap(strings).every(storableText)
    && d.indexedDB.every((db) => (encoding === 'ndjson' && !db.stores.some(shown)) || (db.name !== '' && storableText(db.name)
      && db.stores.every((s) => !shown(s) || storableText(s.name))));
}

/** The entries a reader must yield, in document order. */
export function expectedEntries(d: GenDump): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const k of d.order) {
    if (k === 'localStorage' || k === 'sessionStorage') for (const e of d[k]) out.push({ area: k, key: e.key, value: e.value });
    if (k !== 'indexedDB') continue;
    for (const db of d.indexedDB) for (const s of db.stores) for (const r of s.records) {
      out.push({
        area: 'indexedDB', db: db.name, dbVersion: db.version, store: s.name, keyPath: s.keyPath ?? null,
        ...(s.autoIncrement !== undefined ? { autoIncrement: s.autoIncrement } : {}),
        ...(s.indexes !== undefined ? { indexes: s.indexes } : {}),
        key: r.key, value: r.value,
      });
    }
  }
  return out;
}

export const HEADER = { format: 'browser-storage-dump', version: 1 } as const;

/** §1a text, keys in `d.order` (a header after the entries included). */
export function toDocument(d: GenDump): string {
  const parts: Record<string, unknown> = {
    ...HEADER, source: d.source, localStorage: d.localStorage, sessionStorage: d.sessionStorage, unknownKey: { skipped: [1, { $t: 'nonsense' }] },
    indexedDB: d.indexedDB.map((db) => ({ name: db.name, version: db.version, stores: db.stores.map((s) => ({ ...s, records: s.records })) })),
  };
  return JSON.stringify(objectOf(d.order.map((k) => [k, parts[k]])));
}

/** §1b text: header, one line per entry (keyPath left out when null half the time), trailer. */
export function toNdjson(d: GenDump, eol: string, finalEol: boolean): string {
  const lines = expectedEntries(d).map((e, i) => JSON.stringify(e.keyPath === null && i % 2 ? { ...e, keyPath: undefined } : e));
  return [JSON.stringify({ ...HEADER, source: d.source }), ...lines, JSON.stringify({ end: true, entries: lines.length })].join(eol) + (finalEol ? eol : '');
}
