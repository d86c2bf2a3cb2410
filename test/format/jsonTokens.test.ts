/**
 * The §1a reader's tokenizer (format/jsonTokens.ts) against the one it replaced, stream-json's (driven as
 * format/ used to drive it, now a devDependency for this test only): for any JSON text, spaced and cut into
 * chunks anyhow (UTF-8 sequences and escapes split across chunks), the same tokens; for text that is not
 * JSON, an error from both, and "truncated" (atEnd) exactly when the input stops where more bytes could
 * have completed it. (Its speed on a huge string full of escapes, the reason it exists: docs/BENCHMARKS.md.)
 */
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { jsonTokenBatches, JsonSyntaxError, type JsonToken } from '../../format/jsonTokens';

const NONE = Symbol.for('object-stream.none');
const MANY = Symbol.for('object-stream.many');

type Reading = { tokens: JsonToken[]; error?: 'invalid' | 'truncated' };

/** stream-json's packed tokens for the bytes, as format/jsonTokens.ts produced them before. */
function streamJson(chunks: Buffer[]): Reading {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- ESM-only package, transformed for Jest
  const { jsonParser } = require('stream-json/core/parser.js') as { jsonParser: (o: object) => (t: string | symbol) => unknown };
  const tokenize = jsonParser({ streamValues: false, packValues: true });
  const decoder = new StringDecoder('utf8');
  const tokens: JsonToken[] = [];
  const run = (text: string | symbol): void => {
    const out = tokenize(text) as { [MANY]?: number; values?: JsonToken[] } | symbol | undefined;
    if (out === NONE || out === undefined) return;
    const many = out as { [MANY]?: number; values?: JsonToken[] };
    tokens.push(...(many[MANY] === 1 && many.values ? many.values : [out as unknown as JsonToken]));
  };
  let started = false;
  let text: string;
  try {
    for (const c of chunks) {
      text = decoder.write(c);
      if (!started && text.length > 0) {
        started = true;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      if (text) run(text);
    }
    text = decoder.end();
    if (text) run(text);
  } catch {
    return { tokens, error: 'invalid' };
  }
  try {
    run(NONE);
  } catch {
    return { tokens, error: 'truncated' };
  }
  return { tokens };
}

async function ours(chunks: Buffer[] | AsyncIterable<Buffer>): Promise<Reading> {
  const tokens: JsonToken[] = [];
  try {
    for await (const batch of jsonTokenBatches(Array.isArray(chunks) ? Readable.from(chunks) : chunks)) tokens.push(...batch);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { tokens, error: err.atEnd ? 'truncated' : 'invalid' };
  }
  return { tokens };
}

/** The bytes in pieces at the given cut points (fractions of the length). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) out.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  return out;
}

/** JSON text of `v`, with whitespace where JSON allows it. */
function spaced(v: unknown, ws: () => string): string {
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => spaced(x, ws)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (v !== null && typeof v === 'object') {
    return `{${ws()}${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${spaced(x, ws)}`).join(`${ws()},${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(v);
}

const fractions = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 6 });
const params = { numRuns: 400, seed: 20261130 };

test('any JSON document, spaced and chunked anyhow: the same tokens as stream-json', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.jsonValue({ maxDepth: 4 }), fc.array(fc.constantFrom('', ' ', '\n', '\t', '\r\n  '), { minLength: 1 }), fc.boolean(), fractions,
      async (value, spaces, bom, at) => {
        let n = 0;
        const text = `${bom ? '\uFEFF' : ''}${spaced(value, () => spaces[n++ % spaces.length])}${spaces[0]}`;
        const chunks = cut(Buffer.from(text, 'utf8'), at);
        const expected = streamJson(chunks);
        expect(expected.error).toBeUndefined();
        expect(await ours(chunks)).toEqual(expected);
      }),
    params,
  );
});

test('strings: every escape, raw Unicode, surrogate pairs and lone surrogates written as escapes, cut anywhere', async () => {
  const piece = fc.constantFrom('a', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0001', '\u001f', '\u007f', 'é', '中', '📋', '\u2028', '\ud800', '\udfff');
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { maxLength: 30 }), fc.boolean(), fractions, async (parts, slashes, at) => {
      let json = JSON.stringify({ [parts.join('')]: [parts.join(''), parts.reverse().join('')] });
      if (slashes) json = json.replaceAll('/', '\\/').replaceAll('a', '\\u0061');
      const chunks = cut(Buffer.from(json, 'utf8'), at);
      expect(await ours(chunks)).toEqual(streamJson(chunks));
    }),
    params,
  );
});

test('text that is not JSON is refused by both; cut short, by both as truncated', async () => {
  const valid = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ v, w: [v, 1.5e3, -0, true, null, 'x'] }));
  const mutated = fc.tuple(valid, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(...'{}[],:"\\ -+.e0aZtfnu\u0001'.split('')), fc.constantFrom('insert', 'replace', 'delete'))
    .map(([text, f, c, op]) => {
      const i = Math.floor(f * text.length);
      return op === 'insert' ? text.slice(0, i) + c + text.slice(i) : op === 'replace' ? text.slice(0, i) + c + text.slice(i + 1) : text.slice(0, i) + text.slice(i + 1);
    });
  await fc.assert(
    fc.asyncProperty(mutated, fractions, async (text, at) => {
      const chunks = cut(Buffer.from(text, 'utf8'), at);
      const [theirs, mine] = [streamJson(chunks), await ours(chunks)];
      // stream-json waits for a few more characters near the end of its input, so it calls some documents
      // truncated that no bytes could complete (`…nulx}`, `…"\x"}`); ours says invalid there (tested below).
      if (theirs.error === 'truncated') expect(['truncated', 'invalid']).toContain(mine.error);
      else expect(mine.error).toBe(theirs.error);
      if (!theirs.error) expect(mine.tokens).toEqual(theirs.tokens);
    }),
    { ...params, numRuns: 1000 },
  );
  await fc.assert(
    fc.asyncProperty(valid, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (text, f) => {
      const bytes = Buffer.from(text, 'utf8');
      const chunks = [bytes.subarray(0, Math.floor(f * bytes.length))]; // may split a UTF-8 sequence
      expect((await ours(chunks)).error).toBe('truncated');
      expect(streamJson(chunks).error).toBe('truncated');
    }),
    params,
  );
});

test('invalid UTF-8 inside strings reads as U+FFFD, as the stream decoder gave it', async () => {
  for (const bad of [[0xff], [0xc3], [0xe4, 0xb8], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf0, 0x9f, 0x93]]) {
    const bytes = Buffer.concat([Buffer.from('{"k":["ab'), Buffer.from(bad), Buffer.from('cd","é\\n'), Buffer.from(bad), Buffer.from('"]}')]);
    for (let i = 0; i <= bytes.length; i++) {
      const chunks = [bytes.subarray(0, i), bytes.subarray(i)].filter((c) => c.length);
      expect(await ours(chunks)).toEqual(streamJson(chunks));
    }
  }
});

test('a huge string full of escapes (Catalyst\'s content-storage), in 200 chunks: the value itself', async () => {
  const items = Array.from({ length: 40_000 }, (_, i) => ({ id: `item-${i}`, data: { title: `Item "${i}" é📋`, body: 'a\\b\nc' } }));
  const value = JSON.stringify({ state: { contentItems: items } });
  const doc = Buffer.from(JSON.stringify({ localStorage: [{ key: 'content-storage', value }] }));
  const read = await ours(cut(doc, Array.from({ length: 200 }, (_, i) => i / 200)));
  expect(read.error).toBeUndefined();
  const strings = read.tokens.flatMap((t) => (t.name === 'stringValue' ? [t.value] : []));
  expect(strings.map((v) => v.length)).toEqual(['content-storage'.length, value.length]);
  expect(strings[1] === value).toBe(true); // (not toEqual: a 4 MB diff helps nobody)
});

test('cut short: truncated exactly when more bytes could complete the document; invalid at the first byte none could', async () => {
  const cases: [string, 'truncated' | 'invalid'][] = [
    ['{"x":"abc\\u00', 'truncated'], ['{"x":"abc\\', 'truncated'], ['{"x":1.', 'truncated'], ['{"x":-', 'truncated'],
    ['{"x":1e+', 'truncated'], ['{"x":1', 'truncated'], ['{"x":tr', 'truncated'], ['{"x":[fals', 'truncated'], ['{"x"', 'truncated'],
    ['{"x":"abc\\xdefgh', 'invalid'], ['{"x":"abc\\u00G0', 'invalid'], ['{"x":"a\\\u0001bc', 'invalid'], ['{"x":"a\u0001', 'invalid'],
    ['{"x":01', 'invalid'], ['{"x":-.5', 'invalid'], ['{"x":1.2.', 'invalid'], ['{"x":1-', 'invalid'], ['{"x":1.e5', 'invalid'],
    ['{"x":nulx', 'invalid'], ['{"x":nulx}', 'invalid'], ['{"x":"\\x"}', 'invalid'], ['{"x":True', 'invalid'],
  ];
  for (const [text, expected] of cases) {
    for (const size of [1, 3, 1 << 10]) {
      const bytes = Buffer.from(text, 'utf8');
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
      expect([text, size, (await ours(chunks)).error]).toEqual([text, size, expected]);
    }
  }
});

test('invalid at a bad escape, number or word: nothing past that chunk is read', async () => {
  for (const start of ['{"x":"\\q', '{"x":"a\\u12Z', '{"x":012', '{"x":aaaa', '{"x":truex']) {
    let pulled = 0;
    const input = (async function* () {
      for (let i = 0; i < 64; i++) {
        pulled++;
        yield i === 0 ? Buffer.from(start) : Buffer.alloc(64 * 1024, 'a');
      }
    })();
    expect([start, (await ours(input)).error]).toEqual([start, 'invalid']);
    expect([start, pulled]).toEqual([start, 1]);
  }
});

test('text chunks: a surrogate pair cut between two chunks is one character', async () => {
  const tokens: JsonToken[] = [];
  for await (const batch of jsonTokenBatches(Readable.from(['{"v":"a\ud83d', '\udccbb"}']))) tokens.push(...batch);
  expect(tokens).toContainEqual({ name: 'stringValue', value: 'a📋b' });
});
