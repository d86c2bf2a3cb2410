/**
 * snapshot() in real Chromium, on a page the API serves (so the page's origin is the API's): every §1c tag
 * made by the browser itself decodes with format/; the origin's storage is identical afterwards; big
 * stores are read with cursors in batches; the demo page shows what was found. The bundle route is
 * checked here too. No upload endpoint is needed for any of this.
 */
import type { Browser } from 'playwright-core';
import { decodeValue } from '../../format';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium, loadUploader, openUploaderPage } from './helpers/browser';
import { catalystSpec, describeStorage, fillStorage, mediaDb } from './helpers/pageStorage';
import type { Dump } from '../../client/types';
import { catalystDump, entryCount } from '../fixtures/catalystDump';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const indexedDB: any;
declare const IDBObjectStore: any;
declare const document: any;
type Bsm = { snapshot(o?: unknown): Promise<Dump> };
declare const bsm: Bsm;

// Real Chromium beside other suites on a 2-core box: generous, though every wait is event-driven.
jest.setTimeout(60000);

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ workers: false }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function freshPage() {
  const { page, errors } = await openUploaderPage(browser, stack.api.url);
  await loadUploader(page);
  return { page, errors };
}

test('the API serves the bundle as an ES module (built once, revalidated by ETag) and the demo page', async () => {
  const js = await stack.http.get('/client/uploader.js');
  expect(js.status).toBe(200);
  expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
  expect(js.text).toMatch(/export\s*\{/);
  const again = await stack.http.get('/client/uploader.js').set('If-None-Match', js.headers.etag);
  expect(again.status).toBe(304);
  expect((await stack.http.get('/client/uploader.js.map')).status).toBe(200);
  expect((await stack.http.get('/client/nope.js')).body.error.code).toBe('not_found');
  expect((await stack.http.get('/client/uploader.html')).status).toBe(404);
  const html = await stack.http.get('/uploader');
  expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(html.headers['content-security-policy']).toContain("script-src 'self'");
  expect(html.text).toContain('<script type="module" src="/client/demo.js">');
});

test('every §1c tag made by Chromium decodes with format/ to the value the page stored', async () => {
  const { page, errors } = await freshPage();
  const dump = await page.evaluate(async () => {
    const buf = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 250, 251, 252, 253, 254, 255, 128, 127]).buffer;
    const value = {
      date: new Date('2025-08-12T07:00:34.567Z'), bad: new Date(NaN), undef: undefined, nan: NaN, inf: Infinity, ninf: -Infinity, nzero: -0,
      big: 2n ** 70n, re: /a+b\//gi, map: new Map<unknown, unknown>([['k', new Date(0)], [1, new Set([1])]]), set: new Set(['x', 2]),
      dollar: { $t: 'x', n: 1 }, blob: new Blob(['hé'], { type: 'text/plain' }),
      file: new File(['hi'], 'a.txt', { type: 'text/plain', lastModified: 1700000000000 }),
      ab: buf, dv: new DataView(buf, 2, 4), i8: new Int8Array(buf, 8, 4), u8c: new Uint8ClampedArray(buf), i16: new Int16Array(buf),
      u16: new Uint16Array(buf), i32: new Int32Array(buf), u32: new Uint32Array(buf), f32: new Float32Array(buf), f64: new Float64Array(buf),
      bi64: new BigInt64Array(buf), bu64: new BigUint64Array(buf), sparse: [1, , 3], // eslint-disable-line no-sparse-arrays
      nested: [{ deep: { when: new Date('2024-02-29T12:00:00.000Z'), bytes: new Uint8Array([9]) } }],
    };
    const keys = [7, 'str', new Date('2020-01-01T00:00:00.000Z'), [1, 'a', [2]], new Uint8Array([1, 2, 255]).buffer];
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open('tags', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('values');
      req.onsuccess = () => {
        const tx = req.result.transaction('values', 'readwrite');
        keys.forEach((k, i) => tx.objectStore('values').put(i === 0 ? value : { i }, k));
        tx.oncomplete = () => { req.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
    });
    return bsm.snapshot();
  });
  expect(errors).toEqual([]);
  const store = dump.indexedDB.find((d) => d.name === 'tags')!.stores[0];
  expect(store).toMatchObject({ name: 'values', keyPath: null, autoIncrement: false, indexes: [] });
  // IndexedDB key order: numbers < dates < strings < binary < arrays.
  const keys = store.records.map((r) => decodeValue(r.key));
  expect(keys).toEqual([7, new Date('2020-01-01T00:00:00.000Z'), 'str', { kind: 'ArrayBuffer', bytes: Buffer.from([1, 2, 255]) }, [1, 'a', [2]]]);
  const v = decodeValue(store.records[0].value) as Record<string, any>;
  const buf = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 250, 251, 252, 253, 254, 255, 128, 127]);
  expect(v.date).toEqual(new Date('2025-08-12T07:00:34.567Z'));
  expect(Number.isNaN(v.bad.getTime())).toBe(true);
  expect('undef' in v && v.undef === undefined).toBe(true);
  expect([Number.isNaN(v.nan), v.inf, v.ninf, Object.is(v.nzero, -0)]).toEqual([true, Infinity, -Infinity, true]);
  expect(v.big).toBe(2n ** 70n);
  expect(v.re).toEqual(/a+b\//gi);
  expect(v.map).toEqual(new Map<unknown, unknown>([['k', new Date(0)], [1, new Set([1])]]));
  expect(v.set).toEqual(new Set(['x', 2]));
  expect(v.dollar).toEqual({ $t: 'x', n: 1 });
  expect(v.blob).toEqual({ kind: 'Blob', type: 'text/plain', size: 3, bytes: Buffer.from('hé') });
  expect(v.file).toEqual({ kind: 'File', type: 'text/plain', size: 2, name: 'a.txt', lastModified: 1700000000000, bytes: Buffer.from('hi') });
  expect(v.ab).toEqual({ kind: 'ArrayBuffer', bytes: buf });
  expect(v.dv).toEqual({ kind: 'DataView', bytes: buf.subarray(2, 6) });
  expect(v.i8).toEqual({ kind: 'Int8Array', bytes: buf.subarray(8, 12) });
  for (const [k, kind] of [['u8c', 'Uint8ClampedArray'], ['i16', 'Int16Array'], ['u16', 'Uint16Array'], ['i32', 'Int32Array'], ['u32', 'Uint32Array'],
    ['f32', 'Float32Array'], ['f64', 'Float64Array'], ['bi64', 'BigInt64Array'], ['bu64', 'BigUint64Array']]) {
    expect(v[k]).toEqual({ kind, bytes: buf });
  }
  expect(v.sparse).toEqual([1, undefined, 3]);
  expect(v.nested).toEqual([{ deep: { when: new Date('2024-02-29T12:00:00.000Z'), bytes: { kind: 'Uint8Array', bytes: Buffer.from([9]) } } }]);
  expect(decodeValue(store.records[4].value)).toEqual({ i: 3 }); // the array key, put fourth
});

test('a snapshot of the Catalyst shapes changes nothing in the browser and leaves out the resume keys', async () => {
  const { page, errors } = await freshPage();
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(Buffer.from('png-bytes'), Buffer.from('%PDF')));
  spec.localStorage.push({ key: 'bsm-uploader::abc::1', value: '{"uploadUrl":"x"}' });
  await fillStorage(page, spec);
  const before = await describeStorage(page);
  const dump = await page.evaluate(() => bsm.snapshot({ app: 'catalyst-studio' }));
  expect(await describeStorage(page)).toEqual(before);
  expect(errors).toEqual([]);

  expect(dump.source).toMatchObject({ app: 'catalyst-studio', origin: new URL(stack.api.url).origin });
  expect(new Date(dump.source.capturedAt).toISOString()).toBe(dump.source.capturedAt);
  const doc = catalystDump();
  expect(dump.localStorage.map((e) => e.key)).toEqual(doc.localStorage.map((e) => e.key).sort());
  expect(dump.localStorage.find((e) => e.key === 'project-context')!.value).toBe(doc.localStorage.find((e) => e.key === 'project-context')!.value);
  expect(dump.sessionStorage).toEqual(doc.sessionStorage);
  expect(dump.indexedDB.map((d) => d.name)).toEqual([...doc.indexedDB.map((d) => d.name), 'catalyst-media'].sort());
  const records = dump.indexedDB.reduce((n, d) => n + d.stores.reduce((m, s) => m + s.records.length, 0), 0);
  expect(records + dump.localStorage.length + dump.sessionStorage.length).toBe(entryCount(doc) + 1);
  // Catalyst's Date objects in catalyst_global/websites arrive tagged; chat values stay JSON strings.
  const site = dump.indexedDB.find((d) => d.name === 'catalyst_global')!.stores.find((s) => s.name === 'websites')!;
  expect(site).toMatchObject({ keyPath: 'id', autoIncrement: false, indexes: [] });
  expect(site.records[0].value).toMatchObject({ createdAt: { $t: 'Date', v: '2025-08-12T07:00:34.567Z' } });
  const chat = dump.indexedDB.find((d) => d.name === 'catalyst-studio')!.stores[0];
  expect(chat.records.map((r) => r.key)).toEqual(['catalyst:chat:default', 'catalyst:metadata:default']);
  expect(typeof chat.records[0].value).toBe('string');
  const media = dump.indexedDB.find((d) => d.name === 'catalyst-media')!;
  expect(media).toMatchObject({ version: 2, stores: [{ name: 'files', keyPath: 'id', autoIncrement: true, indexes: [{ name: 'byType', keyPath: 'type', unique: false, multiEntry: false }] }] });
  expect(decodeValue(media.stores[0].records[0].value)).toMatchObject({ id: 1, blob: { kind: 'Blob', bytes: Buffer.from('png-bytes') }, file: { kind: 'File', name: 'brief.pdf' } });
});

test('a database listed but gone by the time it is opened is skipped, not created', async () => {
  const { page } = await freshPage();
  const result = await page.evaluate(async () => {
    const real = indexedDB.databases.bind(indexedDB);
    indexedDB.databases = async () => [...(await real()), { name: 'ghost', version: 3 }];
    const dump = await bsm.snapshot();
    indexedDB.databases = real;
    return { dumped: dump.indexedDB.map((d: any) => d.name), after: (await real()).map((d: any) => d.name) };
  });
  expect(result).toEqual({ dumped: [], after: [] });
});

test('large stores are read with cursors in batches (never getAll), in key order, each transaction short', async () => {
  const { page } = await freshPage();
  const result = await page.evaluate(async () => {
    await new Promise<void>((resolve) => {
      const req = indexedDB.open('big', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('rows', { autoIncrement: true });
      req.onsuccess = () => {
        const tx = req.result.transaction('rows', 'readwrite');
        for (let i = 0; i < 2345; i++) tx.objectStore('rows').add({ i, pad: 'x'.repeat(i % 50) });
        tx.oncomplete = () => { req.result.close(); resolve(); };
      };
    });
    const proto = IDBObjectStore.prototype;
    let cursors = 0;
    const openCursor = proto.openCursor;
    proto.openCursor = function (...args: unknown[]) { cursors++; return openCursor.apply(this, args); };
    proto.getAll = proto.getAllKeys = () => { throw new Error('getAll must not be used'); };
    const dump = await bsm.snapshot({ batchSize: 200 });
    const rows = dump.indexedDB[0].stores[0].records;
    return { cursors, count: rows.length, ordered: rows.every((r: any, i: number) => r.key === i + 1 && r.value.i === i) };
  });
  expect(result).toEqual({ cursors: Math.ceil(2345 / 200), count: 2345, ordered: true });
});

test('the app can upgrade a database while it is being read: never blocked, the snapshot says to retry', async () => {
  const { page } = await freshPage();
  const result = await page.evaluate(async () => {
    const open = (version: number, upgrade?: (db: any) => void) => new Promise<{ db: any; blocked: boolean }>((resolve, reject) => {
      let blocked = false;
      const req = indexedDB.open('app', version);
      req.onupgradeneeded = () => upgrade?.(req.result);
      req.onblocked = () => { blocked = true; };
      req.onsuccess = () => resolve({ db: req.result, blocked });
      req.onerror = () => reject(req.error);
    });
    const v1 = await open(1, (db) => db.createObjectStore('rows', { autoIncrement: true }));
    const tx = v1.db.transaction('rows', 'readwrite');
    for (let i = 0; i < 500; i++) tx.objectStore('rows').add({ i });
    await new Promise((r) => { tx.oncomplete = r; });
    v1.db.close();
    let upgrade: Promise<{ db: any; blocked: boolean }> | undefined;
    const outcome = await bsm.snapshot({
      batchSize: 50,
      // After the first batch the app upgrades (as a newly deployed version would on load).
      onRecords: () => { upgrade ??= open(2, (db) => db.createObjectStore('more')); },
    }).then(() => 'completed', (err: Error) => err.message);
    const v2 = await upgrade!;
    v2.db.close();
    return { outcome, blocked: v2.blocked, version: v2.db.version };
  });
  expect(result).toEqual({ outcome: expect.stringMatching(/upgraded or deleted IndexedDB database "app" while it was being read; take the snapshot again/), blocked: false, version: 2 });
});

test('the demo page shows what was found per area and per database', async () => {
  const { page, errors } = await openUploaderPage(browser, stack.api.url);
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(Buffer.alloc(1000, 7), Buffer.from('%PDF')));
  await fillStorage(page, spec);
  await page.click('#scan');
  await page.waitForSelector('#found:not([hidden])');
  const rows = await page.$$eval('#found-rows tr', (trs: any[]) => trs.map((tr) => [...tr.children].map((td: any) => td.textContent)));
  const byLabel = Object.fromEntries(rows.map(([label, entries, bytes]: string[]) => [label, { entries: Number(entries), bytes }]));
  const doc = catalystDump();
  expect(byLabel.localStorage.entries).toBe(doc.localStorage.length);
  expect(byLabel.sessionStorage.entries).toBe(1);
  expect(byLabel.IndexedDB.entries).toBe(entryCount(doc) - doc.localStorage.length - 1 + 1);
  expect(byLabel['catalyst-media (v2, 1 stores)']).toMatchObject({ entries: 1, bytes: expect.stringMatching(/KiB$/) });
  expect(byLabel.Total.entries).toBe(entryCount(doc) + 1);
  expect(await page.evaluate(() => document.querySelector('#error').hidden)).toBe(true);
  expect(errors).toEqual([]);
});
