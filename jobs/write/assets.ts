/**
 * Storing assets (binaries moved out of `data:` URLs) is part of the write path: a phase page and a data-API
 * write both store them inside the transaction that writes the rows using them. Releasing them after a
 * rollback is jobs/assets.ts; both take the per-asset advisory lock named here.
 */
import type { EntityManager } from 'typeorm';
import { assetKey } from '../../core/assets';
import type { ObjectStore } from '../../core/objectStore';
import type { BlobToStore } from '../transforms/types';

export const assetLockName = (sha256: string) => `bsm:asset:${sha256}`;
const lockName = assetLockName;

/**
 * Stores `blobs` (content-addressed: storing twice is harmless) inside the caller's transaction, and records
 * them for `batchId` (null for the data API: its rows are found by reference).
 */
export async function storeAssets(m: EntityManager, store: ObjectStore, blobs: BlobToStore[], batchId: string | null): Promise<void> {
  const bySha = new Map(blobs.map((b) => [b.sha256, b]));
  if (bySha.size === 0) return;
  const shas = [...bySha.keys()].sort(); // one order for every locker: no deadlock between them
  await m.query(`SELECT pg_advisory_xact_lock_shared(hashtextextended(n, 0)) FROM unnest($1::text[]) AS n ORDER BY n`, [shas.map(lockName)]);
  for (const b of bySha.values()) {
    const key = assetKey(b.sha256);
    if (!(await store.head(key))) await store.put(key, b.bytes, { contentType: b.contentType });
  }
  if (batchId) {
    await m.query(`INSERT INTO batch_assets (batch_id, sha256) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, [batchId, shas]);
  }
}
