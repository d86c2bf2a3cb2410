/**
 * The delta (docs/cutover.md, "Deltas"): a new snapshot compared entry by entry with the server's
 * watermark — the latest batch's staged entries, each with the sha256 of its value as the NDJSON line
 * carries it (`JSON.stringify` of the §1c-encoded value; for Web Storage, of the stored string). Changed
 * and added entries go in full, entries the watermark has and the snapshot has not go as
 * `{"op":"delete",…}` removals. An unchanged snapshot gives a delta with no entries (its batch writes nothing).
 *
 * Entries whose watermark digest is null (secret-bearing kinds, sealed at rest) are always re-sent: the
 * server cannot tell us their digest, and rewriting an equal value changes no row.
 */
import { entryLines, emptySummary, headerLine, trailerLine, type EntryRef } from '../ndjson';
import { sha256HexOf } from '../digest';
import type { Dump } from '../types';
import { canonical } from './pure';

/** One watermark line of `GET /v1/batches/:id/entries`. */
export interface WatermarkEntry {
  area: string;
  key: unknown;
  db?: string | null;
  store?: string | null;
  sha256: string | null;
}

export interface Delta {
  /** The NDJSON file to POST. */
  file: Blob;
  changed: number;
  added: number;
  removed: number;
  unchanged: number;
  /** Lines between header and trailer (changes + removals). */
  entries: number;
}

/** One string per entry reference: area, database, store and (canonical) key. */
export function refOf(e: { area: string; key: unknown; db?: string | null; store?: string | null }): string {
  return canonical([e.area, e.db ?? null, e.store ?? null, e.key]);
}

const encoder = new TextEncoder();

/** Hex sha256 of the value's JSON text, as the watermark computes it. */
export function valueDigest(value: unknown): string {
  return sha256HexOf(encoder.encode(JSON.stringify(value)));
}

function removal(w: WatermarkEntry): string {
  const ref: Record<string, unknown> = { op: 'delete', area: w.area };
  if (w.area === 'indexedDB') { ref.db = w.db; ref.store = w.store; }
  ref.key = w.key;
  return JSON.stringify(ref);
}

export function buildDelta(dump: Dump, watermark: WatermarkEntry[]): Delta {
  const known = new Map<string, WatermarkEntry>();
  for (const w of watermark) known.set(refOf(w), w);
  const lines: string[] = [];
  let changed = 0, added = 0, unchanged = 0;
  for (const { line, entry } of entryLines(dump, emptySummary())) {
    const ref = refOf(entry as EntryRef);
    const w = known.get(ref);
    known.delete(ref);
    if (!w) { added++; lines.push(line + '\n'); continue; }
    if (w.sha256 !== null && w.sha256 === valueDigest(entry.value)) { unchanged++; continue; }
    changed++;
    lines.push(line + '\n');
  }
  // What is left was in the watermark and is no longer in the browser: removed since.
  for (const w of known.values()) lines.push(removal(w) + '\n');
  const removed = known.size;
  const header = headerLine(dump);
  const file = new Blob([header, ...lines, trailerLine(lines.length)], { type: 'application/x-ndjson' });
  return { file, changed, added, removed, unchanged, entries: lines.length };
}
