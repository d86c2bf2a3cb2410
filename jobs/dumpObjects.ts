/**
 * Where dumps live in the object store, and how: sealed (core/sealedStream.ts) under a key ending in
 * `.sealed`. Objects without the suffix (e.g. a finished resumable upload read in place) are read as is.
 * A gzip dump is stored as uploaded, compressed, under a key whose name ends in `.gz` before `.sealed`
 * (the key says the encoding: nothing else needs to); it is inflated only while it is read (dumpContent).
 */
import { Readable } from 'node:stream';
import type { Config } from '../core/config';
import { sha256Hex } from '../core/ids';
import { inflateBounded, isInflateError } from '../core/inflate';
import type { ObjectStore } from '../core/objectStore';
import { openSealedStream, sealStream, SEALED_SUFFIX } from '../core/sealedStream';
import type { DumpEncoding } from '../format';
import { PermanentJobError } from './errors';

/** How a dump's bytes are compressed (upload metadata `contentEncoding`); absent: as is. */
export type DumpContentEncoding = 'gzip';

const GZIP_SUFFIX = '.gz';

/**
 * One object per user and content: the same dump posted twice maps to the same key. `sha256` is that of
 * the bytes as uploaded (compressed, for gzip).
 */
/** Where stored dumps live in the object store. */
export const DUMPS_PREFIX = 'dumps/';

export function dumpObjectKey(userId: string, sha256: string, encoding: DumpEncoding, contentEncoding?: DumpContentEncoding): string {
  const gz = contentEncoding === 'gzip' ? GZIP_SUFFIX : '';
  return `${DUMPS_PREFIX}${sha256Hex(userId).slice(0, 16)}/${sha256}.${encoding === 'json' ? 'json' : 'ndjson'}${gz}${SEALED_SUFFIX}`;
}

/** The content encoding a stored dump's key names. */
export function dumpContentEncoding(key: string): DumpContentEncoding | undefined {
  const name = key.endsWith(SEALED_SUFFIX) ? key.slice(0, -SEALED_SUFFIX.length) : key;
  return name.endsWith(GZIP_SUFFIX) ? 'gzip' : undefined;
}

/**
 * The dump text of the bytes read from the object at `key` (readDumpObject; a digest is taken of those):
 * as is, or inflated while read, bounded by INFLATED_DUMP_MAX_BYTES (core/inflate.ts). For the worker, a
 * dump that does not inflate, or inflates past the bound, fails with a PermanentJobError: no retry helps.
 */
export function dumpContent(raw: NodeJS.ReadableStream, key: string, config: Config): NodeJS.ReadableStream {
  if (dumpContentEncoding(key) !== 'gzip') return raw;
  return inflateBounded(raw, config.INFLATED_DUMP_MAX_BYTES, (e) => (isInflateError(e) ? new PermanentJobError('dump_inflate_failed', `The stored gzip dump cannot be read: ${e.message}`) : e));
}

/** Stores a dump sealed under `key` (which must end in `.sealed`). */
export async function putDump(store: ObjectStore, config: Config, key: string, body: Buffer | NodeJS.ReadableStream): Promise<void> {
  if (!key.endsWith(SEALED_SUFFIX)) throw new Error(`dump keys end in ${SEALED_SUFFIX}: ${key}`);
  const source = Buffer.isBuffer(body) ? Readable.from([body]) : (body as Readable);
  const sealed = sealStream(config.encryptionKeys, config.ENCRYPTION_KEY_ID);
  source.on('error', (e) => sealed.destroy(e));
  await store.put(key, source.pipe(sealed));
}

/** The dump's plaintext bytes as a stream; errors (missing object, altered ciphertext) surface on it. */
export async function readDumpObject(store: ObjectStore, config: Config, key: string): Promise<Readable> {
  const raw = (await store.get(key)) as Readable;
  if (!key.endsWith(SEALED_SUFFIX)) return raw;
  const open = openSealedStream(config.encryptionKeys);
  raw.on('error', (e) => open.destroy(e));
  open.on('close', () => raw.destroy());
  return raw.pipe(open);
}
