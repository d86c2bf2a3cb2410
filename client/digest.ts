/**
 * SHA-256 for the uploader: @noble/hashes (audited, maintained, no dependencies), fed piece by piece.
 *
 * Why not crypto.subtle: `digest()` takes one whole buffer, so hashing a dump of hundreds of MB would mean
 * holding all of its bytes in one ArrayBuffer (on top of the dump and its Blob). Fed incrementally
 * (`sha256.create().update(…).digest()`), the uploader hashes each piece of NDJSON as it is built and
 * never needs a second full copy. test/client/sha256.test.ts compares it with Node's crypto on many lengths
 * and splits, largeDump.test.ts with Chromium's crypto.subtle on a real dump.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export { sha256, bytesToHex };

/** Hex SHA-256 of some bytes in one go (small inputs; large ones are fed with `sha256.create().update()`). */
export function sha256HexOf(data: Uint8Array): string {
  return bytesToHex(sha256(data));
}

/**
 * Hex SHA-256 of a Blob, read a slice at a time, so a Blob of any size costs one slice of memory
 * (crypto.subtle would want all of it in one ArrayBuffer).
 */
export async function sha256HexOfBlob(blob: Blob, sliceSize = 4 * 1024 * 1024): Promise<string> {
  const hash = sha256.create();
  for (let at = 0; at < blob.size; at += sliceSize) {
    hash.update(new Uint8Array(await blob.slice(at, at + sliceSize).arrayBuffer()));
  }
  return bytesToHex(hash.digest());
}
