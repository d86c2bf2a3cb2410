/**
 * Validating a dump held in memory (a `POST /v1/dumps` or `/v1/deltas` body) on a worker thread, so the
 * API's event loop keeps serving while it runs: parsing a 116 MB body takes seconds of CPU (its one
 * 110 MB line is a single synchronous JSON.parse), and inline it held every other request of the process
 * — health checks and status polls included — for that long (issue 12: /healthz p99 under 100 ms).
 * Its SHA-256 is computed there too. Bodies under OFF_THREAD_MIN_BYTES are validated inline: a thread's
 * start-up costs more than they do.
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { DumpFormatError } from './errors';
import { validateDump } from './readDump';
import type { DumpEncoding } from './types';

export const OFF_THREAD_MIN_BYTES = 8 * 1024 * 1024;

type Summary = Awaited<ReturnType<typeof validateDump>>;
interface Job { bytes: Uint8Array; encoding: DumpEncoding; delta: boolean }
type Answer = { ok: true; summary: Summary; sha256: string } | { ok: false; error: { name: string; message: string; code?: string; details?: unknown } };

async function run(job: Job): Promise<{ summary: Summary; sha256: string }> {
  const body = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  const summary = await validateDump(Readable.from([body]), job.encoding, { delta: job.delta });
  return { summary, sha256: createHash('sha256').update(body).digest('hex') };
}

/**
 * The dump's summary and SHA-256, computed on a worker thread for a large body. Throws DumpFormatError as
 * validateDump does. `preload`: modules the thread requires before this one. The build is plain JavaScript
 * and needs none; where the sources run as TypeScript, a thread does not inherit the process's loader, so
 * it needs one named here (config VALIDATION_THREAD_PRELOAD, which the npm scripts that run the sources
 * set): without one, a TypeScript run validates inline.
 */
export async function validateBody(
  body: Buffer, encoding: DumpEncoding, opts: { delta?: boolean; preload?: readonly string[] } = {},
): Promise<{ summary: Summary; sha256: string }> {
  const job: Job = { bytes: body, encoding, delta: opts.delta ?? false };
  const preload = opts.preload ?? [];
  if (body.length < OFF_THREAD_MIN_BYTES || (extname(__filename) === '.ts' && preload.length === 0)) return run(job);
  const code = [...preload.map((m) => require.resolve(m)), __filename].map((m) => `require(${JSON.stringify(m)});`).join(' ');
  // The body is copied once into the thread (structured clone): the caller still stores it afterwards.
  const worker = new Worker(code, { eval: true, workerData: job });
  const answer = await new Promise<Answer>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the validation thread exited (${code}) without an answer`)));
  }).finally(() => void worker.terminate());
  if (answer.ok) return { summary: answer.summary, sha256: answer.sha256 };
  const { error } = answer;
  if (error.name === 'DumpFormatError') throw new DumpFormatError(error.code as never, error.message, error.details as never);
  throw new Error(error.message);
}

if (!isMainThread && parentPort && (workerData as Partial<Job>)?.bytes) {
  const port = parentPort;
  run(workerData as Job).then(
    (r) => port.postMessage({ ok: true, ...r } satisfies Answer),
    (err: Error & { code?: string; details?: unknown }) =>
      port.postMessage({ ok: false, error: { name: err.name, message: err.message, code: err.code, details: err.details } } satisfies Answer),
  );
}
