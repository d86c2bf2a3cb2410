/** The bounded inflater (core/inflate.ts): exact bound, early stop on a bomb, typed errors, mapped errors. */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CorruptGzipError, inflateBounded, InflatedTooLargeError } from '../../core/inflate';

async function drain(s: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** A source in 1 KiB pieces that counts how much of it was read. */
function counted(bytes: Buffer): { stream: Readable; read(): number } {
  let read = 0;
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 1024) pieces.push(bytes.subarray(i, i + 1024));
  const stream = Readable.from((function* () {
    for (const p of pieces) {
      read += p.length;
      yield p;
    }
  })());
  return { stream, read: () => read };
}

test('inflates up to and including the limit', async () => {
  const text = Buffer.from('x'.repeat(100_000));
  expect((await drain(inflateBounded(Readable.from([gzipSync(text)]), 100_000))).equals(text)).toBe(true);
  await expect(drain(inflateBounded(Readable.from([gzipSync(text)]), 99_999))).rejects.toBeInstanceOf(InflatedTooLargeError);
});

test('a bomb stops at the limit, long before its source is read', async () => {
  const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024), { level: 9 }); // 200 MiB of zeros, ~200 KB
  const src = counted(bomb);
  const err = await drain(inflateBounded(src.stream, 1024 * 1024)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InflatedTooLargeError);
  expect((err as InflatedTooLargeError).maxBytes).toBe(1024 * 1024);
  expect(src.read()).toBeLessThan(bomb.length / 10);
});

test('bytes that are not gzip, or a cut-off stream, fail with CorruptGzipError', async () => {
  for (const bad of [Buffer.from('{"not":"gzip"}'), gzipSync(Buffer.from('y'.repeat(10_000))).subarray(0, 30)]) {
    const err = await drain(inflateBounded(Readable.from([bad]), 1e9)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptGzipError);
    expect((err as CorruptGzipError).zlibCode).toMatch(/^Z_/);
  }
});

test('mapError turns the typed errors into the caller\'s own', async () => {
  class Mine extends Error {}
  const err = await drain(inflateBounded(Readable.from([Buffer.from('nope')]), 10, (e) => new Mine(e.message))).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Mine);
});

test('concatenated gzip members (a header and the entries compressed apart, as a streaming uploader may) read as one', async () => {
  const parts = ['{"format":"browser-storage-dump"}\n', 'a\n'.repeat(5000), '{"end":true}\n'];
  const multi = Buffer.concat(parts.map((p) => gzipSync(p)));
  expect((await drain(inflateBounded(Readable.from([multi]), 1e9))).toString()).toBe(parts.join(''));
});
