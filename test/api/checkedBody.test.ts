/**
 * A dump posted whole (api/checkedBody.ts): a large body is validated and sealed on a check thread, the
 * event loop turning meanwhile; what it answers and stores must be what the inline check gives — the same
 * summary, digest and errors, a sealed object that opens to the body — and a refused body leaves nothing in
 * the store. A thread that cannot run falls back to the inline check.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { storeCheckedBody, THREAD_MIN_BYTES, warmCheckThread } from '../../api/checkedBody';
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

/** An NDJSON dump with one value of about `bigValueBytes` (multi-byte and escaped characters across slice boundaries). */
function ndjson(bigValueBytes: number, o: { trailer?: boolean; tag?: string; extra?: string[] } = {}): Buffer {
  const lines = [HEADER];
  lines.push(JSON.stringify({ area: 'localStorage', key: 'content-storage', value: JSON.stringify({ state: { contentItems: [{ id: o.tag ?? 'x', body: 'é"\\\t€'.repeat(bigValueBytes / 10) }] }, version: 0 }) }));
  lines.push(JSON.stringify({ area: 'sessionStorage', key: 'tab', value: '1' }));
  lines.push(...(o.extra ?? []));
  if (o.trailer !== false) lines.push(JSON.stringify({ end: true, entries: lines.length - 1 }));
  return Buffer.from(`${lines.join('\n')}\n`);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function stored(key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await readDumpObject(deps.store, config, key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Every file under the store's directory (a refused body must leave no temp file either). */
function files(dir = config.STORAGE_DIR): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

test('a large body: the inline summary and digest, stored sealed under its key, the event loop turning, the thread kept for the next', async () => {
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'large' });
  const seen: string[] = [];
  setImmediate(() => seen.push('event loop turned'));
  const checked = await storeCheckedBody(deps, threads, body, { userId: 'u-large', encoding: 'ndjson' }).finally(() => seen.push('checked'));
  expect(seen).toEqual(['event loop turned', 'checked']);
  expect(checked.summary).toEqual(await validateDump(Readable.from([body]), 'ndjson'));
  expect(checked.summary.counts).toMatchObject({ localStorage: 1, sessionStorage: 1, total: 2 });
  expect(checked.sha256).toBe(sha256(body));
  expect(checked.key).toBe(dumpObjectKey('u-large', sha256(body), 'ndjson'));
  expect((await stored(checked.key)).equals(body)).toBe(true);
  expect(threads.idleCount).toBe(1);

  // The same body again (a retry): the same answer, and the object is still whole.
  const again = await storeCheckedBody(deps, threads, body, { userId: 'u-large', encoding: 'ndjson' });
  expect(again).toEqual(checked);
  expect((await stored(checked.key)).equals(body)).toBe(true);
}, 60_000);

test('a large body that is not a valid dump: the inline DumpFormatError, and nothing left in the store', async () => {
  const before = files();
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { trailer: false, tag: 'truncated' });
  const inline = await validateDump(Readable.from([body]), 'ndjson').catch((e: unknown) => e);
  const threaded = await storeCheckedBody(deps, threads, body, { userId: 'u-bad', encoding: 'ndjson' }).catch((e: unknown) => e);
  expect(threaded).toBeInstanceOf(DumpFormatError);
  expect(threaded).toMatchObject({ code: 'dump_truncated' });
  expect(threaded).toEqual(inline);
  expect((threaded as DumpFormatError).details).toEqual((inline as DumpFormatError).details);
  expect(await deps.store.head(dumpObjectKey('u-bad', sha256(body), 'ndjson'))).toBeFalsy();
  expect(files()).toEqual(before);
}, 60_000);

test('a large delta: removals pass on the thread with `delta`, and the same body as a dump is refused', async () => {
  const removal = JSON.stringify({ op: 'delete', area: 'localStorage', key: 'project-context' });
  const body = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'delta', extra: [removal] });
  const checked = await storeCheckedBody(deps, threads, body, { userId: 'u-delta', encoding: 'ndjson', delta: true });
  expect(checked.summary).toEqual(await validateDump(Readable.from([body]), 'ndjson', { delta: true }));
  expect(checked.summary.counts).toMatchObject({ removals: 1, total: 3 });
  const asDump = await storeCheckedBody(deps, threads, body, { userId: 'u-delta-2', encoding: 'ndjson' }).catch((e: unknown) => e);
  expect(asDump).toEqual(await validateDump(Readable.from([body]), 'ndjson').catch((e: unknown) => e));
  expect(asDump).toBeInstanceOf(DumpFormatError);
}, 60_000);

test('a small body is checked inline and stored; so is a large one where no thread can run', async () => {
  const small = ndjson(1024, { tag: 'small' });
  const idle = threads.idleCount;
  const checked = await storeCheckedBody(deps, threads, small, { userId: 'u-small', encoding: 'ndjson' });
  expect(checked.summary.counts.total).toBe(2);
  expect((await stored(checked.key)).equals(small)).toBe(true);
  expect(threads.idleCount).toBe(idle); // no thread taken

  const none = new CheckThreads([]); // TypeScript sources, no loader named: no thread
  expect(none.enabled).toBe(false);
  const large = ndjson(THREAD_MIN_BYTES + 1024 * 1024, { tag: 'no-thread' });
  const inline = await storeCheckedBody(deps, none, large, { userId: 'u-inline', encoding: 'ndjson' });
  expect(inline.summary).toEqual(await validateDump(Readable.from([large]), 'ndjson'));
  expect((await stored(inline.key)).equals(large)).toBe(true);
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
    const checked = await storeCheckedBody({ ...deps, log }, broken, body, { userId: 'u-boom', encoding: 'ndjson' });
    expect(checked.summary).toEqual(await validateDump(Readable.from([body]), 'ndjson'));
    expect((await stored(checked.key)).equals(body)).toBe(true);
    expect(lines.map((l) => JSON.parse(l) as { msg: string; err: string })).toEqual([
      expect.objectContaining({ msg: 'dump check thread failed; checking the posted dump inline', err: expect.stringContaining('this thread cannot start') }),
    ]);
  } finally {
    broken.close();
  }
}, 60_000);

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
    // The warmed thread serves the next large body.
    const body = ndjson(THREAD_MIN_BYTES + 1024, { tag: 'warmed' });
    const checked = await storeCheckedBody(deps, fresh, body, { userId: 'u-warm', encoding: 'ndjson' });
    expect(checked.summary.counts.total).toBe(2);
    expect(fresh.idleCount).toBe(1);
  } finally {
    fresh.close();
  }
}, 60_000);
