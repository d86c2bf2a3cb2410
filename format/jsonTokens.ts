/**
 * Turns input bytes into stream-json tokens, one batch per input chunk.
 *
 * We drive stream-json's raw tokenizer (`jsonParser`, a stream-chain "flushable")
 * ourselves instead of piping through its Duplex: reading with `for await` gives
 * natural backpressure, no per-token promise, and tells us exactly whether a parse
 * error happened mid-input (bad JSON) or at the end (truncated input).
 */
import { StringDecoder } from 'node:string_decoder';
import type { jsonParser as JsonParserFactory, Token } from 'stream-json/core/parser.js';
import type { DumpInput } from './types';

export type JsonToken = Token;

// stream-chain's protocol values are registered symbols (stream-chain/src/defs.js), so we
// can use them without importing stream-chain, which is not our direct dependency.
const NONE = Symbol.for('object-stream.none'); // "no value" result, and the flush signal
const MANY = Symbol.for('object-stream.many'); // marks `{ values: [...] }` results

/** A tokenizer error; `atEnd` = raised while flushing, i.e. the input stopped too early. */
export class JsonSyntaxError extends Error {
  constructor(message: string, readonly atEnd: boolean) {
    super(message);
  }
}

let factory: typeof JsonParserFactory | undefined;

/** stream-json 3 is ESM-only; Node 20.19+ `require()`s it, and jest.config.js transforms it for Jest. */
function loadFactory(): typeof JsonParserFactory {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- synchronous load of an ESM-only package (see above)
  factory ??= (require('stream-json/core/parser.js') as { jsonParser: typeof JsonParserFactory }).jsonParser;
  return factory;
}

type Tokenizer = (text: string | symbol) => unknown;

function run(tokenize: Tokenizer, text: string | symbol): JsonToken[] {
  let out: unknown;
  try {
    out = tokenize(text);
  } catch (err) {
    // stream-json's messages are fixed texts ("expected ','"), they never quote input.
    throw new JsonSyntaxError(String((err as Error)?.message ?? err), text === NONE);
  }
  if (out === NONE || out === undefined) return [];
  const many = out as { [MANY]?: number; values?: JsonToken[] };
  return many[MANY] === 1 && many.values ? many.values : [out as JsonToken];
}

/**
 * Yields token batches. Only packed tokens are produced (`keyValue`, `stringValue`,
 * `numberValue`, ...): a string is held once, whole, which is what we keep anyway.
 */
export async function* jsonTokenBatches(input: DumpInput): AsyncGenerator<JsonToken[], void, undefined> {
  const tokenize = loadFactory()({ streamValues: false, packValues: true }) as unknown as Tokenizer;
  const decoder = new StringDecoder('utf8'); // the raw tokenizer needs whole characters
  let started = false;
  for await (const chunk of input as AsyncIterable<Buffer | Uint8Array | string>) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (!started && text.length > 0) {
      started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // RFC 8259 §8.1 lets us drop a BOM
    }
    if (text) yield run(tokenize, text);
  }
  const rest = decoder.end();
  if (rest) yield run(tokenize, rest);
  yield run(tokenize, NONE);
}
