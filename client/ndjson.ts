/**
 * docs/format.md §1b: the dump as NDJSON — header line, one entry per line, trailer `{"end":true,"entries":N}`.
 *
 * `entryLines()` is the one place that decides what a line says; `serialize()` keeps the lines as strings
 * (small dumps and tests), `summarize()` only counts them, and upload() turns them into a Blob and two
 * digests in one pass without keeping any of them (ndjsonBlob.ts).
 */
import type { Dump, DumpSummary, Json, StoreDump, Tally } from './types';

export interface SerializedDump {
  /** The header line, newline included. */
  header: string;
  /** Entry lines and the trailer line, each with its newline. */
  body: string[];
  entries: number;
  summary: DumpSummary;
}

/** An entry's reference (what a delta's removal names) and its value as the line carries it. */
export interface EntryRef {
  area: 'localStorage' | 'sessionStorage' | 'indexedDB';
  db?: string;
  store?: string;
  /** The Web Storage key, or the §1c-encoded IndexedDB key. */
  key: unknown;
  value: unknown;
}

/** One entry line (without its newline) and the tallies its bytes count towards (total excluded). */
export interface EntryLine {
  line: string;
  tallies: Tally[];
  /** The entry itself (no copy: the dump's own objects), for deltas to compare and to name removals. */
  entry: EntryRef;
}

/** UTF-8 byte length without encoding (JSON.stringify output has no lone surrogates: it escapes them). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

const tally = (): Tally => ({ entries: 0, bytes: 0 });

export function emptySummary(): DumpSummary {
  return { total: tally(), localStorage: tally(), sessionStorage: tally(), indexedDB: tally(), databases: [] };
}

/** Adds one line of `bytes` (newline included) to the total and to its own tallies. */
export function count(summary: DumpSummary, e: Pick<EntryLine, 'tallies'>, bytes: number): void {
  summary.total.entries += 1;
  summary.total.bytes += bytes;
  for (const t of e.tallies) { t.entries += 1; t.bytes += bytes; }
}

export function headerLine(dump: Pick<Dump, 'format' | 'version' | 'source'>): string {
  return JSON.stringify({ format: dump.format, version: dump.version, source: dump.source }) + '\n';
}

export function trailerLine(entries: number): string {
  return JSON.stringify({ end: true, entries }) + '\n';
}

/**
 * The entry lines in dump order, one at a time (so a caller can drop each once it is used). Database and
 * store tallies are added to `summary` as they are reached, empty stores included; the caller counts bytes.
 */
export function* entryLines(dump: Dump, summary: DumpSummary): Generator<EntryLine> {
  for (const area of ['localStorage', 'sessionStorage'] as const) {
    for (const { key, value } of dump[area]) yield { line: kvLine(area, key, value), tallies: [summary[area]], entry: { area, key, value } };
  }
  for (const db of dump.indexedDB) {
    const dbTally = databaseTally(summary, db);
    for (const s of db.stores) {
      const storeTally = storeTallyOf(dbTally, s.name);
      const line = idbLineMaker(db, s);
      for (const r of s.records) {
        yield { line: line(r.key, r.value), tallies: [summary.indexedDB, dbTally, storeTally], entry: { area: 'indexedDB', db: db.name, store: s.name, key: r.key, value: r.value } };
      }
    }
  }
}

/** A Web Storage entry's line (without its newline). */
export function kvLine(area: 'localStorage' | 'sessionStorage', key: string, value: string): string {
  return JSON.stringify({ area, key, value });
}

/** The line maker for one store's records: (§1c key, §1c value) → the entry's line (without its newline). */
export function idbLineMaker(db: { name: string; version: number }, s: Omit<StoreDump, 'records'>): (key: Json, value: Json) => string {
  const fields = idbLineFields(db, s);
  return (key, value) => JSON.stringify({ ...fields, key, value });
}

/**
 * The same line in pieces, for a large value: `head(key)` is everything before the value (`…,"value":`),
 * then jsonPieces(value), then `}`. Byte for byte what idbLineMaker() gives, without the whole line ever
 * being one string (a line of hundreds of KB would be one large heap object per record).
 */
export function idbLineHead(db: { name: string; version: number }, s: Omit<StoreDump, 'records'>): (key: Json) => string {
  const fields = idbLineFields(db, s);
  // `value` comes last in the line, so the head is the line of the other fields, opened up again.
  return (key) => JSON.stringify({ ...fields, key }).slice(0, -1) + ',"value":';
}

function idbLineFields(db: { name: string; version: number }, s: Omit<StoreDump, 'records'>) {
  // A §1b line has no store-level record, so the schema rides on each entry (indexes only when any).
  const schema = { keyPath: s.keyPath, autoIncrement: s.autoIncrement, ...(s.indexes.length ? { indexes: s.indexes } : {}) };
  return { area: 'indexedDB' as const, db: db.name, dbVersion: db.version, store: s.name, ...schema };
}

/** Characters per piece of a long string in jsonPieces(). */
const STRING_PIECE = 16 * 1024;

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

/**
 * What JSON.stringify escapes in a string (ES2019 "well-formed JSON.stringify"): `"`, `\`, control
 * characters below U+0020 and lone surrogates. Nothing else (not U+007F, not U+2028/U+2029).
 */
// eslint-disable-next-line no-control-regex -- the control characters are exactly what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * JSON.stringify(value) as a series of short strings (their concatenation is exactly that text), for a
 * §1c-encoded value: plain JSON (null, booleans, finite numbers, strings, arrays, objects of own
 * enumerable keys — no undefined, functions or toJSON, which §1c encoding never leaves). Long strings are
 * escaped a piece at a time, never between the halves of a surrogate pair (a lone surrogate is escaped by
 * JSON.stringify, a pair is not, so a cut there would change the text).
 */
export function* jsonPieces(value: Json): Generator<string> {
  if (typeof value === 'string') {
    if (value.length > STRING_PIECE && !NEEDS_ESCAPE.test(value)) {
      // Nothing to escape: the string is its own JSON text between quotes, so no copy of it is made.
      yield '"';
      yield value;
      yield '"';
      return;
    }
    if (value.length <= STRING_PIECE) {
      yield JSON.stringify(value);
      return;
    }
    yield '"';
    for (let at = 0; at < value.length;) {
      let end = Math.min(value.length, at + STRING_PIECE);
      if (end < value.length && isHighSurrogate(value.charCodeAt(end - 1))) end--;
      yield JSON.stringify(value.slice(at, end)).slice(1, -1);
      at = end;
    }
    yield '"';
  } else if (value === null || typeof value !== 'object') {
    yield JSON.stringify(value);
  } else if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      yield* jsonPieces(value[i]);
    }
    yield ']';
  } else {
    let sep = '{';
    for (const k of Object.keys(value)) {
      yield sep + JSON.stringify(k) + ':';
      sep = ',';
      yield* jsonPieces(value[k]);
    }
    yield sep === '{' ? '{}' : '}';
  }
}

/** Roughly how many characters `value` takes as JSON, counting only up to `limit` (then it stops looking). */
export function roughJsonChars(value: Json, limit: number): number {
  let n = 0;
  const walk = (v: Json): void => {
    if (n >= limit) return;
    if (typeof v === 'string') n += v.length + 2;
    else if (v === null || typeof v !== 'object') n += 5;
    else if (Array.isArray(v)) { n += 2; for (const x of v) { walk(x); if (n >= limit) return; } }
    else { n += 2; for (const k of Object.keys(v)) { n += k.length + 4; walk(v[k]); if (n >= limit) return; } }
  };
  walk(value);
  return n;
}

/** A database's tally, added to the summary (empty databases are listed too). */
export function databaseTally(summary: DumpSummary, db: { name: string; version: number }): DumpSummary['databases'][number] {
  const t = { name: db.name, version: db.version, ...tally(), stores: [] as DumpSummary['databases'][number]['stores'] };
  summary.databases.push(t);
  return t;
}

/** A store's tally, added to its database's (empty stores are listed too). */
export function storeTallyOf(dbTally: DumpSummary['databases'][number], name: string): Tally {
  const t = { name, ...tally() };
  dbTally.stores.push(t);
  return t;
}

/** Every line as a string: a second copy of the dump, so for small dumps and tests only. */
export function serialize(dump: Dump): SerializedDump {
  const body: string[] = [];
  const summary = emptySummary();
  for (const e of entryLines(dump, summary)) {
    const text = e.line + '\n';
    body.push(text);
    count(summary, e, utf8Length(text));
  }
  const entries = summary.total.entries;
  body.push(trailerLine(entries));
  return { header: headerLine(dump), body, entries, summary };
}

/** The summary alone (the demo shows it before anything is sent); keeps no line. */
export function summarize(dump: Dump): DumpSummary {
  const summary = emptySummary();
  for (const e of entryLines(dump, summary)) count(summary, e, utf8Length(e.line) + 1);
  return summary;
}

/** The whole dump as one NDJSON string; for small dumps and tests (upload() builds a Blob instead). */
export function toNdjson(dump: Dump): string {
  const s = serialize(dump);
  return s.header + s.body.join('');
}
