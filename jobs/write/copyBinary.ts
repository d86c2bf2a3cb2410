/**
 * COPY's binary format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a
 * signature, then per row a field count and each field as its length and its bytes in the type's binary
 * form (-1: null), then a trailer. Nothing is escaped, so a large text value goes into the stream as the
 * pieces it was made in: no escaping pass over it, no copy of it into one buffer, and none into a bind
 * message (the serializer's buffer grows by copying too).
 */

export const BINARY_COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]); // flags 0, no extension
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]); // a field count of -1

/** A field: its bytes, the pieces of its bytes in order, or null. */
export type BinaryField = Buffer | readonly Buffer[] | null;

/** The binary forms of the types the staging tables use. */
export const binary = {
  uuid(s: string): Buffer {
    const b = Buffer.from(s.replace(/-/g, ''), 'hex');
    if (b.length !== 16) throw new Error(`not a uuid: ${s}`);
    return b;
  },
  int4(n: number): Buffer {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(n);
    return b;
  },
  int8(n: number): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  },
  bool(v: boolean): Buffer {
    return Buffer.from([v ? 1 : 0]);
  },
  /** text, varchar: the UTF-8 bytes (the server checks the encoding, as it does for text COPY). */
  text(s: string): Buffer {
    return Buffer.from(s, 'utf8');
  },
};

/** One row as pieces to write in order: its fields' lengths between their bytes (a field's pieces as they are). */
export function binaryRow(fields: readonly BinaryField[]): Buffer[] {
  const out: Buffer[] = [];
  let small: Buffer[] = [int16(fields.length)]; // lengths and small fields, joined into one buffer
  const flush = () => {
    if (small.length > 0) out.push(small.length === 1 ? small[0] : Buffer.concat(small));
    small = [];
  };
  for (const f of fields) {
    if (f === null) {
      small.push(NULL_LENGTH);
      continue;
    }
    const pieces = Buffer.isBuffer(f) ? [f] : f;
    small.push(binary.int4(pieces.reduce((n, p) => n + p.length, 0)));
    if (pieces.length === 1 && pieces[0].length < SMALL_FIELD) small.push(pieces[0]);
    else {
      flush();
      out.push(...pieces);
    }
  }
  flush();
  return out;
}

/** Fields shorter than this are joined with the row's other small parts; longer ones are written as they are. */
const SMALL_FIELD = 4096;
const NULL_LENGTH = binary.int4(-1);

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
}
