/**
 * A reload in the middle of an upload resumes it instead of starting over. The page uploads in small
 * chunks; the test holds the second PATCH (page.route), reloads the page while it is held, and runs
 * migrate() again. The server must see a HEAD for the same upload and a PATCH continuing at the offset
 * the first chunk reached — no second creation — and the batch must complete with the Blob intact.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Route } from 'playwright-core';
import { decodeValue, type BlobValue } from '../../format';
import type { MigrationResult } from '../../client/types';
import { WEBSITE_ID } from '../fixtures/catalystDump';
import { loadUploader, openUploaderPage, useStackAndBrowser } from './helpers/browser';
import { catalystSpec, fillStorage, mediaDb } from './helpers/pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const bsm: { migrate(o: unknown): Promise<MigrationResult> };
declare const localStorage: any;

// Real Chromium beside other suites on a 2-core box: generous, though every wait is event-driven.
jest.setTimeout(60000);

const env = useStackAndBrowser();

interface Seen { method: string; path: string; offset: string | undefined; status?: number }

test('a page reload mid-upload resumes from the server offset (HEAD, then PATCH at a non-zero offset)', async () => {
  const CHUNK = 32 * 1024;
  const blobBytes = randomBytes(160 * 1024); // the dump becomes ~8 chunks
  const seen: Seen[] = [];
  const onRequest = (req: IncomingMessage) => {
    if (req.url?.startsWith('/v1/uploads')) seen.push({ method: req.method!, path: req.url, offset: req.headers['upload-offset'] as string | undefined });
  };
  env.stack.api.server.on('request', onRequest);

  const { page, errors } = await openUploaderPage(env.browser, env.stack.api.url);
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(blobBytes, Buffer.from('%PDF-1.7')));
  await fillStorage(page, spec);
  await loadUploader(page);
  const token = await env.stack.mintToken('resume-user');
  const opts = { token, websiteId: WEBSITE_ID, chunkSize: CHUNK, pollIntervalMs: 50 };

  // Hold the second PATCH: the first chunk has reached the server, the second never will. (The route
  // stays installed until the end: removing it would let Playwright send the held request on.)
  let patches = 0;
  let held: Route | null = null;
  let releaseHeld!: () => void;
  const secondPatchHeld = new Promise<void>((resolve) => { releaseHeld = resolve; });
  await page.route('**/v1/uploads/**', async (route) => {
    if (!held && route.request().method() === 'PATCH' && ++patches === 2) {
      held = route;
      releaseHeld();
      return;
    }
    await route.continue();
  });
  await page.evaluate((o) => { void bsm.migrate(o).catch(() => undefined); }, opts);
  await secondPatchHeld;

  const firstLoad = [...seen];
  expect(firstLoad.map((s) => s.method)).toEqual(['POST', 'PATCH']);
  expect(firstLoad[1].offset).toBe('0');
  const uploadPath = firstLoad[1].path;
  // The unfinished upload is remembered in the browser, under the uploader's own prefix.
  const remembered = await page.evaluate(() => Object.keys({ ...localStorage }).filter((k) => k.startsWith('bsm-uploader::')));
  expect(remembered).toHaveLength(1);

  await page.reload({ waitUntil: 'load' });
  await (held as Route | null)?.abort().catch(() => undefined); // its page is gone; nothing to deliver
  await loadUploader(page);
  const result = await page.evaluate((o) => bsm.migrate(o), opts);
  env.stack.api.server.off('request', onRequest);
  expect(errors).toEqual([]);

  expect(result).toMatchObject({ status: 'completed', resumed: true });
  const afterReload = seen.slice(firstLoad.length);
  expect(afterReload.filter((s) => s.method === 'POST')).toEqual([]); // not started over
  expect(afterReload[0]).toMatchObject({ method: 'HEAD', path: uploadPath });
  expect(afterReload[1]).toMatchObject({ method: 'PATCH', path: uploadPath, offset: String(CHUNK) });
  const patchOffsets = afterReload.filter((s) => s.method === 'PATCH').map((s) => Number(s.offset));
  expect(patchOffsets.every((o, i) => o === CHUNK * (i + 1))).toBe(true);

  // The finished upload is forgotten again, and the migrated data is whole.
  expect(await page.evaluate(() => Object.keys({ ...localStorage }).filter((k) => k.startsWith('bsm-uploader::')))).toEqual([]);
  const [site] = await env.stack.api.deps.ds.query(`SELECT batch_id FROM websites WHERE user_id = $1`, ['resume-user']);
  expect(site.batch_id).toBe(result.batchId);
  const [kept] = await env.stack.api.deps.ds.query(`SELECT value FROM preserved_entries WHERE user_id = $1 AND db_name = 'catalyst-media'`, ['resume-user']);
  const { blob } = decodeValue(JSON.parse(kept.value)) as { blob: BlobValue };
  expect(Buffer.compare(blob.bytes, blobBytes)).toBe(0);
});

test('a gzip upload resumes too: the same header member and compressed entries, so the digest the server checks still matches', async () => {
  const CHUNK = 4 * 1024;
  const seen: Seen[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/v1/uploads')) return;
    const s: Seen = { method: req.method!, path: req.url, offset: req.headers['upload-offset'] as string | undefined };
    seen.push(s);
    res.on('finish', () => (s.status = res.statusCode));
  };
  // A request the server refused (a 429 or 5xx on a loaded machine) is retried by the client: only what
  // was accepted (or is still in flight) counts for what the uploader did.
  const accepted = (list: Seen[]) => list.filter((s) => s.status === undefined || s.status < 400);
  env.stack.api.server.on('request', onRequest);
  const { page, errors } = await openUploaderPage(env.browser, env.stack.api.url);
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(randomBytes(40 * 1024), Buffer.from('%PDF-1.7'))); // random bytes: they do not compress
  await fillStorage(page, spec);
  await loadUploader(page);
  const opts = { token: await env.stack.mintToken('resume-gzip-user'), websiteId: WEBSITE_ID, chunkSize: CHUNK, pollIntervalMs: 50, compression: 'gzip' };

  let patches = 0;
  let held: Route | null = null;
  let releaseHeld!: () => void;
  const secondPatchHeld = new Promise<void>((resolve) => { releaseHeld = resolve; });
  await page.route('**/v1/uploads/**', async (route) => {
    if (!held && route.request().method() === 'PATCH' && ++patches === 2) {
      held = route;
      releaseHeld();
      return;
    }
    await route.continue();
  });
  await page.evaluate((o) => { void bsm.migrate(o).catch(() => undefined); }, opts);
  await secondPatchHeld;
  const firstLoadCount = seen.length;
  const firstLoad = accepted(seen);
  expect(firstLoad.map((s) => s.method)).toEqual(['POST', 'PATCH']);

  await page.reload({ waitUntil: 'load' });
  await (held as Route | null)?.abort().catch(() => undefined);
  await loadUploader(page);
  const outcome = await page.evaluate((o) => bsm.migrate(o).then((r) => r.status, (e: any) => e.code ?? e.message), opts);
  env.stack.api.server.off('request', onRequest);
  expect(errors).toEqual([]);

  const afterReload = accepted(seen.slice(firstLoadCount));
  expect(afterReload.filter((s) => s.method === 'POST')).toEqual([]); // not started over
  expect(afterReload[0]).toMatchObject({ method: 'HEAD', path: firstLoad[1].path });
  expect(afterReload[1]).toMatchObject({ method: 'PATCH', path: firstLoad[1].path, offset: String(CHUNK) });
  // The server checks the sha256 of all the bytes it holds before anything else: a resumed file that
  // differed from the first load's by one byte would be `upload_digest_mismatch`. An API that inflates
  // gzip uploads completes the batch; one that does not yet reads the compressed bytes as NDJSON and
  // refuses them as invalid JSON — after the digest matched.
  expect(['completed', 'dump_invalid_json']).toContain(outcome);
});
