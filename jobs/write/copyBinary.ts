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

/** Microseconds between the Unix epoch and Postgres' (2000-01-01 UTC), timestamptz's binary zero. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT8 = /^-?\d{1,19}$/;
const PACKED_BYTES = 1 << 20;

/**
 * Rows of small fields in COPY's binary format, packed into buffers of about 1 MiB as they are added: one
 * write per field into the current buffer, where binaryRow makes a buffer per field (fine for ingest's few
 * rows, not for a staging table's 10,000). Each `put` takes a JS value the way the text format's input
 * function would read it, or returns false when it cannot promise the same result (a timestamp given as
 * text, a number that is not an integer of the column's range…): the caller then writes the rows as text.
 */
export class PackedRows {
  private readonly out: Buffer[] = [BINARY_COPY_HEADER];
  private buf = Buffer.allocUnsafe(PACKED_BYTES);
  private at = 0;

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    if (this.at > 0) this.out.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(PACKED_BYTES, bytes));
    this.at = 0;
  }

  private length(n: number): void {
    this.buf.writeInt32BE(n, this.at);
    this.at += 4;
  }

  /** Reserves a fixed-size field (its length written); returns where its bytes go (in `buf`, read after this). */
  private field(bytes: number): number {
    this.room(4 + bytes);
    this.length(bytes);
    const at = this.at;
    this.at += bytes;
    return at;
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): void {
    this.room(2);
    this.buf.writeInt16BE(fields, this.at);
    this.at += 2;
  }

  null(): void {
    this.room(4);
    this.length(-1);
  }

  /** `prefix`: jsonb's version byte before the text. */
  private utf8(s: string, prefix?: number): void {
    const pre = prefix === undefined ? 0 : 1;
    // At most 3 bytes a UTF-16 code unit; a long string is measured instead of reserving three times its length.
    const max = s.length > PACKED_BYTES / 4 ? Buffer.byteLength(s) : s.length * 3;
    this.room(4 + pre + max);
    if (pre) this.buf[this.at + 4] = prefix!;
    const n = this.buf.write(s, this.at + 4 + pre, 'utf8');
    this.length(n + pre);
    this.at += n + pre;
  }

  /** One field of the given column type (upsertRows' staging columns, tableSpec's sqlType); false: not exactly. */
  put(v: unknown, sqlType: string): boolean {
    if (v === null || v === undefined) {
      this.null();
      return true;
    }
    switch (sqlType) {
      case 'text':
        if (v instanceof Date) return false; // the text format writes its ISO form
        this.utf8(typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
        return true;
      case 'jsonb':
        this.utf8(JSON.stringify(v), 1);
        return true;
      case 'uuid': {
        if (typeof v !== 'string' || !UUID.test(v)) return false;
        const at = this.field(16);
        this.buf.write(v.replace(/-/g, ''), at, 'hex');
        return true;
      }
      case 'timestamptz': {
        if (!(v instanceof Date) || Number.isNaN(v.getTime())) return false;
        const at = this.field(8);
        this.buf.writeBigInt64BE(BigInt(v.getTime() - PG_EPOCH_MS) * 1000n, at);
        return true;
      }
      case 'integer': {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) return false;
        const at = this.field(4);
        this.buf.writeInt32BE(v, at);
        return true;
      }
      case 'bigint': {
        const n = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : typeof v === 'string' && INT8.test(v) ? BigInt(v) : undefined;
        if (n === undefined || n < -(2n ** 63n) || n >= 2n ** 63n) return false;
        const at = this.field(8);
        this.buf.writeBigInt64BE(n, at);
        return true;
      }
      case 'boolean': {
        if (typeof v !== 'boolean') return false;
        const at = this.field(1);
        this.buf[at] = v ? 1 : 0;
        return true;
      }
      default:
        return false;
    }
  }

  /** The whole COPY stream: header, rows, trailer. */
  end(): Buffer[] {
    if (this.at > 0) this.out.push(this.buf.subarray(0, this.at));
    this.out.push(BINARY_COPY_TRAILER);
    return this.out;
  }
}

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
