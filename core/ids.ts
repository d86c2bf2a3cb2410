/**
 * Deterministic ids: the same user and source id always give the same row id, so re-running a dump
 * (or a later dump of the same user) updates rows in place and relationships can be remapped without
 * lookups (content items compute their content type's id from its source id).
 */
import { createHash, hash } from 'node:crypto';

/** Fixed namespace of this project (a random v4, never change it: ids already written depend on it). */
const NAMESPACE = Buffer.from('6f0f3b0e4c2a4d8e9b1a2f5c7d3e8a91', 'hex');

/** The namespace followed by the name, written in place: one-shot hashing without a Hash object per id. */
const scratch = Buffer.alloc(4096);
NAMESPACE.copy(scratch);

/** RFC 4122 version-5 UUID of `name` in our namespace. */
export function uuidv5(name: string): string {
  // crypto.hash (one call, no Hash object) on the namespace and name in a reused buffer: ~2× cheaper per
  // id, and every migrated row gets one. Names longer than the buffer could hold take the streaming hash.
  const h = name.length * 3 <= scratch.length - 16
    ? hash('sha1', scratch.subarray(0, 16 + scratch.write(name, 16, 'utf8')), 'buffer')
    : createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString('hex', 0, 16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Id of a row of `kind` owned by `userId`, derived from its source path (one or more parts). */
export function rowId(userId: string, kind: string, ...source: string[]): string {
  // \u001f cannot appear in user ids we mint; it keeps ("a","b:c") and ("a:b","c") apart.
  return uuidv5([userId, kind, ...source].join('\u001f'));
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
