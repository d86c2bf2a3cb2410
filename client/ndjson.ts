/**
 * CONTRACT §1b: the dump as NDJSON — header line, one entry per line, trailer `{"end":true,"entries":N}`.
 * Lines stay separate strings (Blob parts), so a large dump is never one giant string.
 */
import type { Dump, DumpSummary, Tally } from './types';

export interface SerializedDump {
  /** The header line, newline included. */
  header: string;
  /** Entry lines and the trailer line, each with its newline. */
  body: string[];
  entries: number;
  summary: DumpSummary;
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
const add = (t: Tally, bytes: number) => { t.entries += 1; t.bytes += bytes; };

export function headerLine(dump: Pick<Dump, 'format' | 'version' | 'source'>): string {
  return JSON.stringify({ format: dump.format, version: dump.version, source: dump.source }) + '\n';
}

export function serialize(dump: Dump): SerializedDump {
  const body: string[] = [];
  const summary: DumpSummary = { total: tally(), localStorage: tally(), sessionStorage: tally(), indexedDB: tally(), databases: [] };
  const push = (line: string, ...tallies: Tally[]) => {
    const text = line + '\n';
    body.push(text);
    const bytes = utf8Length(text);
    for (const t of [summary.total, ...tallies]) add(t, bytes);
  };
  for (const area of ['localStorage', 'sessionStorage'] as const) {
    for (const { key, value } of dump[area]) push(JSON.stringify({ area, key, value }), summary[area]);
  }
  for (const db of dump.indexedDB) {
    const dbTally = { name: db.name, version: db.version, ...tally(), stores: [] as DumpSummary['databases'][number]['stores'] };
    summary.databases.push(dbTally);
    for (const s of db.stores) {
      const storeTally = { name: s.name, ...tally() };
      dbTally.stores.push(storeTally);
      // A §1b line has no store-level record, so the schema rides on each entry (indexes only when any).
      const schema = { keyPath: s.keyPath, autoIncrement: s.autoIncrement, ...(s.indexes.length ? { indexes: s.indexes } : {}) };
      for (const r of s.records) {
        const line = JSON.stringify({ area: 'indexedDB', db: db.name, dbVersion: db.version, store: s.name, ...schema, key: r.key, value: r.value });
        push(line, summary.indexedDB, dbTally, storeTally);
      }
    }
  }
  const entries = summary.total.entries;
  body.push(JSON.stringify({ end: true, entries }) + '\n');
  return { header: headerLine(dump), body, entries, summary };
}

/** The summary alone (the demo shows it before anything is sent). */
export function summarize(dump: Dump): DumpSummary {
  return serialize(dump).summary;
}

/** The whole dump as one NDJSON string; for small dumps and tests (upload() streams Blob parts instead). */
export function toNdjson(dump: Dump): string {
  const s = serialize(dump);
  return s.header + s.body.join('');
}
