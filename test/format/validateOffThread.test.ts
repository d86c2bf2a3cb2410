/**
 * A large dump held in memory (a POST body) is validated on a worker thread (format/validateOffThread.ts):
 * the same summary and errors as validateDump, its SHA-256, and the caller's event loop runs meanwhile.
 * A small one is validated inline.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { OFF_THREAD_MIN_BYTES, validateBody, validateDump } from '../../format';

/** These sources run as TypeScript: the thread loads tsx first, as the npm scripts configure it. */
const PRELOAD = ['tsx/cjs'];

function ndjson(bigValueBytes: number, trailer = true): Buffer {
  const lines = [JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { origin: 'https://app.example', capturedAt: '2026-01-01T00:00:00.000Z' } })];
  lines.push(JSON.stringify({ area: 'localStorage', key: 'content-storage', value: JSON.stringify({ state: { contentItems: [{ id: 'x', body: 'é"\\\t'.repeat(bigValueBytes / 8) }] }, version: 0 }) }));
  lines.push(JSON.stringify({ area: 'sessionStorage', key: 'tab', value: '1' }));
  if (trailer) lines.push(JSON.stringify({ end: true, entries: 2 }));
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** What happened by the time the validation settled: a setImmediate queued with the call ran, or not yet. */
async function order(body: Buffer): Promise<string[]> {
  const seen: string[] = [];
  setImmediate(() => seen.push('event loop turned'));
  await validateBody(body, 'ndjson', { preload: PRELOAD }).finally(() => seen.push('validated'));
  return seen;
}

test('a large body: the same summary as validateDump, its SHA-256, and the event loop turns while it is parsed', async () => {
  const body = ndjson(OFF_THREAD_MIN_BYTES + 1024 * 1024);
  expect(body.length).toBeGreaterThan(OFF_THREAD_MIN_BYTES);
  const { summary, sha256 } = await validateBody(body, 'ndjson', { preload: PRELOAD });
  expect(summary).toEqual(await validateDump(Readable.from([body]), 'ndjson'));
  expect(summary.counts).toMatchObject({ localStorage: 1, sessionStorage: 1, total: 2 });
  expect(sha256).toBe(createHash('sha256').update(body).digest('hex'));
  expect(await order(body)).toEqual(['event loop turned', 'validated']);
});

test('a large body that is not a valid dump: the same DumpFormatError, code, message and details', async () => {
  const body = ndjson(OFF_THREAD_MIN_BYTES + 1024 * 1024, false);
  const inline = await validateDump(Readable.from([body]), 'ndjson').catch((e: unknown) => e);
  const threaded = await validateBody(body, 'ndjson', { preload: PRELOAD }).catch((e: unknown) => e);
  expect(threaded).toMatchObject({ name: 'DumpFormatError', code: 'dump_truncated' });
  expect(threaded).toEqual(inline);
  expect((threaded as { details: unknown }).details).toEqual((inline as { details: unknown }).details);
});

test('a small body is validated inline', async () => {
  const body = ndjson(1024);
  expect((await validateBody(body, 'ndjson')).summary.counts.total).toBe(2);
  expect(await order(body)).toEqual(['validated']); // done before the event loop turned once
});

test('where the sources run as TypeScript and no loader is named, a large body is validated inline', async () => {
  const body = ndjson(OFF_THREAD_MIN_BYTES + 1024 * 1024);
  const seen: string[] = [];
  setImmediate(() => seen.push('event loop turned'));
  const { summary } = await validateBody(body, 'ndjson').finally(() => seen.push('validated'));
  expect(summary.counts.total).toBe(2);
  expect(seen).toEqual(['validated']);
});
