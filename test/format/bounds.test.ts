/**
 * MAX_VALUE_DEPTH: an IndexedDB key or value (or the header's source) nested deeper is refused by both
 * readers with dump_value_too_deep; the checks themselves never recurse, so 100,000 levels are measured
 * as easily as 10.
 */
import { openDump, MAX_VALUE_DEPTH, jsonTextTooDeep } from '../../format';
import { depthExceeds } from '../../format/bounds';
import { storableJson, MAX_JSONB_DEPTH, TooDeepError } from '../../jobs/write/storable';
import { chunked, drain, header, refusal } from './fixtures';

/** JSON text of `{"a":{"a":...1}}`, `levels` objects deep (built as text: JSON.stringify would recurse). */
const deepText = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const deepValue = (levels: number) => JSON.parse(deepText(levels));

const idbLine = (key: string, value: string) =>
  `{"area":"indexedDB","db":"d","dbVersion":1,"store":"s","keyPath":null,"key":${key},"value":${value}}`;
const ndjson = (...entries: string[]) => [JSON.stringify(header), ...entries, JSON.stringify({ end: true, entries: entries.length })].join('\n');
const document = (key: string, value: string) =>
  `{"format":"browser-storage-dump","version":1,"source":{"capturedAt":"2026-01-01T00:00:00Z"},"localStorage":[],"sessionStorage":[],` +
  `"indexedDB":[{"name":"d","version":1,"stores":[{"name":"s","keyPath":null,"records":[{"key":"ok","value":1},{"key":${key},"value":${value}}]}]}]}`;

describe('depthExceeds / jsonTextTooDeep', () => {
  test('count nesting levels of arrays and objects; scalars are 0', () => {
    expect(depthExceeds(1, 0)).toBe(false);
    expect(depthExceeds([], 0)).toBe(true);
    expect(depthExceeds([[1], { a: {} }], 3)).toBe(false);
    expect(depthExceeds([[1], { a: {} }], 2)).toBe(true); // {} inside {a} inside the array: 3
    expect(depthExceeds(deepValue(MAX_VALUE_DEPTH))).toBe(false);
    expect(depthExceeds(deepValue(MAX_VALUE_DEPTH + 1))).toBe(true);
    expect(depthExceeds(deepValue(100_000))).toBe(true);
  });

  test('JSON text: brackets inside strings do not count; text that is not JSON is never too deep', () => {
    expect(jsonTextTooDeep(deepText(MAX_VALUE_DEPTH))).toBe(false);
    expect(jsonTextTooDeep(deepText(MAX_VALUE_DEPTH + 1))).toBe(true);
    expect(jsonTextTooDeep(`  \n${deepText(100_000)}`)).toBe(true);
    expect(jsonTextTooDeep('['.repeat(5000))).toBe(false); // looks deep, does not parse: just a string
    expect(jsonTextTooDeep(JSON.stringify({ s: '['.repeat(5000), t: 'a\\"[[' }))).toBe(false);
    expect(jsonTextTooDeep('x' + deepText(5000))).toBe(false); // not JSON text at all
    expect(jsonTextTooDeep('[[1]]', 1)).toBe(true);
  });
});

describe('readers refuse a key or value deeper than MAX_VALUE_DEPTH', () => {
  test('NDJSON: the value, on its line', async () => {
    const { error, read } = await refusal(() => openDump(chunked(ndjson(idbLine('"ok"', '1'), idbLine('"k"', deepText(10_000))), 1 << 16), 'ndjson'));
    expect(error.code).toBe('dump_value_too_deep');
    expect(error.details).toMatchObject({ line: 3, part: 'value', maxDepth: MAX_VALUE_DEPTH });
    expect(error.message).toContain(String(MAX_VALUE_DEPTH));
    expect(read).toHaveLength(1);
  });

  test('NDJSON: the key', async () => {
    const { error } = await refusal(() => openDump(chunked(ndjson(idbLine(`[${'['.repeat(MAX_VALUE_DEPTH)}1${']'.repeat(MAX_VALUE_DEPTH)}]`, '1')), 1 << 16), 'ndjson'));
    expect(error.details).toMatchObject({ line: 2, part: 'key' });
  });

  test('JSON document: the value, at its path', async () => {
    const { error, read } = await refusal(() => openDump(chunked(document('"k"', deepText(10_000)), 1 << 16), 'json'));
    expect(error.code).toBe('dump_value_too_deep');
    expect(error.details).toMatchObject({ path: 'indexedDB[0].stores[0].records[1]', part: 'value' });
    expect(read).toHaveLength(1);
  });

  test('exactly MAX_VALUE_DEPTH levels are read, in both encodings', async () => {
    for (const [text, encoding] of [[ndjson(idbLine('"k"', deepText(MAX_VALUE_DEPTH))), 'ndjson'], [document('"k"', deepText(MAX_VALUE_DEPTH)), 'json']] as const) {
      const { error, read } = await drain(await openDump(chunked(text, 1 << 16), encoding));
      expect(error).toBeUndefined();
      expect(depthExceeds(read[read.length - 1].value, MAX_VALUE_DEPTH - 1)).toBe(true);
    }
  });

  test('the header: a source nested too deep → dump_invalid_header naming the limit', async () => {
    const text = `{"format":"browser-storage-dump","version":1,"source":{"capturedAt":"2026-01-01T00:00:00Z","x":${deepText(10_000)}}}\n{"end":true,"entries":0}`;
    const { error } = await refusal(() => openDump(chunked(text, 1 << 16), 'ndjson'));
    expect(error.code).toBe('dump_invalid_header');
    expect(error.message).toContain(`${MAX_VALUE_DEPTH} levels`);
  });
});

test('the write path refuses (TooDeepError) a jsonb value deeper than MAX_JSONB_DEPTH instead of overflowing', () => {
  expect(() => storableJson(deepValue(MAX_JSONB_DEPTH))).not.toThrow();
  expect(() => storableJson(deepValue(MAX_JSONB_DEPTH + 1))).toThrow(TooDeepError);
  expect(() => storableJson(deepValue(50_000))).toThrow(TooDeepError);
});

test('storableJson keeps values JSON cannot carry in their §1c form, so a row never fails JSON.stringify (found by test/transforms/properties.test.ts)', () => {
  const stored = storableJson({ n: 10n, m: new Map([['k', 1n]]), s: new Set(['\u0000']), x: NaN, r: /a/g, b: { kind: 'Blob', type: 't', size: 1, bytes: Buffer.from([7]) }, d: 'plain' });
  expect(JSON.parse(JSON.stringify(stored))).toEqual({
    n: { $t: 'bigint', v: '10' },
    m: { $t: 'Map', v: [['k', { $t: 'bigint', v: '1' }]] },
    s: { $t: 'Set', v: [{ $t: 'String', utf16le: Buffer.from('\u0000', 'utf16le').toString('base64') }] },
    x: { $t: 'number', v: 'NaN' },
    r: { $t: 'RegExp', v: { source: 'a', flags: 'g' } },
    b: { $t: 'Blob', type: 't', size: 1, b64: 'Bw==' },
    d: 'plain',
  });
});
