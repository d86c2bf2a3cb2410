/**
 * Turns input bytes into JSON tokens, one batch per input chunk: the tokens of stream-json's packed mode
 * (`startObject`, `keyValue`, `stringValue`, `numberValue`…), which the §1a reader was built on, from a
 * tokenizer of our own that works on the bytes.
 *
 * Why not stream-json's: it tokenizes decoded text with regular expressions, one match per run of plain
 * characters and one per escape, and joins the pieces; a Catalyst `content-storage` value (the app's JSON,
 * ~110 MB, with an escaped quote every few bytes) took it 3–4 s on a quiet machine. Here a string is scanned byte by byte to
 * its closing quote and made once: decoded as UTF-8 (invalid bytes become U+FFFD, as the stream's decoder
 * gave), and, when it holds escapes, unescaped by JSON.parse — the whole document in under a second.
 *
 * Errors are JsonSyntaxError: `atEnd` when the input stopped where more bytes could still have completed the
 * document (a truncated upload), otherwise the document is not JSON — found at the first byte that no JSON
 * can continue with (a bad escape, a number or literal that cannot become one), so that nothing past it is
 * read or held. Messages are fixed texts; they never quote the input.
 */
import { isJsonWhitespace } from './rawStrings';
import { decodePieces } from './utf8';
import type { DumpInput } from './types';

export type JsonToken =
  | { name: 'startObject' | 'endObject' | 'startArray' | 'endArray' }
  | { name: 'keyValue' | 'stringValue' | 'numberValue'; value: string }
  | { name: 'nullValue'; value: null }
  | { name: 'trueValue'; value: true }
  | { name: 'falseValue'; value: false };

/** A tokenizer error; `atEnd` = raised because the input ended, i.e. it stopped too early. */
export class JsonSyntaxError extends Error {
  constructor(message: string, readonly atEnd: boolean) {
    super(message);
  }
}

const START_OBJECT: JsonToken = { name: 'startObject' };
const END_OBJECT: JsonToken = { name: 'endObject' };
const START_ARRAY: JsonToken = { name: 'startArray' };
const END_ARRAY: JsonToken = { name: 'endArray' };
const LITERALS: Record<string, JsonToken> = {
  true: { name: 'trueValue', value: true },
  false: { name: 'falseValue', value: false },
  null: { name: 'nullValue', value: null },
};
const LITERAL_NAMES = Object.keys(LITERALS);
const BOM = [0xef, 0xbb, 0xbf];

/** Where a number is in its grammar (RFC 8259 §6), after the bytes read so far. */
const enum Num {
  Minus, // "-"
  Zero, // "0", "-0": complete
  Int, // "12": complete
  Dot, // "1."
  Frac, // "1.5": complete
  E, // "1e"
  Sign, // "1e+"
  Exp, // "1e5": complete
  Bad,
}
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** The number's state after byte `c`. */
function numberStep(state: Num, c: number): Num {
  switch (state) {
    case Num.Minus:
      return c === 0x30 ? Num.Zero : isDigit(c) ? Num.Int : Num.Bad;
    case Num.Zero:
      return c === 0x2e ? Num.Dot : c === 0x65 || c === 0x45 ? Num.E : Num.Bad;
    case Num.Int:
      return isDigit(c) ? Num.Int : c === 0x2e ? Num.Dot : c === 0x65 || c === 0x45 ? Num.E : Num.Bad;
    case Num.Dot:
      return isDigit(c) ? Num.Frac : Num.Bad;
    case Num.Frac:
      return isDigit(c) ? Num.Frac : c === 0x65 || c === 0x45 ? Num.E : Num.Bad;
    case Num.E:
      return c === 0x2b || c === 0x2d ? Num.Sign : isDigit(c) ? Num.Exp : Num.Bad;
    case Num.Sign:
    case Num.Exp:
      return isDigit(c) ? Num.Exp : Num.Bad;
    default:
      return Num.Bad;
  }
}
const numberComplete = (state: Num) => state === Num.Zero || state === Num.Int || state === Num.Frac || state === Num.Exp;

/** Bytes that may follow a backslash besides `u` (which takes four hex digits). */
const SHORT_ESCAPE = new Uint8Array(128);
for (const c of '"\\/bfnrt') SHORT_ESCAPE[c.charCodeAt(0)] = 1;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** What the next non-blank byte may be. */
const enum Expect {
  Value,
  /** Just after `{`: a key or `}`. */
  KeyOrEnd,
  /** After `,` in an object. */
  Key,
  Colon,
  /** After a value in a container. */
  CommaOrEnd,
  /** Just after `[`: a value or `]`. */
  ValueOrEnd,
  /** After the document's one value: only whitespace. */
  Done,
}

const isNumberByte = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
const isLetter = (c: number) => c >= 0x61 && c <= 0x7a;

class Tokenizer {
  private expect = Expect.Value;
  /** Open containers, innermost last: true for an object. */
  private readonly stack: boolean[] = [];
  /**
   * A string in progress: its bytes so far (without the opening quote), whether it is a key, whether it has
   * escapes, and where an escape stands: `escaped` just after a backslash, `hex` digits still owed to a `\u`.
   */
  private string: { pieces: Buffer[]; key: boolean; escapes: boolean; escaped: boolean; hex: number } | undefined;
  /** A number (its grammar state) or a literal in progress: its characters so far. */
  private word: { text: string; number: Num | undefined } | undefined;
  private bomChecked = 0;
  private out: JsonToken[] = [];

  /** The tokens this chunk completes. */
  feed(chunk: Buffer): JsonToken[] {
    let i = 0;
    // A BOM at the very start is dropped (RFC 8259 §8.1), however the chunks cut it.
    while (this.bomChecked < 3 && i < chunk.length) {
      if (chunk[i] !== BOM[this.bomChecked]) {
        if (this.bomChecked > 0) this.fail('unexpected bytes at the start of the document'); // a BOM's start, not a BOM
        this.bomChecked = 3;
        break;
      }
      this.bomChecked++;
      i++;
    }
    const n = chunk.length;
    while (i < n) {
      if (this.string) {
        i = this.scanString(chunk, i);
        continue;
      }
      const c = chunk[i];
      if (this.word) {
        const w = this.word;
        if (w.number !== undefined ? isNumberByte(c) : isLetter(c)) {
          let j = i;
          // Byte by byte, so that a word no JSON can continue fails at once (and nothing more is read).
          for (; j < n && (w.number !== undefined ? isNumberByte(chunk[j]) : isLetter(chunk[j])); j++) {
            if (w.number !== undefined && (w.number = numberStep(w.number, chunk[j])) === Num.Bad) this.fail('not a valid number');
          }
          w.text += chunk.toString('latin1', i, j);
          if (w.number === undefined && !LITERAL_NAMES.some((l) => l.startsWith(w.text))) this.fail('expected a value');
          i = j;
          continue;
        }
        this.endWord(false);
      }
      i++;
      if (isJsonWhitespace(c)) continue;
      switch (this.expect) {
        case Expect.Done:
          return this.fail('unexpected data after the document');
        case Expect.Colon:
          if (c !== 0x3a) this.fail("expected ':' after an object key");
          this.expect = Expect.Value;
          continue;
        case Expect.CommaOrEnd:
          if (c === 0x2c) this.expect = this.stack[this.stack.length - 1] ? Expect.Key : Expect.Value;
          else if (c === (this.stack[this.stack.length - 1] ? 0x7d : 0x5d)) this.close();
          else this.fail(this.stack[this.stack.length - 1] ? "expected ',' or '}' after a member" : "expected ',' or ']' after an element");
          continue;
        case Expect.KeyOrEnd:
        case Expect.Key:
          if (c === 0x22) this.string = { pieces: [], key: true, escapes: false, escaped: false, hex: 0 };
          else if (c === 0x7d && this.expect === Expect.KeyOrEnd) this.close();
          else this.fail('expected an object key');
          continue;
        default: // Value, ValueOrEnd
          if (c === 0x5d && this.expect === Expect.ValueOrEnd) this.close();
          else this.value(c);
      }
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  /** The input ended: the last tokens, or JsonSyntaxError(atEnd) when the document is not complete. */
  end(): JsonToken[] {
    if (this.word) this.endWord(true);
    if (this.string || this.expect !== Expect.Done) throw new JsonSyntaxError('the document ends before it is complete', true);
    return this.out;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, false);
  }

  /** A value starts with byte `c` (a container, a string, a number or a literal). */
  private value(c: number): void {
    if (c === 0x7b) {
      this.out.push(START_OBJECT);
      this.stack.push(true);
      this.expect = Expect.KeyOrEnd;
    } else if (c === 0x5b) {
      this.out.push(START_ARRAY);
      this.stack.push(false);
      this.expect = Expect.ValueOrEnd;
    } else if (c === 0x22) this.string = { pieces: [], key: false, escapes: false, escaped: false, hex: 0 };
    else if (c === 0x2d || isDigit(c)) this.word = { text: String.fromCharCode(c), number: c === 0x2d ? Num.Minus : c === 0x30 ? Num.Zero : Num.Int };
    else if (isLetter(c) && LITERAL_NAMES.some((l) => l.charCodeAt(0) === c)) this.word = { text: String.fromCharCode(c), number: undefined };
    else this.fail('expected a value');
  }

  /** A value ended: what may follow it. */
  private valueDone(): void {
    this.expect = this.stack.length === 0 ? Expect.Done : Expect.CommaOrEnd;
  }

  private close(): void {
    this.out.push(this.stack.pop() ? END_OBJECT : END_ARRAY);
    this.valueDone();
  }

  /**
   * A number or literal ended (the byte after it, or the input's end). What is read of it is always a
   * prefix of one (the bytes are checked as they come), so one cut short by the input's end is a truncation.
   */
  private endWord(atEnd: boolean): void {
    const { text, number } = this.word!;
    this.word = undefined;
    if (number !== undefined) {
      if (!numberComplete(number)) this.failOrTruncated(atEnd, 'not a valid number');
      this.out.push({ name: 'numberValue', value: text });
    } else {
      const literal = LITERALS[text];
      if (!literal) this.failOrTruncated(atEnd, 'expected a value');
      this.out.push(literal);
    }
    this.valueDone();
  }

  private failOrTruncated(atEnd: boolean, message: string): never {
    throw new JsonSyntaxError(atEnd ? 'the document ends before it is complete' : message, atEnd);
  }

  /** Scans the string in progress from `i`; returns where scanning goes on. */
  private scanString(chunk: Buffer, i: number): number {
    const s = this.string!;
    const n = chunk.length;
    let { escaped, hex } = s;
    let escapes = false;
    let k = i;
    for (; k < n; k++) {
      const c = chunk[k];
      if (hex > 0) {
        if (!isHex(c)) this.fail('an invalid escape inside a string');
        hex--;
      } else if (escaped) {
        escaped = false;
        if (c === 0x75) hex = 4;
        else if (c >= 128 || SHORT_ESCAPE[c] === 0) this.fail('an invalid escape inside a string');
      } else if (c === 0x5c) escaped = escapes = true;
      else if (c === 0x22) break;
      else if (c < 0x20) this.fail('a control character inside a string');
    }
    s.escaped = escaped;
    s.hex = hex;
    s.escapes ||= escapes;
    if (k > i) s.pieces.push(chunk.subarray(i, k));
    if (k === n) return n;
    this.string = undefined;
    const text = decodePieces(s.pieces); // as the stream's decoder would (invalid bytes: U+FFFD)
    // Every escape was checked as it came: JSON.parse only unescapes.
    const value = s.escapes ? (JSON.parse(`"${text}"`) as string) : text;
    if (s.key) {
      this.out.push({ name: 'keyValue', value });
      this.expect = Expect.Colon;
    } else {
      this.out.push({ name: 'stringValue', value });
      this.valueDone();
    }
    return k + 1;
  }
}

/** Yields the tokens of each input chunk as one batch, and a last batch when the input ends. */
export async function* jsonTokenBatches(input: DumpInput): AsyncGenerator<JsonToken[], void, undefined> {
  const tokenizer = new Tokenizer();
  let pendingHigh = ''; // a text chunk's last high surrogate, whose pair may start the next chunk
  for await (const chunk of input as AsyncIterable<Buffer | Uint8Array | string>) {
    let bytes: Buffer;
    if (typeof chunk === 'string') {
      let text = pendingHigh + chunk;
      const last = text.charCodeAt(text.length - 1);
      pendingHigh = last >= 0xd800 && last <= 0xdbff ? text.slice(-1) : '';
      if (pendingHigh) text = text.slice(0, -1);
      bytes = Buffer.from(text, 'utf8');
    } else bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const tokens = guarded(() => tokenizer.feed(bytes));
    if (tokens.length) yield tokens;
  }
  if (pendingHigh) guarded(() => tokenizer.feed(Buffer.from(pendingHigh, 'utf8')));
  yield guarded(() => tokenizer.end());
}

/**
 * A value too large for V8 (a string, number or word past ~2^29 characters: RangeError) is a document this
 * reader cannot read, refused like any other (stream-json's errors were too), not a crash of the request.
 */
function guarded(step: () => JsonToken[]): JsonToken[] {
  try {
    return step();
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw err;
    throw new JsonSyntaxError('a value too large to read', false);
  }
}
