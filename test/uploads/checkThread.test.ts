/**
 * The upload check thread (api/uploads/checkThread.ts) on its own: what it answers must be what the
 * read-back finish computes from the same bytes — SHA-256, the validation's summary or its error (as the
 * same error types, so the finish maps them alike), and a sealed copy that opens to the bytes; a failed
 * validation must still acknowledge every byte (or the upload's backpressure would stay shut), and a thread
 * that completed a check serves the next one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CheckThreads, StreamedCheck, type CheckResult, type CheckSettings } from '../../api/uploads/checkThread';
import { CorruptGzipError, InflatedTooLargeError } from '../../core/inflate';
import { openSealedStream } from '../../core/sealedStream';
import { DumpFormatError, validateDump } from '../../format';
import { Readable } from 'node:stream';
import { bigDump, MiB } from './harness';

const KEY = randomBytes(32);
const PRELOAD = ['tsx/cjs']; // the sources run as TypeScript here (config VALIDATION_THREAD_PRELOAD)
const threads = new CheckThreads(PRELOAD);
afterAll(() => threads.close());

/** The error of a refused check. */
const errorOf = (r: CheckResult): Error => {
  if (r.validation.ok) throw new Error('the check accepted the bytes');
  return r.validation.error;
};

const settings = (over: Partial<CheckSettings> = {}): CheckSettings => ({ encoding: 'ndjson', gzip: false, inflatedMaxBytes: 1 << 30, ...over });

/** Pushes `bytes` in `chunk`-sized pieces, as PATCHes hand them over, and collects the sealed output. */
async function run(check: StreamedCheck, bytes: Buffer, chunk = 64 * 1024) {
  for (let at = 0; at < bytes.length; at += chunk) await check.push(bytes.subarray(at, at + chunk));
  return check.result();
}

function sealedSink(): { out: PassThrough; bytes: () => Promise<Buffer> } {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  out.on('error', () => undefined); // as the object store's put, which sees the error and keeps nothing
  return { out, bytes: async () => Buffer.concat(parts) };
}

async function unseal(sealed: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of Readable.from([sealed]).pipe(openSealedStream(new Map([['k1', KEY]])))) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('a dump: the digest and summary the read-back check gives, and a sealed copy that opens to the bytes; the thread is reused', async () => {
  const dump = bigDump(3 * MiB, 'thread-ok');
  const sink = sealedSink();
  const check = new StreamedCheck(settings({ seal: { kid: 'k1', key: new Uint8Array(KEY) } }), threads, sink.out);
  const result = await run(check, dump.bytes);
  expect(result.sha256).toBe(createHash('sha256').update(dump.bytes).digest('hex'));
  expect(result.bytes).toBe(dump.bytes.length);
  expect(result.validation).toEqual({ ok: true, summary: await validateDump(Readable.from([dump.bytes]), 'ndjson') });
  expect(check.unacknowledged).toBe(0);
  sink.out.end();
  expect((await unseal(await sink.bytes())).equals(dump.bytes)).toBe(true);

  // The thread went back to the pool, and serves the next check (a bad one this time) from a clean state.
  expect(threads.idleCount).toBe(1);
  const next = new StreamedCheck(settings(), threads);
  expect(threads.idleCount).toBe(0);
  const bad = await run(next, Buffer.from('{"format":"browser-storage-dump","version":1,"source":{}}\n{"area":"localStorage"}\n'));
  expect(bad.validation.ok).toBe(false);
}, 60_000);

test('an early bad entry in 40 MiB pushed at full speed: refused as DumpFormatError, every byte acknowledged, nothing hangs', async () => {
  const dump = bigDump(40 * MiB, 'thread-bad');
  const lines = dump.bytes.toString().split('\n');
  lines[3] = JSON.stringify({ area: 'localStorage', value: 'no key' });
  const bytes = Buffer.from(lines.join('\n'));
  const check = new StreamedCheck(settings(), threads);
  const result = await run(check, bytes, 256 * 1024);
  expect(result.validation.ok).toBe(false);
  const inline = await validateDump(Readable.from([bytes]), 'ndjson').catch((e: DumpFormatError) => e);
  expect(result.validation).toMatchObject({ ok: false, error: { name: 'DumpFormatError', code: (inline as DumpFormatError).code, message: (inline as DumpFormatError).message } });
  expect(errorOf(result)).toBeInstanceOf(DumpFormatError);
  expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex')); // still hashed to the end
  expect(check.unacknowledged).toBe(0);
}, 120_000);

test('gzip: bytes that do not inflate, and a dump that inflates past the limit, fail as the inline inflater does', async () => {
  const corrupt = await run(new StreamedCheck(settings({ gzip: true }), threads), randomBytes(2 * MiB));
  expect(errorOf(corrupt)).toBeInstanceOf(CorruptGzipError);
  expect((errorOf(corrupt) as CorruptGzipError).zlibCode).toBe('Z_DATA_ERROR');

  const dump = bigDump(2 * MiB, 'thread-bomb');
  const tooBig = await run(new StreamedCheck(settings({ gzip: true, inflatedMaxBytes: MiB }), threads), gzipSync(dump.bytes));
  expect(errorOf(tooBig)).toBeInstanceOf(InflatedTooLargeError);
  expect((errorOf(tooBig) as InflatedTooLargeError).maxBytes).toBe(MiB);

  const fine = await run(new StreamedCheck(settings({ gzip: true }), threads), gzipSync(dump.bytes));
  expect(fine.validation).toMatchObject({ ok: true, summary: { counts: { total: dump.entries } } });
}, 60_000);

test('aborted half-way: the sealed output is destroyed (its put keeps nothing), and the thread is not reused', async () => {
  const dump = bigDump(2 * MiB, 'thread-abort');
  const sink = sealedSink();
  const idleBefore = threads.idleCount;
  const check = new StreamedCheck(settings({ seal: { kid: 'k1', key: new Uint8Array(KEY) } }), threads, sink.out);
  await check.push(dump.bytes.subarray(0, MiB));
  const closed = new Promise((resolve) => sink.out.once('close', resolve));
  check.abort();
  await closed;
  expect(sink.out.destroyed).toBe(true);
  expect(sink.out.writableFinished).toBe(false);
  await expect(check.result()).rejects.toThrow();
  expect(threads.idleCount).toBeLessThanOrEqual(idleBefore);
}, 60_000);
