/**
 * Properties of the dump reader and the §1c codec, over generated input (fast-check; a failure prints its
 * seed: replay with FC_SEED=<seed> FC_PATH=<path>):
 *  - any generated dump, in either encoding and cut into any chunks, reads back entry for entry, or (when it
 *    breaks a documented bound: a name Postgres cannot store, a value nested past MAX_VALUE_DEPTH) is
 *    refused with a DumpFormatError; never anything else;
 *  - any strict prefix of a dump is refused as truncated;
 *  - decode∘encode and encode∘decode round-trip for every tag, also through JSON text;
 *  - decoding arbitrary JSON (tag-shaped junk, any depth) returns or throws a DumpFormatError, nothing else.
 */
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { decodeValue, DumpFormatError, encodeValue, MAX_VALUE_DEPTH, openDump, type DumpEncoding } from '../../format';
import {
  anyString, decodedValue, dumpArb, expectedEntries, fcParams, HEADER, isLegal, nested, objectOf, same, toDocument, toNdjson,
} from './arbitraries';

function chunks(text: string, size: number): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return Readable.from(out);
}

type Read = { ok: true; header: unknown; entries: unknown[] } | { ok: false; error: unknown };

async function readAll(input: Readable, encoding: DumpEncoding): Promise<Read> {
  try {
    const reader = await openDump(input, encoding);
    const entries: unknown[] = [];
    for await (const e of reader.entries) entries.push(e);
    return { ok: true, header: reader.header, entries };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Entries compare with undefined members ignored at the top (a reader may or may not spell them out). */
const defined = (e: unknown) => Object.fromEntries(Object.entries(e as object).filter(([, v]) => v !== undefined));

function checkRead(read: Read, dump: Parameters<typeof isLegal>[0], encoding: DumpEncoding): void {
  if (!read.ok) {
    // Never a TypeError, RangeError…: every refusal is a DumpFormatError with a code (a 400, not a 500).
    if (!(read.error instanceof DumpFormatError)) throw read.error;
    if (isLegal(dump, encoding)) throw new Error(`a legal dump was refused: ${read.error.code}: ${read.error.message}`);
    return;
  }
  if (!isLegal(dump, encoding)) throw new Error('a dump breaking a bound was accepted');
  expect(same(read.header, { ...HEADER, source: dump.source })).toBe(true);
  const want = expectedEntries(dump);
  expect(read.entries).toHaveLength(want.length);
  read.entries.forEach((e, i) => {
    if (!same(defined(e), want[i])) throw new Error(`entry ${i} differs: ${JSON.stringify(e).slice(0, 200)}`);
  });
}

const dumps = dumpArb((v) => encodeValue(v));

describe('the dump reader', () => {
  test('NDJSON: any dump, any chunking, LF or CRLF, reads back entry for entry or is refused with a DumpFormatError', async () => {
    await fc.assert(
      fc.asyncProperty(dumps, fc.integer({ min: 1, max: 97 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), async (dump, size, eol, finalEol) => {
        checkRead(await readAll(chunks(toNdjson(dump, eol, finalEol), size), 'ndjson'), dump, 'ndjson');
      }),
      fcParams(150),
    );
  });

  test('JSON document: any dump, top-level keys in any order, any chunking: the same', async () => {
    await fc.assert(
      fc.asyncProperty(dumps, fc.integer({ min: 1, max: 97 }), async (dump, size) => {
        checkRead(await readAll(chunks(toDocument(dump), size), 'json'), dump, 'json');
      }),
      fcParams(150),
    );
  });

  test('a legal dump cut anywhere before its last byte of content is refused as truncated (both encodings)', async () => {
    const legal = dumps.filter((d) => isLegal(d, 'json'));
    await fc.assert(
      fc.asyncProperty(legal, fc.constantFrom<DumpEncoding>('ndjson', 'json'), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 64 }),
        async (dump, encoding, at, size) => {
          const text = encoding === 'ndjson' ? toNdjson(dump, '\n', true) : toDocument(dump);
          const content = Buffer.from(text.trimEnd(), 'utf8');
          const cut = content.subarray(0, Math.floor(at * content.length)); // may split a UTF-8 sequence
          const read = await readAll(Readable.from(cut.length ? [cut.subarray(0, size), cut.subarray(size)] : []), encoding);
          if (read.ok) throw new Error(`a dump cut at byte ${cut.length} of ${content.length} was accepted`);
          if (!(read.error instanceof DumpFormatError)) throw read.error;
          expect(read.error.code).toBe('dump_truncated');
        }),
      fcParams(300),
    );
  });
});

describe('the §1c codec', () => {
  test('decode(encode(x)) is x for every value decode can return, also through JSON text', () => {
    fc.assert(
      fc.property(decodedValue, (x) => {
        const encoded = encodeValue(x);
        expect(same(decodeValue(encoded), x)).toBe(true);
        expect(same(decodeValue(JSON.parse(JSON.stringify(encoded))), x)).toBe(true);
      }),
      fcParams(400),
    );
  });

  test('encode(decode(e)) is e for every encoded value', () => {
    fc.assert(
      fc.property(decodedValue, (x) => {
        const e = JSON.parse(JSON.stringify(encodeValue(x)));
        expect(JSON.stringify(encodeValue(decodeValue(e)))).toBe(JSON.stringify(e));
      }),
      fcParams(400),
    );
  });

  const TAGS = ['Date', 'undefined', 'number', 'bigint', 'Map', 'Set', 'RegExp', 'Blob', 'File', 'Object', 'ArrayBuffer', 'DataView', 'Float64Array', 'Int16Array', 'String', 'constructor', '__proto__'];
  /** Tag-shaped objects with members of any type, anywhere: the decoder's worst input. */
  const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 2 }),
      anyString,
      fc.array(tie('value'), { maxLength: 3 }),
      fc.record({
        $t: fc.oneof(fc.constantFrom(...TAGS), anyString, fc.integer(), fc.constant(null)),
        v: fc.oneof(tie('value'), fc.constantFrom('NaN', '-0', '12', '2025-01-01T00:00:00Z', '9'.repeat(400)), fc.array(fc.array(tie('value'), { maxLength: 3 }), { maxLength: 2 })),
        b64: fc.oneof(fc.base64String({ maxLength: 12 }), anyString, fc.integer()),
        type: fc.oneof(anyString, fc.integer()),
        size: fc.oneof(fc.integer({ min: -1, max: 9 }), anyString),
        name: fc.oneof(anyString, fc.constant(undefined)),
        lastModified: fc.oneof(fc.double(), anyString),
      }, { requiredKeys: ['$t'] }),
      fc.array(fc.tuple(fc.constantFrom('$t', 'v', 'a', '__proto__'), tie('value')), { maxLength: 3 }).map(objectOf),
    ),
  })).value;

  test('decoding arbitrary JSON returns a value or throws a DumpFormatError, nothing else', () => {
    fc.assert(
      fc.property(junk, (j) => {
        for (const input of [j, JSON.parse(JSON.stringify(j) ?? 'null')]) {
          try {
            decodeValue(input);
          } catch (err) {
            if (!(err instanceof DumpFormatError)) throw err;
            expect(['dump_unknown_tag', 'dump_invalid_tag', 'dump_value_too_deep']).toContain(err.code);
          }
        }
      }),
      fcParams(1000),
    );
  });

  test('depth: a value as deep as MAX_VALUE_DEPTH decodes; deeper ones are a DumpFormatError, never a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_VALUE_DEPTH - 3, max: 30_000 }), (depth) => {
        const wrapped = { $t: 'Set', v: [nested(depth)] }; // 2 levels more, through a tag
        for (const [v, d] of [[nested(depth), depth], [wrapped, depth + 2]] as const) {
          if (d <= MAX_VALUE_DEPTH) expect(same(decodeValue(v), d === depth ? v : new Set([nested(depth)]))).toBe(true);
          else expect(() => decodeValue(v)).toThrow(expect.objectContaining({ code: 'dump_value_too_deep' }));
        }
      }),
      fcParams(30),
    );
  });
});
