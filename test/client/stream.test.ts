/**
 * streamNdjsonBlob() in real Chromium: what migrate() uploads, streamed from the storage cursors, is byte
 * for byte what buildNdjsonBlob(await snapshot()) makes from the same storage (so both paths, and a re-run,
 * give the same resume fingerprint); batches are bounded by characters as well as records; with gzip the
 * file (two gzip members: header, then the rest) inflates with Node's zlib to the same NDJSON, each member
 * with Chromium's own DecompressionStream, both digests cover the compressed bytes, and the upload says
 * `contentEncoding: gzip` in its tus metadata.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium, loadUploader, openUploaderPage } from './helpers/browser';
import { catalystSpec, describeStorage, fillStorage, mediaDb } from './helpers/pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const bsm: any;
declare const indexedDB: any;
declare const IDBObjectStore: any;

// Real Chromium beside other suites on a 2-core box: generous, though every wait is event-driven.
jest.setTimeout(90000);

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ workers: false }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const blobBytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 131) % 256));

/** The Catalyst shapes, a Blob/File record, and a store of records big enough to need several batches. */
async function storagePage(): Promise<{ page: Page; errors: Error[] }> {
  const opened = await openUploaderPage(browser, stack.api.url);
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(blobBytes, Buffer.from('%PDF-1.7 ☕')));
  await fillStorage(opened.page, spec);
  await opened.page.evaluate(async () => {
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open('notes', 4);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('pages', { keyPath: ['site', 'slug'] }).createIndex('bySite', 'site');
        req.result.createObjectStore('empty');
      };
      req.onsuccess = () => {
        const tx = req.result.transaction('pages', 'readwrite');
        for (let i = 0; i < 300; i++) {
          tx.objectStore('pages').put({ site: `s${i % 3}`, slug: `p-${i}`, body: `Grüße ☕ 📋 ${i} `.repeat(200 + (i % 7) * 50), at: new Date(1754981234567 + i) });
        }
        tx.oncomplete = () => { req.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
    });
  });
  await loadUploader(opened.page);
  return opened;
}

/** A Blob's bytes from the page (base64 across the protocol: test-sized data only). */
const pageBytes = async (page: Page, expr: string): Promise<Buffer> =>
  Buffer.from(await page.evaluate(`(async () => { const b = new Uint8Array(await (${expr}).arrayBuffer()); let s = ''; for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000)); return btoa(s); })()`) as string, 'base64');

test('the streamed file is the snapshot path\'s file, byte for byte, whatever the batch bounds; a re-run gives the same fingerprint', async () => {
  const { page, errors } = await storagePage();
  const before = await describeStorage(page);
  const out = await page.evaluate(async () => {
    const g = globalThis as any;
    const proto = IDBObjectStore.prototype;
    const saved = { openCursor: proto.openCursor, getAll: proto.getAll, getAllKeys: proto.getAllKeys };
    let cursors = 0;
    proto.openCursor = function (...args: unknown[]) { cursors++; return saved.openCursor.apply(this, args); };
    proto.getAll = proto.getAllKeys = () => { throw new Error('getAll must not be used'); };
    const partial: number[] = [];
    // ~64 KiB of lines per batch: the 300 pages (~2.5–4.5 KiB each, ~1 MiB in all) need well over 10 batches.
    g.small = await bsm.streamNdjsonBlob({ app: 'catalyst-studio', compression: 'none', batchChars: 64 * 1024, pieceSize: 4096, onSummary: (s: any) => partial.push(s.total.entries) });
    const smallCursors = cursors;
    cursors = 0;
    g.plain = await bsm.streamNdjsonBlob({ app: 'catalyst-studio', compression: 'none' });
    const defaultCursors = cursors;
    g.fromDump = await bsm.buildNdjsonBlob(await bsm.snapshot({ app: 'catalyst-studio' }), { compression: 'none' });
    Object.assign(proto, saved);
    const pick = (b: any) => ({ entriesSha256: b.entriesSha256, entryCount: b.entryCount, summary: b.summary, encoding: b.contentEncoding ?? null });
    return { small: pick(g.small), plain: pick(g.plain), fromDump: pick(g.fromDump), smallCursors, defaultCursors, partial, headers: [g.small.header, g.fromDump.header] };
  });
  expect(errors).toEqual([]);

  // Same entries, same digests (the resume fingerprint), same summary, in every way of reading.
  expect(out.small).toEqual(out.fromDump);
  expect(out.plain).toEqual(out.fromDump);
  expect(out.fromDump.encoding).toBeNull();
  for (const name of ['small', 'plain', 'fromDump']) {
    expect((await pageBytes(page, `globalThis.${name}.entries`)).equals(await pageBytes(page, 'globalThis.fromDump.entries'))).toBe(true);
  }
  const file = await pageBytes(page, '(await bsm.ndjsonFile(globalThis.small, globalThis.small.header))');
  expect(sha(file)).toBe(await page.evaluate(() => (globalThis as any).small.sha256));
  const text = file.toString('utf8');
  expect(text.split('\n')[0]).toBe(out.headers[0].trimEnd());
  expect(JSON.parse(out.headers[0])).toMatchObject({ format: 'browser-storage-dump', version: 1, source: { app: 'catalyst-studio', capturedAt: expect.any(String) } });
  expect(text.endsWith(`{"end":true,"entries":${out.fromDump.entryCount}}\n`)).toBe(true);
  const notes = out.fromDump.summary.databases.find((d: any) => d.name === 'notes');
  expect(notes).toMatchObject({ version: 4, entries: 300, stores: [{ name: 'empty', entries: 0 }, { name: 'pages', entries: 300 }] });

  // Bounded batches: the small character bound took many short cursors where the default took one per store.
  expect(out.smallCursors).toBeGreaterThan(out.defaultCursors + 10);
  expect(out.partial.length).toBeGreaterThan(10);
  expect(out.partial.every((n: number, i: number) => i === 0 || n >= out.partial[i - 1])).toBe(true);
  // Reading changed nothing.
  expect(await describeStorage(page)).toEqual(before);
});

test('gzip: the file inflates to the same NDJSON (Node; each member in Chromium), both digests cover the compressed bytes, a re-run is identical', async () => {
  const { page, errors } = await storagePage();
  const out = await page.evaluate(async () => {
    const g = globalThis as any;
    g.gz = await bsm.streamNdjsonBlob({ compression: 'gzip', pieceSize: 8192 });
    g.gz2 = await bsm.streamNdjsonBlob({ compression: 'gzip', pieceSize: 8192 });
    g.plain = await bsm.streamNdjsonBlob({ compression: 'none' });
    g.gzFile = await bsm.ndjsonFile(g.gz, g.gz.header);
    // Chromium's own DecompressionStream reads one member (it stops with an error at a second one).
    const inflate = (b: Blob) => new Response(b.stream().pipeThrough(new DecompressionStream('gzip'))).text();
    const inflated = await inflate(g.gz.headerPart) + await inflate(g.gz.entries);
    return {
      gz: { entriesSha256: g.gz.entriesSha256, sha256: g.gz.sha256, encoding: g.gz.contentEncoding, summary: g.gz.summary, header: g.gz.header },
      gz2: { entriesSha256: g.gz2.entriesSha256, encoding: g.gz2.contentEncoding },
      plainEntriesSha256: g.plain.entriesSha256, plainSummary: g.plain.summary,
      inflatedMatches: inflated === g.gz.header + await g.plain.entries.text(),
      sizes: [g.gzFile.size, g.plain.entries.size],
    };
  });
  expect(errors).toEqual([]);
  expect(out.gz.encoding).toBe('gzip');
  expect(out.inflatedMatches).toBe(true);
  expect(out.sizes[0]).toBeLessThan(out.sizes[1] / 3);
  const file = await pageBytes(page, 'globalThis.gzFile');
  const entries = await pageBytes(page, 'globalThis.gz.entries');
  const plain = await pageBytes(page, 'globalThis.plain.entries');
  expect(gunzipSync(file).equals(Buffer.concat([Buffer.from(out.gz.header), plain]))).toBe(true);
  expect(gunzipSync(entries).equals(plain)).toBe(true);
  expect(file.subarray(file.length - entries.length).equals(entries)).toBe(true);
  expect(out.gz.sha256).toBe(sha(file));
  expect(out.gz.entriesSha256).toBe(sha(entries));
  expect(out.gz.entriesSha256).not.toBe(out.plainEntriesSha256); // a plain upload is never resumed as a gzip one
  expect(out.gz2).toEqual({ entriesSha256: out.gz.entriesSha256, encoding: 'gzip' }); // same storage, same fingerprint
  expect(out.gz.summary).toEqual(out.plainSummary); // counted in NDJSON bytes
});

test('an upload with gzip says contentEncoding: gzip in its tus metadata and sends the compressed bytes its sha256 names', async () => {
  const { page, errors } = await storagePage();
  const posts: Record<string, string>[] = [];
  page.on('request', (r) => {
    if (!r.url().includes('/v1/uploads') || r.method() !== 'POST') return;
    const meta = r.headers()['upload-metadata'] ?? '';
    posts.push(Object.fromEntries(meta.split(',').map((kv) => kv.trim().split(' ')).map(([k, v]) => [k, Buffer.from(v ?? '', 'base64').toString('utf8')])));
  });
  // The PATCH bodies are Blob slices, which the DevTools protocol does not carry: the page keeps what
  // XMLHttpRequest.send() was given (tus-js-client sends with XHR) and the test reads it afterwards.
  await page.evaluate(() => {
    const sent: Blob[] = [];
    (globalThis as any).sentBodies = sent;
    const XHR = (globalThis as any).XMLHttpRequest.prototype;
    const send = XHR.send;
    XHR.send = function (body: unknown) { if (body instanceof Blob) sent.push(body); return send.call(this, body); };
  });
  const token = await stack.mintToken('gzip-user');
  const outcome = await page.evaluate(async (o) => {
    const plain = await bsm.streamNdjsonBlob({ compression: 'none' });
    // No workers in this stack: whatever the server makes of it, the bytes are what this test reads.
    const ctl = new AbortController();
    const run = bsm.migrate({ ...o, compression: 'gzip', signal: ctl.signal, onProgress: (p: any) => { if (p.stage === 'uploaded' || p.stage === 'processing') ctl.abort(); } })
      .then((r: any) => r.status, (e: any) => `${e.name}: ${e.message}`);
    return { outcome: await run, plainText: await plain.entries.text() };
  }, { token, chunkSize: 2048, pollIntervalMs: 50 });
  expect(errors).toEqual([]);
  expect(posts).toHaveLength(1);
  expect(posts[0]).toMatchObject({ contentType: 'application/x-ndjson', contentEncoding: 'gzip', filename: expect.stringMatching(/\.ndjson\.gz$/) });
  expect(await page.evaluate(() => (globalThis as any).sentBodies.length)).toBeGreaterThan(1);
  const sent = await pageBytes(page, 'new Blob(globalThis.sentBodies)');
  expect(posts[0].sha256).toBe(sha(sent)); // the digest covers the bytes as uploaded
  const inflated = gunzipSync(sent).toString('utf8');
  expect(inflated.slice(inflated.indexOf('\n') + 1)).toBe(outcome.plainText);
  console.log(JSON.stringify({ gzipUploadOutcome: outcome.outcome, sentBytes: sent.length, ndjsonBytes: Buffer.byteLength(inflated) }));
});

test('the app can upgrade a database while it is being streamed: never blocked, the build says to retry', async () => {
  const { page } = await openUploaderPage(browser, stack.api.url);
  await loadUploader(page);
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
    const outcome = await bsm.streamNdjsonBlob({
      batchSize: 50,
      compression: 'gzip',
      onRecords: () => { upgrade ??= open(2, (db) => db.createObjectStore('more')); },
    }).then(() => 'completed', (err: Error) => err.message);
    const v2 = await upgrade!;
    v2.db.close();
    return { outcome, blocked: v2.blocked, version: v2.db.version };
  });
  expect(result).toEqual({ outcome: expect.stringMatching(/upgraded or deleted IndexedDB database "app" while it was being read; take the snapshot again/), blocked: false, version: 2 });
});
