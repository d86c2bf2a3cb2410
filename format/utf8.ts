/**
 * UTF-8 that arrives in pieces (input chunks, the pieces of a line or of a value): decoded as one stream
 * decoder would decode it, and checked, with a character allowed to straddle two pieces.
 */
import { isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';

/** UTF-8 pieces decoded as one stream would decode them (a character may straddle two pieces). */
export function decodePieces(pieces: readonly Buffer[]): string {
  if (pieces.length === 0) return '';
  if (pieces.length === 1) return pieces[0].toString('utf8');
  const decoder = new StringDecoder('utf8');
  const parts = pieces.map((p) => decoder.write(p));
  parts.push(decoder.end());
  return parts.join('');
}

/** Bytes of a UTF-8 sequence by its lead byte; 0 for a byte that cannot lead one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Whether the pieces are valid UTF-8 taken together (a character may straddle two of them). */
export function validUtf8(pieces: readonly Buffer[]): boolean {
  let carry: Buffer | undefined; // the start of a character the previous piece ended in
  for (let p of pieces) {
    if (carry) {
      const need = sequenceLength(carry[0]) - carry.length;
      if (need > p.length) {
        carry = Buffer.concat([carry, p]);
        continue;
      }
      if (!isUtf8(Buffer.concat([carry, p.subarray(0, need)]))) return false;
      p = p.subarray(need);
      carry = undefined;
    }
    // A character the piece ends in the middle of: checked with the next piece's first bytes.
    let cut = 0;
    for (let j = 1; j <= Math.min(3, p.length); j++) {
      const b = p[p.length - j];
      if ((b & 0xc0) === 0x80) continue;
      const length = sequenceLength(b);
      if (length > j) cut = j;
      break;
    }
    if (!isUtf8(p.subarray(0, p.length - cut))) return false;
    if (cut) carry = Buffer.from(p.subarray(p.length - cut));
  }
  return carry === undefined;
}
