/**
 * The uploader's SHA-256 (client/digest.ts: @noble/hashes, fed the way ndjsonBlob.ts feeds it) against
 * Node's crypto: every length around the padding boundaries, random splits of the input across update()
 * calls, multi-byte UTF-8, a length past 2^32 bits, and Blobs read by slices.
 */
import { createHash, randomBytes } from 'node:crypto';
import { bytesToHex, sha256, sha256HexOf, sha256HexOfBlob } from '../../client/digest';

/** The hex digest of a streaming hash, as ndjsonBlob.ts takes it. */
const hexOf = (h: ReturnType<typeof sha256.create>) => bytesToHex(h.digest());

const node = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** A deterministic PRNG, so a failure names a reproducible split. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

describe('SHA-256 (@noble/hashes)', () => {
  test('known vectors (FIPS 180-4 examples)', () => {
    const enc = new TextEncoder();
    expect(sha256HexOf(enc.encode(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256HexOf(enc.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256HexOf(enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))
      .toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  const sizes = [0, 1, 2, 55, 56, 57, 63, 64, 65, 111, 119, 120, 127, 128, 129, 1000, 4095, 4096, 65537, 1024 * 1024, 1024 * 1024 + 13];
  test.each(sizes)('%i random bytes, in one update and in random pieces', (n) => {
    const data = randomBytes(n);
    const expected = node(data);
    expect(hexOf(sha256.create().update(data))).toBe(expected);
    const next = rng(n + 1);
    for (let round = 0; round < 3; round++) {
      const h = sha256.create();
      for (let at = 0; at < n;) {
        // Mostly small pieces (they cross block boundaries in every way), sometimes large ones.
        const len = next() < 0.8 ? Math.floor(next() * 130) : Math.floor(next() * 70000);
        h.update(data.subarray(at, at + len));
        at += len;
      }
      h.update(new Uint8Array(0));
      expect(hexOf(h)).toBe(expected);
    }
  });

  test('multi-byte UTF-8 (2-, 3- and 4-byte characters) at every offset mod 64', () => {
    const enc = new TextEncoder();
    const base = 'é☕📋aß€😀\u0000\uffff';
    for (let pad = 0; pad < 64; pad++) {
      const bytes = enc.encode('x'.repeat(pad) + base.repeat(pad + 1));
      expect(sha256HexOf(bytes)).toBe(node(bytes));
    }
    const big = enc.encode('{"v":"' + 'Grüße ☕ 📋 '.repeat(40000) + '"}\n');
    expect(sha256HexOf(big)).toBe(node(big));
  });

  test('a length past 2^32 bits (512 MiB): the high word of the bit count', () => {
    const piece = randomBytes(1024 * 1024);
    const tail = randomBytes(777);
    const h = sha256.create();
    const n = createHash('sha256');
    for (let i = 0; i < 512; i++) { h.update(piece); n.update(piece); }
    h.update(tail);
    n.update(tail);
    expect(hexOf(h)).toBe(n.digest('hex'));
  }, 60000);

  test('no feeding after the digest, no second digest', () => {
    const h = sha256.create().update(new Uint8Array([1]));
    h.digest();
    expect(() => h.update(new Uint8Array([2]))).toThrow(/destroyed|already/);
    expect(() => h.digest()).toThrow(/destroyed|already/);
  });

  test('sha256HexOfBlob reads a Blob of parts slice by slice', async () => {
    const a = randomBytes(100_003);
    const b = randomBytes(5);
    const blob = new Blob(['header ☕\n', a, b]);
    const expected = node(Buffer.from('header ☕\n'), a, b);
    expect(await sha256HexOfBlob(blob)).toBe(expected);
    expect(await sha256HexOfBlob(blob, 4099)).toBe(expected);
    expect(await sha256HexOfBlob(new Blob([]))).toBe(node());
  });
});
