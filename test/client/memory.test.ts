/**
 * Bounded browser memory (issue 13): on a 300 MB IndexedDB (3,000 records of ~100 KB: strings with
 * multi-byte characters, nested objects, Dates), migrate() streams storage from cursors into the upload and
 * the page's JS heap grows by less than 64 MB, while the batch migrates every record. The heap is read from
 * Node through the DevTools protocol (Runtime.getHeapUsage, every ~100 ms, after a full
 * HeapProfiler.collectGarbage for the baseline and at the end), so the page runs no measuring code of its own.
 *
 * The same measurement is shown to be sensitive: the whole-dump path (snapshot() + buildNdjsonBlob(), what
 * migrate() did before) is measured on the same storage and must exceed the bound.
 *
 * SLOW BY DESIGN (~5 minutes alone, ~10 beside other suites): 300 MB is the size the issue states, and it
 * is not shrunk. On a 2-core machine shared with other work, filling takes ~10 s, migrate() ~2.5 min
 * (streaming ~45 s, upload ~25 s, the server's pipeline ~90 s), the gzip and whole-dump measurements
 * ~1 min each. Numbers from a run are in client/README.md ("Limits").
 */
import type { Browser, CDPSession, Page } from 'playwright-core';
import type { MigrationResult } from '../../client/types';
import { exclusive } from '../helpers/exclusive';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium, loadUploader, openUploaderPage } from './helpers/browser';
import { catalystSpec, fillStorage } from './helpers/pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const bsm: any;
declare const indexedDB: any;
declare const performance: any;

// Generous: beside other suites on a loaded 2-core machine migrate() alone took ~7 min once (~2.5 min alone).
jest.setTimeout(900_000);

const RECORDS = 3000;
const RECORD_CHARS = 100_000;
const BOUND = 64 * 1024 * 1024;
const DB = 'bulk-300mb';

let stack: Stack;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
let errors: Error[];
let release: (() => void) | undefined;

beforeAll(async () => {
  // Never beside test/responsiveness.test.ts, whose 1 s bound this test's load would break (exclusive.ts).
  release = await exclusive('heavy-cpu');
  [stack, browser] = await Promise.all([startStack(), launchChromium()]);
  ({ page, errors } = await openUploaderPage(browser, stack.api.url));
  cdp = await page.context().newCDPSession(page);
  // The Catalyst shapes too: a batch that migrates nothing is never `completed` (verify).
  await fillStorage(page, catalystSpec());
  const t0 = Date.now();
  await fillBulk(page);
  console.log(JSON.stringify({ filledSeconds: (Date.now() - t0) / 1000 }));
  await loadUploader(page);
});
afterAll(async () => {
  try {
    await browser?.close();
    await stack?.close();
  } finally {
    release?.();
  }
});

/**
 * 300 MB generated inside the page with a seeded PRNG, 100 records per transaction, so neither the test
 * process nor the page ever holds more than one transaction's worth of it.
 */
async function fillBulk(p: Page): Promise<void> {
  await p.evaluate(async ({ records, recordChars, name }) => {
    let seed = 7;
    const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
    const words = ['content', 'Grüße', 'café', '☕', 'naïve', 'item', 'déjà', 'vu', 'straße', 'lorem', 'ipsum', 'dolor', 'sit', 'amet', 'page', 'block', 'hero', 'title'];
    const text = (n: number) => { const parts: string[] = []; let len = 0; while (len < n) { const w = words[Math.floor(rand() * words.length)]; parts.push(w); len += w.length + 1; } return parts.join(' '); };
    const db: any = await new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('documents', { keyPath: 'id' }).createIndex('byKind', 'kind');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const PER_TX = 100;
    for (let start = 0; start < records; start += PER_TX) {
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction('documents', 'readwrite');
        for (let i = start; i < Math.min(records, start + PER_TX); i++) {
          const sections = Array.from({ length: 20 }, (_, j) => ({ heading: text(40), body: text(recordChars / 40), order: j, at: new Date(1754981234567 + i * 60000 + j) }));
          tx.objectStore('documents').put({ id: `doc-${String(i).padStart(5, '0')}`, kind: ['page', 'post', 'asset'][i % 3], title: text(80), body: text(recordChars / 2), sections, n: i });
        }
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
    }
    db.close();
  }, { records: RECORDS, recordChars: RECORD_CHARS, name: DB });
}

interface HeapRun<T> { result: T; baseline: number; peak: number; final: number; samples: number }

/**
 * Runs `work` in the page while Node samples the page's JS heap every ~100 ms. The baseline is taken after
 * a full GC; `final` after another one once the work is done.
 */
async function measureHeap<T>(work: () => Promise<T>): Promise<HeapRun<T>> {
  const used = async () => ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
  await cdp.send('HeapProfiler.collectGarbage');
  const baseline = await used();
  let peak = baseline;
  let samples = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await used());
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let result: T;
  try {
    result = await work();
  } finally {
    running = false;
    await sampler;
  }
  peak = Math.max(peak, await used());
  await cdp.send('HeapProfiler.collectGarbage');
  const final = await used();
  return { result, baseline, peak, final, samples };
}

const MB = (bytes: number) => Math.round(bytes / 1e5) / 10;

test('migrate() on a 300 MB IndexedDB: the page heap grows < 64 MB and all 3,000 records migrate (SLOW: ~2.5 min)', async () => {
  const token = await stack.mintToken('memory-user');
  const started = Date.now();
  const run = await measureHeap(() => page.evaluate(async (o) => {
    let partials = 0;
    const t0 = performance.now();
    const at: Record<string, number> = {};
    const result: MigrationResult = await bsm.migrate({ ...o, onProgress: (p: any) => {
      if (p.stage === 'snapshot' && p.partial) partials++;
      at[p.stage] ??= Math.round(performance.now() - t0);
    } });
    return { result, partials, at };
  }, { token, pollIntervalMs: 500 }));
  const { result } = run.result;
  const [batch] = await stack.api.deps.ds.query(`SELECT entry_count, dump_bytes FROM migration_batches WHERE id = $1`, [result.batchId]);
  console.log(JSON.stringify({ path: 'migrate() streaming', dumpMB: MB(Number(batch.dump_bytes)), baselineMB: MB(run.baseline), peakGrowthMB: MB(run.peak - run.baseline), finalGrowthMB: MB(run.final - run.baseline), samples: run.samples, seconds: (Date.now() - started) / 1000, stageStartMs: run.result.at }));
  expect(errors).toEqual([]);
  expect(result.status).toBe('completed');
  expect(run.result.partials).toBeGreaterThan(10); // progress while streaming
  expect(run.samples).toBeGreaterThan(20); // the sampler really ran during the migration

  // Every record made it: 3,000 entries staged, each one preserved (this database is not Catalyst's).
  const catalyst = result.report!.totals.entries - RECORDS;
  expect(catalyst).toBeGreaterThan(5);
  expect(batch.entry_count).toBe(RECORDS + catalyst);
  // Sent gzip (Chromium has CompressionStream: the default), so the stored dump is far smaller than the data;
  // what was migrated is the whole 300 MB: the preserved values add up to it.
  const [{ dump_key: key }] = await stack.api.deps.ds.query(`SELECT dump_key FROM migration_batches WHERE id = $1`, [result.batchId]);
  expect(key).toMatch(/\.ndjson\.gz\.sealed$/);
  const [{ bytes }] = await stack.api.deps.ds.query(`SELECT sum(octet_length(value::text))::bigint AS bytes FROM preserved_entries WHERE user_id = $1 AND db_name = $2`, ['memory-user', DB]);
  expect(Number(bytes)).toBeGreaterThan(300e6);
  const [kept] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM preserved_entries WHERE user_id = $1 AND db_name = $2`, ['memory-user', DB]);
  expect(kept.n).toBe(RECORDS);
  expect(result.report).toMatchObject({ balanced: true, totals: { pending: 0 } });
  expect(run.peak - run.baseline).toBeLessThan(BOUND);
});

test('the gzip pipeline on the same storage (streamNdjsonBlob, compression: gzip) stays under the bound too', async () => {
  const run = await measureHeap(() => page.evaluate(async () => {
    const built = await bsm.streamNdjsonBlob({ compression: 'gzip' });
    return { entries: built.entryCount as number, gz: built.entries.size as number, ndjson: built.summary.total.bytes as number, encoding: built.contentEncoding };
  }));
  console.log(JSON.stringify({ path: 'streamNdjsonBlob gzip', ndjsonMB: MB(run.result.ndjson), gzipMB: MB(run.result.gz), peakGrowthMB: MB(run.peak - run.baseline), finalGrowthMB: MB(run.final - run.baseline), samples: run.samples }));
  expect(run.result).toMatchObject({ encoding: 'gzip', entries: expect.any(Number) });
  expect(run.result.entries).toBeGreaterThan(RECORDS);
  expect(run.result.gz).toBeLessThan(run.result.ndjson / 2);
  expect(run.peak - run.baseline).toBeLessThan(BOUND);
});

test('the measurement is sensitive: the whole-dump path (snapshot() + buildNdjsonBlob()) on the same storage exceeds 64 MB', async () => {
  const run = await measureHeap(() => page.evaluate(async () => {
    const dump = await bsm.snapshot();
    const built = await bsm.buildNdjsonBlob(dump);
    return { entries: built.entryCount as number, bytes: built.entries.size as number };
  }));
  expect(run.result.entries).toBeGreaterThan(RECORDS);
  console.log(JSON.stringify({ path: 'snapshot() + buildNdjsonBlob()', ndjsonMB: MB(run.result.bytes), peakGrowthMB: MB(run.peak - run.baseline), samples: run.samples }));
  expect(run.peak - run.baseline).toBeGreaterThan(BOUND);
});
