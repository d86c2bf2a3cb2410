/**
 * Direct-to-S3 from real Chromium: the app's page (its own origin, under a CSP that allows only the API and
 * the bucket) runs migrate() on ~14 MB of IndexedDB beside the Catalyst shapes. The server stores dumps in
 * S3 (s3rver, CORS as docs/operations.md asks), so the uploader sends the dump in 5 MiB parts through
 * presigned URLs. The first attempt's PUT of part 2 has its connection reset and no retries are allowed:
 * migrate() fails, the upload stays remembered. The second migrate() asks the server which parts it holds,
 * sends only the others (no new upload started; its first PUT is reset too and that part retried within
 * the call), completes, and the batch migrates every row.
 */
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import type { MigrationProgress, MigrationResult } from '../../client/types';
import { WEBSITE_ID } from '../fixtures/catalystDump';
import { startUploadStack, type UploadStack } from '../uploads/harness';
import { launchChromium } from './helpers/browser';
import { catalystSpec, fillStorage } from './helpers/pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const bsm: { migrate(o: unknown): Promise<MigrationResult> };
declare const indexedDB: any;
declare const localStorage: any;

// Real Chromium, 14 MB through S3 and every phase, on a 2-core box beside other suites.
jest.setTimeout(180000);

const MiB = 1024 * 1024;
const DOCS = 56;
const DOC_CHARS = 256 * 1024;

let up: UploadStack;
let browser: Browser;
let app: Server;

beforeAll(async () => {
  [up, browser] = await Promise.all([startUploadStack('s3', { workers: true }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => app?.close(resolve));
  await up?.close();
});

test('a multi-part dump goes to S3 through presigned URLs from Chromium; a dropped part is resumed; the batch migrates', async () => {
  const api = up.stack.api.url;
  const s3 = up.s3!.endpoint;
  app = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', `default-src 'self'; script-src 'self' ${api}; connect-src 'self' ${api} ${s3}`);
    res.end('<!doctype html><title>app</title><p>app</p>');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;

  const seen: { method: string; path: string }[] = [];
  const onRequest = (req: IncomingMessage) => {
    if (req.url?.startsWith('/v1/uploads')) seen.push({ method: req.method!, path: req.url.split('?')[0] });
  };
  up.stack.api.server.on('request', onRequest);

  const page = await browser.newPage();
  const errors: Error[] = [];
  const violations: string[] = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await page.goto(`${origin}/`);
  await fillStorage(page, catalystSpec());
  // ~14 MB generated inside the page (a seeded PRNG), so it never crosses the DevTools protocol.
  await page.evaluate(async ({ docs, chars }) => {
    let seed = 7;
    const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
    const words = ['part', 'Grüße', 'café', 'upload', 'naïve', 'bucket', 'déjà', 'straße', 'lorem', 'ipsum'];
    const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éßüç';
    const conn: any = await new Promise((resolve, reject) => {
      const req = indexedDB.open('catalyst-bulk', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('documents', { keyPath: 'id' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = conn.transaction('documents', 'readwrite');
      for (let i = 0; i < docs; i++) {
        let body = '';
        // Mostly random tokens, so the default gzip still leaves several 5 MiB parts (words alone compress ~5×).
        while (body.length < chars) {
          if (rand() < 0.1) { body += words[Math.floor(rand() * words.length)] + ' '; continue; }
          let w = '';
          for (let k = 0; k < 8; k++) w += ALPHABET[Math.floor(rand() * ALPHABET.length)];
          body += w + ' ';
        }
        tx.objectStore('documents').put({ id: `doc-${i}`, body });
      }
      tx.oncomplete = () => { conn.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    });
  }, { docs: DOCS, chars: DOC_CHARS });
  await page.evaluate(`import(${JSON.stringify(`${api}/client/uploader.js`)}).then((m) => { globalThis.bsm = m; })`);

  const token = await up.stack.mintToken('direct-browser');
  const opts = { token, endpoint: api, websiteId: WEBSITE_ID, directThreshold: 4 * MiB, partSize: 5 * MiB, parallel: 2, pollIntervalMs: 100 };

  // Part 2's first PUT to the bucket: connection reset. Nothing else is intercepted.
  let dropped = 0;
  await page.route((url) => url.origin === s3 && url.searchParams.get('partNumber') === '2', async (route) => {
    if (route.request().method() === 'PUT' && dropped++ === 0) return route.abort('connectionreset');
    return route.continue();
  });

  const first = await page.evaluate((o) => bsm.migrate({ ...o, retryDelays: [] }).then(() => 'completed?', (e: Error) => e.message), opts);
  expect(first).toMatch(/part 2/);
  expect(dropped).toBe(1);
  const started = seen.filter((s) => s.method === 'POST' && s.path === '/v1/uploads/direct');
  expect(started).toHaveLength(1); // the direct path was taken (the server offered it; the dump is over the threshold)
  expect(seen.some((s) => s.method === 'PATCH')).toBe(false); // not tus
  const remembered = await page.evaluate(() => Object.keys({ ...localStorage }).filter((k) => k.startsWith('bsm-uploader::')));
  expect(remembered).toHaveLength(1);
  const [row] = await up.stack.api.deps.ds.query(`SELECT id, part_count FROM direct_uploads WHERE user_id = 'direct-browser'`);
  expect(row.part_count).toBeGreaterThanOrEqual(3);

  // Second attempt: its very first PUT to the bucket (whichever part) is reset too; the part is retried
  // within the call (a new URL, after its backoff) rather than failing the upload.
  let secondRun = false;
  let droppedInSecond: number | null = null;
  await page.route((url) => url.origin === s3 && url.searchParams.has('partNumber'), async (route) => {
    if (secondRun && droppedInSecond === null && route.request().method() === 'PUT') {
      droppedInSecond = Number(new URL(route.request().url()).searchParams.get('partNumber'));
      return route.abort('connectionreset');
    }
    return route.fallback();
  });
  secondRun = true;

  const firstCount = seen.length;
  const progress: MigrationProgress[] = [];
  await page.exposeFunction('reportProgress', (p: MigrationProgress) => { progress.push(p); });
  const result = await page.evaluate((o) => bsm.migrate({ ...o, retryDelays: [0, 200, 500], onProgress: (p: unknown) => (globalThis as any).reportProgress(p) }), opts);
  up.stack.api.server.off('request', onRequest);
  expect(errors).toEqual([]);
  expect(violations).toEqual([]);
  expect(result).toMatchObject({ status: 'completed', resumed: true });

  // Resumed: the parts list first, no new upload, part 2 sent, and never a part the server already held.
  const second = seen.slice(firstCount);
  expect(second[0]).toEqual({ method: 'GET', path: '/v1/uploads/direct' }); // capabilities
  expect(second[1]).toEqual({ method: 'GET', path: `/v1/uploads/direct/${row.id}/parts` });
  expect(second.filter((s) => s.method === 'POST' && s.path === '/v1/uploads/direct')).toEqual([]);
  const presigned = second.filter((s) => /\/parts\/\d+$/.test(s.path)).map((s) => Number(s.path.split('/').pop()));
  expect(presigned).toContain(2);
  expect(droppedInSecond).not.toBeNull();
  expect(presigned.filter((n) => n === droppedInSecond)).toHaveLength(2); // retried once, with a new URL
  const heldBefore = seen.slice(0, firstCount).filter((s) => /\/parts\/\d+$/.test(s.path)).map((s) => Number(s.path.split('/').pop()));
  expect(presigned.length + heldBefore.length).toBeGreaterThanOrEqual(row.part_count);
  expect(second.some((s) => s.path === `/v1/uploads/direct/${row.id}/complete`)).toBe(true);
  const uploads = progress.filter((p): p is Extract<MigrationProgress, { stage: 'upload' }> => p.stage === 'upload');
  expect(uploads[0].resumedFrom).toBeGreaterThan(0);
  expect(uploads.at(-1)!.bytesSent).toBe(uploads.at(-1)!.bytesTotal);

  // The batch migrated from the S3 object: the Catalyst rows and every bulk record, the upload forgotten.
  const [batch] = await up.stack.api.deps.ds.query(`SELECT status, dump_bytes, dump_key FROM migration_batches WHERE id = $1`, [result.batchId]);
  expect(batch.status).toBe('completed');
  expect(batch.dump_key).toMatch(/\.ndjson\.gz\.sealed$/); // sent gzip (the default in Chromium), stored compressed, inflated by ingest
  expect(Number(batch.dump_bytes)).toBeGreaterThan(2 * 5 * MiB);
  const [site] = await up.stack.api.deps.ds.query(`SELECT batch_id FROM websites WHERE user_id = 'direct-browser'`);
  expect(site.batch_id).toBe(result.batchId);
  const [kept] = await up.stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM preserved_entries WHERE user_id = 'direct-browser' AND db_name = 'catalyst-bulk'`);
  expect(kept.n).toBe(DOCS);
  const [rec] = await up.stack.api.deps.ds.query(`SELECT status, batch_id FROM direct_uploads WHERE id = $1`, [row.id]);
  expect(rec).toEqual({ status: 'completed', batch_id: result.batchId });
  expect(await page.evaluate(() => Object.keys({ ...localStorage }).filter((k) => k.startsWith('bsm-uploader::')))).toEqual([]);
  await page.close();
});
