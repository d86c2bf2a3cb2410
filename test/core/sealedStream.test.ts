import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openSealedStream, sealStream } from '../../core/sealedStream';

const keys = new Map([['k1', randomBytes(32)], ['k0', randomBytes(32)]]);

async function collect(src: Readable, t: NodeJS.ReadWriteStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(src, t, async (s: AsyncIterable<string | Buffer>) => {
    for await (const c of s) parts.push(Buffer.from(c));
  });
  return Buffer.concat(parts);
}

const chunked = (b: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(b.length / size) || 1 }, (_, i) => b.subarray(i * size, (i + 1) * size)));

test.each([0, 1, 15, 16, 17, 100_000])('round trip of %i bytes in odd chunks, with any key id known', async (n) => {
  const plain = randomBytes(n);
  const sealed = await collect(chunked(plain, 7777), sealStream(keys, 'k0'));
  expect(await collect(chunked(sealed, 13), openSealedStream(keys))).toEqual(plain);
});

test('a chunk far larger than the cipher\'s pieces (a POST body is one buffer): the same bytes as small chunks give, both ways', async () => {
  const plain = randomBytes(3 * 1024 * 1024 + 17);
  const whole = await collect(Readable.from([plain]), sealStream(keys, 'k1'));
  expect(await collect(chunked(whole, 4096), openSealedStream(keys))).toEqual(plain);
  expect(await collect(Readable.from([whole]), openSealedStream(keys))).toEqual(plain);
  const small = await collect(chunked(plain, 4096), sealStream(keys, 'k1'));
  expect(small.length).toBe(whole.length);
  expect(await collect(Readable.from([small]), openSealedStream(keys))).toEqual(plain);
});

// From 16 bytes up: a shorter random plaintext can turn up in the ciphertext by chance, 16 random bytes
// cannot (about 2^-128 per position). Both ends: the first chunk and the last one must be sealed alike.
test.each([16, 17, 100_000])('the sealed bytes of %i bytes do not hold the plaintext', async (n) => {
  const plain = randomBytes(n);
  const sealed = await collect(chunked(plain, 7777), sealStream(keys, 'k0'));
  expect(sealed.length).toBeGreaterThan(n);
  expect(sealed.includes(plain.subarray(0, 16))).toBe(false);
  expect(sealed.includes(plain.subarray(n - 16))).toBe(false);
});

test('an altered byte, a truncated object or an unknown key fails the stream', async () => {
  const sealed = await collect(Readable.from([Buffer.from('{"secret":"abc"}')]), sealStream(keys, 'k1'));
  const altered = Buffer.from(sealed);
  altered[altered.length - 20] ^= 1;
  await expect(collect(Readable.from([altered]), openSealedStream(keys))).rejects.toThrow(/authentication tag/);
  await expect(collect(Readable.from([sealed.subarray(0, sealed.length - 3)]), openSealedStream(keys))).rejects.toThrow(/authentication tag|truncated/);
  await expect(collect(Readable.from([sealed]), openSealedStream(new Map([['k9', randomBytes(32)]])))).rejects.toThrow(/no key "k1"/);
  await expect(collect(Readable.from([Buffer.from('plain text')]), openSealedStream(keys))).rejects.toThrow(/not a sealed object/);
});
