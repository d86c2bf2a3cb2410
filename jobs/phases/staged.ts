/** Reading staged entries back: keyset pages bounded by count and bytes, so no phase holds a whole dump. */
import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { copyOutText } from '../write/copyBinary';
import { recentlyStaged } from './recentlyStaged';
import { decodeValue, jsonTextNodes, MAX_VALUE_DEPTH, measureJsonText } from '../../format';
import type { SecretBox, SealedSecret } from '../../core/crypto';
import type { EntryKind, SourceEntry } from '../transforms/types';

export interface StagedEntry extends SourceEntry {
  kind: EntryKind;
  /** The entry's raw JSON text as staged (sealed for secret kinds). */
  raw: string;
  entryKey: string;
  sealed: boolean;
}

/** A dump_entries row as the two page queries select it. */
interface StagedRow {
  seq: number;
  area: StagedEntry['area'];
  db_name: StagedEntry['dbName'];
  store_name: StagedEntry['storeName'];
  entry_key: string;
  kind: EntryKind;
  value: string;
  sealed: boolean;
}

function toStaged(r: StagedRow): Omit<StagedEntry, 'value' | 'key'> {
  return { seq: r.seq, area: r.area, dbName: r.db_name, storeName: r.store_name, entryKey: r.entry_key, kind: r.kind, raw: r.value, sealed: r.sealed };
}

const PAGE_ENTRIES = 200;
const PAGE_BYTES = 8 * 1024 * 1024;

/**
 * The most JSON values and object keys one page maps at once, and so the most one entry mapped whole may
 * hold (a larger one is kept raw: entryPhase.ts `unmappable`). Bytes alone do not bound a page's heap: a
 * transform that makes a row per element (website pages, chat messages) took ~1.6 KB of heap per element,
 * and 500,000 `{}` pages in one 1.5 MB IndexedDB record took the worker to 965 MB.
 */
export const PAGE_NODES = 250_000;

export interface EntrySize {
  /** Values and object keys, as bounds.ts counts JSON text (max + 1 once past `max`). */
  nodes: number;
  /** Nesting of a string value's JSON text (MAX_VALUE_DEPTH + 1 once past it; an IndexedDB value's is bounded by the format). */
  depth: number;
}

/** What mapping a decoded entry may build, in one pass: a string's JSON text, or an IndexedDB value's staged §1c JSON. */
export function entrySize(e: StagedEntry, max: number = PAGE_NODES): EntrySize {
  if (typeof e.value === 'string') return measureJsonText(e.value, MAX_VALUE_DEPTH, max);
  return { nodes: e.sealed ? 1 : jsonTextNodes(e.raw, max), depth: 0 };
}

/**
 * Next page of pending entries of the given kinds after `afterSeq`. Always returns at least one entry when
 * any remain, however large; otherwise stops before the page passes PAGE_BYTES.
 */
export async function nextPendingPage(
  m: EntityManager,
  batchId: string,
  kinds: readonly string[],
  afterSeq: number,
  unbounded = false,
): Promise<Omit<StagedEntry, 'value' | 'key'>[]> {
  const rows: StagedRow[] = await m.query(
    `SELECT seq, area, db_name, store_name, entry_key, kind, value, sealed FROM dump_entries
     WHERE batch_id = $1 AND seq IN (
       SELECT seq FROM (
         SELECT seq, sum(value_bytes) OVER (ORDER BY seq) - value_bytes AS before_bytes
         FROM (SELECT seq, value_bytes FROM dump_entries
               WHERE batch_id = $1 AND outcome = 'pending' AND seq > $3 AND kind = ANY($2)
               ORDER BY seq LIMIT $4) limited) p
       WHERE before_bytes < $5)
     ORDER BY seq`,
    [batchId, kinds, afterSeq, unbounded ? 2147483647 : PAGE_ENTRIES, unbounded ? Number.MAX_SAFE_INTEGER : PAGE_BYTES],
  );
  return rows.map(toStaged);
}

/** The pending entries among `seqs`, in seq order (a page planned by planBucketPages). */
export async function pendingBySeq(m: EntityManager, batchId: string, seqs: number[]): Promise<Omit<StagedEntry, 'value' | 'key'>[]> {
  const rows: StagedRow[] = await m.query(
    `SELECT seq, area, db_name, store_name, entry_key, kind, value, sealed FROM dump_entries
     WHERE batch_id = $1 AND seq = ANY($2::int[]) AND outcome = 'pending' ORDER BY seq`,
    [batchId, seqs],
  );
  return rows.map(toStaged);
}

/**
 * Pages for a group transform whose entries must be seen a bucket at a time (GroupTransformSpec.bucketOf):
 * one bounded pass over the pending entries keeps only each bucket's seqs and size, then buckets are packed
 * into pages of at most PAGE_ENTRIES / PAGE_BYTES / PAGE_NODES (a single larger bucket gets a page of its own).
 * Memory: a few numbers per entry, never the values of more than one page.
 */
export async function planBucketPages(
  ds: EntityManager['connection'],
  batchId: string,
  kinds: readonly string[],
  bucketOf: (e: Omit<StagedEntry, 'value' | 'key'>) => { bucket: string; nodes: number },
): Promise<number[][]> {
  const buckets = new Map<string, { seqs: number[]; bytes: number; nodes: number }>();
  for (let after = -1; ;) {
    const page = await nextPendingPage(ds.manager, batchId, kinds, after);
    if (page.length === 0) break;
    for (const e of page) {
      const { bucket, nodes } = bucketOf(e);
      const b = buckets.get(bucket) ?? { seqs: [], bytes: 0, nodes: 0 };
      b.seqs.push(e.seq);
      b.bytes += e.raw.length;
      b.nodes += nodes;
      buckets.set(bucket, b);
    }
    after = page[page.length - 1].seq;
  }
  const pages: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  let nodes = 0;
  for (const b of buckets.values()) {
    if (current.length > 0 && (current.length + b.seqs.length > PAGE_ENTRIES || bytes + b.bytes > PAGE_BYTES || nodes + b.nodes > PAGE_NODES)) {
      pages.push(current);
      current = [];
      bytes = 0;
      nodes = 0;
    }
    current.push(...b.seqs);
    bytes += b.bytes;
    nodes += b.nodes;
  }
  if (current.length > 0) pages.push(current);
  return pages;
}

/**
 * One staged entry as `nextPendingPage` gives it, its value from this process's memory when it staged it
 * just before (recentlyStaged.ts), else read by binary COPY (copyOutText): for the one huge value of a sliced
 * entry (Catalyst's 200,000 content items, ~110 MB) the driver's own read cost ~2 s of the worker's CPU in
 * buffers grown by doubling.
 */
export async function readStagedEntry(ds: DataSource, batchId: string, seq: number): Promise<Omit<StagedEntry, 'value' | 'key'> | undefined> {
  const qr = ds.createQueryRunner();
  try {
    const client = (await qr.connect()) as PoolClient;
    const { rows: [row] } = await client.query<Omit<StagedRow, 'value'> & { value_bytes: number }>(
      `SELECT seq, area, db_name, store_name, entry_key, kind, sealed, value_bytes FROM dump_entries WHERE batch_id = $1 AND seq = $2`, [batchId, seq]);
    if (!row) return undefined;
    const { value_bytes: bytes, ...meta } = row;
    const value = (!meta.sealed && recentlyStaged.take(batchId, seq, bytes))
      || await copyOutText(client, `SELECT value FROM dump_entries WHERE batch_id = ${client.escapeLiteral(batchId)}::uuid AND seq = ${Number(seq)}`);
    return toStaged({ ...meta, value: value ?? '' });
  } finally {
    await qr.release();
  }
}

/** Turns a staged row into what transforms see: KV values stay strings; IndexedDB values are §1c-decoded. */
export function decodeStaged(e: Omit<StagedEntry, "value" | "key">, secrets: SecretBox, batchId: string): StagedEntry {
  const text = e.sealed ? secrets.open(JSON.parse(e.raw) as SealedSecret, sealAad(batchId, e.seq)) : e.raw;
  const isIdb = e.area === 'indexedDB';
  const key = JSON.parse(e.entryKey);
  const value = JSON.parse(text);
  return { ...e, key: isIdb ? decodeValue(key) : key, value: isIdb ? decodeValue(value) : value };
}

/** Binds a sealed staged value to its batch and position, so ciphertexts can't be swapped between entries. */
export function sealAad(batchId: string, seq: number): string {
  return `dump-entry:${batchId}:${seq}`;
}
