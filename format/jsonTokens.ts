/**
 * Turns input bytes into JSON tokens, one batch per input chunk: the tokens of stream-json's packed mode
 * (`startObject`, `keyValue`, `stringValue`, `numberValue`…), which the §1a reader was built on, from a
 * tokenizer of our own that works on the bytes.
 *
 * Why not stream-json's: it tokenizes decoded text with regular expressions, one match per run of plain
 * characters and one per escape, and joins the pieces; a Catalyst `content-storage` value (the app's JSON,
 * ~110 MB, with an escaped quote every few bytes) took it 6–8 s. Here a string is scanned byte by byte to
 * its closing quote and made once: decoded as UTF-8 (invalid bytes become U+FFFD, as the stream's decoder
 * gave), and, when it holds escapes, unescaped by JSON.parse — ~0.3 s for that value.
 *
 * Errors are JsonSyntaxError: `atEnd` when the input stopped before the document was complete (a truncated
 * upload), otherwise the document is not JSON. Messages are fixed texts; they never quote the input.
 */
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
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const BOM = [0xef, 0xbb, 0xbf];

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

const isBlank = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isNumberByte = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
const isLetter = (c: number) => c >= 0x61 && c <= 0x7a;

class Tokenizer {
  private expect = Expect.Value;
  /** Open containers, innermost last: true for an object. */
  private readonly stack: boolean[] = [];
  /** A string in progress: its bytes so far (without the opening quote), whether it is a key, whether it has escapes. */
  private string: { pieces: Buffer[]; key: boolean; escapes: boolean; escaped: boolean } | undefined;
  /** A number or literal in progress: its characters so far. */
  private word: { text: string; number: boolean } | undefined;
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
        if (this.word.number ? isNumberByte(c) : isLetter(c)) {
          let j = i + 1;
          while (j < n && (this.word.number ? isNumberByte(chunk[j]) : isLetter(chunk[j]))) j++;
          this.word.text += chunk.toString('latin1', i, j);
          i = j;
          continue;
        }
        this.endWord(false);
      }
      i++;
      if (isBlank(c)) continue;
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
          if (c === 0x22) this.string = { pieces: [], key: true, escapes: false, escaped: false };
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
    } else if (c === 0x22) this.string = { pieces: [], key: false, escapes: false, escaped: false };
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.word = { text: String.fromCharCode(c), number: true };
    else if (isLetter(c)) this.word = { text: String.fromCharCode(c), number: false };
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

  /** A number or literal ended (the byte after it, or the input's end). */
  private endWord(atEnd: boolean): void {
    const { text, number } = this.word!;
    this.word = undefined;
    if (number) {
      if (!NUMBER.test(text)) this.fail2(atEnd, 'not a valid number');
      this.out.push({ name: 'numberValue', value: text });
    } else {
      const literal = LITERALS[text];
      if (!literal) this.fail2(atEnd && ['true', 'false', 'null'].some((l) => l.startsWith(text)), 'expected a value');
      this.out.push(literal);
    }
    this.valueDone();
  }

  /** At the input's end a number or literal cut short is a truncation, not an error in the document. */
  private fail2(atEnd: boolean, message: string): never {
    throw new JsonSyntaxError(atEnd ? 'the document ends before it is complete' : message, atEnd);
  }

  /** Scans the string in progress from `i`; returns where scanning goes on. */
  private scanString(chunk: Buffer, i: number): number {
    const s = this.string!;
    const n = chunk.length;
    let escaped = s.escaped;
    let escapes = false;
    let k = i;
    for (; k < n; k++) {
      const c = chunk[k];
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = escapes = true;
      else if (c === 0x22) break;
      else if (c < 0x20) break;
    }
    if (k < n && chunk[k] !== 0x22) this.fail('a control character inside a string');
    s.escaped = escaped;
    s.escapes ||= escapes;
    if (k > i) s.pieces.push(chunk.subarray(i, k));
    if (k === n) return n;
    this.string = undefined;
    const text = decodePieces(s.pieces); // as the stream's decoder would (invalid bytes: U+FFFD)
    let value = text;
    if (s.escapes) {
      try {
        value = JSON.parse(`"${text}"`) as string;
      } catch {
        this.fail('an invalid escape inside a string');
      }
    }
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
  for await (const chunk of input as AsyncIterable<Buffer | Uint8Array | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const tokens = tokenizer.feed(bytes);
    if (tokens.length) yield tokens;
  }
  yield tokenizer.end();
}
