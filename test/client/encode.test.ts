/**
 * The browser's §1c encoder (client/encode.ts) against format/ — the codec the server decodes with.
 * Every tag: the client's output decodes with format's decodeValue to the value put in, and is the same
 * JSON format's own encodeValue produces. (snapshot.test.ts repeats this for values made by Chromium.)
 */
import { decodeValue, encodeValue as referenceEncode, type DumpHeader, type IdbEntry, type IdbIndex, type KvEntry } from '../../format';
import { EncodeError, bytesToBase64, encodeValue } from '../../client/encode';
import { serialize, toNdjson, utf8Length } from '../../client/ndjson';
import type { DatabaseDump, Dump, IndexDump, KvItem } from '../../client/types';
import { Readable } from 'node:stream';
import { openDump } from '../../format';

// Compile-time: the client's dump types (which cannot import format/types.ts, it names Node types) stay
// assignable to format's. Root `tsc --noEmit` fails here if either side drifts.
const _kv: Omit<KvEntry, 'area'> = {} as KvItem;
const _ix: IdbIndex = {} as IndexDump;
const _header: DumpHeader = {} as Pick<Dump, 'format' | 'version' | 'source'>;
const _idb: Pick<IdbEntry, 'db' | 'dbVersion' | 'store' | 'keyPath' | 'autoIncrement' | 'indexes'> =
  {} as { db: DatabaseDump['name']; dbVersion: DatabaseDump['version'] } & Pick<DatabaseDump['stores'][number], 'keyPath' | 'autoIncrement' | 'indexes'> & { store: string };
void [_kv, _ix, _header, _idb];

const bytes = (...b: number[]) => Buffer.from(b);

async function roundTrip(value: unknown): Promise<unknown> {
  const encoded = await encodeValue(value);
  // Must survive the wire: JSON text, as the NDJSON line carries it.
  return decodeValue(JSON.parse(JSON.stringify(encoded)));
}

describe('client encodeValue ⇄ format decodeValue (§1c)', () => {
  test.each([
    ['Date', new Date('2025-08-12T07:00:34.567Z')],
    ['invalid Date', new Date(NaN)],
    ['undefined', undefined],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-0', -0],
    ['BigInt', 12345678901234567890n],
    ['negative BigInt', -42n],
    ['Map', new Map<unknown, unknown>([['a', 1], [2, new Date('2020-01-01T00:00:00.000Z')], [{ k: 1 }, [undefined]]])],
    ['Set', new Set([1, 'two', NaN, new Set([3])])],
    ['RegExp', /ab+c\/[x]/giu],
    ['object with $t', { $t: 'Date', v: 'not a tag', nested: { $t: 1 } }],
    ['__proto__ key', JSON.parse('{"__proto__":{"polluted":true},"ok":1}')],
    ['plain JSON', { a: [1, 'x', true, null, { b: 2.5 }], s: 'ünïcødé 📋' }],
    ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ])('%s round-trips and matches the reference encoder', async (_name, value) => {
    expect(await encodeValue(value)).toEqual(referenceEncode(value));
    const back = await roundTrip(value);
    if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) expect(Object.is(back, value)).toBe(true);
    else if (_name === 'invalid Date') expect(Number.isNaN((back as Date).getTime())).toBe(true);
    else expect(back).toEqual(_name === 'sparse array' ? [1, undefined, 3] : value);
  });

  test('nested tags at any depth', async () => {
    const value = { list: [new Map([['when', new Date('2025-01-01T00:00:00.000Z')]])], deep: { deeper: { n: -0, big: 7n, u: undefined } } };
    expect(await encodeValue(value)).toEqual(referenceEncode(value));
    const back = (await roundTrip(value)) as typeof value;
    expect(back.list[0].get('when')).toEqual(new Date('2025-01-01T00:00:00.000Z'));
    expect(Object.is(back.deep.deeper.n, -0)).toBe(true);
    expect(back.deep.deeper.big).toBe(7n);
    expect('u' in back.deep.deeper && back.deep.deeper.u === undefined).toBe(true);
  });

  test('ArrayBuffer, DataView and every typed array keep kind and bytes', async () => {
    const buf = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 250, 251, 252, 253, 254, 255, 128, 127]).buffer;
    const views: ArrayBufferView[] = [
      new DataView(buf, 2, 8), new Int8Array(buf), new Uint8Array(buf, 4, 4), new Uint8ClampedArray(buf), new Int16Array(buf),
      new Uint16Array(buf, 2, 3), new Int32Array(buf), new Uint32Array(buf), new Float32Array(buf), new Float64Array(buf),
      new BigInt64Array(buf), new BigUint64Array(buf),
    ];
    const F16 = (globalThis as { Float16Array?: new (b: ArrayBuffer) => ArrayBufferView }).Float16Array;
    if (F16) views.push(new F16(buf));
    expect(await encodeValue(buf)).toEqual(referenceEncode(buf));
    expect(await roundTrip(buf)).toEqual({ kind: 'ArrayBuffer', bytes: Buffer.from(buf) });
    for (const v of views) {
      const kind = Object.prototype.toString.call(v).slice(8, -1);
      expect(await encodeValue(v)).toEqual(referenceEncode(v));
      expect(await roundTrip(v)).toEqual({ kind, bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength) });
    }
  });

  test('Blob and File carry type, size, name, lastModified and the exact bytes', async () => {
    const data = new Uint8Array(70000).map((_, i) => (i * 31 + 7) % 256); // > one base64 chunk of 0x8000
    const blob = new Blob([data], { type: 'image/png' });
    const file = new File([data.subarray(0, 3)], 'logo.png', { type: 'image/png', lastModified: 1754981234567 });
    expect(await roundTrip(blob)).toEqual({ kind: 'Blob', type: 'image/png', size: 70000, bytes: Buffer.from(data) });
    expect(await roundTrip(file)).toEqual({ kind: 'File', type: 'image/png', size: 3, bytes: Buffer.from(data.subarray(0, 3)), name: 'logo.png', lastModified: 1754981234567 });
    expect(await encodeValue(blob)).toEqual(referenceEncode({ kind: 'Blob', type: 'image/png', size: 70000, bytes: Buffer.from(data) }));
    const emptyBlob = await roundTrip(new Blob([]));
    expect(emptyBlob).toEqual({ kind: 'Blob', type: '', size: 0, bytes: Buffer.alloc(0) });
  });

  test('Blobs nested inside Maps and arrays are all filled in', async () => {
    const v = new Map([['files', [new Blob(['a']), { inner: new Blob(['bc'], { type: 'text/plain' }) }]]]);
    const back = (await roundTrip(v)) as Map<string, [unknown, { inner: unknown }]>;
    expect(back.get('files')![0]).toMatchObject({ kind: 'Blob', bytes: bytes(0x61) });
    expect(back.get('files')![1].inner).toMatchObject({ kind: 'Blob', type: 'text/plain', bytes: Buffer.from('bc') });
  });

  test('wrapper objects become their primitive; cycles and functions are refused with a path', async () => {
    expect(await encodeValue([new Number(3), new String('s'), new Boolean(false)])).toEqual([3, 's', false]);
    const cyc: Record<string, unknown> = { a: { b: 1 } };
    (cyc.a as Record<string, unknown>).self = cyc;
    await expect(encodeValue(cyc)).rejects.toThrow(EncodeError);
    await expect(encodeValue(cyc)).rejects.toThrow(/a\.self/);
    await expect(encodeValue({ f: () => 1 })).rejects.toThrow(/function at f/);
    // A shared (non-cyclic) reference is fine: it is simply written twice.
    const shared = { x: 1 };
    expect(await encodeValue([shared, shared])).toEqual([{ x: 1 }, { x: 1 }]);
  });

  test('bytesToBase64 equals Buffer base64 for every length around the chunk size', () => {
    for (const n of [0, 1, 2, 3, 0x8000 - 1, 0x8000, 0x8000 + 1, 100003]) {
      const b = new Uint8Array(n).map((_, i) => (i * 7) % 256);
      expect(bytesToBase64(b)).toBe(Buffer.from(b).toString('base64'));
    }
  });
});

describe('client NDJSON (§1b) is what format/ reads', () => {
  const dump: Dump = {
    format: 'browser-storage-dump', version: 1,
    source: { app: 'catalyst-studio', origin: 'http://localhost', userAgent: 'jest', capturedAt: '2026-11-28T10:00:00.000Z' },
    localStorage: [{ key: 'contentTypes', value: '[]' }, { key: 'lone', value: 'x\ud800y' }],
    sessionStorage: [{ key: 'ai_prompt_w1', value: '{"original":"hi ☕"}' }],
    indexedDB: [{ name: 'db', version: 3, stores: [
      { name: 'empty', keyPath: 'id', autoIncrement: false, indexes: [], records: [] },
      { name: 'files', keyPath: null, autoIncrement: true, indexes: [{ name: 'byType', keyPath: ['type', 'name'], unique: false, multiEntry: false }],
        records: [{ key: 1, value: { $t: 'Blob', type: 'text/plain', size: 2, b64: 'aGk=' } }] },
    ] }],
  };

  test('header, entries with schema, trailer; format/ reads every entry back', async () => {
    const text = toNdjson(dump);
    const reader = await openDump(Readable.from([text]), 'ndjson');
    expect(reader.header).toEqual({ format: dump.format, version: 1, source: dump.source });
    const entries = [];
    for await (const e of reader.entries) entries.push(e);
    expect(entries).toHaveLength(4);
    expect(entries[1]).toEqual({ area: 'localStorage', key: 'lone', value: 'x\ud800y' });
    expect(entries[3]).toMatchObject({ area: 'indexedDB', db: 'db', dbVersion: 3, store: 'files', keyPath: null, autoIncrement: true, indexes: dump.indexedDB[0].stores[1].indexes, key: 1 });
    expect(decodeValue(entries[3].value)).toMatchObject({ kind: 'Blob', bytes: Buffer.from('hi') });
    expect(text.trimEnd().split('\n').pop()).toBe('{"end":true,"entries":4}');
  });

  test('the summary counts entries and UTF-8 bytes per area, database and store', () => {
    const s = serialize(dump);
    expect(s.summary.localStorage.entries).toBe(2);
    expect(s.summary.databases[0]).toMatchObject({ name: 'db', version: 3, entries: 1, stores: [{ name: 'empty', entries: 0 }, { name: 'files', entries: 1 }] });
    expect(s.summary.total.bytes).toBe(Buffer.byteLength(s.body.slice(0, -1).join(''), 'utf8'));
    expect(utf8Length('a☕📋é')).toBe(Buffer.byteLength('a☕📋é'));
  });
});
