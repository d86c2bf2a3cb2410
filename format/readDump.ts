/**
 * Entry points for reading a dump in either encoding (docs/format.md §1a / §1b).
 *
 *   const { header, entries } = await openDump(req, 'ndjson');
 *   for await (const entry of entries) { ... }   // may throw DumpFormatError, even at the end
 *
 * Nothing here buffers the whole input: memory is bounded by the largest single entry.
 */
import { DumpFormatError } from './errors';
import { openJsonDocument } from './jsonDocument';
import { openNdjson, openNdjsonDelta } from './ndjson';
import { isRemoval, type DumpEncoding, type DumpHeader, type DumpInput, type DumpItem, type DumpReader, type RawDumpEntry, type RawDumpItem, type ReadOptions } from './types';

/**
 * Opens a dump: reads and validates the header, then returns a lazy, single-pass
 * `entries` generator. Header problems reject this promise; entry problems, truncation
 * and count mismatches are thrown by `entries` (the last two only when the input ends,
 * so a consumer that must refuse a truncated dump as a whole reads everything first).
 */
export async function openDump(input: DumpInput, encoding: DumpEncoding): Promise<DumpReader>;
export async function openDump(input: DumpInput, encoding: DumpEncoding, opts: ReadOptions): Promise<DumpReader<RawDumpEntry>>;
export async function openDump(input: DumpInput, encoding: DumpEncoding, opts: ReadOptions = {}): Promise<DumpReader<RawDumpEntry>> {
  if (encoding === 'ndjson') return openNdjson(input, opts);
  if (encoding === 'json') return openJsonDocument(input);
  throw new DumpFormatError('dump_unsupported_encoding',
    `Unknown dump encoding "${String(encoding).slice(0, 40)}": send application/json (docs/format.md §1a) or application/x-ndjson (§1b).`);
}

export interface DumpCounts {
  localStorage: number;
  sessionStorage: number;
  indexedDB: number;
  /** Removals (deltas only); not counted per area. */
  removals: number;
  /** Every line between header and trailer: entries and removals. */
  total: number;
}

/**
 * Reads the whole dump and counts its entries; throws the first DumpFormatError found. Removals are
 * allowed only when `delta` is set (a delta, docs/cutover.md). Large string values are not decoded
 * (`rawStrings`): counting needs none of them.
 */
export async function validateDump(input: DumpInput, encoding: DumpEncoding, opts: { delta?: boolean } = {}): Promise<{ header: DumpHeader; counts: DumpCounts }> {
  const read = { rawStrings: true };
  const { header, entries } = opts.delta ? await openDelta(input, encoding, read) : await openDump(input, encoding, read);
  const counts: DumpCounts = { localStorage: 0, sessionStorage: 0, indexedDB: 0, removals: 0, total: 0 };
  for await (const item of entries) {
    if (isRemoval(item)) counts.removals++;
    else counts[item.area]++;
    counts.total++;
  }
  return { header, counts };
}

/** Opens a delta (docs/cutover.md): NDJSON only; its entries may be removals. */
export async function openDelta(input: DumpInput, encoding: DumpEncoding): Promise<DumpReader<DumpItem>>;
export async function openDelta(input: DumpInput, encoding: DumpEncoding, opts: ReadOptions): Promise<DumpReader<RawDumpItem>>;
export async function openDelta(input: DumpInput, encoding: DumpEncoding, opts: ReadOptions = {}): Promise<DumpReader<RawDumpItem>> {
  if (encoding !== 'ndjson') {
    throw new DumpFormatError('dump_unsupported_encoding', 'A delta is sent as NDJSON (application/x-ndjson, docs/format.md §1b with removal lines).');
  }
  return openNdjsonDelta(input, opts);
}

/**
 * A stable, human-readable reference to an entry, for reports and logs:
 * `localStorage:contentTypes`, `indexedDB:catalyst_global/websites/"website_1"`.
 * IndexedDB keys are JSON-encoded (as in the dump) so that 1 and "1" stay distinct.
 */
export function entryRef(e: DumpItem | RawDumpItem): string {
  if (e.area === 'indexedDB') return `indexedDB:${e.db}/${e.store}/${JSON.stringify(e.key)}`;
  return `${e.area}:${e.key}`;
}
