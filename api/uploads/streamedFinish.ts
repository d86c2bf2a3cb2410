/**
 * The finish of a large upload, done while its bytes arrive (issue 12: tus near a raw PUT). Without this,
 * the final PATCH read the whole upload back three times — digest, validation, sealing — before it
 * answered. Here each PATCH's bytes are also handed, as they pass, to a thread (checkThread.ts) that hashes,
 * validates and seals them off the event loop; the sealed bytes stream into the object store's put of the
 * sealed dump, which becomes visible only when the finish commits it (the put writes a temp file or a
 * multipart upload until its stream ends).
 * The final PATCH then only collects the answers (finishUpload.ts), and commits or aborts the seal.
 *
 * A session follows one upload in this process while its PATCHes arrive in order. Whatever breaks the
 * chain — a PATCH at another offset than the bytes fed so far (a failed or cut-off request, a chunk refused
 * by its Upload-Checksum), a PATCH served by another API process, a restart, an upload idle for
 * SESSION_IDLE_MS — drops the session, and the finish reads the stored bytes back as before: the answer is
 * the same either way, only the time differs. The check itself never fails a PATCH. Uploads under
 * UPLOAD_STREAMED_FINISH_MIN_BYTES are always read back: a thread's start costs more than that.
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { Upload } from '@tus/utils';
import type { Config } from '../../core/config';
import type { Logger } from '../../core/logger';
import type { ObjectStore } from '../../core/objectStore';
import { encodingOf } from '../dumpIntake';
import { dumpObjectKey } from '../../jobs/dumpObjects';
import { CheckThreads, StreamedCheck, type CheckResult } from './checkThread';
import { storedMeta } from './metadata';

/** Sessions one process runs at once (each holds a thread); further uploads are checked at their end. */
const MAX_SESSIONS = 4;
/**
 * A session whose upload received nothing for this long is dropped. Short: a session left behind (its
 * upload went on through another API process, or was abandoned) holds a thread slot and a sealed put.
 */
const SESSION_IDLE_MS = 2 * 60_000;

/** A session handed to the finish: the answers, and the sealed copy to keep or throw away. */
export interface FinishedAhead {
  check(): Promise<CheckResult>;
  /** The key the dump was sealed to while it arrived, or undefined when it was not (it existed already). */
  readonly sealedKey: string | undefined;
  /** Makes the sealed copy visible under sealedKey; rejects if the seal failed (the finish then seals anew). */
  commitSeal(): Promise<void>;
  /** Throws away whatever is not committed, and stops the thread. */
  abort(): void;
}

class Session implements FinishedAhead {
  offset = 0;
  touched = Date.now();

  constructor(
    readonly id: string,
    readonly size: number,
    private readonly checker: StreamedCheck,
    readonly sealedKey: string | undefined,
    private readonly sealOut: PassThrough | undefined,
    private readonly put: Promise<unknown> | undefined,
  ) {
    put?.catch(() => undefined); // a failed seal is found by commitSeal
  }

  /** Feeds one chunk to the thread; resolves when it can take more. */
  feed(chunk: Buffer): Promise<void> {
    this.offset += chunk.length;
    this.touched = Date.now();
    return this.checker.push(chunk);
  }

  check(): Promise<CheckResult> {
    return this.checker.result();
  }

  async commitSeal(): Promise<void> {
    if (!this.sealOut || !this.put) throw new Error('this upload was not sealed while it arrived');
    this.sealOut.end();
    await this.put;
  }

  abort(): void {
    this.checker.abort();
  }

  /** Resolves once the sealed copy's put has ended, kept or thrown away. */
  async settled(): Promise<void> {
    await this.put?.catch(() => undefined);
  }
}

export class StreamedFinishes {
  private readonly sessions = new Map<string, Session>();
  private readonly sweep: NodeJS.Timeout;

  /** `threads`: the process's check threads (shared with POSTed dumps; their owner closes them). */
  constructor(
    private readonly config: Config,
    private readonly objects: ObjectStore,
    private readonly log: Logger,
    private readonly threads: CheckThreads,
  ) {
    this.sweep = setInterval(() => this.dropIdle(), 30_000).unref();
  }

  /** An upload of `size` bytes was created: have a thread ready for its first PATCH (never fails the creation). */
  prepare(size: number): void {
    if (!this.enabled || size < this.config.UPLOAD_STREAMED_FINISH_MIN_BYTES || this.sessions.size >= MAX_SESSIONS) return;
    try {
      this.threads.warm();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'upload: could not start a check thread; large uploads are read back after their last byte');
    }
  }

  get enabled(): boolean {
    return this.threads.enabled;
  }

  /**
   * The PATCH's bytes as they go to the store, fed to the upload's session on their way: a session starts
   * with the first byte of an upload (`record` gives its length and metadata) and follows it while every
   * PATCH starts where the last one ended.
   */
  async tap(id: string, offset: number, src: Readable, record: () => Promise<Upload | undefined>): Promise<Readable> {
    let session = this.sessions.get(id);
    if (session && session.offset !== offset) {
      this.drop(session, 'a PATCH did not continue where the bytes fed so far ended');
      session = undefined;
    }
    if (!session && offset === 0) session = await this.start(id, record).catch((err: Error) => {
      this.log.warn({ uploadKey: id, err: err.message }, 'upload: could not start checking while the bytes arrive; the finish reads them back');
      return undefined;
    });
    if (!session) return src;
    const s = session;
    return passing(src, (chunk) => s.feed(chunk));
  }

  /** The session of an upload whose every byte it saw, now the finish's to use (and no longer tracked). */
  take(id: string, size: number): FinishedAhead | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    this.sessions.delete(id);
    if (s.offset === size && s.size === size) return s;
    this.drop(s, 'the session did not see every byte');
    return undefined;
  }

  /** Drops the session of an upload (removed, expired). */
  forget(id: string): void {
    const s = this.sessions.get(id);
    if (s) this.drop(s, 'the upload was removed');
  }

  /** Drops every session and waits until their sealed copies are thrown away (temp files, multipart uploads). */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    const sessions = [...this.sessions.values()];
    for (const s of sessions) this.drop(s, 'the API is closing');
    await Promise.all(sessions.map((s) => s.settled()));
  }

  private async start(id: string, record: () => Promise<Upload | undefined>): Promise<Session | undefined> {
    if (!this.enabled || this.sessions.size >= MAX_SESSIONS) return undefined;
    const upload = await record();
    if (!upload?.size || upload.size < this.config.UPLOAD_STREAMED_FINISH_MIN_BYTES) return undefined;
    const meta = storedMeta(upload.metadata);
    const encoding = encodingOf(meta.contentType)!;
    const gzip = meta.contentEncoding === 'gzip';
    const sealedKey = dumpObjectKey(meta.userId, meta.sha256, encoding, meta.contentEncoding);
    // A dump this user already uploaded is sealed already: nothing to write (the finish finds it).
    const sealing = !(await this.objects.head(sealedKey));
    if (this.sessions.has(id)) return this.sessions.get(id); // (tus holds the upload's lock: not expected)
    if (this.sessions.size >= MAX_SESSIONS) return undefined; // others started meanwhile
    const kid = this.config.ENCRYPTION_KEY_ID;
    const sealOut = sealing ? new PassThrough({ highWaterMark: 4 * 1024 * 1024 }) : undefined;
    sealOut?.on('error', () => undefined); // destroyed on purpose when the session is dropped; the put reports it
    // The key is copied: a Buffer may be a slice of Node's shared pool, which would go to the thread whole.
    const seal = sealing ? { kid, key: new Uint8Array(this.config.encryptionKeys.get(kid)!) } : undefined;
    let checker: StreamedCheck;
    try {
      checker = new StreamedCheck({ encoding, gzip, inflatedMaxBytes: this.config.INFLATED_DUMP_MAX_BYTES, seal }, this.threads, sealOut);
    } catch (err) {
      sealOut?.destroy();
      throw err;
    }
    // The put shows the object only once sealOut ends (commitSeal); destroyed, it leaves nothing.
    const put = sealOut ? this.objects.put(sealedKey, sealOut) : undefined;
    const session = new Session(id, upload.size, checker, sealing ? sealedKey : undefined, sealOut, put);
    this.sessions.set(id, session);
    return session;
  }

  private drop(s: Session, reason: string): void {
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    s.abort();
    this.log.debug({ uploadKey: s.id, reason }, 'upload: stopped checking while the bytes arrive; the finish reads them back');
  }

  private dropIdle(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) if (now - s.touched > SESSION_IDLE_MS) this.drop(s, 'idle');
  }
}

/** `src`, every chunk handed to `fn` (awaited: its backpressure) before it passes; a source error ends up on the result. */
export function passing(src: Readable, fn: (chunk: Buffer) => Promise<void> | void): Readable {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const r = fn(chunk);
      if (r) r.then(() => cb(null, chunk), () => cb(null, chunk));
      else cb(null, chunk);
    },
  });
  src.once('error', (e) => t.destroy(e));
  return src.pipe(t);
}
