import { Readable } from 'node:stream';
import { openDump, validateDump, entryRef, DumpFormatError, type DumpEntry } from '../../format';
import { NDJSON_LIMITS } from '../../format/ndjson';
import { chunked, drain, entries, header, ndjsonLines, refusal } from './fixtures';

const open = (text: string, size = 7) => openDump(chunked(text, size), 'ndjson');

const failure = (text: string) => refusal(() => open(text));

describe('NDJSON happy path', () => {
  test('CRLF line breaks, a trailing newline, blank lines, chunks splitting characters', async () => {
    const text = ndjsonLines().join('\r\n').replace('\r\n', '\r\n\r\n  \r\n') + '\r\n\r\n';
    for (const size of [1, 5, 64 * 1024]) {
      const reader = await open(text, size);
      expect(reader.header).toEqual(header);
      expect(reader.headerComplete).toBe(true);
      const { read, error } = await drain(reader);
      expect(error).toBeUndefined();
      expect(read).toEqual(entries);
    }
  });

  test('LF, no final newline, a leading BOM', async () => {
    const { read, error } = await drain(await open('\uFEFF' + ndjsonLines().join('\n')));
    expect(error).toBeUndefined();
    expect(read).toEqual(entries);
  });

  test('zero entries with {"end":true,"entries":0}', async () => {
    const { read, error } = await drain(await open(ndjsonLines([]).join('\n') + '\n'));
    expect([read, error]).toEqual([[], undefined]);
  });

  test('a line without keyPath is an out-of-line-key store; null values are allowed', async () => {
    const e = { area: 'indexedDB', db: 'd', dbVersion: 2, store: 's', key: 5, value: null };
    const { read } = await drain(await open(ndjsonLines([e as DumpEntry]).join('\n')));
    expect(read).toEqual([{ ...e, keyPath: null }]);
  });

  test('validateDump counts per area', async () => {
    const result = await validateDump(chunked(ndjsonLines().join('\n')), 'ndjson');
    expect(result).toEqual({ header, counts: { localStorage: 2, sessionStorage: 1, indexedDB: 4, removals: 0, total: 7 } });
  });
});

describe('NDJSON refusals: code and 1-based line', () => {
  const lines = ndjsonLines(); // header (1), 7 entries (2..8), trailer (9)

  test('truncated: no trailer → dump_truncated at the end, after the entries', async () => {
    const { error, read } = await failure(lines.slice(0, -1).join('\n') + '\n');
    expect(error).toBeInstanceOf(DumpFormatError);
    expect(error.code).toBe('dump_truncated');
    expect(error.details.line).toBe(8);
    expect(read).toHaveLength(7);
    expect(error.message).toMatch(/trailer/);
  });

  test('truncated in the middle of a line → dump_truncated on that line', async () => {
    const text = lines.slice(0, 5).join('\n') + '\n' + lines[5].slice(0, 20);
    const { error } = await failure(text);
    expect([error.code, error.details.line]).toEqual(['dump_truncated', 6]);
  });

  test('wrong count → dump_count_mismatch on the trailer line', async () => {
    const { error } = await failure(ndjsonLines(entries, 8).join('\n'));
    expect([error.code, error.details.line]).toEqual(['dump_count_mismatch', 9]);
    expect(error.details).toMatchObject({ expected: 8, actual: 7 });
  });

  test('a line of garbage → dump_invalid_json, without quoting it', async () => {
    const text = [lines[0], lines[1], '{"area":"localStorage","key":"k","value":"sk-SECRET' + '",,}', ...lines.slice(2)].join('\n');
    const { error, read } = await failure(text);
    expect([error.code, error.details.line]).toEqual(['dump_invalid_json', 3]);
    expect(error.message).not.toContain('SECRET');
    expect(read).toHaveLength(1);
  });

  test('a line after the trailer → dump_trailing_data', async () => {
    const { error } = await failure([...lines, '', lines[1]].join('\n'));
    expect([error.code, error.details.line]).toEqual(['dump_trailing_data', 11]);
  });

  test('bad header → dump_invalid_header on line 1', async () => {
    const { error } = await failure([lines[1], ...lines.slice(1)].join('\n'));
    expect([error.code, error.details.line]).toEqual(['dump_invalid_header', 1]);
    const missingCapturedAt = JSON.stringify({ ...header, source: { app: 'x' } });
    const second = await failure([missingCapturedAt, ...lines.slice(1)].join('\n'));
    expect(second.error.code).toBe('dump_invalid_header');
    expect(second.error.details.issues?.[0].path).toBe('source.capturedAt');
  });

  test('a header after blank lines keeps its real line number', async () => {
    const { error } = await failure('\n\n{"format":"other"}\n');
    expect([error.code, error.details.line]).toEqual(['dump_invalid_header', 3]);
  });

  test('wrong version → dump_unsupported_version on line 1', async () => {
    const { error } = await failure([JSON.stringify({ ...header, version: 2 }), ...lines.slice(1)].join('\n'));
    expect([error.code, error.details.line]).toEqual(['dump_unsupported_version', 1]);
    expect(error.message).toContain('version 2');
  });

  test('a pretty-printed JSON document sent as NDJSON → dump_invalid_json on line 1 with a hint', async () => {
    const { error } = await failure(JSON.stringify(header, null, 2));
    expect([error.code, error.details.line]).toEqual(['dump_invalid_json', 1]);
    expect(error.message).toContain('application/json');
  });

  test('empty input → dump_truncated', async () => {
    expect((await failure('')).error.code).toBe('dump_truncated');
    expect((await failure('\n \r\n')).error.code).toBe('dump_truncated');
  });

  test.each([
    ['a localStorage value that is not a string', { area: 'localStorage', key: 'k', value: 42 }, 'value'],
    ['an unknown area', { area: 'cookies', key: 'k', value: 'v' }, undefined],
    ['indexedDB without db', { area: 'indexedDB', dbVersion: 1, store: 's', key: 1, value: 2 }, 'db'],
    ['indexedDB with dbVersion 0', { area: 'indexedDB', db: 'd', dbVersion: 0, store: 's', key: 1, value: 2 }, 'dbVersion'],
    ['indexedDB without value', { area: 'indexedDB', db: 'd', dbVersion: 1, store: 's', key: 1 }, 'value'],
    ['indexedDB without key', { area: 'indexedDB', db: 'd', dbVersion: 1, store: 's', value: 'sk-SECRET' }, 'key'],
  ])('%s → dump_invalid_entry', async (_name, bad, issuePath) => {
    const list = [entries[0], bad as unknown as DumpEntry, entries[1]];
    const { error, read } = await failure(ndjsonLines(list).join('\n'));
    expect(error.code).toBe('dump_invalid_entry');
    expect(error.details).toMatchObject({ line: 3, entryIndex: 1 });
    if (issuePath) expect(error.details.issues?.map((i) => i.path)).toContain(issuePath);
    expect(error.message).not.toMatch(/SECRET|42/);
    expect(read).toHaveLength(1);
  });

  test('an invalid trailer → dump_invalid_trailer', async () => {
    const { error } = await failure([...lines.slice(0, -1), '{"end":true,"entries":"7"}'].join('\n'));
    expect([error.code, error.details.line]).toEqual(['dump_invalid_trailer', 9]);
  });

  test('the error serializes to the docs/http-api.md §2 error body', async () => {
    const { error } = await failure(lines.slice(0, -1).join('\n'));
    expect(JSON.parse(JSON.stringify(error))).toEqual({ error: { code: 'dump_truncated', message: error.message, details: error.details } });
  });
});

test('leaving the loop early stops reading and destroys the input stream', async () => {
  const many = Array.from({ length: 10_000 }, (_, i) => ({ area: 'localStorage' as const, key: `k${i}`, value: 'v' }));
  const stream = Readable.from(ndjsonLines(many).map((l) => l + '\n'));
  const reader = await openDump(stream, 'ndjson');
  for await (const e of reader.entries) { expect(e.key).toBe('k0'); break; }
  expect(stream.destroyed).toBe(true);
});

test('openDump refuses an unknown encoding', async () => {
  await expect(openDump(chunked(''), 'xml' as never)).rejects.toMatchObject({ code: 'dump_unsupported_encoding' });
});

test('entryRef', () => {
  expect(entryRef(entries[0])).toBe('localStorage:contentTypes');
  expect(entryRef(entries[2])).toBe('sessionStorage:ai_prompt_website_1');
  expect(entryRef(entries[3])).toBe('indexedDB:catalyst_global/websites/"website_1"');
  expect(entryRef(entries[6])).toBe('indexedDB:catalyst_website_1/content_items/["website_1","ci_1"]');
});

describe('one entry is bounded', () => {
  const saved = NDJSON_LIMITS.maxLineChars;
  beforeEach(() => (NDJSON_LIMITS.maxLineChars = 500));
  afterEach(() => (NDJSON_LIMITS.maxLineChars = saved));

  test.each([7, 100_000])('a line longer than the limit is refused, arriving in chunks of %i', async (size) => {
    const big = JSON.stringify({ area: 'localStorage', key: 'k', value: 'x'.repeat(600) });
    const text = `${JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { capturedAt: '2026-11-28T10:00:00.000Z' } })}\n${big}\n{"end":true,"entries":1}\n`;
    const err = await validateDump(chunked(text, size), 'ndjson').catch((e) => e);
    expect(err).toBeInstanceOf(DumpFormatError);
    expect(err.code).toBe('dump_entry_too_large');
    expect(err.details.line).toBe(2);
  });

  test('without a line break at all, the input is refused once past the limit, not buffered whole', async () => {
    const err = await validateDump(chunked('{"format":' + ' '.repeat(10_000), 100), 'ndjson').catch((e) => e);
    expect(err.code).toBe('dump_entry_too_large');
  });
});
