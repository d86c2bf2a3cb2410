/**
 * COPY's binary format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a
 * signature, then per row a field count and each field as its length and its bytes in the type's binary
 * form (-1: null), then a trailer. Nothing is escaped, so a large text value goes into the stream as the
 * pieces it was made in: no escaping pass over it, no copy of it into one buffer, and none into a bind
 * message (the serializer's buffer grows by copying too). Read back the same way (copyOutText).
 */
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

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

/**
 * The one text field of the one row `COPY (<query>) TO STDOUT (FORMAT binary)` gives (null for SQL null),
 * read as it streams into one buffer of its exact size, then decoded once. A large value read as a query's
 * result instead is gathered by the driver into buffers that double as it grows (for a 110 MB value: 128 and
 * 256 MB, each touched fresh, then copied), the worker's costliest read.
 */
export async function copyOutText(client: PoolClient, query: string): Promise<string | null> {
  const stream = client.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`));
  let head = Buffer.alloc(0);
  let value: Buffer | null | undefined; // undefined: its length not read yet
  let filled = 0;
  let rest = Buffer.alloc(0); // what follows the value: the trailer
  let wrong: string | undefined;
  // Read to the end whatever comes: a COPY left half-read would leave the connection in its middle.
  for await (const c of stream) {
    let chunk = c as Buffer;
    if (wrong) continue;
    if (value === undefined) {
      head = Buffer.concat([head, chunk]);
      if (head.length < BINARY_COPY_HEADER.length) continue;
      const start = BINARY_COPY_HEADER.length + head.readInt32BE(BINARY_COPY_HEADER.length - 4); // past the header extension
      if (head.length < start + 2) continue;
      const fields = head.readInt16BE(start);
      if (fields !== 1) {
        wrong = fields === -1 ? 'no row' : 'a row of another shape';
        continue;
      }
      if (head.length < start + 6) continue;
      const length = head.readInt32BE(start + 2);
      value = length < 0 ? null : Buffer.allocUnsafe(length);
      chunk = head.subarray(start + 6);
      head = Buffer.alloc(0);
    }
    const take = value === null ? 0 : Math.min(chunk.length, value.length - filled);
    if (value) chunk.copy(value, filled, 0, take);
    filled += take;
    if (take < chunk.length) rest = Buffer.concat([rest, chunk.subarray(take)]);
  }
  if (wrong) throw new Error(`COPY gave ${wrong}: ${query}`);
  if (value === undefined || (value && filled < value.length) || rest.length < 2 || rest.readInt16BE(0) !== -1) {
    throw new Error(`COPY did not give exactly one row: ${query}`);
  }
  return value === null ? null : value.toString('utf8');
}
