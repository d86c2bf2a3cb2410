/**
 * Where dumps live in the object store, and how: sealed (core/sealedStream.ts) under a key ending in
 * `.sealed`. Objects without the suffix (e.g. a finished resumable upload read in place) are read as is.
 */
import { Readable } from 'node:stream';
import type { Config } from '../core/config';
import { sha256Hex } from '../core/ids';
import type { ObjectStore } from '../core/objectStore';
import { openSealedStream, sealStream, SEALED_SUFFIX } from '../core/sealedStream';
import type { DumpEncoding } from '../format';

/** One object per user and content: the same dump posted twice maps to the same key. */
export function dumpObjectKey(userId: string, sha256: string, encoding: DumpEncoding): string {
  return `dumps/${sha256Hex(userId).slice(0, 16)}/${sha256}.${encoding === 'json' ? 'json' : 'ndjson'}${SEALED_SUFFIX}`;
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
