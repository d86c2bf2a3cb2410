/**
 * A dump posted whole (POST /v1/dumps, a cutover delta): the request body, held in memory, is hashed,
 * validated and stored sealed under its key, or refused with nothing kept.
 *
 * A large body is checked on one of the process's check threads (api/uploads/checkThread.ts, the same
 * threads tus uploads use, kept from request to request): validation and sealing run there, in 64 KiB
 * slices, while the sealed bytes stream into the object store's put, which becomes visible only once the
 * validation accepted the dump (refused, the put is destroyed and leaves nothing). The API's event loop
 * keeps serving meanwhile: parsing a 116 MB body is seconds of CPU (its one 110 MB line is a single
 * synchronous JSON.parse). A small body, or one where no thread can run, is checked inline.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { PassThrough, Readable } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { validateDump, type DumpEncoding } from '../format';
import { dumpObjectKey, putDump } from '../jobs/dumpObjects';
import type { ApiDeps } from './context';
import { StreamedCheck, type CheckResult, type CheckThreads } from './uploads/checkThread';

type Summary = Awaited<ReturnType<typeof validateDump>>;

/** Bodies from this size up are checked on a thread; below, inline costs less than the messages. */
export const THREAD_MIN_BYTES = 8 * 1024 * 1024;
/** What the event loop hashes or hands over between two turns (a few ms of work each). */
const STEP_BYTES = 4 * 1024 * 1024;
/** Inline, the decoder and parser get the body in slices: the UTF-8 decoder runs twice as fast on them. */
const SLICE_BYTES = 64 * 1024;

export interface CheckedBody {
  summary: Summary;
  sha256: string;
  /** Where the sealed dump is stored. */
  key: string;
}

/**
 * Before a route's body parser: a body whose Content-Length says it will be checked on a thread gets one
 * started while its bytes arrive (a thread's start is a few hundred ms of CPU, ~0.4 s of it on the event
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

/** SHA-256 of a body in memory, a step at a time, letting the event loop turn between steps. */
export async function sha256Stepwise(body: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < body.length; at += STEP_BYTES) {
    if (at > 0) await turn();
    hash.update(body.subarray(at, at + STEP_BYTES));
  }
  return hash.digest('hex');
}

function* slices(body: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

/**
 * Validates the body and stores it sealed under `dumpObjectKey(userId, sha256, encoding)`; returns the
 * summary, digest and key. Throws DumpFormatError (nothing stored) for a body that is not a valid dump (a
 * delta with `delta`). `sha256`: the body's digest when the caller computed it already.
 */
export async function storeCheckedBody(
  deps: ApiDeps,
  threads: CheckThreads,
  body: Buffer,
  o: { userId: string; encoding: DumpEncoding; delta?: boolean; sha256?: string },
): Promise<CheckedBody> {
  const sha256 = o.sha256 ?? (await sha256Stepwise(body));
  const key = dumpObjectKey(o.userId, sha256, o.encoding);
  if (body.length >= THREAD_MIN_BYTES && threads.enabled) {
    const summary = await checkOnThread(deps, threads, body, key, o);
    if (summary) return { summary, sha256, key };
  }
  const summary = await validateDump(Readable.from(slices(body, SLICE_BYTES)), o.encoding, { delta: o.delta });
  await putDump(deps.store, deps.config, key, body);
  return { summary, sha256, key };
}

/**
 * The summary of an accepted dump, stored; throws the validation's error, or the store's; undefined when the
 * thread itself failed (it could not start, or died): then nothing is stored and the caller checks inline
 * (the same answer, only slower).
 */
async function checkOnThread(
  deps: ApiDeps, threads: CheckThreads, body: Buffer, key: string, o: { encoding: DumpEncoding; delta?: boolean },
): Promise<Summary | undefined> {
  const { config } = deps;
  const kid = config.ENCRYPTION_KEY_ID;
  const sealOut = new PassThrough({ highWaterMark: STEP_BYTES });
  sealOut.on('error', () => undefined); // destroyed on purpose when the dump is refused; the put reports it
  // The key is copied: a Buffer may be a slice of Node's shared pool, which would go to the thread whole.
  const seal = { kid, key: new Uint8Array(config.encryptionKeys.get(kid)!) };
  let check: StreamedCheck;
  let result: CheckResult;
  let put: Promise<unknown> | undefined;
  try {
    check = new StreamedCheck({ encoding: o.encoding, delta: o.delta, gzip: false, inflatedMaxBytes: config.INFLATED_DUMP_MAX_BYTES, seal }, threads, sealOut);
    // The put shows the object only once sealOut ends; destroyed, it leaves nothing.
    put = deps.store.put(key, sealOut);
    put.catch(() => undefined); // awaited once the dump is accepted
    // push copies each step (the body stays the caller's) and waits while the thread or the store lag.
    for (const step of slices(body, STEP_BYTES)) await check.push(step);
    result = await check.result();
  } catch (err) {
    sealOut.destroy();
    await put?.catch(() => undefined);
    deps.log.warn({ err: (err as Error).message, bytes: body.length }, 'dump check thread failed; checking the posted dump inline');
    return undefined;
  }
  if (!result.validation.ok) {
    check.abort();
    await put.catch(() => undefined);
    throw result.validation.error;
  }
  sealOut.end();
  await put;
  return result.validation.summary;
}
