/**
 * Entry points for reading a dump in either encoding (CONTRACT §1a / §1b).
 *
 *   const { header, entries } = await openDump(req, 'ndjson');
 *   for await (const entry of entries) { ... }   // may throw DumpFormatError, even at the end
 *
 * Nothing here buffers the whole input: memory is bounded by the largest single entry.
 */
import { DumpFormatError } from './errors';
import { openJsonDocument } from './jsonDocument';
import { openNdjson } from './ndjson';
import type { DumpArea, DumpEncoding, DumpEntry, DumpHeader, DumpInput, DumpReader } from './types';

/**
 * Opens a dump: reads and validates the header, then returns a lazy, single-pass
 * `entries` generator. Header problems reject this promise; entry problems, truncation
 * and count mismatches are thrown by `entries` (the last two only when the input ends,
 * so a consumer that must refuse a truncated dump as a whole reads everything first).
 */
export async function openDump(input: DumpInput, encoding: DumpEncoding): Promise<DumpReader> {
  if (encoding === 'ndjson') return openNdjson(input);
  if (encoding === 'json') return openJsonDocument(input);
  throw new DumpFormatError('dump_unsupported_encoding',
    `Unknown dump encoding "${String(encoding).slice(0, 40)}": send application/json (CONTRACT §1a) or application/x-ndjson (§1b).`);
}

export interface DumpCounts {
  localStorage: number;
  sessionStorage: number;
  indexedDB: number;
  total: number;
}

/** Reads the whole dump and counts its entries; throws the first DumpFormatError found. */
export async function validateDump(input: DumpInput, encoding: DumpEncoding): Promise<{ header: DumpHeader; counts: DumpCounts }> {
  const { header, entries } = await openDump(input, encoding);
  const counts: DumpCounts = { localStorage: 0, sessionStorage: 0, indexedDB: 0, total: 0 };
  for await (const entry of entries) {
    counts[entry.area satisfies DumpArea]++;
    counts.total++;
  }
  return { header, counts };
}

/**
 * A stable, human-readable reference to an entry, for reports and logs:
 * `localStorage:contentTypes`, `indexedDB:catalyst_global/websites/"website_1"`.
 * IndexedDB keys are JSON-encoded (as in the dump) so that 1 and "1" stay distinct.
 */
export function entryRef(e: DumpEntry): string {
  if (e.area === 'indexedDB') return `indexedDB:${e.db}/${e.store}/${JSON.stringify(e.key)}`;
  return `${e.area}:${e.key}`;
}
