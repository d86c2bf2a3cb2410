/**
 * The tus data store behind /v1/uploads, laid out so that a finished upload IS a stored dump: the upload id
 * is its object key (`uploads/<32 hex>`), and our ObjectStore reads it by that key, so the batch's dumpKey
 * points at the uploaded bytes without a copy.
 * - local driver: @tus/file-store rooted at STORAGE_DIR (the FsObjectStore's root), file `uploads/<hex>`;
 * - S3 driver (S3_BUCKET set): @tus/s3-store in the same bucket; it names the final object by the upload id
 *   and keeps `<id>.info` (upload record) and `<id>.part` (a tail smaller than an S3 part) beside it.
 * Upload state (file store: the upload record; S3: its metadata cache) lives in Redis for every process.
 * Both stores verify a chunk that carries Upload-Checksum before it counts (checksum.ts).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Redis } from 'ioredis';
import { FileStore } from '@tus/file-store';
import { S3Store, type MetadataValue } from '@tus/s3-store';
import { ERRORS, type DataStore, type Upload } from '@tus/utils';
import type { Config } from '../../core/config';
import type { ObjectStore } from '../../core/objectStore';
import { FILE_WRITE_BUFFER_BYTES } from '../../core/objectStore/FsObjectStore';
import { UPLOAD_SIDECAR_SUFFIXES, UPLOADS_PREFIX } from '../../jobs/maintenance/cleanup';
import { checksumHash, checksumMismatch, chunkChecksum, type ChunkChecksum } from './checksum';
import { RedisKvStore } from './RedisKvStore';
import { passing, type FinishedAhead, type StreamedFinishes } from './streamedFinish';

/** tus extensions we offer (docs/http-api.md §2). Both stores could also defer the length; we need it up front. */
export const UPLOAD_EXTENSIONS = ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum'];

const PUBLIC_ID = /^[0-9a-f]{32}$/;

export function newUploadId(): string {
  return `${UPLOADS_PREFIX}${randomBytes(16).toString('hex')}`;
}

/** The id as it appears in the upload URL (`/v1/uploads/<hex>`). */
export function publicUploadId(id: string): string {
  return id.slice(UPLOADS_PREFIX.length);
}

/** The store id for a URL segment, or undefined when the segment cannot name an upload of ours. */
export function uploadIdFromUrl(segment: string | undefined): string | undefined {
  return segment && PUBLIC_ID.test(segment) ? UPLOADS_PREFIX + segment : undefined;
}

export interface UploadStore {
  datastore: DataStore;
  /**
   * Resolves once this process' write to the upload has finished. When a request's body fails, node's
   * stream.pipeline rejects at once, without waiting for the store's write (tus then unlocks the upload);
   * the locker awaits this before releasing, so the next request sees the final offset.
   */
  writesSettled(id: string): Promise<void>;
  /** Upload metadata as stored by the server (incl. the owner), or undefined if no such upload. */
  metadataOf(id: string): Promise<Upload['metadata'] | undefined>;
  /** Removes every trace of an upload: bytes, S3 sidecars and unfinished multipart upload, Redis record. */
  discard(id: string, objects: ObjectStore): Promise<void>;
  /** The finish work done while the upload's bytes arrived, if this process saw all of them (streamedFinish.ts). */
  finishedAhead(id: string, size: number): FinishedAhead | undefined;
}

/** Writes still running, by upload id (see UploadStore.writesSettled). */
class WriteTracker {
  private readonly pending = new Map<string, Promise<void>>();

  track(id: string, write: Promise<number>): Promise<number> {
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.pending.set(id, settled);
    void settled.then(() => {
      if (this.pending.get(id) === settled) this.pending.delete(id);
    });
    return write;
  }

  settled(id: string): Promise<void> {
    return this.pending.get(id) ?? Promise.resolve();
  }
}

/** `src` passed through, every byte also fed to `hash`; a source error ends up on the result. */
function hashing(src: Readable, hash: ReturnType<typeof checksumHash>): Readable {
  return passing(src, (chunk) => void hash.update(chunk));
}

/**
 * The PATCH's bytes on their way to the store, also fed to the upload's streamed finish (streamedFinish.ts)
 * when there is one. A request that fails while the session is looked up fails the write as it would have.
 */
async function tapped(finishes: StreamedFinishes | undefined, id: string, offset: number, src: Readable, record: () => Promise<Upload | undefined>): Promise<Readable> {
  if (!finishes) return src;
  const hold = () => undefined;
  src.on('error', hold);
  try {
    const out = await finishes.tap(id, offset, src, record);
    if (src.errored) throw src.errored;
    return out;
  } finally {
    src.off('error', hold);
  }
}

class FileUploadStore extends FileStore {
  readonly writes = new WriteTracker();
  finishes?: StreamedFinishes;

  override write(src: Readable, id: string, offset: number): Promise<number> {
    const expected = chunkChecksum();
    return this.writes.track(id, (async () => {
      const bytes = await tapped(this.finishes, id, offset, src, () => this.configstore.get(id));
      return expected ? this.checkedWrite(bytes, id, offset, expected) : this.bufferedWrite(bytes, id, offset);
    })());
  }

  /**
   * @tus/file-store's write, with FILE_WRITE_BUFFER_BYTES of write buffer instead of fs' 16 KiB, so that
   * receiving the PATCH and writing it to disk overlap (FsObjectStore.ts). The upload's offset is still the
   * file's size: a request that fails drops what was buffered and not yet written, as before.
   */
  private async bufferedWrite(src: Readable, id: string, offset: number): Promise<number> {
    let received = 0;
    const counted = passing(src, (chunk) => void (received += chunk.length));
    try {
      await pipeline(counted, createWriteStream(path.join(this.directory, id), { flags: 'r+', start: offset, highWaterMark: FILE_WRITE_BUFFER_BYTES }));
    } catch {
      throw ERRORS.FILE_WRITE_ERROR;
    }
    return offset + received;
  }

  override remove(id: string): Promise<void> {
    this.finishes?.forget(id);
    return super.remove(id);
  }

  /**
   * Writes in place while hashing; a chunk whose digest differs, or that could not be read to its end (so
   * could not be verified), is cut off again: the file's size is the upload's offset, back where it was.
   * The upload's lock is held meanwhile, so no other write can interleave.
   */
  private async checkedWrite(src: Readable, id: string, offset: number, expected: ChunkChecksum): Promise<number> {
    const hash = checksumHash(expected);
    try {
      const end = await this.bufferedWrite(hashing(src, hash), id, offset);
      const actual = hash.digest();
      if (!actual.equals(expected.digest)) throw checksumMismatch(expected, actual);
      return end;
    } catch (err) {
      // (An upload removed meanwhile has no file to cut back: the original error is the answer.)
      await truncate(path.join(this.directory, id), offset).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      throw err;
    }
  }

  async metadataOf(id: string): Promise<Upload['metadata'] | undefined> {
    return (await this.configstore.get(id))?.metadata;
  }
}

class S3UploadStore extends S3Store {
  readonly writes = new WriteTracker();
  finishes?: StreamedFinishes;

  override remove(id: string): Promise<void> {
    this.finishes?.forget(id);
    return super.remove(id);
  }

  /**
   * @tus/s3-store 2.0.7 prepends the pending tail of the upload (under 5 MiB, kept as `<id>.part`) to the
   * request's bytes and deletes the `.part` first: when the client's connection then drops, the tail dies
   * with the request and the offset goes backwards (bytes a 204 already acknowledged are lost). Ending the
   * stream cleanly when the request fails makes the store keep all that arrived as the new tail, as tus
   * itself does when it cancels a request. The request still fails (tus sees the source error).
   */
  override write(src: Readable, id: string, offset: number): Promise<number> {
    const expected = chunkChecksum();
    return this.writes.track(id, (async () => {
      const bytes = await tapped(this.finishes, id, offset, src, async () => (await this.getMetadata(id)).file);
      if (expected) return this.checkedWrite(bytes, id, offset, expected);
      const guarded = new PassThrough();
      bytes.once('error', () => guarded.end());
      bytes.pipe(guarded);
      return super.write(guarded, id, offset);
    })());
  }

  /**
   * A chunk with Upload-Checksum is spooled to a temporary file while hashed, and only a verified one goes to
   * S3 (parts sent to S3 cannot be taken back): a refused or cut-off chunk leaves the upload untouched.
   */
  private async checkedWrite(src: Readable, id: string, offset: number, expected: ChunkChecksum): Promise<number> {
    const dir = await mkdtemp(path.join(tmpdir(), 'bsm-chunk-'));
    try {
      const file = path.join(dir, 'chunk');
      const hash = checksumHash(expected);
      await pipeline(hashing(src, hash), createWriteStream(file, { highWaterMark: FILE_WRITE_BUFFER_BYTES }));
      const actual = hash.digest();
      if (!actual.equals(expected.digest)) throw checksumMismatch(expected, actual);
      return await super.write(createReadStream(file), id, offset);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async metadataOf(id: string): Promise<Upload['metadata'] | undefined> {
    try {
      return (await this.getMetadata(id)).file.metadata;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }
}

export function createUploadStore(config: Config, redis: Redis, finishes?: StreamedFinishes): UploadStore {
  const expiryMs = config.UPLOAD_EXPIRY_HOURS * 3600_000;
  // Records outlive the upload's expiry by a day, so that a late request still gets 410: "the Server SHOULD
  // respond with the 404 Not Found or 410 Gone status. The latter one SHOULD be used if the Server is
  // keeping track of expired uploads." (tus 1.0.0, Expiration)
  const ttlMs = expiryMs + 24 * 3600_000;
  const kvPrefix = `${config.QUEUE_PREFIX}:tus:upload:`;
  let store: FileUploadStore | S3UploadStore;
  if (config.s3) {
    const s3 = config.s3;
    store = new S3UploadStore({
      s3ClientConfig: {
        bucket: s3.bucket,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: Boolean(s3.endpoint),
        credentials: s3.accessKeyId && s3.secretAccessKey ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } : undefined,
        // See docs/stack-notes.md "S3 in tests": with the SDK's default checksums, S3 clones store the
        // aws-chunked framing of streamed parts as data.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
      cache: new RedisKvStore<MetadataValue>(redis, kvPrefix, ttlMs),
      expirationPeriodInMilliseconds: expiryMs,
      // Expiry tags serve S3 lifecycle rules; our cleanup job does that work, and not every clone tags.
      useTags: false,
    });
  } else {
    store = new FileUploadStore({
      directory: path.resolve(config.STORAGE_DIR),
      configstore: new RedisKvStore<Upload>(redis, kvPrefix, ttlMs),
      expirationPeriodInMilliseconds: expiryMs,
    });
  }
  store.extensions = [...UPLOAD_EXTENSIONS];
  store.finishes = finishes;
  return {
    datastore: store,
    writesSettled: (id) => store.writes.settled(id),
    metadataOf: (id) => store.metadataOf(id),
    finishedAhead: (id, size) => finishes?.take(id, size),
    async discard(id, objects) {
      // remove() aborts an unfinished S3 multipart upload; for a finished one it throws (nothing to
      // abort) before deleting anything, so the objects are deleted by key below in every case.
      await store.remove(id).catch(() => undefined);
      for (const key of [id, ...UPLOAD_SIDECAR_SUFFIXES.map((s) => id + s)]) await objects.delete(key);
      await redis.del(kvPrefix + id);
    },
  };
}
