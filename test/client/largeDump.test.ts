/**
 * A large dump through real Chromium: ~30 MB of IndexedDB records (text with multi-byte characters, Dates,
 * Blobs) beside the Catalyst shapes. snapshot() then upload(), the demo page's path, so the upload alone can
 * be measured: the batch must complete, the server must have accepted our sha256 (the batch exists and
 * records it), and that digest must equal Chromium's own crypto.subtle over the same NDJSON text.
 *
 * Memory is measured and printed, never asserted (GC timing makes any threshold flaky): the page's JS heap
 * (performance.memory, precise with --enable-precise-memory-info; gc() via --expose-gc) as its peak
 * while upload() runs and as what survives a full GC once the first chunk is on its way, plus the peak
 * resident memory of each Chromium process (VmHWM, reset through /proc/<pid>/clear_refs just before).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { Dump, MigrationProgress, MigrationResult } from '../../client/types';
import { WEBSITE_ID } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium, loadUploader, openUploaderPage } from './helpers/browser';
import { catalystSpec, fillStorage } from './helpers/pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const bsm: {
  snapshot(o?: unknown): Promise<Dump>;
  upload(d: Dump, o: unknown): Promise<MigrationResult>;
  summarize(d: Dump): { total: { entries: number; bytes: number } };
  toNdjson(d: Dump): string;
  sha256Hex(b: Blob): Promise<string>;
};
declare const indexedDB: any;
declare const performance: any;
declare const gc: () => void;

// Real Chromium, 30 MB through every phase, on a 2-core box beside other suites.
jest.setTimeout(240000);

const DOCS = 2500;
const DOC_CHARS = 10000;
const BLOBS = 16;
const BLOB_BYTES = 256 * 1024;

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchChromium(['--enable-precise-memory-info', '--js-flags=--expose-gc'])]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** Generated inside the page (a seeded PRNG), so 30 MB never crosses the DevTools protocol. */
async function fillBulk(page: Page): Promise<void> {
  await page.evaluate(async ({ docs, docChars, blobs, blobBytes }) => {
    let seed = 42;
    const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
    const words = ['content', 'Grüße', 'café', '☕', 'naïve', '📋', 'item', 'déjà', 'vu', 'straße', 'lorem', 'ipsum'];
    const text = (n: number) => { let s = ''; while (s.length < n) s += words[Math.floor(rand() * words.length)] + ' '; return s; };
    const conn: any = await new Promise((resolve, reject) => {
      const req = indexedDB.open('catalyst-bulk', 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('documents', { keyPath: 'id' }).createIndex('byTag', 'tags', { multiEntry: true });
        req.result.createObjectStore('attachments', { autoIncrement: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = conn.transaction(['documents', 'attachments'], 'readwrite');
      for (let i = 0; i < docs; i++) {
        const id = `doc-${String(i).padStart(5, '0')}`;
        tx.objectStore('documents').put({ id, title: text(60), body: text(docChars), tags: [words[i % 12], words[(i * 7) % 12]], updatedAt: new Date(1754981234567 + i * 1000) });
      }
      for (let i = 0; i < blobs; i++) {
        const bytes = new Uint8Array(blobBytes);
        for (let j = 0; j < bytes.length; j++) bytes[j] = (rand() * 256) | 0;
        tx.objectStore('attachments').put({ name: `file-${i}.bin`, blob: new Blob([bytes], { type: 'application/octet-stream' }) });
      }
      tx.oncomplete = () => { conn.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    });
  }, { docs: DOCS, docChars: DOC_CHARS, blobs: BLOBS, blobBytes: BLOB_BYTES });
}

/** Chromium's processes (pid, type), from the browser's own DevTools session. */
async function chromiumProcesses(): Promise<{ id: number; type: string }[]> {
  const cdp = await browser.newBrowserCDPSession();
  const info = (await cdp.send('SystemInfo.getProcessInfo' as any)) as { processInfo: { id: number; type: string }[] };
  await cdp.detach();
  return info.processInfo;
}

const kib = (pid: number, field: 'VmHWM' | 'VmRSS') => {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
  return m ? Number(m[1]) : NaN;
};
const MB = (bytes: number) => Math.round((bytes / 1e6) * 10) / 10;

test('~30 MB of IndexedDB: upload() completes, the server checked our sha256, memory is reported', async () => {
  const { page, errors } = await openUploaderPage(browser, stack.api.url);
  await fillStorage(page, catalystSpec());
  await fillBulk(page);
  await loadUploader(page);

  // The snapshot is snapshot()'s contract (it returns the dump), so it is taken and kept before measuring.
  const found = await page.evaluate(async () => {
    (globalThis as any).dump = await bsm.snapshot({ app: 'catalyst-studio' });
    const total = bsm.summarize((globalThis as any).dump).total;
    gc();
    return { total, heapWithDump: performance.memory.usedJSHeapSize };
  });
  expect(found.total.entries).toBeGreaterThan(DOCS + BLOBS);
  expect(found.total.bytes).toBeGreaterThan(30e6);

  // Peak resident memory from here on, per process: clear_refs "5" resets VmHWM to the current RSS.
  const procs = await chromiumProcesses();
  const rssBefore = new Map<number, number>();
  for (const p of procs) {
    try { writeFileSync(`/proc/${p.id}/clear_refs`, '5'); rssBefore.set(p.id, kib(p.id, 'VmRSS')); } catch { /* gone or not ours */ }
  }

  const token = await stack.mintToken('bulk-user');
  const { result, heap, sentAfterMs } = await page.evaluate(async (opts) => {
    const dump = (globalThis as any).dump as Dump;
    gc();
    const baseline = performance.memory.usedJSHeapSize;
    let peak = baseline;
    let sampling = true;
    const sample = () => { peak = Math.max(peak, performance.memory.usedJSHeapSize); };
    const timer = setInterval(sample, 2);
    let retained: number | null = null;
    const started = performance.now();
    let sentAfterMs = 0;
    const result = await bsm.upload(dump, {
      ...opts,
      compression: 'none', // the plain path: the server's digest is over these very bytes
      onProgress: (p: MigrationProgress) => {
        if (!sampling) return;
        sample();
        // Once the first chunk is on its way, everything upload() keeps is live: what survives a full GC.
        if (p.stage === 'upload' && retained === null) { gc(); retained = performance.memory.usedJSHeapSize - baseline; }
        if (p.stage === 'uploaded') { sampling = false; clearInterval(timer); sentAfterMs = performance.now() - started; }
      },
    });
    clearInterval(timer);
    return { result, heap: { baseline, peakAbove: peak - baseline, retainedAbove: retained }, sentAfterMs };
  }, { token, websiteId: WEBSITE_ID, pollIntervalMs: 200 });
  expect(errors).toEqual([]);

  const peakRss: Record<string, number> = {};
  for (const p of procs) {
    if (!rssBefore.has(p.id)) continue;
    const grew = (kib(p.id, 'VmHWM') - rssBefore.get(p.id)!) * 1024;
    peakRss[p.type] = Math.max(peakRss[p.type] ?? 0, MB(grew));
  }

  expect(result.status).toBe('completed');
  expect(result.report).toMatchObject({ balanced: true, totals: { entries: found.total.entries, pending: 0 } });

  // The server recomputed the digest of the bytes it received and created the batch only if it matched
  // the `sha256` metadata; it is the digest Chromium's own crypto.subtle gives for the same NDJSON text.
  const [batch] = await stack.api.deps.ds.query(`SELECT dump_sha256, dump_bytes, entry_count FROM migration_batches WHERE id = $1`, [result.batchId]);
  const digests = await page.evaluate(async () => {
    const text = bsm.toNdjson((globalThis as any).dump);
    const bytes = new TextEncoder().encode(text);
    const subtle = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return { subtle: Array.from(subtle, (b) => b.toString(16).padStart(2, '0')).join(''), ours: await bsm.sha256Hex(new Blob([bytes])), bytes: bytes.length };
  });
  expect(digests.ours).toBe(digests.subtle);
  expect(batch).toMatchObject({ dump_sha256: digests.subtle, dump_bytes: String(digests.bytes), entry_count: found.total.entries });
  const [kept] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM preserved_entries WHERE user_id = $1 AND db_name = 'catalyst-bulk'`, ['bulk-user']);
  expect(kept.n).toBe(DOCS + BLOBS);

  // Numbers for the record (client/README.md "Limits"); not asserted.
  console.log(JSON.stringify({
    dumpNdjsonMB: MB(digests.bytes),
    heapWithDumpMB: MB(found.heapWithDump),
    uploadHeapPeakAboveDumpMB: MB(heap.peakAbove),
    uploadHeapRetainedAboveDumpMB: heap.retainedAbove === null ? null : MB(heap.retainedAbove),
    peakRssGrowthMB: peakRss,
    builtAndSentSeconds: Math.round(sentAfterMs / 100) / 10,
  }));
});
