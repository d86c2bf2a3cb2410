/**
 * End to end in real Chromium: a page on the API's origin holds the real Catalyst Studio shapes plus a
 * Blob and a File, runs migrate() against the running API (tus uploads) and workers, and the rows land in
 * Postgres; the Blob's bytes are identical in the stored dump (object store) and in preserved_entries;
 * the browser's storage is exactly as before. The demo page does the same through its form.
 */
import { dumpContent, readDumpObject } from '../../jobs/dumpObjects';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { decodeValue, openDump, type BlobValue, type IdbEntry } from '../../format';
import type { MigrationProgress, MigrationResult } from '../../client/types';
import { catalystDump, entryCount, WEBSITE_ID } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium, loadUploader, openUploaderPage } from './helpers/browser';
import { catalystSpec, describeStorage, fillStorage, mediaDb } from './helpers/pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const bsm: { migrate(o: unknown): Promise<MigrationResult> };
declare const document: any;

// Real Chromium beside other suites on a 2-core box: generous, though every wait is event-driven.
jest.setTimeout(60000);

let stack: Stack;
let browser: Browser;
let appServer: Server;
let appOrigin: string;
const blobBytes = randomBytes(48 * 1024);
const fileBytes = randomBytes(777);

beforeAll(async () => {
  // The app itself: a page on another origin than the API, as in production.
  appServer = createServer((_req, res) => res.end('<!doctype html><title>Catalyst Studio</title><p>app'));
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  [stack, browser] = await Promise.all([startStack(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => appServer?.close(resolve));
});

const q = (sql: string, params: unknown[] = []) => stack.api.deps.ds.query(sql, params);

async function catalystPage(): Promise<{ page: Page; errors: Error[] }> {
  const opened = await openUploaderPage(browser, stack.api.url);
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(blobBytes, fileBytes));
  await fillStorage(opened.page, spec);
  return opened;
}

/** The media record's Blob and File, decoded with format/ from an encoded §1c value. */
function mediaBytes(encoded: unknown): { blob: BlobValue; file: BlobValue } {
  return decodeValue(encoded) as { blob: BlobValue; file: BlobValue };
}

async function expectCatalystRows(user: string, batchId: string): Promise<void> {
  const [site] = await q(`SELECT * FROM websites WHERE user_id = $1`, [user]);
  expect(site).toMatchObject({ source_id: WEBSITE_ID, batch_id: batchId, name: 'Coffee Shop', category: 'ecommerce' });
  expect(site.created_at.toISOString()).toBe('2025-08-12T07:00:34.567Z'); // a Date object in IndexedDB
  const count = async (t: string) => (await q(`SELECT count(*)::int AS n FROM ${t} WHERE user_id = $1`, [user]))[0].n;
  expect(await count('content_types')).toBe(2); // the duplicate BlogPost folds into the first
  expect(await count('content_items')).toBe(3);
  expect(await count('chat_messages')).toBe(2); // catalyst-studio/persistence, values are JSON strings
  expect(await count('website_pages')).toBe(1); // the website_<id>_content section
  expect(await count('deployment_configs')).toBe(2);
}

test('migrate() moves the Catalyst shapes into Postgres and the Blob bytes arrive intact', async () => {
  const { page, errors } = await catalystPage();
  const before = await describeStorage(page);
  await loadUploader(page);
  const user = 'browser-user-1';
  const token = await stack.mintToken(user);
  const { result, events } = await page.evaluate(async (args) => {
    const seen: MigrationProgress[] = [];
    const result = await bsm.migrate({ ...args, app: 'catalyst-studio', chunkSize: 16 * 1024, pollIntervalMs: 50, onProgress: (p: MigrationProgress) => seen.push(p) });
    return { result, events: seen };
  }, { token, websiteId: WEBSITE_ID });
  expect(errors).toEqual([]);

  const doc = catalystDump();
  expect(result).toMatchObject({ status: 'completed', resumed: false });
  expect(result.report).toMatchObject({ balanced: true, totals: { entries: entryCount(doc) + 1, pending: 0 } });
  const t = result.report!.totals;
  expect(t.migrated + t.preserved + t.rejected).toBe(t.entries);

  // Progress: what was read so far while storage streams (`partial`, growing), then what was found in
  // all, then upload bytes up to the total, then every phase, then the end.
  const snapshots = events.filter((e): e is Extract<MigrationProgress, { stage: 'snapshot' }> => e.stage === 'snapshot');
  const firstOther = events.findIndex((e) => e.stage !== 'snapshot');
  expect(firstOther).toBe(snapshots.length); // all of them come first
  expect(snapshots.length).toBeGreaterThan(2);
  expect(snapshots.slice(0, -1).every((e) => e.partial === true)).toBe(true);
  expect(snapshots.every((e, i) => i === 0 || e.summary.total.entries >= snapshots[i - 1].summary.total.entries)).toBe(true);
  expect(snapshots[0].summary.total.entries).toBeLessThan(entryCount(doc) + 1);
  expect(snapshots.at(-1)).toEqual({ stage: 'snapshot', summary: expect.objectContaining({ total: { entries: entryCount(doc) + 1, bytes: expect.any(Number) } }) });
  const uploads = events.filter((e): e is Extract<MigrationProgress, { stage: 'upload' }> => e.stage === 'upload');
  expect(uploads.length).toBeGreaterThan(3); // 16 KiB chunks of a ~90 KiB dump
  expect(uploads.at(-1)!.bytesSent).toBe(uploads.at(-1)!.bytesTotal);
  expect(uploads.every((e, i) => i === 0 || e.bytesSent >= uploads[i - 1].bytesSent)).toBe(true);
  expect(events.find((e) => e.stage === 'uploaded')).toMatchObject({ batchId: result.batchId });
  const last = events.at(-1)!;
  expect(last.stage).toBe('done');
  const phases = (last as Extract<MigrationProgress, { stage: 'done' }>).batch.phases;
  expect(phases.map((p) => p.name)).toEqual(['ingest', 'websites', 'contentTypes', 'contentItems', 'websiteStorage', 'aiData', 'userPreferences', 'deploymentConfigs', 'deploymentHistory', 'preserve', 'prune', 'verify']);
  expect(phases.every((p) => p.status === 'completed')).toBe(true);
  expect(events.some((e) => e.stage === 'processing')).toBe(true);

  await expectCatalystRows(user, result.batchId);

  // The media DB is not part of the app mapping: preserved raw, its §1c tags intact.
  const [kept] = await q(`SELECT * FROM preserved_entries WHERE user_id = $1 AND db_name = 'catalyst-media'`, [user]);
  expect(kept).toMatchObject({ area: 'indexedDB', store_name: 'files', batch_id: result.batchId });
  const preserved = mediaBytes(JSON.parse(kept.value));
  expect(preserved.blob).toMatchObject({ kind: 'Blob', type: 'image/png', size: blobBytes.length });
  expect(Buffer.compare(preserved.blob.bytes, blobBytes)).toBe(0);
  expect(preserved.file).toMatchObject({ kind: 'File', name: 'brief.pdf', lastModified: 1754981234567 });
  expect(Buffer.compare(preserved.file.bytes, fileBytes)).toBe(0);

  // And in the object store: the uploaded dump, read back with format/.
  const [batch] = await q(`SELECT dump_key FROM migration_batches WHERE id = $1`, [result.batchId]);
  // Chromium has CompressionStream, so migrate() sent it gzip (the default) and it is stored compressed.
  expect(batch.dump_key).toMatch(/\.ndjson\.gz\.sealed$/);
  const raw = await readDumpObject(stack.api.deps.store, stack.config, batch.dump_key);
  const reader = await openDump(dumpContent(raw, batch.dump_key, stack.config), 'ndjson');
  let stored: IdbEntry | undefined;
  for await (const e of reader.entries) if (e.area === 'indexedDB' && e.db === 'catalyst-media') stored = e;
  expect(stored).toMatchObject({ store: 'files', keyPath: 'id', autoIncrement: true, indexes: [{ name: 'byType', keyPath: 'type' }] });
  expect(Buffer.compare(mediaBytes(stored!.value).blob.bytes, blobBytes)).toBe(0);

  // Nothing in the browser changed, and no resume record is left behind.
  expect(await describeStorage(page)).toEqual(before);
});

test('the demo page: token in, progress bars per phase, the report out', async () => {
  const { page, errors } = await catalystPage();
  const user = 'browser-user-2';
  await page.fill('#token', await stack.mintToken(user));
  await page.fill('#websiteId', WEBSITE_ID);
  await page.click('#migrate');
  await page.waitForSelector('body[data-result]', { timeout: 30000 });
  expect(await page.getAttribute('body', 'data-result')).toBe('completed');
  expect(errors).toEqual([]);

  const shown = await page.evaluate(() => ({
    found: document.querySelectorAll('#found-rows tr').length,
    upload: [document.querySelector('#upload-bar').value, document.querySelector('#upload-bar').max],
    phases: [...document.querySelectorAll('#phases .bar')].map((el: any) => [el.id, el.dataset.status, el.querySelector('progress').value === el.querySelector('progress').max]),
    status: document.querySelector('#batch-status').textContent,
    counts: Object.fromEntries([...document.querySelectorAll('#report-counts [data-count]')].map((el: any) => [el.dataset.count, Number(el.querySelector('b').textContent)])),
  }));
  expect(shown.found).toBeGreaterThan(4);
  expect(shown.upload[0]).toBe(shown.upload[1]);
  expect(shown.phases).toHaveLength(12);
  expect(shown.phases.every((p: any[]) => p[1] === 'completed' && p[2] === true)).toBe(true);
  expect(shown.status).toBe('completed');
  const entries = entryCount(catalystDump()) + 1;
  expect(shown.counts.entries).toBe(entries);
  expect(shown.counts.migrated + shown.counts.preserved + shown.counts.rejected).toBe(entries);
  expect(shown.counts.preserved).toBeGreaterThanOrEqual(1);

  const [batch] = await q(`SELECT id FROM migration_batches WHERE user_id = $1`, [user]);
  await expectCatalystRows(user, batch.id);
});

test("from the app's own origin: the module, the upload and the batch status all work cross-origin", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${appOrigin}/studio`);
  await fillStorage(page, catalystSpec());
  const api = stack.api.url;
  // Exactly what an app would do: import the module from the API and point it at the API.
  await page.evaluate(`import('${api}/client/uploader.js').then((m) => { globalThis.bsm = m; })`);
  const user = 'browser-user-3';
  // The API's origin, as the README's snippet passes it: migrate() finds /v1/uploads there.
  const result = await page.evaluate((o) => bsm.migrate(o), { token: await stack.mintToken(user), endpoint: api, pollIntervalMs: 50 });
  expect(errors).toEqual([]);
  expect(result.status).toBe('completed');
  const [batch] = await q(`SELECT source FROM migration_batches WHERE id = $1`, [result.batchId]);
  expect(batch.source.origin).toBe(appOrigin);
  await expectCatalystRows(user, result.batchId);
  await context.close();
});

test('a refused upload rejects with the API\'s own message, is not retried, and leaves nothing behind', async () => {
  const { page } = await openUploaderPage(browser, stack.api.url);
  await fillStorage(page, catalystSpec());
  await loadUploader(page);
  const seen: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/v1/uploads')) seen.push(r.method()); });
  const outcome = await page.evaluate((o) => bsm.migrate(o).then(() => null, (e: any) => ({ name: e.name, status: e.status, code: e.code, message: e.message })),
    { token: 'not-a-real-token', pollIntervalMs: 50 });
  expect(outcome).toEqual({ name: 'ApiError', status: 401, code: 'invalid_token', message: expect.stringContaining('The bearer token is not valid') });
  expect(seen).toEqual(['POST']); // 4xx is final: no retries
  expect(await page.evaluate(() => Object.keys({ ...(globalThis as any).localStorage }).filter((k) => k.startsWith('bsm-uploader::')))).toEqual([]);
});
