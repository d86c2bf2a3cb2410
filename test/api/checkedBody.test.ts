/**
 * A dump posted whole (api/checkedBody.ts): the body is read as it arrives, decoded per its
 * Content-Encoding and bounded, and a large one validated on a check thread meanwhile, the event loop
 * turning; what it answers must be what the inline check gives — the same summary, digest and errors — and
 * the sealed object stored from its chunks must open to the body. A thread that cannot run falls back to the
 * inline check. Refusals carry body-parser's kinds of error, which the app's error mapper answers.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { limitBytes, POST_CHECK_THREADS_MAX, receiveCheckedBody, storeCheckedBody, THREAD_MIN_BYTES, warmCheckThread, type BodyRequest } from '../../api/checkedBody';
import type { ApiDeps } from '../../api/context';
import { CheckThreads } from '../../api/uploads/checkThread';
import { createLogger } from '../../core/logger';
import { FsObjectStore } from '../../core/objectStore/FsObjectStore';
import { DumpFormatError, validateDump } from '../../format';
import { dumpObjectKey, readDumpObject } from '../../jobs/dumpObjects';
import { testConfig } from '../helpers/stack';

const config = testConfig();
const deps = { config, store: new FsObjectStore(config.STORAGE_DIR), log: createLogger('silent') } as unknown as ApiDeps;
const threads = new CheckThreads(['tsx/cjs']); // the sources run as TypeScript here (config VALIDATION_THREAD_PRELOAD)
afterAll(() => threads.close());

const HEADER = JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { origin: 'https://app.example', capturedAt: '2026-01-01T00:00:00.000Z' } });

/** An NDJSON dump with one value of about `bigValueBytes` (multi-byte and escaped characters across chunk boundaries). */
function ndjson(bigValueBytes: number, o: { trailer?: boolean; tag?: string; extra?: string[] } = {}): Buffer {
  const lines = [HEADER];
  lines.push(JSON.stringify({ area: 'localStorage', key: 'content-storage', value: JSON.stringify({ state: { contentItems: [{ id: o.tag ?? 'x', body: 'é"\\\t€'.repeat(bigValueBytes / 10) }] }, version: 0 }) }));
  lines.push(JSON.stringify({ area: 'sessionStorage', key: 'tab', value: '1' }));
  lines.push(...(o.extra ?? []));
  if (o.trailer !== false) lines.push(JSON.stringify({ end: true, entries: lines.length - 1 }));
  return Buffer.from(`${lines.join('\n')}\n`);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A request as the handler sees it: headers, and the body in `chunk`-sized pieces as a socket delivers them. */
function request(body: Buffer, headers: Record<string, string> = {}, chunk = 64 * 1024): BodyRequest {
  const pieces = Array.from({ length: Math.ceil(body.length / chunk) }, (_, i) => body.subarray(i * chunk, (i + 1) * chunk));
  return Object.assign(Readable.from(pieces), { headers: { 'content-length': String(body.length), ...headers } });
}

const LIMIT = '256mb';
const receive = (req: BodyRequest, o: { delta?: boolean; t?: CheckThreads; limit?: string } = {}) =>
  receiveCheckedBody(deps, o.t ?? threads, req, { encoding: 'ndjson', delta: o.delta, limit: o.limit ?? LIMIT, what: o.delta ? 'delta' : 'dump' });

async function stored(key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await readDumpObject(deps.store, config, key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('a large body: the inline summary and digest while the event loop turns, the thread kept for the next; stored sealed from its chunks', async () => {
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'large' });
  const seen: string[] = [];
  setImmediate(() => seen.push('event loop turned'));
  const checked = await receive(request(body)).finally(() => seen.push('checked'));
  expect(seen).toEqual(['event loop turned', 'checked']);
  expect(checked.summary).toEqual(await validateDump(Readable.from([body]), 'ndjson'));
  expect(checked.summary.counts).toMatchObject({ localStorage: 1, sessionStorage: 1, total: 2 });
  expect(checked.sha256).toBe(sha256(body));
  expect(checked.bytes).toBe(body.length);
  expect(Buffer.concat(checked.chunks).equals(body)).toBe(true);
  expect(threads.idleCount).toBe(1);
  const key = await storeCheckedBody(deps, checked, { userId: 'u-large', encoding: 'ndjson' });
  expect(key).toBe(dumpObjectKey('u-large', sha256(body), 'ndjson'));
  expect((await stored(key)).equals(body)).toBe(true);
}, 60_000);

test('a large body that is not a valid dump: the inline DumpFormatError, read to its end, the thread kept', async () => {
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { trailer: false, tag: 'truncated' });
  const inline = await validateDump(Readable.from([body]), 'ndjson').catch((e: unknown) => e);
  const req = request(body);
  const threaded = await receive(req).catch((e: unknown) => e);
  expect(threaded).toBeInstanceOf(DumpFormatError);
  expect(threaded).toMatchObject({ code: 'dump_truncated' });
  expect(threaded).toEqual(inline);
  expect((threaded as DumpFormatError).details).toEqual((inline as DumpFormatError).details);
  expect((req as unknown as Readable).readableEnded).toBe(true); // the client's bytes were all taken
  expect(threads.idleCount).toBe(1);
}, 60_000);

test('a large delta: removals pass on the thread with `delta`, and the same body as a dump is refused', async () => {
  const removal = JSON.stringify({ op: 'delete', area: 'localStorage', key: 'project-context' });
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'delta', extra: [removal] });
  const checked = await receive(request(body), { delta: true });
  expect(checked.summary).toEqual(await validateDump(Readable.from([body]), 'ndjson', { delta: true }));
  expect(checked.summary.counts).toMatchObject({ removals: 1, total: 3 });
  const asDump = await receive(request(body)).catch((e: unknown) => e);
  expect(asDump).toEqual(await validateDump(Readable.from([body]), 'ndjson').catch((e: unknown) => e));
  expect(asDump).toBeInstanceOf(DumpFormatError);
}, 60_000);

test('a small body is checked inline; so is a large one where no thread can run', async () => {
  const small = ndjson(1024, { tag: 'small' });
  const idle = threads.idleCount;
  const checked = await receive(request(small));
  expect(checked.summary.counts.total).toBe(2);
  expect(checked.sha256).toBe(sha256(small));
  expect(threads.idleCount).toBe(idle); // no thread taken

  const none = new CheckThreads([]); // TypeScript sources, no loader named: no thread
  expect(none.enabled).toBe(false);
  const large = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'no-thread' });
  const inline = await receive(request(large), { t: none });
  expect(inline.summary).toEqual(await validateDump(Readable.from([large]), 'ndjson'));
}, 60_000);

test('a thread that cannot start: the same answer inline, and the reason logged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bsm-boom-'));
  const boom = join(dir, 'boom.js');
  writeFileSync(boom, "throw new Error('this thread cannot start');\n");
  const broken = new CheckThreads([boom]);
  const lines: string[] = [];
  const log = createLogger('warn', {}, { write: (l: string) => void lines.push(l) });
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'boom' });
  try {
    const checked = await receiveCheckedBody({ ...deps, log }, broken, request(body), { encoding: 'ndjson', limit: LIMIT, what: 'dump' });
    expect(checked.summary).toEqual(await validateDump(Readable.from([body]), 'ndjson'));
    expect(lines.map((l) => JSON.parse(l) as { msg: string; err: string })).toEqual([
      expect.objectContaining({ msg: 'dump check thread failed; checking the posted dump inline', err: expect.stringContaining('this thread cannot start') }),
    ]);
  } finally {
    broken.close();
  }
}, 60_000);

test('Content-Encoding gzip, deflate and br decode as they arrive (the limit and the digest are of the decoded bytes); others are refused', async () => {
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'encoded' });
  for (const [encoding, bytes] of [['gzip', gzipSync(body)], ['deflate', deflateSync(body)], ['br', brotliCompressSync(body)]] as const) {
    const checked = await receive(request(bytes, { 'content-encoding': encoding }));
    expect([encoding, checked.sha256, checked.bytes, checked.summary.counts.total]).toEqual([encoding, sha256(body), body.length, 2]);
  }
  for (const other of ['compress', 'constructor', '__proto__', 'toString']) {
    await expect(receive(request(gzipSync(body), { 'content-encoding': other }))).rejects.toMatchObject({ type: 'encoding.unsupported', status: 415 });
  }
  // Past the limit once decoded, though small as sent.
  await expect(receive(request(gzipSync(body), { 'content-encoding': 'gzip' }), { limit: '8mb' })).rejects.toMatchObject({ type: 'entity.too.large', status: 413 });
  // Not what it says it is.
  await expect(receive(request(body, { 'content-encoding': 'gzip' }))).rejects.toMatchObject({ status: 400, code: expect.stringMatching(/^Z_/) });
}, 60_000);

test('refusals, each after reading the request off: over the limit by Content-Length or by the bytes, an unknown encoding, empty, cut off', async () => {
  const body = ndjson(1024);
  const big = request(body, { 'content-length': String(300 * 1024 * 1024) });
  await expect(receive(big)).rejects.toMatchObject({ type: 'entity.too.large', status: 413 });
  // Each refused request is read off to its end first, as body-parser does: the client then gets the answer.
  expect((big as unknown as Readable).readableEnded).toBe(true);
  const over = request(body, { 'content-length': '' }, 100);
  await expect(receive(over, { limit: '1kb' })).rejects.toMatchObject({ type: 'entity.too.large', status: 413 });
  expect((over as unknown as Readable).readableEnded).toBe(true);
  const unsupported = request(body, { 'content-encoding': 'compress' });
  await expect(receive(unsupported)).rejects.toMatchObject({ status: 415 });
  expect((unsupported as unknown as Readable).readableEnded).toBe(true);
  await expect(receive(request(Buffer.alloc(0)))).rejects.toMatchObject({ status: 400, code: 'empty_body', message: 'The request has no dump in its body.' });
  await expect(receive(request(Buffer.alloc(0)), { delta: true })).rejects.toMatchObject({ code: 'empty_body', message: 'The request has no delta in its body.' });
  const cut = Object.assign(new Readable({ read() { this.push(body.subarray(0, 100)); this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })); } }), { headers: {} });
  await expect(receive(cut)).rejects.toMatchObject({ type: 'request.aborted', status: 400 });
  expect([limitBytes('50mb'), limitBytes('1kb'), limitBytes('7'), limitBytes('2GB')]).toEqual([50 * 2 ** 20, 1024, 7, 2 * 2 ** 30]);
});

test('a request announcing a large body gets a thread started while its bytes arrive; a small one, or one without a thread to run, does not', async () => {
  const fresh = new CheckThreads(['tsx/cjs']);
  try {
    const headers = (n: number) => ({ headers: { 'content-length': String(n) } }) as never;
    const next = jest.fn();
    warmCheckThread(deps, fresh)(headers(1024), {} as never, next);
    expect(fresh.idleCount).toBe(0);
    warmCheckThread(deps, fresh)(headers(THREAD_MIN_BYTES), {} as never, next);
    expect(fresh.idleCount).toBe(1);
    warmCheckThread(deps, fresh)(headers(THREAD_MIN_BYTES * 4), {} as never, next); // one idle thread is enough
    expect(fresh.idleCount).toBe(1);
    const none = new CheckThreads([]);
    warmCheckThread(deps, none)(headers(THREAD_MIN_BYTES), {} as never, next);
    expect(none.idleCount).toBe(0);
    expect(next).toHaveBeenCalledTimes(4);
  } finally {
    fresh.close();
  }
}, 60_000);

test('bodies held open by slow clients take at most POST_CHECK_THREADS_MAX threads; the next large body is checked inline, with the same answer', async () => {
  const t = new CheckThreads(['tsx/cjs']);
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'slow' });
  const held: { req: PassThrough; checked: Promise<{ sha256: string }> }[] = [];
  try {
    held.push(...Array.from({ length: POST_CHECK_THREADS_MAX }, () => {
      const req = Object.assign(new PassThrough(), { headers: { 'content-length': String(body.length) } });
      req.write(body.subarray(0, THREAD_MIN_BYTES + 64 * 1024)); // past the thread threshold, then the client stalls
      return { req, checked: receive(req, { t }) };
    }));
    while (t.busy < POST_CHECK_THREADS_MAX) await new Promise((r) => setTimeout(r, 10));
    const next = await receive(request(ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'next' })), { t });
    expect(next.summary).toEqual(await validateDump(Readable.from([ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'next' })]), 'ndjson'));
    expect(t.busy).toBe(POST_CHECK_THREADS_MAX);
    expect(t.idleCount).toBe(0); // no thread checked it (one would have gone back to the pool)
    for (const h of held) h.req.end(body.subarray(THREAD_MIN_BYTES + 64 * 1024));
    for (const h of held) expect((await h.checked).sha256).toBe(sha256(body));
    expect(t.busy).toBe(0);
  } finally {
    for (const h of held) if (!h.req.writableEnded) h.req.destroy();
    await Promise.allSettled(held.map((h) => h.checked));
    t.close();
  }
}, 60_000);
