/**
 * client/ndjsonBlob.ts: the Blob upload() sends is byte for byte toNdjson()'s text, its two digests are
 * Node's sha256 of the entries and of the whole file, and its summary is serialize()'s — also when pieces
 * are tiny, so lines, multi-byte characters and surrogate pairs are cut at every possible place. With
 * gzip (Node's CompressionStream here; Chromium's in stream.test.ts) the file inflates to the same text
 * and both digests cover the compressed bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { buildNdjsonBlob, contentEncodingFor, DEFAULT_COMPRESSION, ndjsonFile } from '../../client/ndjsonBlob';
import { jsonPieces, roughJsonChars, serialize, summarize, toNdjson } from '../../client/ndjson';
import type { Dump, Json } from '../../client/types';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bytesOf = async (blob: Blob) => Buffer.from(await blob.arrayBuffer());

function dump(): Dump {
  const big = randomBytes(300_000).toString('base64'); // one record larger than several pieces
  return {
    format: 'browser-storage-dump', version: 1,
    source: { app: 'catalyst-studio', origin: 'http://localhost', userAgent: 'jest ☕', capturedAt: '2026-11-28T10:00:00.000Z' },
    localStorage: [{ key: 'contentTypes', value: '[]' }, { key: 'lone', value: 'x\ud800y' }, { key: 'emoji📋', value: '😀'.repeat(50) }],
    sessionStorage: [{ key: 'ai_prompt_w1', value: '{"original":"Grüße ☕"}' }],
    indexedDB: [
      { name: 'db', version: 3, stores: [
        { name: 'empty', keyPath: 'id', autoIncrement: false, indexes: [], records: [] },
        { name: 'files', keyPath: null, autoIncrement: true, indexes: [{ name: 'byType', keyPath: ['type', 'name'], unique: false, multiEntry: false }],
          records: [{ key: 1, value: { $t: 'Blob', type: 'text/plain', size: 2, b64: 'aGk=' } }, { key: 2, value: { $t: 'Blob', type: 'x', size: 0, b64: big } }] },
      ] },
      { name: 'catalyst', version: 1, stores: [
        { name: 'items', keyPath: 'id', autoIncrement: false, indexes: [],
          records: Array.from({ length: 200 }, (_, i) => ({ key: `i${i}`, value: { id: `i${i}`, title: `Item ${i} – ünïcödé ☕ 📋`, n: i } })) },
      ] },
    ],
  };
}

describe('buildNdjsonBlob', () => {
  const d = dump();
  const text = Buffer.from(toNdjson(d), 'utf8');
  const s = serialize(d);
  const headerBytes = Buffer.byteLength(s.header);

  test.each([1024 * 1024, 4096, 100, 17, 16])('piece size %i: the same bytes, digests and summary as serialize()', async (pieceSize) => {
    const built = await buildNdjsonBlob(d, { compression: 'none', pieceSize });
    expect(built.header).toBe(s.header);
    const entries = await bytesOf(built.entries);
    expect(entries.equals(text.subarray(headerBytes))).toBe(true);
    expect(built.entriesSha256).toBe(sha(entries));
    expect(built.sha256).toBe(sha(text));
    expect(built.entryCount).toBe(s.entries);
    expect(built.summary).toEqual(s.summary);
    expect(built.contentEncoding).toBeUndefined();
    const file = await ndjsonFile(built, built.header);
    expect(file.type).toBe('application/x-ndjson');
    expect((await bytesOf(file)).equals(text)).toBe(true);
  });

  test('the file with an earlier header (a resumed upload) keeps the entries and swaps the first line', async () => {
    const built = await buildNdjsonBlob(d, { compression: 'none' });
    const older = s.header.replace('2026-11-28T10:00:00.000Z', '2026-11-27T09:00:00.000Z');
    const file = await bytesOf(await ndjsonFile(built, older));
    expect(file.toString('utf8')).toBe(older + s.body.join(''));
  });

  test.each([1024 * 1024, 4096, 17])('gzip, piece size %i: inflates to the same text; both digests cover the compressed bytes', async (pieceSize) => {
    const built = await buildNdjsonBlob(d, { compression: 'gzip', pieceSize });
    expect(built.contentEncoding).toBe('gzip');
    const headerPart = await bytesOf(built.headerPart);
    const entries = await bytesOf(built.entries);
    // Two gzip members: the header line alone, then everything after it.
    expect(gunzipSync(headerPart).toString('utf8')).toBe(s.header);
    expect(gunzipSync(entries).equals(text.subarray(headerBytes))).toBe(true);
    const file = await bytesOf(await ndjsonFile(built, built.header));
    expect(file.equals(Buffer.concat([headerPart, entries]))).toBe(true);
    expect(gunzipSync(file).equals(text)).toBe(true);
    expect(file.length).toBeLessThan(text.length);
    expect(built.entriesSha256).toBe(sha(entries));
    expect(built.sha256).toBe(sha(file));
    expect(built.summary).toEqual(s.summary); // counted in NDJSON bytes, before compression
    // Deterministic: a second build over the same dump gives the same bytes, so a reload can resume.
    const again = await buildNdjsonBlob(d, { compression: 'gzip', pieceSize });
    expect([again.entriesSha256, again.sha256]).toEqual([built.entriesSha256, built.sha256]);
  });

  test('gzip, resumed with an earlier header: the file is that header\'s member + the same entries', async () => {
    const built = await buildNdjsonBlob(d, { compression: 'gzip' });
    const older = s.header.replace('2026-11-28T10:00:00.000Z', '2026-11-27T09:00:00.000Z');
    const file = await bytesOf(await ndjsonFile(built, older));
    expect(gunzipSync(file).toString('utf8')).toBe(older + s.body.join(''));
    expect(file.subarray(file.length - built.entries.size).equals(await bytesOf(built.entries))).toBe(true);
  });

  test('compression: none, or a browser without CompressionStream, sends plain NDJSON', async () => {
    expect(contentEncodingFor('none')).toBeUndefined();
    expect(contentEncodingFor('gzip')).toBe('gzip');
    expect(contentEncodingFor(undefined)).toBe(DEFAULT_COMPRESSION === 'gzip' ? 'gzip' : undefined);
    const saved = globalThis.CompressionStream;
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      delete (globalThis as any).CompressionStream;
      expect(contentEncodingFor('gzip')).toBeUndefined();
      const built = await buildNdjsonBlob(d, { compression: 'gzip' });
      expect(built.contentEncoding).toBeUndefined();
      expect((await bytesOf(await ndjsonFile(built, built.header))).equals(text)).toBe(true);
    } finally {
      globalThis.CompressionStream = saved;
    }
  });

  test('an empty dump is the header and the trailer', async () => {
    const empty: Dump = { ...d, localStorage: [], sessionStorage: [], indexedDB: [] };
    const built = await buildNdjsonBlob(empty, { compression: 'none' });
    expect((await bytesOf(built.entries)).toString()).toBe('{"end":true,"entries":0}\n');
    expect(built.sha256).toBe(sha(Buffer.from(toNdjson(empty))));
  });

  test('summarize() counts what serialize() counts, without keeping the lines', () => {
    expect(summarize(d)).toEqual(s.summary);
  });
});

describe('jsonPieces (large records written in pieces)', () => {
  const long = (unit: string, n: number) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
  const cases: Record<string, Json> = {
    plain: { a: 1, b: [true, false, null, 0.1, -2e-7, 1e21], c: { '': '', 'é"\\': 'x' } },
    numericKeysFirst: JSON.parse('{"b":1,"2":2,"a":3,"1":4}'),
    emptyContainers: { o: {}, a: [], nested: [[], [{}]] },
    proto: JSON.parse('{"__proto__":{"x":1},"y":2}'),
    longAscii: long('abc ', 100_000),
    longEscapes: long('q"\\\n\t\u0001\u007f\u2028', 70_000),
    // A pair straddling every possible cut; lone surrogates (escaped by JSON.stringify) near cuts too.
    longPairs: long('x😀', 50_001),
    longPairsShifted: long('😀x', 50_000),
    loneHigh: long('a', 16 * 1024 - 1) + '\ud800' + long('b', 20_000),
    loneLow: long('a', 16 * 1024) + '\udc00' + long('b', 20_000),
    loneAtEnd: long('é', 40_000) + '\ud83d',
    inObject: { body: long('Grüße ☕ ', 120_000), tags: [long('📋', 33_000)], n: 1, t: { $t: 'Date', v: '2025-08-12T07:00:34.567Z' } },
  };
  test.each(Object.keys(cases))('%s: the pieces join to JSON.stringify', (name) => {
    const v = cases[name];
    const parts = [...jsonPieces(v)];
    expect(parts.join('')).toBe(JSON.stringify(v));
    // Long strings that need escaping are escaped piece by piece (one escaped piece ≤ 6 × 16 Ki chars).
    if (name === 'longEscapes') expect(parts.length).toBeGreaterThan(4);
  });

  test('roughJsonChars is close to the JSON length and stops at its limit', () => {
    const v = cases.inObject;
    const n = roughJsonChars(v, Infinity);
    expect(n).toBeGreaterThan(JSON.stringify(v).length * 0.9);
    expect(n).toBeLessThan(JSON.stringify(v).length * 1.1);
    expect(roughJsonChars(v, 1000)).toBeLessThan(200_000);
  });
});
