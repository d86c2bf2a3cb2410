/**
 * A dump posted whole (POST /v1/dumps, a cutover delta): the request body is read as it arrives — decoded
 * per its Content-Encoding, bounded by DUMP_BODY_LIMIT, hashed — and validated, then stored sealed under its
 * key; or refused with nothing kept.
 *
 * A large body is validated on one of the process's check threads (api/uploads/checkThread.ts, the same
 * threads tus uploads use, kept from request to request) while its bytes still arrive, so receiving and
 * parsing overlap and the API's event loop keeps serving: parsing a 116 MB body is seconds of CPU (its one
 * 110 MB line is a single synchronous JSON.parse). The body is kept as the chunks it arrived in (never one
 * buffer) and sealed from them once accepted. A small body, or one where no thread can run, is validated
 * inline: the same answer.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Readable, type Transform } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Errors } from '../core/errors';
import { isDecodeErrorCode } from '../core/inflate';
import { validateDump, type DumpEncoding } from '../format';
import { dumpObjectKey, putDump } from '../jobs/dumpObjects';
import type { ApiDeps } from './context';
import { StreamedCheck, type CheckThreads } from './uploads/checkThread';

type Summary = Awaited<ReturnType<typeof validateDump>>;

/** Bodies from this size up are checked on a thread; below, inline costs less than the messages. */
export const THREAD_MIN_BYTES = 8 * 1024 * 1024;

/** A body read, checked and accepted (not yet stored). */
export interface CheckedBody {
  summary: Summary;
  sha256: string;
  /** Decoded bytes. */
  bytes: number;
  /** The decoded body, as the chunks it arrived in. */
  chunks: Buffer[];
}

/** A request whose body is read here: its headers and its byte stream. */
export type BodyRequest = NodeJS.ReadableStream & { headers: IncomingHttpHeaders };

/**
 * Before a body is read: one whose Content-Length says it will be checked on a thread gets one started
 * while its first bytes arrive (a thread's start is a few hundred ms of CPU, ~0.4 s of it on the event
 * loop where the sources run as TypeScript), unless one is idle already.
 */
export function warmCheckThread(deps: ApiDeps, threads: CheckThreads): RequestHandler {
  return (req, _res, next) => {
    if (Number(req.headers['content-length']) >= THREAD_MIN_BYTES && threads.enabled) {
      try {
        threads.warm();
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'could not start a dump check thread; the posted dump is checked inline');
      }
    }
    next();
  };
}

/** An error as body-parser raises it, so the app's error mapper answers it alike (api/middleware/errors.ts). */
function bodyError(type: string | undefined, status: number, message: string, extra: object = {}): Error {
  return Object.assign(new Error(message), { type, status, statusCode: status, expose: true, ...extra });
}

/** The decoders of the Content-Encodings body-parser accepts (null: none needed). */
const DECODERS = new Map<string, (() => Transform) | null>([
  ['identity', null], ['gzip', createGunzip], ['x-gzip', createGunzip], ['deflate', createInflate], ['br', createBrotliDecompress],
]);

/** The body decoded as its Content-Encoding says; throws 415 for an encoding not in DECODERS. */
function decoded(req: BodyRequest): NodeJS.ReadableStream {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  const make = DECODERS.get(encoding);
  if (make === undefined) throw bodyError('encoding.unsupported', 415, `unsupported content encoding "${encoding}"`);
  if (make === null) return req;
  const z = make();
  req.on('error', (e) => z.destroy(e));
  req.pipe(z);
  return z;
}

/** DUMP_BODY_LIMIT ("50mb") in bytes, as body-parser reads it (1 kb = 1024 b). */
export function limitBytes(limit: string): number {
  const m = /^(\d+)(b|kb|mb|gb)?$/i.exec(limit);
  if (!m) throw new Error(`not a size: ${limit}`);
  return Number(m[1]) * 1024 ** ['b', 'kb', 'mb', 'gb'].indexOf((m[2] ?? 'b').toLowerCase());
}

/**
 * Reads the request's body as it arrives and validates it (a delta with `delta`); returns it with its
 * summary and digest, nothing stored yet. Throws, having kept nothing: DumpFormatError for a body that is
 * not a valid dump; body-parser's kinds of error (api/middleware/errors.ts) for one over `limit` (413), in
 * an encoding it cannot decode (415), that does not decode (400) or that the client cut off (400); 400
 * `empty_body` for none.
 */
export async function receiveCheckedBody(
  deps: ApiDeps,
  threads: CheckThreads,
  req: BodyRequest,
  o: { encoding: DumpEncoding; delta?: boolean; limit: string; what: 'dump' | 'delta' },
): Promise<CheckedBody> {
  const limit = limitBytes(o.limit);
  const tooLarge = () => bodyError('entity.too.large', 413, 'request entity too large', { dump: true });
  let source: NodeJS.ReadableStream;
  try {
    if (req.headers['content-encoding'] === undefined && Number(req.headers['content-length']) > limit) throw tooLarge();
    source = decoded(req);
  } catch (err) {
    await drained(req);
    throw err;
  }
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let bytes = 0;
  let check: StreamedCheck | undefined;
  let threadTried = false;
  let refused: Error | undefined;
  try {
    for await (const c of source) {
      if (refused) continue; // read off the rest, as body-parser does, so that the client gets the answer
      const chunk = c as Buffer;
      bytes += chunk.length;
      if (bytes > limit) {
        refused = tooLarge();
        check?.abort();
        chunks.length = 0;
        continue;
      }
      hash.update(chunk);
      chunks.push(chunk);
      if (!threadTried && bytes >= THREAD_MIN_BYTES && threads.enabled) {
        threadTried = true;
        check = startCheck(deps, threads, o);
        if (check) for (const earlier of chunks) await check.push(earlier);
      } else if (check) await check.push(chunk); // waits while the thread lags: the request is read no faster
    }
  } catch (err) {
    // The body did not decode as declared, or the client went away.
    check?.abort();
    await drained(req);
    const e = err as Error & { code?: string };
    if (isDecodeErrorCode(e.code)) throw bodyError(undefined, 400, e.message, { code: e.code });
    if (e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.message === 'aborted') throw bodyError('request.aborted', 400, 'request aborted');
    throw err;
  }
  if (refused) throw refused;
  if (bytes === 0) {
    check?.abort();
    throw Errors.badRequest('empty_body', `The request has no ${o.what} in its body.`);
  }
  const sha256 = hash.digest('hex');
  let summary: Summary | undefined;
  if (check) {
    const result = await check.result().catch((err: Error) => {
      deps.log.warn({ err: err.message, bytes }, 'dump check thread failed; checking the posted dump inline');
      return undefined;
    });
    if (result) {
      if (!result.validation.ok) throw result.validation.error;
      summary = result.validation.summary;
    }
  }
  summary ??= await validateDump(Readable.from(chunks), o.encoding, { delta: o.delta });
  return { summary, sha256, bytes, chunks };
}

/** Resolves once the request's remaining bytes were read off (or it closed). */
async function drained(req: BodyRequest): Promise<void> {
  const r = req as unknown as Readable;
  if (r.readableEnded || r.destroyed) return;
  r.unpipe();
  const done = new Promise<void>((resolve) => {
    r.once('end', resolve).once('close', resolve).once('error', () => resolve());
  });
  r.resume();
  await done;
}

/** A check thread for a body, or undefined when none can start (the body is then checked inline). */
/**
 * The most check threads busy at once for which a posted body takes one more: past it (slow clients holding
 * large bodies open, each thread with its own heap), a body is checked inline once it has arrived.
 */
export const POST_CHECK_THREADS_MAX = 4;

function startCheck(deps: ApiDeps, threads: CheckThreads, o: { encoding: DumpEncoding; delta?: boolean }): StreamedCheck | undefined {
  if (threads.busy >= POST_CHECK_THREADS_MAX) {
    deps.log.info({ busy: threads.busy }, 'every dump check thread is busy; checking the posted dump inline once it has arrived');
    return undefined;
  }
  try {
    return new StreamedCheck({ encoding: o.encoding, delta: o.delta, gzip: false, inflatedMaxBytes: deps.config.INFLATED_DUMP_MAX_BYTES }, threads);
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, 'dump check thread failed; checking the posted dump inline');
    return undefined;
  }
}

/** Stores an accepted body sealed under `dumpObjectKey(userId, its digest, encoding)`; returns the key. */
export async function storeCheckedBody(deps: ApiDeps, body: CheckedBody, o: { userId: string; encoding: DumpEncoding }): Promise<string> {
  const key = dumpObjectKey(o.userId, body.sha256, o.encoding);
  await putDump(deps.store, deps.config, key, Readable.from(body.chunks));
  return key;
}
