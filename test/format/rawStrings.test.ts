/**
 * The NDJSON reader's byte path for large Web Storage values (format/rawStrings.ts, openDump's
 * `rawStrings`): whatever the input, reading with it gives what the usual reading gives — the same
 * entries (a value kept as bytes decodes to the same string, and its bytes are exactly JSON.stringify's)
 * or the same error — and it does keep the bytes where it may, so the comparison is not vacuous. The
 * threshold is lowered so that every line of these small dumps takes the byte path.
 */
import { Readable } from 'node:stream';
import { openDelta, openDump, RawJsonString, validateDump, type DumpFormatError, type RawDumpItem } from '../../format';
import { NDJSON_LIMITS } from '../../format/ndjson';
import { RAW_STRINGS } from '../../format/rawStrings';
import { validUtf8 } from '../../format/utf8';
import { header } from './fixtures';

const savedMin = RAW_STRINGS.minBytes;
const savedMax = NDJSON_LIMITS.maxLineChars;
beforeEach(() => (RAW_STRINGS.minBytes = 64));
afterEach(() => {
  RAW_STRINGS.minBytes = savedMin;
  NDJSON_LIMITS.maxLineChars = savedMax;
});

let seed = 20261130;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

/** The bytes in chunks of the given sizes, in turn (cutting characters and escapes anywhere). */
function chunksOf(bytes: Buffer, sizes: readonly number[]): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return Readable.from(chunks);
}

interface Reading {
  header?: unknown;
  items: unknown[];
  /** Values kept as bytes, and whether each one's bytes were exactly JSON.stringify's. */
  kept: boolean[];
  error?: { code: string; message: string; details: unknown };
}

async function read(input: Buffer | string, sizes: readonly number[], raw: boolean, delta = false): Promise<Reading> {
  const stream = typeof input === 'string' ? Readable.from([input]) : chunksOf(input, sizes);
  const out: Reading = { items: [], kept: [] };
  try {
    const opts = raw ? { rawStrings: true } : {};
    const reader = delta ? await openDelta(stream, 'ndjson', opts) : await openDump(stream, 'ndjson', opts);
    out.header = reader.header;
    for await (const item of reader.entries as AsyncGenerator<RawDumpItem>) {
      if ('value' in item && item.value instanceof RawJsonString) {
        const value = item.value.decode();
        out.kept.push(Buffer.concat(item.value.pieces).equals(Buffer.from(JSON.stringify(value))) && item.value.bytes === Buffer.byteLength(JSON.stringify(value)));
        out.items.push({ ...item, value });
      } else out.items.push(item);
    }
  } catch (err) {
    const e = err as DumpFormatError;
    out.error = { code: e.code, message: e.message, details: e.details };
  }
  return out;
}

/** Reads `input` both ways, in several chunkings; expects the same; returns how many values were kept as bytes. */
async function same(input: Buffer | string, opts: { delta?: boolean } = {}): Promise<number> {
  let kept = 0;
  for (const sizes of [[1], [3, 7], [5, 64 * 1024], [1 << 20]]) {
    const usual = await read(input, sizes, false, opts.delta);
    const raw = await read(input, sizes, true, opts.delta);
    expect(usual.kept).toEqual([]);
    expect(raw.kept.every(Boolean)).toBe(true);
    expect({ ...raw, kept: [] }).toEqual(usual);
    kept = raw.kept.length;
    if (typeof input === 'string') break;
  }
  return kept;
}

/** Characters JSON.stringify writes as themselves or as a short escape (\", \\, \n…): never as \u. */
const ALPHABET = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\r', '\b', '\f', '\u007f', 'é', '中', '📋', '\u2028', '{', '}', ':', ','];
const text = (n: number, alphabet = ALPHABET) => Array.from({ length: n }, () => pick(alphabet)).join('');

/** A JSON string literal for `s`, with some characters written otherwise than JSON.stringify would (\u, \/). */
function otherwise(s: string): string {
  let out = '"';
  for (const c of s) {
    const r = rand();
    if (c === '/' && r < 0.5) out += '\\/';
    else if (r < 0.1 && c.length === 1) out += `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`.replace(/[a-f]/g, (h) => (rand() < 0.5 ? h.toUpperCase() : h));
    else out += JSON.stringify(c).slice(1, -1);
  }
  return `${out}"`;
}

const ws = () => pick(['', '', ' ', '\t', '  ']);
/** An entry line from its members (written as given: order, duplicates and spacing are the test's). */
const line = (members: [string, string][]) => `${ws()}{${members.map(([k, v]) => `${ws()}${JSON.stringify(k)}${ws()}:${ws()}${v}${ws()}`).join(',')}}${ws()}`;
const dump = (lines: string[], trailer = lines.length) => [JSON.stringify(header), ...lines, JSON.stringify({ end: true, entries: trailer })].join('\n') + '\n';

test('canonical large values are kept as their bytes, and give what the usual reading gives', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const value = text(64 + Math.floor(rand() * 200));
    const members: [string, string][] = [['area', '"localStorage"'], ['key', JSON.stringify(`k${i} ${text(3)}`)], ['value', JSON.stringify(value)]];
    if (rand() < 0.3) members.push(['op', '"put"']);
    if (rand() < 0.3) members.push(['extra', pick(['12', '-1.5e3', 'true', 'false', 'null', '"x"'])]);
    lines.push(line(members.sort(() => rand() - 0.5)));
  }
  lines.push(JSON.stringify({ area: 'sessionStorage', key: 'short', value: 'tiny' })); // under the threshold
  expect(await same(Buffer.from(dump(lines)))).toBe(40);
});

test('values written otherwise than JSON.stringify would, or in lines of other shapes, are read the usual way, to the same entries', async () => {
  const big = () => text(70);
  const lines = [
    line([['area', '"localStorage"'], ['key', '"escapes"'], ['value', otherwise(big())]]),
    line([['area', '"localStorage"'], ['key', '"slash"'], ['value', '"a\\/b and more text to pass the threshold, which these tests put at 64 bytes"']]),
    line([['area', '"localStorage"'], ['key', '"twice"'], ['value', JSON.stringify(big())], ['value', '"the later one wins"']]),
    line([['area', '"localStorage"'], ['key', '"twice, large last"'], ['value', '"short"'], ['value', JSON.stringify(big())]]),
    line([['area', '"localStorage"'], ['key', JSON.stringify(big())], ['value', '"a large key, not a large value"']]),
    line([['area', '"localStorage"'], ['key', '"extra large"'], ['value', '"v"'], ['note', JSON.stringify(big())]]),
    line([['area', '"localStorage"'], ['key', '"nested"'], ['value', JSON.stringify(big())], ['meta', '{"a":[1,2]}']]),
    line([['area', '"localStorage"'], ['key', '"two large"'], ['value', JSON.stringify(big())], ['other', JSON.stringify(big())]]),
    line([['area', '"indexedDB"'], ['db', '"d"'], ['dbVersion', '1'], ['store', '"s"'], ['key', '1'], ['value', JSON.stringify(big())]]),
    line([['area', '"localStorage"'], ['key', '"lone surrogate"'], ['value', JSON.stringify(`${big()}\ud800${big()}`)]]),
    line([['area', '"localStorage"'], ['key', '"control characters"'], ['value', JSON.stringify(`${big()}\u0001${big()}\u001f`)]]),
    line([['area', '"localStorage"'], ['key', '"canonical, for contrast"'], ['value', JSON.stringify(big())]]),
  ];
  expect(await same(Buffer.from(dump(lines)))).toBe(1); // only the last one
});

test('refusals are the same: a raw control character, a bad escape, a cut-off line, a bad entry, bad JSON elsewhere on the line', async () => {
  const big = 'x'.repeat(70);
  const cases = [
    dump([`{"area":"localStorage","key":"k","value":"${big}\u0001${big}"}`]),
    dump([`{"area":"localStorage","key":"k","value":"${big}\\x${big}"}`]),
    dump([`{"area":"localStorage","key":"k","value":"${big}`]).replace(/\n[^\n]*\n$/, ''), // ends inside the value
    dump([`{"area":"localStorage","key":"k","value":"${big}"`]),
    dump([`{"area":"cookies","key":"k","value":"${big}"}`]),
    dump([`{"area":"localStorage","key":5,"value":"${big}"}`]),
    dump([`{"area":"localStorage","key":"k","value":"${big}","n":tru}`]),
    dump([`{"area":"localStorage","key":"k","value":"${big}"} trailing`]),
    dump([`{"op":"delete","area":"localStorage","key":"k","value":"${big}"}`]),
    dump([`{"area":"localStorage","key":"k","value":"${big}"}`], 2),
  ];
  for (const c of cases) {
    const usual = await read(Buffer.from(c), [7], false);
    expect(usual.error).toBeDefined();
    await same(Buffer.from(c));
  }
});

test('invalid UTF-8 in a large value: read the usual way (U+FFFD), wherever the chunks cut it', async () => {
  const head = Buffer.from(`${JSON.stringify(header)}\n{"area":"localStorage","key":"k","value":"${'é'.repeat(20)}`);
  const tail = Buffer.from(`${'中'.repeat(20)}"}\n{"end":true,"entries":1}\n`);
  for (const broken of [[0xff], [0xc3], [0xe4, 0xb8], [0xf0, 0x9f, 0x93], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x80]]) {
    expect(await same(Buffer.concat([head, Buffer.from(broken), tail]))).toBe(0);
  }
});

test('line ends, a BOM, blank lines (Unicode spaces too), text input and a delta are read alike', async () => {
  const value = JSON.stringify(text(80));
  const entry = `{"area":"localStorage","key":"k","value":${value}}`;
  expect(await same(Buffer.from(`\uFEFF${JSON.stringify(header)}\r\n${entry}\r\n\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\r\n${' '.repeat(40)}\n{"end":true,"entries":1}`))).toBe(1);
  expect(await same(dump([entry]))).toBe(0); // text chunks go to the usual reader
  const delta = dump([entry, '{"op":"delete","area":"localStorage","key":"gone"}', `{"area":"sessionStorage","key":"s","value":${value}}`]);
  expect(await same(Buffer.from(delta), { delta: true })).toBe(2);
});

test('NDJSON_LIMITS: a line is bounded by its characters, not its bytes', async () => {
  NDJSON_LIMITS.maxLineChars = 500;
  const entry = (n: number) => `{"area":"localStorage","key":"k","value":"${'é'.repeat(n)}"}`; // two bytes a character
  // ~850 bytes, ~440 characters: accepted; read the usual way, since its bytes passed the limit (see readByteLines).
  expect(await same(Buffer.from(dump([entry(400)])))).toBe(0);
  expect((await read(Buffer.from(dump([entry(400)])), [64], true)).error).toBeUndefined();
  const refused = await read(Buffer.from(dump([entry(600)])), [64], true);
  expect(refused.error?.code).toBe('dump_entry_too_large');
  await same(Buffer.from(dump([entry(600)])));
});

test('a last line at the limit that ends in a cut-off character is refused alike (the U+FFFD it decodes to counts)', async () => {
  NDJSON_LIMITS.maxLineChars = 200;
  const entry = `{"area":"localStorage","key":"k","value":"${'x'.repeat(200 - 44)}"}`;
  expect(entry).toHaveLength(200);
  for (const cut of [[0xe2], [0xe2, 0x82], [0xf0]]) {
    const bytes = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n${entry}`), Buffer.from(cut)]);
    const [usual, raw] = [await read(bytes, [64], false), await read(bytes, [64], true)];
    expect(usual.error?.code).toBe('dump_entry_too_large');
    expect(raw).toEqual(usual);
  }
});

test('any iterable for-await takes is read, an array of buffers too', async () => {
  const bytes = Buffer.from(dump([`{"area":"localStorage","key":"k","value":${JSON.stringify(text(80))}}`]));
  expect(await validateDump([bytes.subarray(0, 100), bytes.subarray(100)] as never, 'ndjson')).toEqual(await validateDump(Readable.from([bytes]), 'ndjson'));
});

test('validUtf8 takes characters cut between pieces, and refuses what isUtf8 refuses', () => {
  const good = Buffer.from('aé中📋z');
  for (let a = 0; a <= good.length; a++) {
    for (let b = a; b <= good.length; b++) expect(validUtf8([good.subarray(0, a), good.subarray(a, b), good.subarray(b)])).toBe(true);
  }
  for (const bad of [[0xff], [0xc3], [0xe4, 0xb8], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80]]) {
    const bytes = Buffer.concat([Buffer.from('ab'), Buffer.from(bad), Buffer.from('cd')]);
    for (let a = 0; a <= bytes.length; a++) expect([bad, a, validUtf8([bytes.subarray(0, a), bytes.subarray(a)])]).toEqual([bad, a, false]);
  }
  expect(validUtf8([Buffer.from([0xf0, 0x9f]), Buffer.from([0x93])])).toBe(false); // cut short at the end
});

test('leaving the loop early stops reading and destroys the input stream, as the usual reading does', async () => {
  const lines = Array.from({ length: 5_000 }, (_, i) => `{"area":"localStorage","key":"k${i}","value":${JSON.stringify(text(80))}}`);
  const stream = chunksOf(Buffer.from(dump(lines)), [4096]);
  const reader = await openDump(stream, 'ndjson', { rawStrings: true });
  for await (const e of reader.entries) {
    expect([e.key, e.value instanceof RawJsonString]).toEqual(['k0', true]);
    break;
  }
  expect(stream.destroyed).toBe(true);
});

test('a line of millions of members beside a large value is refused as the usual reading refuses it, before it is built', async () => {
  RAW_STRINGS.minBytes = 1 << 20;
  const members = Array.from({ length: 2_100_000 }, (_, i) => `"m${i}":0`).join(',');
  const entry = `{"area":"localStorage","key":"k","value":${JSON.stringify('x'.repeat(2 << 20))},${members}}`;
  const raw = await read(Buffer.from(dump([entry])), [1 << 20], true);
  expect(raw.error?.code).toBe('dump_value_too_large');
  expect(raw).toEqual(await read(Buffer.from(dump([entry])), [1 << 20], false));
  // A dozen members: the value is kept as bytes beside them.
  const few = Buffer.from(dump([`{"area":"localStorage","key":"k","value":${JSON.stringify('x'.repeat(2 << 20))},${members.split(',').slice(0, 12).join(',')}}`]));
  const kept = await read(few, [64 * 1024], true);
  expect(kept.kept).toEqual([true]);
  expect({ ...kept, kept: [] }).toEqual(await read(few, [64 * 1024], false));
}, 60_000);
