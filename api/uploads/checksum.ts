/**
 * tus 1.0.0 Checksum extension (@tus/server 2.x does not implement it): a PATCH (or a creation-with-upload
 * POST) may carry `Upload-Checksum: <algorithm> <base64 digest>` of the bytes in its body. The adapter parses
 * the header and runs the tus handler inside `withChunkChecksum`; the data store (uploadStore.ts) reads it
 * back with `chunkChecksum()` in its write(), hashes the chunk as it arrives, and refuses it before it
 * counts: the file store cuts the file back to the chunk's offset, the S3 store verifies a spooled copy
 * before sending anything to S3. Either way the offset stays where it was and the client gets
 * "460 Checksum Mismatch".
 *
 * The request's async context carries the expected digest (AsyncLocalStorage), not a map keyed by upload
 * id: two requests for one upload (a stalled one being replaced) can never read each other's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, type Hash } from 'node:crypto';
import { AppError, Errors } from '../../core/errors';

/** Advertised in Tus-Checksum-Algorithm; "The Server MUST support at least the SHA1 checksum algorithm". */
export const CHECKSUM_ALGORITHMS = ['sha256', 'sha1'] as const;
type Algorithm = (typeof CHECKSUM_ALGORITHMS)[number];
const DIGEST_BYTES: Record<Algorithm, number> = { sha256: 32, sha1: 20 };

export interface ChunkChecksum {
  algorithm: Algorithm;
  digest: Buffer;
}

const current = new AsyncLocalStorage<ChunkChecksum>();

/**
 * The expected checksum from the header, or undefined when there is none. "The Upload-Checksum request
 * header contains information about the checksum of the current body payload. The header MUST consist of
 * the name of the used checksum algorithm and the Base64 encoded checksum separated by a space." An
 * algorithm the server does not support: "the Server MUST respond with the 400 Bad Request status".
 */
export function parseUploadChecksum(header: string | string[] | undefined): ChunkChecksum | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header;
  const m = /^\s*([A-Za-z0-9-]+) ([A-Za-z0-9+/]+={0,2})\s*$/.exec(value);
  const algorithm = m?.[1].toLowerCase();
  if (!m || !CHECKSUM_ALGORITHMS.includes(algorithm as Algorithm)) {
    throw Errors.badRequest('invalid_upload_checksum',
      `Upload-Checksum must be "<algorithm> <base64 digest of this request's body>" with algorithm ${CHECKSUM_ALGORITHMS.join(' or ')} (tus Checksum extension); the chunk was not written.`,
      { supported: [...CHECKSUM_ALGORITHMS] });
  }
  const digest = Buffer.from(m[2], 'base64');
  if (digest.length !== DIGEST_BYTES[algorithm as Algorithm]) {
    throw Errors.badRequest('invalid_upload_checksum', `The ${algorithm} digest in Upload-Checksum must be ${DIGEST_BYTES[algorithm as Algorithm]} bytes, base64-encoded; the chunk was not written.`);
  }
  return { algorithm: algorithm as Algorithm, digest };
}

/** Runs `fn` (the tus handler) with the request's expected checksum visible to the data store. */
export function withChunkChecksum<T>(checksum: ChunkChecksum | undefined, fn: () => Promise<T>): Promise<T> {
  return checksum ? current.run(checksum, fn) : fn();
}

/** The checksum the request being written declared, if any (inside the data store's write). */
export function chunkChecksum(): ChunkChecksum | undefined {
  return current.getStore();
}

export function checksumHash(c: ChunkChecksum): Hash {
  return createHash(c.algorithm);
}

/** "460 Checksum Mismatch": the chunk was not stored; the offset is unchanged. */
export function checksumMismatch(c: ChunkChecksum, actual: Buffer): AppError {
  return new AppError(460, 'checksum_mismatch',
    `This chunk's ${c.algorithm} is ${actual.toString('base64')}, but Upload-Checksum says ${c.digest.toString('base64')}: it was altered in transit. It was not stored and the upload's offset is unchanged; send the chunk again.`,
    { algorithm: c.algorithm, expected: c.digest.toString('base64'), actual: actual.toString('base64') });
}
