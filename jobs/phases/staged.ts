/** Reading staged entries back: keyset pages bounded by count and bytes, so no phase holds a whole dump. */
import type { EntityManager } from 'typeorm';
import { decodeValue } from '../../format';
import type { SecretBox, SealedSecret } from '../../core/crypto';
import type { EntryKind, SourceEntry } from '../transforms/types';

export interface StagedEntry extends SourceEntry {
  kind: EntryKind;
  /** The entry's raw JSON text as staged (sealed for secret kinds). */
  raw: string;
  entryKey: string;
  sealed: boolean;
}

const PAGE_ENTRIES = 200;
const PAGE_BYTES = 8 * 1024 * 1024;

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
  const rows: any[] = await m.query(
    `SELECT seq, area, db_name, store_name, entry_key, kind, value, sealed FROM dump_entries
     WHERE batch_id = $1 AND seq IN (
       SELECT seq FROM (
         SELECT seq, sum(value_bytes) OVER (ORDER BY seq) - value_bytes AS before_bytes
         FROM dump_entries WHERE batch_id = $1 AND kind = ANY($2) AND outcome = 'pending' AND seq > $3
         ORDER BY seq LIMIT $4) p
       WHERE before_bytes < $5)
     ORDER BY seq`,
    [batchId, kinds, afterSeq, unbounded ? 2147483647 : PAGE_ENTRIES, unbounded ? Number.MAX_SAFE_INTEGER : PAGE_BYTES],
  );
  return rows.map((r) => ({
    seq: r.seq,
    area: r.area,
    dbName: r.db_name,
    storeName: r.store_name,
    entryKey: r.entry_key,
    kind: r.kind,
    raw: r.value,
    sealed: r.sealed,
  }));
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
