/**
 * A fast path for the one shape that makes dumps large: a Web Storage entry whose value is one huge string
 * (Catalyst keeps every content item in one localStorage value, ~110 MB for 200,000). Read the usual way,
 * its NDJSON line is decoded into a string, joined, counted, parsed (JSON.parse unescapes the value into a
 * second string), and a stager then escapes that value back into JSON text and encodes it as UTF-8 again:
 * about a second of CPU for 110 MB. Here the line's bytes are scanned once instead, and the value is handed
 * on as the bytes of its JSON text, undecoded (RawJsonString).
 *
 * It is taken only where it gives exactly what the usual reading gives: the value's bytes must be the
 * UTF-8 of `JSON.stringify(value)` — valid UTF-8, no control character, and only the escapes JSON.stringify
 * writes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`; any `\u` declines) — and the rest of the line a flat
 * object whose members are scalars, the large string under `value`, no member named twice. Anything else,
 * valid or not, declines (undefined) and the line is read the usual way, which also gives any error.
 */
import { decodePieces, validUtf8 } from './utf8';

/**
 * A line this long (bytes) is read as bytes, and a string member this long kept as bytes: below it, the
 * usual reading costs less than the scan. Tests lower it so that every line takes the byte path.
 */
export const RAW_STRINGS = { minBytes: 1 << 20 };

/**
 * A Web Storage value read as the UTF-8 bytes of its JSON text, exactly `JSON.stringify(value)`'s, in the
 * pieces the input came in (openDump's `rawStrings`).
 */
export class RawJsonString {
  constructor(readonly pieces: readonly Buffer[], readonly bytes: number) {}

  /** The value itself: decodes and parses the bytes (for a consumer that needs the string). */
  decode(): string {
    return JSON.parse(decodePieces(this.pieces)) as string;
  }
}

/** JSON's whitespace (RFC 8259 §2). */
export const isJsonWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Escapes JSON.stringify writes (after a backslash). */
const CANONICAL_ESCAPE = new Uint8Array(128);
for (const c of '"\\bfnrt') CANONICAL_ESCAPE[c.charCodeAt(0)] = 1;

/** A position in a list of pieces. */
interface At {
  piece: number;
  offset: number;
}

/** The pieces' bytes from `a` (inclusive) to `b` (exclusive), as subarrays (no copy). */
function between(pieces: readonly Buffer[], a: At, b: At): Buffer[] {
  const out: Buffer[] = [];
  for (let i = a.piece; i <= b.piece && i < pieces.length; i++) {
    const from = i === a.piece ? a.offset : 0;
    const to = i === b.piece ? b.offset : pieces[i].length;
    if (to > from) out.push(pieces[i].subarray(from, to));
  }
  return out;
}

/** The bytes of a small span, joined (for keys, scalars and the skeleton's ends). */
const joined = (parts: Buffer[]) => (parts.length === 1 ? parts[0] : Buffer.concat(parts));

/**
 * Scans a JSON string whose opening quote is just before `at`; returns the position of its closing quote,
 * or undefined when the string is not canonical (see the module) or not terminated.
 */
function scanString(pieces: readonly Buffer[], at: At): At | undefined {
  let escaped = false;
  for (let i = at.piece, from = at.offset; i < pieces.length; i++, from = 0) {
    const p = pieces[i];
    for (let k = from; k < p.length; k++) {
      const c = p[k];
      if (escaped) {
        if (c >= 128 || CANONICAL_ESCAPE[c] === 0) return undefined;
        escaped = false;
      } else if (c === 0x22) return { piece: i, offset: k };
      else if (c === 0x5c) escaped = true;
      else if (c < 0x20) return undefined;
    }
  }
  return undefined;
}

/** A scalar member value (number, true, false, null) is at most this long; longer declines. */
const SCALAR_MAX_BYTES = 64;
/**
 * An entry line has a handful of members (area, key, value, op); past this many the usual reading takes
 * the line, whose node count refuses one of millions of members before anything is built (bounds.ts).
 */
const MAX_MEMBERS = 16;

/**
 * The line (its bytes, without the line break) as the object JSON.parse would give, but with its large
 * string member `value` as a RawJsonString; undefined when the fast path does not apply (see the module).
 * `parse` turns the rest of the line, with `""` in place of that string, into the entry (the reader's own
 * JSON.parse and checks; it throws when they refuse, which declines too).
 */
export function readRawStringEntry<T extends { value: unknown }>(pieces: readonly Buffer[], parse: (skeleton: string) => T | undefined): T | undefined {
  let piece = 0;
  let offset = 0;
  const here = (): At => ({ piece, offset });
  const peek = (): number => {
    while (piece < pieces.length && offset >= pieces[piece].length) {
      piece++;
      offset = 0;
    }
    return piece < pieces.length ? pieces[piece][offset] : -1;
  };
  const skipWhitespace = () => {
    while (isJsonWhitespace(peek())) offset++;
  };
  const advanceTo = (a: At) => {
    piece = a.piece;
    offset = a.offset + 1;
  };

  skipWhitespace();
  if (peek() !== 0x7b) return undefined; // {
  offset++;
  const keys = new Set<string>();
  let large: { key: string; open: At; close: At } | undefined;
  for (;;) {
    skipWhitespace();
    if (peek() !== 0x22) return undefined;
    const keyOpen = here();
    offset++;
    const keyClose = scanString(pieces, here());
    if (!keyClose) return undefined;
    const keyBytes = between(pieces, keyOpen, { piece: keyClose.piece, offset: keyClose.offset + 1 });
    if (keyBytes.reduce((n, b) => n + b.length, 0) > RAW_STRINGS.minBytes) return undefined;
    let key: string;
    try {
      key = JSON.parse(joined(keyBytes).toString('utf8')) as string;
    } catch {
      return undefined;
    }
    if (keys.has(key) || keys.size >= MAX_MEMBERS) return undefined; // JSON.parse keeps the last of two: left to it
    keys.add(key);
    advanceTo(keyClose);
    skipWhitespace();
    if (peek() !== 0x3a) return undefined; // :
    offset++;
    skipWhitespace();
    const c = peek();
    if (c === 0x22) {
      const open = here();
      offset++;
      const close = scanString(pieces, here());
      if (!close) return undefined;
      const bytes = between(pieces, open, { piece: close.piece, offset: close.offset + 1 }).reduce((n, b) => n + b.length, 0);
      if (bytes >= RAW_STRINGS.minBytes) {
        if (large || key !== 'value') return undefined;
        large = { key, open, close };
      }
      advanceTo(close);
    } else {
      // A scalar: its bytes up to the next delimiter, checked by the parse of the skeleton.
      if (c === 0x7b || c === 0x5b || c === -1) return undefined; // nested values: the usual reading
      let length = 0;
      for (let d = peek(); d !== -1 && d !== 0x2c && d !== 0x7d && !isJsonWhitespace(d); d = peek()) {
        if (++length > SCALAR_MAX_BYTES) return undefined;
        offset++;
      }
    }
    skipWhitespace();
    const next = peek();
    offset++;
    if (next === 0x7d) break; // }
    if (next !== 0x2c) return undefined; // ,
  }
  skipWhitespace();
  if (peek() !== -1 || !large) return undefined;

  const end = { piece: pieces.length - 1, offset: pieces[pieces.length - 1].length };
  const value = between(pieces, large.open, { piece: large.close.piece, offset: large.close.offset + 1 });
  if (!validUtf8(value)) return undefined;
  const before = joined(between(pieces, { piece: 0, offset: 0 }, large.open));
  const after = joined(between(pieces, { piece: large.close.piece, offset: large.close.offset + 1 }, end));
  let entry: T | undefined;
  try {
    entry = parse(`${before.toString('utf8')}""${after.toString('utf8')}`);
  } catch {
    return undefined;
  }
  if (!entry || entry.value !== '') return undefined;
  entry.value = new RawJsonString(value, value.reduce((n, b) => n + b.length, 0));
  return entry;
}
