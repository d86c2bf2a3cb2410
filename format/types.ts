/**
 * Types of the `browser-storage-dump` format, version 1 (docs/format.md §1).
 * Entries are the unit every consumer works with: both encodings (1a JSON document,
 * 1b NDJSON) are read into the same flat sequence of `DumpEntry` values.
 */
import type { RawJsonString } from './rawStrings';

export const DUMP_FORMAT = 'browser-storage-dump';
export const DUMP_VERSION = 1;

/** §1a: "all optional but capturedAt"; unknown fields are kept, the contract may grow. */
export interface DumpSource {
  app?: string;
  origin?: string;
  userAgent?: string;
  capturedAt: string;
  [k: string]: unknown;
}

export interface DumpHeader {
  format: 'browser-storage-dump';
  version: 1;
  source: DumpSource;
}

export interface KvEntry {
  area: 'localStorage' | 'sessionStorage';
  key: string;
  /** The raw stored string, never parsed here. */
  value: string;
}

/** §1a `indexes[]` of a store; only present on entries read from a JSON document. */
export interface IdbIndex {
  name: string;
  keyPath: string | string[];
  unique?: boolean;
  multiEntry?: boolean;
  [k: string]: unknown;
}

export interface IdbEntry {
  area: 'indexedDB';
  db: string;
  dbVersion: number;
  store: string;
  /** null for stores with out-of-line keys (also the default when a line omits it). */
  keyPath: string | string[] | null;
  autoIncrement?: boolean;
  indexes?: IdbIndex[];
  /** Still encoded per §1c; use `decodeValue` to get JS values. */
  key: unknown;
  /** Still encoded per §1c; use `decodeValue` to get JS values. */
  value: unknown;
}

export type DumpEntry = KvEntry | IdbEntry;
export type DumpArea = DumpEntry['area'];

/**
 * A removal, only in a delta (docs/cutover.md): the entry with this reference was removed since the base
 * batch's snapshot. `{"op":"delete","area":...,"key":...}` (+ `db`, `store` for IndexedDB); no value.
 */
export type DumpRemoval =
  | { op: 'delete'; area: 'localStorage' | 'sessionStorage'; key: string }
  | { op: 'delete'; area: 'indexedDB'; db: string; store: string; key: unknown };

/** What a reader yields: entries, and in a delta also removals. */
export type DumpItem = DumpEntry | DumpRemoval;

export const isRemoval = (i: DumpItem | RawDumpItem): i is DumpRemoval => (i as { op?: unknown }).op === 'delete';

/**
 * What a reader opened with `rawStrings` yields: a Web Storage value on a long NDJSON line may come as the
 * bytes of its JSON text (format/rawStrings.ts), for a consumer that stores it as such (ingest) or only
 * counts (validation).
 */
export type RawKvEntry = Omit<KvEntry, 'value'> & { value: string | RawJsonString };
export type RawDumpEntry = RawKvEntry | IdbEntry;
export type RawDumpItem = RawDumpEntry | DumpRemoval;

/** Options of openDump / openDelta. */
export interface ReadOptions {
  /** Values of long NDJSON lines may come as RawJsonString (RawDumpEntry); other encodings ignore it. */
  rawStrings?: boolean;
}

/** 'json' = §1a (application/json), 'ndjson' = §1b (application/x-ndjson). */
export type DumpEncoding = 'json' | 'ndjson';

/** What `openDump` accepts: any Node readable, or any async iterable of bytes/text. */
export type DumpInput = NodeJS.ReadableStream | AsyncIterable<Buffer | Uint8Array | string>;

/**
 * An opened dump. `entries` is single-pass and lazy: it pulls input only as it is
 * iterated, and throws `DumpFormatError` where a problem is found — including at the
 * very end (missing trailer, count mismatch), after all earlier entries were yielded.
 * Leaving the loop early (break/throw) stops reading and destroys a Node stream input.
 */
export interface DumpReader<T extends DumpItem | RawDumpItem = DumpEntry> {
  header: DumpHeader;
  entries: AsyncGenerator<T, void, undefined>;
  /**
   * Always true for NDJSON. False only for a 1a document whose `format`/`version`/`source`
   * come after its entry arrays: `header` is then an empty object that is filled in (same
   * object) once validated, before `entries` finishes; a bad header is thrown by `entries`.
   */
  headerComplete: boolean;
}
