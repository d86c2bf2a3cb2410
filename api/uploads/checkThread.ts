/**
 * The finish work of an upload — SHA-256 of the bytes as uploaded, the dump's validation (through the
 * bounded inflater for a gzip upload), and its sealing (AES-256-GCM, core/sealedStream.ts) — done on a
 * worker thread while the bytes arrive, instead of by reading the whole upload back after its last byte
 * (streamedFinish.ts feeds it). The thread keeps the API's event loop free; with a core to spare, the work
 * runs beside the transfer. The sealed bytes come back to the calling thread, which writes them to the
 * object store (the store's client lives there).
 *
 * Bytes cross in batches of about BATCH_BYTES (a message per socket chunk costs more than the copy), each
 * batch moved, not copied. Backpressure: `push` resolves once less than IN_FLIGHT_MAX bytes wait in the
 * thread and the sealed output's consumer keeps up, so a slow check or disk slows the upload instead of
 * piling its bytes up in memory.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CorruptGzipError, inflateBounded, InflatedTooLargeError } from '../../core/inflate';
import { sealStream } from '../../core/sealedStream';
import { DumpFormatError, validateDump, type DumpEncoding } from '../../format';

type Summary = Awaited<ReturnType<typeof validateDump>>;

export interface CheckSettings {
  encoding: DumpEncoding;
  /** The bytes are a delta (docs/cutover.md): removals allowed. */
  delta?: boolean;
  /** The bytes are gzip: validate them inflated, up to `inflatedMaxBytes`. */
  gzip: boolean;
  inflatedMaxBytes: number;
  /** Seal the bytes under this key (id and 32 bytes); absent: no sealed copy is made. */
  seal?: { kid: string; key: Uint8Array };
}

/** What the read-back check would have found: the digest always, and the summary or the first error. */
export interface CheckResult {
  sha256: string;
  bytes: number;
  validation: { ok: true; summary: Summary } | { ok: false; error: Error };
}

interface WireError { name: string; message: string; code?: string; details?: unknown; maxBytes?: number; zlibCode?: string }
type ToThread = { start: CheckSettings } | { chunk: Uint8Array[] } | { end: true };
type FromThread =
  | { ack: number }
  | { sealed: Uint8Array[] }
  | { done: { sha256: string; bytes: number; summary?: Summary; error?: WireError } };

const BATCH_BYTES = 1024 * 1024;
const WORK_SLICE_BYTES = 64 * 1024;
const IN_FLIGHT_MAX = 16 * 1024 * 1024;
/** Threads kept for the next upload once one finished (a thread's start costs about as much as checking 30 MB). */
const IDLE_THREADS_MAX = 1;

/**
 * The check threads of one process. A thread serves one upload at a time and, once that upload's check
 * completed, waits for the next: starting a thread (loading the format modules) costs a few hundred ms of
 * CPU. `warm()` starts one ahead, when an upload is created, so its first PATCH does not wait for it.
 */
export class CheckThreads {
  private readonly idle = new Set<Worker>();
  /** Threads checking an upload or a posted body now. */
  private readonly working = new Set<Worker>();
  private closed = false;

  /**
   * `preload`: modules a thread requires first. The build is plain JavaScript and needs none; where the
   * sources run as TypeScript, a thread does not inherit the process's loader, so it needs one named here
   * (config VALIDATION_THREAD_PRELOAD, which the npm scripts that run the sources set).
   */
  constructor(private readonly preload: readonly string[]) {}

  /** Off where the sources run as TypeScript with no loader named for a thread: callers then check inline. */
  get enabled(): boolean {
    return !__filename.endsWith('.ts') || this.preload.length > 0;
  }

  private spawn(): Worker {
    const code = [...this.preload.map((m) => require.resolve(m)), __filename].map((m) => `require(${JSON.stringify(m)});`).join(' ');
    const worker = new Worker(code, { eval: true, workerData: { checkThread: true } });
    worker.unref(); // an idle or abandoned thread must not keep the process alive
    worker.on('error', () => undefined); // reported to the check that holds it (an idle one just goes)
    worker.once('exit', () => this.idle.delete(worker));
    return worker;
  }

  /** Threads waiting for the next upload. */
  get idleCount(): number {
    return this.idle.size;
  }

  warm(): void {
    if (this.idle.size === 0) this.idle.add(this.spawn());
  }

  /** Threads checking something now (each holds its own heap, ~30–40 MB). */
  get busy(): number {
    return this.working.size;
  }

  take(): Worker {
    let taken: Worker | undefined;
    for (const worker of this.idle) {
      this.idle.delete(worker);
      if (worker.threadId >= 0) { // (-1 once it exited)
        taken = worker;
        break;
      }
    }
    taken ??= this.spawn();
    this.working.add(taken);
    return taken;
  }

  /** A thread whose check completed: kept for the next upload, or stopped. */
  give(worker: Worker): void {
    this.working.delete(worker);
    if (!this.closed && this.idle.size < IDLE_THREADS_MAX) this.idle.add(worker);
    else void worker.terminate();
  }

  /** A thread whose check was abandoned or failed: stopped. */
  discard(worker: Worker): void {
    this.working.delete(worker);
    void worker.terminate();
  }

  close(): void {
    this.closed = true;
    for (const w of this.idle) void w.terminate();
    this.idle.clear();
  }
}

/** The thread's error as the type the finish maps (finishUpload.ts): what the inline check would throw. */
function revive(e: WireError): Error {
  if (e.name === 'DumpFormatError') return new DumpFormatError(e.code as never, e.message, e.details as never);
  if (e.name === 'InflatedTooLargeError') return new InflatedTooLargeError(e.maxBytes ?? 0);
  if (e.name === 'CorruptGzipError') {
    const err = new CorruptGzipError(e.zlibCode, '');
    err.message = e.message;
    return err;
  }
  return new Error(e.message);
}

/**
 * Pieces gathered into messages of about BATCH_BYTES: a message per socket chunk costs more than its bytes,
 * and one buffer per message would cost a copy (and fresh pages) more. Each piece owns its memory, so a
 * message moves them all without copying.
 */
class Pieces {
  private list: Uint8Array[] = [];
  private size = 0;

  /** Adds a piece; returns a full message's pieces when there are enough. */
  add(piece: Uint8Array): Uint8Array[] | undefined {
    this.list.push(piece);
    this.size += piece.byteLength;
    return this.size >= BATCH_BYTES ? this.take() : undefined;
  }

  take(): Uint8Array[] | undefined {
    if (this.size === 0) return undefined;
    const out = this.list;
    this.list = [];
    this.size = 0;
    return out;
  }
}

/** The piece itself when it owns its whole memory (it can be moved), else a copy (a small one may sit in the shared pool). */
const movable = (b: Buffer): Uint8Array =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer, 0, b.byteLength) : new Uint8Array(b);
const transferList = (pieces: Uint8Array[]) => pieces.map((p) => p.buffer as ArrayBuffer);

/**
 * A running check. Any failure of the thread itself ends up as a rejection of `result()` (and of the sealed
 * output), never of `push`: the upload goes on, and the finish reads its bytes back.
 */
export class StreamedCheck {
  private readonly worker: Worker;
  private readonly pending = new Pieces();
  private inFlight = 0;
  private wake: (() => void) | null = null;
  /** No more bytes go to the thread: its check ended, failed or was aborted. */
  private closed = false;
  private aborted = false;
  private readonly done: Promise<CheckResult>;

  /**
   * `sealed`: where the sealed bytes go; the caller ends it once it wants them kept (after `result()`), and
   * it is destroyed if the thread fails.
   */
  constructor(settings: CheckSettings, private readonly threads: CheckThreads, private readonly sealed?: Writable) {
    const worker = (this.worker = threads.take());
    sealed?.on('drain', () => this.release()).on('close', () => this.release());
    let onMessage: (m: FromThread) => void = () => undefined;
    let onError: (err: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    this.done = new Promise<CheckResult>((resolve, reject) => {
      onMessage = (m) => {
        if ('ack' in m) {
          this.inFlight -= m.ack;
          this.release();
        } else if ('sealed' in m) {
          for (const piece of m.sealed) sealed?.write(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
        } else {
          const { sha256, bytes, summary, error } = m.done;
          resolve({ sha256, bytes, validation: error ? { ok: false, error: revive(error) } : { ok: true, summary: summary! } });
        }
      };
      onError = reject;
      onExit = (code) => reject(new Error(`the upload check thread exited (${code}) without an answer`));
    });
    worker.on('message', onMessage).once('error', onError).once('exit', onExit);
    const detach = () => worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    this.done.then(
      () => {
        detach();
        this.closed = true;
        this.release();
        if (!this.aborted) threads.give(worker);
      },
      (err: Error) => {
        detach();
        if (sealed && !sealed.writableFinished) sealed.destroy(err);
        this.stop();
      },
    );
    worker.postMessage({ start: settings } satisfies ToThread);
  }

  private stop(): void {
    this.closed = true;
    this.release();
    this.threads.discard(this.worker);
  }

  private release(): void {
    if (this.busy()) return;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Bytes handed to the thread that it has not yet acknowledged (0 once a check ended as it should). */
  get unacknowledged(): number {
    return this.inFlight;
  }

  private busy(): boolean {
    return !this.closed && (this.inFlight >= IN_FLIGHT_MAX || (this.sealed?.writableNeedDrain ?? false));
  }

  private post(pieces: Uint8Array[] | undefined): void {
    if (!pieces) return;
    for (const p of pieces) this.inFlight += p.byteLength;
    this.worker.postMessage({ chunk: pieces } satisfies ToThread, transferList(pieces));
  }

  /** Hands the thread a copy of `chunk` (the store still writes it); waits while the thread or the sealed output lag behind. */
  async push(chunk: Buffer): Promise<void> {
    if (this.closed) return;
    this.post(this.pending.add(new Uint8Array(chunk)));
    while (this.busy()) await new Promise<void>((r) => (this.wake = r));
  }

  /** The last byte was pushed: the digest and the validation's outcome, once every sealed byte was handed to `sealed`. */
  result(): Promise<CheckResult> {
    if (!this.closed) {
      this.post(this.pending.take());
      this.worker.postMessage({ end: true } satisfies ToThread);
    }
    return this.done;
  }

  /**
   * The sealed output, unless the caller ended it (to keep it), is destroyed; a check cut short stops its
   * thread (it is not reused).
   */
  abort(): void {
    if (this.sealed && !this.sealed.writableEnded) this.sealed.destroy(new Error('upload check aborted'));
    if (this.closed) return; // completed: the thread already went back to the pool
    this.aborted = true;
    this.stop();
  }
}

/** One upload's check in the thread; returns the handler of its chunk and end messages. */
function startCheck(settings: CheckSettings, port: NonNullable<typeof parentPort>): (m: ToThread) => void {
  const hash = createHash('sha256');
  let bytes = 0;
  const input = new PassThrough();
  input.on('error', () => undefined); // a reader that failed destroys it; the validation has the error already
  const source: Readable = settings.gzip ? inflateBounded(input, settings.inflatedMaxBytes) : input;
  // Once the validation has its answer it reads no more; the remaining bytes are only hashed (and sealed).
  let validating = true;
  const unread = new Set<{ size: number }>();
  const acknowledge = (message: { size: number }) => unread.delete(message) && port.postMessage({ ack: message.size } satisfies FromThread);
  const validation = validateDump(source, settings.encoding, { delta: settings.delta }).then(
    (summary) => ({ summary }),
    (err: Error & { code?: string; details?: unknown; maxBytes?: number; zlibCode?: string }) => ({
      error: { name: err.name, message: err.message, code: err.code, details: err.details, maxBytes: err.maxBytes, zlibCode: err.zlibCode } as WireError,
    }),
  ).finally(() => {
    validating = false;
    input.resume();
    for (const message of unread) acknowledge(message);
  });
  const sealer = settings.seal ? sealStream(new Map([[settings.seal.kid, Buffer.from(settings.seal.key)]]), settings.seal.kid) : undefined;
  // The cipher's output goes back the same way, its pieces moved as they are.
  const out = new Pieces();
  const send = (pieces: Uint8Array[] | undefined) => pieces && port.postMessage({ sealed: pieces } satisfies FromThread, transferList(pieces));
  sealer?.on('data', (c: Buffer) => send(out.add(movable(c))));
  const sealEnded = sealer ? new Promise<void>((resolve) => sealer.once('end', resolve)) : Promise.resolve();

  return (m: ToThread) => {
    if ('start' in m) return;
    if ('end' in m) {
      input.end();
      sealer?.end();
      void Promise.all([validation, sealEnded]).then(([v]) => {
        send(out.take());
        port.postMessage({ done: { sha256: hash.digest('hex'), bytes, ...v } } satisfies FromThread);
      });
      return;
    }
    // Each message is acknowledged once, when the validation has read all of it, or at once when the
    // validation has its answer: a reader that failed may never call back the writes it left (a destroyed
    // PassThrough drops them), and bytes never acknowledged would hold the upload's backpressure shut.
    const message = { size: 0, writing: 0 };
    unread.add(message);
    for (const p of m.chunk) {
      const chunk = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
      message.size += chunk.length;
      hash.update(chunk);
      // Worked on in slices: the cipher and the UTF-8 decoder run at twice the speed or more on 64 KiB
      // pieces than on 1 MiB ones (measured, docs/BENCHMARKS.md).
      for (let at = 0; at < chunk.length; at += WORK_SLICE_BYTES) {
        const piece = chunk.subarray(at, at + WORK_SLICE_BYTES);
        sealer?.write(piece);
        if (!validating) continue;
        message.writing++;
        input.write(piece, () => --message.writing === 0 && acknowledge(message));
      }
    }
    bytes += message.size;
    if (message.writing === 0) acknowledge(message);
  };
}

if (!isMainThread && parentPort && (workerData as { checkThread?: boolean })?.checkThread) {
  const port = parentPort;
  let check: ((m: ToThread) => void) | undefined;
  port.on('message', (m: ToThread) => {
    if ('start' in m) check = startCheck(m.start, port);
    else check?.(m);
  });
}
