/**
 * SHA-256 (FIPS 180-4) that can be fed piece by piece.
 *
 * Why not crypto.subtle: `digest()` takes one whole buffer, so hashing a dump of hundreds of MB meant
 * holding all of its bytes in one ArrayBuffer (on top of the dump and its Blob). Fed incrementally,
 * the uploader hashes each piece of NDJSON as it is built and never needs a second full copy.
 *
 * Plain integer arithmetic on Int32Array words (V8 keeps them as small integers, so no allocation per
 * block); a test compares it with Node's crypto on many lengths and splits, Chromium's crypto.subtle on a
 * real dump.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export class Sha256 {
  private readonly state = new Int32Array(INITIAL);
  private readonly w = new Int32Array(64);
  /** A partial block carried over between update() calls. */
  private readonly block = new Uint8Array(64);
  private blockLength = 0;
  /** Total bytes fed; a Number is exact far beyond any dump (2^53). */
  private length = 0;
  private finished = false;

  update(data: Uint8Array): this {
    if (this.finished) throw new Error('Sha256: update() after digest()');
    const n = data.length;
    this.length += n;
    let i = 0;
    if (this.blockLength > 0) {
      const take = Math.min(64 - this.blockLength, n);
      this.block.set(data.subarray(0, take), this.blockLength);
      this.blockLength += take;
      i = take;
      if (this.blockLength < 64) return this;
      this.compress(this.block, 0);
      this.blockLength = 0;
    }
    // Whole blocks straight from the caller's bytes: no copying in the common case.
    for (; i + 64 <= n; i += 64) this.compress(data, i);
    if (i < n) {
      this.block.set(data.subarray(i), 0);
      this.blockLength = n - i;
    }
    return this;
  }

  /** The 32-byte digest; the hash cannot be fed afterwards. */
  digest(): Uint8Array {
    if (this.finished) throw new Error('Sha256: digest() called twice');
    const bytes = this.length;
    // Padding: 0x80, zeros up to 56 mod 64, then the length in bits as a 64-bit big-endian number.
    const pad = new Uint8Array(((this.blockLength < 56 ? 56 : 120) - this.blockLength) + 8);
    pad[0] = 0x80;
    const hi = Math.floor(bytes / 0x20000000); // bytes * 8 / 2^32
    const lo = (bytes * 8) >>> 0; // exact: bytes * 8 < 2^53, and >>> 0 takes it mod 2^32
    const end = pad.length - 8;
    pad[end] = hi >>> 24; pad[end + 1] = hi >>> 16; pad[end + 2] = hi >>> 8; pad[end + 3] = hi;
    pad[end + 4] = lo >>> 24; pad[end + 5] = lo >>> 16; pad[end + 6] = lo >>> 8; pad[end + 7] = lo;
    this.update(pad);
    this.finished = true;
    const out = new Uint8Array(32);
    for (let j = 0; j < 8; j++) {
      const v = this.state[j];
      out[j * 4] = v >>> 24; out[j * 4 + 1] = v >>> 16; out[j * 4 + 2] = v >>> 8; out[j * 4 + 3] = v;
    }
    return out;
  }

  digestHex(): string {
    let hex = '';
    for (const b of this.digest()) hex += (b < 16 ? '0' : '') + b.toString(16);
    return hex;
  }

  private compress(p: Uint8Array, off: number): void {
    const w = this.w;
    const s = this.state;
    let a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (let t = 0; t < 64; t++) {
      let wt: number;
      if (t < 16) {
        wt = (p[off] << 24) | (p[off + 1] << 16) | (p[off + 2] << 8) | p[off + 3];
        off += 4;
      } else {
        const x = w[t - 15];
        const y = w[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        wt = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      w[t] = wt;
      // Ch and Maj in their one-operation-shorter equivalent forms.
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + (g ^ (e & (f ^ g))) + K[t] + wt) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) | (c & (a | b)))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    s[0] = (s[0] + a) | 0; s[1] = (s[1] + b) | 0; s[2] = (s[2] + c) | 0; s[3] = (s[3] + d) | 0;
    s[4] = (s[4] + e) | 0; s[5] = (s[5] + f) | 0; s[6] = (s[6] + g) | 0; s[7] = (s[7] + h) | 0;
  }
}

/** Hex SHA-256 of some bytes in one go (small inputs; large ones are fed with update()). */
export function sha256HexOf(data: Uint8Array): string {
  return new Sha256().update(data).digestHex();
}

/**
 * Hex SHA-256 of a Blob, read a slice at a time, so a Blob of any size costs one slice of memory
 * (crypto.subtle would want all of it in one ArrayBuffer).
 */
export async function sha256HexOfBlob(blob: Blob, sliceSize = 4 * 1024 * 1024): Promise<string> {
  const hash = new Sha256();
  for (let at = 0; at < blob.size; at += sliceSize) {
    hash.update(new Uint8Array(await blob.slice(at, at + sliceSize).arrayBuffer()));
  }
  return hash.digestHex();
}
