/**
 * MAX_VALUE_DEPTH: an IndexedDB key or value (or the header's source) nested deeper is refused by both
 * readers with dump_value_too_deep; the checks themselves never recurse, so 100,000 levels are measured
 * as easily as 10.
 */
import { openDump, MAX_VALUE_DEPTH, MAX_VALUE_NODES, jsonTextNodes, jsonTextTooDeep } from '../../format';
import { depthExceeds, exceeds, nodesExceed } from '../../format/bounds';
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

/** `[0,0,…]` with `n` elements: 1 + n values. */
const zeros = (n: number) => `[${'0,'.repeat(n - 1)}0]`;

describe('MAX_VALUE_NODES: values and object keys', () => {
  test('a walk counts values and keys; the JSON text of the same value counts the same, empty containers twice', () => {
    const samples: [unknown, number][] = [[1, 1], ['x', 1], [[], 1], [[1, 2], 3], [{ a: 1 }, 3], [{ a: [1, { b: null }], c: 'x' }, 9]];
    for (const [value, nodes] of samples) {
      expect(nodesExceed(value, nodes)).toBe(false);
      expect(nodesExceed(value, nodes - 1)).toBe(true);
      if (JSON.stringify(value).includes('[]') || JSON.stringify(value).includes('{}')) continue;
      expect(jsonTextNodes(JSON.stringify(value))).toBe(typeof value === 'object' ? nodes : 1);
    }
    expect(jsonTextNodes('[]')).toBe(2);
    expect(jsonTextNodes('[{},{}]')).toBe(5);
    expect(exceeds(JSON.parse(zeros(10)), 3, 10)).toBe('nodes');
    expect(exceeds(JSON.parse(deepText(5)), 3, 100)).toBe('depth');
  });

  test('JSON text: commas, colons and brackets inside strings do not count, escaped quotes included; not JSON counts 1; counting stops past max', () => {
    expect(jsonTextNodes(JSON.stringify({ s: ',:[{' .repeat(1000), t: 'a\\"[,' , u: '\\', v: '\\\\"' }))).toBe(9);
    expect(jsonTextNodes(`  \n${zeros(1000)}`)).toBe(1001);
    expect(jsonTextNodes('a,b,c,d')).toBe(1); // a scalar or not JSON: parsing builds at most one value
    expect(jsonTextNodes('"[1,2,3]"')).toBe(1);
    expect(jsonTextNodes('["unterminated, [ {')).toBe(2);
    expect(jsonTextNodes(zeros(1_000_000), 10)).toBe(11);
  });

  const idbLine2 = (value: string) => idbLine('"k"', value);
  test('NDJSON: a value over the bound is refused after the parse; a line far over it before (the line alone is named)', async () => {
    const first = await refusal(() => openDump(chunked(ndjson(idbLine('"ok"', '1'), idbLine2(zeros(MAX_VALUE_NODES))), 1 << 20), 'ndjson'));
    let error = first.error;
    expect(error.code).toBe('dump_value_too_large');
    expect(error.details).toMatchObject({ line: 3, part: 'value', maxNodes: MAX_VALUE_NODES });
    expect(error.message).toContain('1,000,000');
    expect(first.read).toHaveLength(1);
    ({ error } = await refusal(() => openDump(chunked(ndjson(idbLine(zeros(MAX_VALUE_NODES), '1')), 1 << 20), 'ndjson')));
    expect(error.details).toMatchObject({ line: 2, part: 'key' });
    ({ error } = await refusal(() => openDump(chunked(ndjson(idbLine2(`[${'{},'.repeat(3 * MAX_VALUE_NODES)}{}]`)), 1 << 20), 'ndjson')));
    expect(error.code).toBe('dump_value_too_large');
    expect(error.details).toEqual({ line: 2, maxNodes: MAX_VALUE_NODES });
  });

  test('exactly MAX_VALUE_NODES are read, in both encodings', async () => {
    for (const [text, encoding] of [[ndjson(idbLine2(zeros(MAX_VALUE_NODES - 1))), 'ndjson'], [document('"k"', zeros(MAX_VALUE_NODES - 1)), 'json']] as const) {
      const { error, read } = await drain(await openDump(chunked(text, 1 << 20), encoding));
      expect(error).toBeUndefined();
      expect((read[read.length - 1].value as unknown[]).length).toBe(MAX_VALUE_NODES - 1);
    }
  });

  test('JSON document: a record over the bound is refused at its path; one far over it while it is read', async () => {
    const first = await refusal(() => openDump(chunked(document('"k"', zeros(MAX_VALUE_NODES)), 1 << 20), 'json'));
    let error = first.error;
    expect(error.code).toBe('dump_value_too_large');
    expect(error.details).toMatchObject({ path: 'indexedDB[0].stores[0].records[1]', part: 'value' });
    expect(first.read).toHaveLength(1);
    ({ error } = await refusal(() => openDump(chunked(document('"k"', zeros(3 * MAX_VALUE_NODES)), 1 << 20), 'json')));
    expect(error.code).toBe('dump_value_too_large');
    expect(error.message).toContain('indexedDB[0].stores[0].records[1]');
  });

  test('the header: a source with too many values → dump_invalid_header naming the limit', async () => {
    const text = `{"format":"browser-storage-dump","version":1,"source":{"capturedAt":"2026-01-01T00:00:00Z","x":${zeros(MAX_VALUE_NODES)}}}\n{"end":true,"entries":0}`;
    const { error } = await refusal(() => openDump(chunked(text, 1 << 20), 'ndjson'));
    expect(error.code).toBe('dump_invalid_header');
    expect(error.message).toContain('MAX_VALUE_NODES');
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
