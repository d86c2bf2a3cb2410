import { openDump, validateDump } from '../../format';
import { NDJSON_LIMITS } from '../../format/ndjson';
import { chunked, document, drain, entries, header, ndjsonLines, refusal } from './fixtures';

const open = (doc: unknown, size = 7) => openDump(chunked(typeof doc === 'string' ? doc : JSON.stringify(doc), size), 'json');

const failure = (doc: unknown) => refusal(() => open(doc));

describe('JSON document happy path', () => {
  test('yields the same entries, in the same order, as the NDJSON form', async () => {
    const fromNdjson = await drain(await openDump(chunked(ndjsonLines().join('\n')), 'ndjson'));
    for (const [text, size] of [[JSON.stringify(document), 1], [JSON.stringify(document, null, 2), 5], ['\uFEFF' + JSON.stringify(document), 1 << 16]] as const) {
      const reader = await open(text, size);
      expect(reader.header).toEqual(header);
      expect(reader.headerComplete).toBe(true);
      const { read, error } = await drain(reader);
      expect(error).toBeUndefined();
      expect(read).toEqual(entries);
      expect(read).toEqual(fromNdjson.read);
    }
  });

  test('top-level keys in any order; header keys after the entries', async () => {
    const { format, version, source, ...rest } = document;
    const reader = await open({ indexedDB: rest.indexedDB, sessionStorage: rest.sessionStorage, localStorage: rest.localStorage, source, version, format });
    expect(reader.headerComplete).toBe(false);
    const { read, error } = await drain(reader);
    expect(error).toBeUndefined();
    expect(reader.header).toEqual(header); // completed in place by the end
    expect(read.map((e) => e.area)).toEqual(['indexedDB', 'indexedDB', 'indexedDB', 'indexedDB', 'sessionStorage', 'localStorage', 'localStorage']);
  });

  test('unknown top-level and nested keys are ignored', async () => {
    const doc = {
      extra: { deep: [1, { a: [{}, []] }], s: 'x' }, ...document, more: 'x',
      indexedDB: [{ ...document.indexedDB[1], objectStoreNames: ['content_items'], stores: [{ ...document.indexedDB[1].stores[0], count: 1 }] }],
    };
    const { read, error } = await drain(await open(doc));
    expect(error).toBeUndefined();
    expect(read).toEqual([...entries.slice(0, 3), entries[6]]);
  });

  test('store-level keyPath/autoIncrement/indexes are copied onto each entry; a store without keyPath has null', async () => {
    const doc = { ...header, localStorage: [], sessionStorage: [], indexedDB: [{ name: 'd', version: 4, stores: [{ name: 's', records: [{ key: 1, value: { $t: 'undefined' } }] }] }] };
    const { read, error } = await drain(await open(doc));
    expect(error).toBeUndefined();
    expect(read).toEqual([{ area: 'indexedDB', db: 'd', dbVersion: 4, store: 's', keyPath: null, key: 1, value: { $t: 'undefined' } }]);
  });

  test('JSON.parse semantics for values: -0, big numbers, escapes, __proto__', async () => {
    const text = `{"format":"browser-storage-dump","version":1,"source":{"capturedAt":"2026-01-01T00:00:00Z"},"localStorage":[],"sessionStorage":[],
      "indexedDB":[{"name":"d","version":1,"stores":[{"name":"s","keyPath":"id","records":[
        {"key":-0,"value":{"n":1e400,"s":"a\\"\\u00e9\\n","__proto__":{"x":1}}}]}]}]}`;
    const { read, error } = await drain(await open(text, 3));
    expect(error).toBeUndefined();
    const value = (read[0] as { value: Record<string, unknown> }).value;
    expect(Object.is((read[0] as { key: number }).key, -0)).toBe(true);
    expect(value.n).toBe(Infinity);
    expect(value.s).toBe('a"é\n');
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  test('a 20 MB string value, read in 64 KB chunks', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024) + 'é'.repeat(5 * 1024 * 1024); // 20 MB of UTF-8
    const doc = { ...header, localStorage: [{ key: 'big', value: big }, { key: 'after', value: '1' }], sessionStorage: [],
      indexedDB: [{ name: 'd', version: 1, stores: [{ name: 's', keyPath: null, records: [{ key: 'k', value: { html: big } }] }] }] };
    const started = Date.now();
    const { read, error } = await drain(await open(doc, 64 * 1024));
    expect(error).toBeUndefined();
    expect(read).toHaveLength(3);
    expect((read[0] as { value: string }).value === big).toBe(true);
    expect(((read[2] as { value: { html: string } }).value.html) === big).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test('validateDump counts per area', async () => {
    expect(await validateDump(chunked(JSON.stringify(document)), 'json'))
      .toEqual({ header, counts: { localStorage: 2, sessionStorage: 1, indexedDB: 4, removals: 0, total: 7 } });
  });
});

describe('JSON document refusals', () => {
  test('wrong format or version before the entries → openDump rejects', async () => {
    await expect(open({ format: 'other', version: 1, source: header.source })).rejects.toMatchObject({ code: 'dump_invalid_header' });
    await expect(open({ format: header.format, version: 2, localStorage: [] })).rejects.toMatchObject({ code: 'dump_unsupported_version' });
    await expect(open([header])).rejects.toMatchObject({ code: 'dump_invalid_header' });
  });

  test('a header missing after the entries → thrown by the iterator before it finishes', async () => {
    const noCapturedAt = await failure({ localStorage: document.localStorage, format: header.format, version: 1, source: { app: 'x' } });
    expect(noCapturedAt.error.code).toBe('dump_invalid_header');
    expect(noCapturedAt.read).toHaveLength(2);
    expect((await failure({ localStorage: document.localStorage, version: 1, source: header.source })).error.code).toBe('dump_invalid_header');
    expect((await failure({ localStorage: [], format: header.format, version: 3, source: header.source })).error.code).toBe('dump_unsupported_version');
  });

  test('truncated document → dump_truncated with the path reached', async () => {
    const text = JSON.stringify(document);
    const cut = text.slice(0, text.indexOf('website_2') + 3);
    const { error, read } = await failure(cut);
    expect(error.code).toBe('dump_truncated');
    expect(error.details.path).toBe('indexedDB[0].stores[0].records[1]');
    expect(read).toHaveLength(4);
  });

  test('garbage → dump_invalid_json with the path, not quoting the input', async () => {
    const text = JSON.stringify(document).replace('"empty"', '"empty" "sk-SECRET"');
    const { error } = await failure(text);
    expect(error.code).toBe('dump_invalid_json');
    expect(error.details.path).toBe('localStorage[1]');
    expect(error.message).not.toContain('SECRET');
  });

  test('wrong container types → dump_invalid_structure', async () => {
    expect((await failure({ ...header, localStorage: { a: 'b' } })).error.code).toBe('dump_invalid_structure');
    expect((await failure({ ...header, indexedDB: ['db'] })).error.details.path).toBe('indexedDB[0]');
    expect((await failure({ ...header, indexedDB: [{ name: 'd', version: 1, stores: {} }] })).error.code).toBe('dump_invalid_structure');
  });

  test('a kv item whose value is not a string → dump_invalid_entry with path and index', async () => {
    const { error, read } = await failure({ ...header, sessionStorage: [{ key: 'a', value: 'ok' }, { key: 'b', value: { secret: 'sk-SECRET' } }] });
    expect(error.code).toBe('dump_invalid_entry');
    expect(error.details).toMatchObject({ path: 'sessionStorage[1]', entryIndex: 1 });
    expect(error.message).not.toContain('SECRET');
    expect(read).toHaveLength(1);
  });

  test('a record without value → dump_invalid_entry', async () => {
    const doc = { ...header, indexedDB: [{ name: 'd', version: 1, stores: [{ name: 's', records: [{ key: 1 }] }] }] };
    const { error } = await failure(doc);
    expect(error.code).toBe('dump_invalid_entry');
    expect(error.details.path).toBe('indexedDB[0].stores[0].records[0]');
  });

  test('records before the store name or the db version → dump_invalid_structure', async () => {
    const late = { ...header, indexedDB: [{ name: 'd', version: 1, stores: [{ records: [{ key: 1, value: 1 }], name: 's' }] }] };
    const a = await failure(late);
    expect(a.error.code).toBe('dump_invalid_structure');
    expect(a.error.message).toContain('before its "records"');
    const lateDb = { ...header, indexedDB: [{ name: 'd', stores: [{ name: 's', records: [{ key: 1, value: 1 }] }], version: 1 }] };
    expect((await failure(lateDb)).error.message).toContain('before its "stores"');
  });

  test('keyPath after the records → dump_invalid_structure (entries already used null)', async () => {
    const doc = { ...header, indexedDB: [{ name: 'd', version: 1, stores: [{ name: 's', records: [{ key: 1, value: 1 }], keyPath: 'id' }] }] };
    const { error, read } = await failure(doc);
    expect(error.code).toBe('dump_invalid_structure');
    expect(read).toHaveLength(1);
  });

  test('a database without name, even with no records → dump_invalid_structure', async () => {
    expect((await failure({ ...header, indexedDB: [{ version: 1, stores: [] }] })).error.code).toBe('dump_invalid_structure');
  });

  test('a document without one of its entry arrays → dump_missing_array naming it, after the entries (§1a)', async () => {
    const { localStorage, sessionStorage, indexedDB } = document;
    for (const [doc, missing] of [
      [{ ...header, sessionStorage, indexedDB }, ['localStorage']],
      [{ ...header, localStorage, indexedDB }, ['sessionStorage']],
      [{ ...header, localStorage, sessionStorage }, ['indexedDB']],
      [{ ...header }, ['localStorage', 'sessionStorage', 'indexedDB']],
    ] as const) {
      const { error } = await failure(doc);
      expect(error.code).toBe('dump_missing_array');
      expect(error.details.missing).toEqual(missing);
      for (const name of missing) expect(error.message).toContain(`"${name}"`);
    }
    // Empty arrays are the way to say "nothing there".
    const { error } = await drain(await open({ ...header, localStorage: [], sessionStorage: [], indexedDB: [] }));
    expect(error).toBeUndefined();
    await expect(validateDump(chunked(JSON.stringify({ ...header, localStorage })), 'json')).rejects.toMatchObject({ code: 'dump_missing_array' });
  });

  test('empty input → dump_truncated', async () => {
    await expect(open('')).rejects.toMatchObject({ code: 'dump_truncated' });
  });

  test('trailing garbage after the document → dump_invalid_json', async () => {
    expect((await failure(JSON.stringify(document) + ' {}')).error.code).toBe('dump_invalid_json');
  });
});

describe('one entry is bounded as one NDJSON line is (NDJSON_LIMITS.maxLineChars)', () => {
  const saved = NDJSON_LIMITS.maxLineChars;
  beforeEach(() => (NDJSON_LIMITS.maxLineChars = 500));
  afterEach(() => (NDJSON_LIMITS.maxLineChars = saved));

  test('an entry whose strings, keys and numbers hold more characters is refused at its path; the entries before it were read', async () => {
    const tooLong = [
      { localStorage: [{ key: 'a', value: 'x' }, { key: 'b', value: 'x'.repeat(600) }] },
      { localStorage: [{ key: 'a', value: 'x' }, { key: 'b'.repeat(600), value: '' }] },
      { indexedDB: [{ name: 'd', version: 1, stores: [{ name: 's', keyPath: null, records: [{ key: 'a', value: 1 }, { key: 'k', value: Array.from({ length: 100 }, () => 'abcdefgh') }] }] }] },
    ];
    for (const part of tooLong) {
      const { error, read } = await failure({ ...document, localStorage: [], sessionStorage: [], indexedDB: [], ...part });
      expect(error.code).toBe('dump_entry_too_large');
      expect(error.details.path).toMatch(/\[1\]$/);
      expect(error.message).toContain('500 characters');
      expect(read).toHaveLength(1);
    }
  });

  test('an entry of exactly the limit (its keys counted) is read', async () => {
    const { error, read } = await drain(await open({ ...document, localStorage: [{ key: 'k', value: 'x'.repeat(500 - 'keykvalue'.length) }], sessionStorage: [], indexedDB: [] }));
    expect(error).toBeUndefined();
    expect(read).toHaveLength(1);
  });
});
