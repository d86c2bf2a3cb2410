/**
 * The browser uploader under a rate limit, in real Chromium against the real API: a per-token limit small
 * enough that the tus upload's PATCHes run into 429. tus-js-client alone would give up on a 4xx; the
 * uploader must wait the server's Retry-After, ask for the offset (HEAD) and continue the SAME upload —
 * and following the batch afterwards (also limited) must wait too, until the batch completes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { decodeValue, type BlobValue } from '../../format';
import type { MigrationResult } from '../../client/types';
import { WEBSITE_ID } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium, loadUploader, openUploaderPage } from './helpers/browser';
import { catalystSpec, fillStorage, mediaDb } from './helpers/pageStorage';

declare const bsm: {
  migrate(o: unknown): Promise<MigrationResult>;
  followBatch(id: string, o: unknown): Promise<{ batch: { status: string } }>;
};
declare const location: { origin: string };

jest.setTimeout(90000);

const LIMIT = 3;
const WINDOW_S = 4; // long enough that spending the budget and the first poll fall in one window on a loaded machine
let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startStack({ config: { RATE_LIMIT_PER_TOKEN: String(LIMIT), RATE_LIMIT_WINDOW_S: String(WINDOW_S) } }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

interface Seen { method: string; path: string; status: number; offset: string | undefined; at: number }

test('a tus upload that runs into 429 waits Retry-After, resumes the same upload and completes', async () => {
  const CHUNK = 32 * 1024;
  const blobBytes = randomBytes(160 * 1024); // ~8 PATCHes: more than one window's budget
  const seen: Seen[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/v1/')) return;
    const offset = req.headers['upload-offset'] as string | undefined;
    res.on('finish', () => seen.push({ method: req.method!, path: req.url!, status: res.statusCode, offset, at: Date.now() }));
  };
  stack.api.server.on('request', onRequest);

  const { page, errors } = await openUploaderPage(browser, stack.api.url);
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(blobBytes, Buffer.from('%PDF-1.7')));
  await fillStorage(page, spec);
  await loadUploader(page);
  const token = await stack.mintToken('limited-user');
  const result = await page.evaluate((o) => bsm.migrate(o), { token, websiteId: WEBSITE_ID, chunkSize: CHUNK, pollIntervalMs: 50 });
  stack.api.server.off('request', onRequest);
  expect(errors).toEqual([]);
  expect(result).toMatchObject({ status: 'completed', resumed: false });

  const uploads = seen.filter((s) => s.path.startsWith('/v1/uploads'));
  expect(uploads.filter((s) => s.method === 'POST')).toHaveLength(1); // one upload, never started over
  const limitedPatches = uploads.filter((s) => s.method === 'PATCH' && s.status === 429);
  expect(limitedPatches.length).toBeGreaterThan(0);
  for (const limited of limitedPatches) {
    // The next request is the resume (HEAD), sent after the window ended: it passes.
    const next = uploads[uploads.indexOf(limited) + 1];
    expect(next).toMatchObject({ method: 'HEAD', path: limited.path, status: 200 });
    expect(next.at - limited.at).toBeGreaterThanOrEqual(900);
  }
  // Every byte went exactly once, in order: accepted PATCH offsets step by one chunk.
  const accepted = uploads.filter((s) => s.method === 'PATCH' && s.status < 300).map((s) => Number(s.offset));
  expect(accepted.every((o, i) => o === CHUNK * i)).toBe(true);

  const [kept] = await stack.api.deps.ds.query(`SELECT value FROM preserved_entries WHERE user_id = $1 AND db_name = 'catalyst-media'`, ['limited-user']);
  const { blob } = decodeValue(JSON.parse(kept.value)) as { blob: BlobValue };
  expect(Buffer.compare(blob.bytes, blobBytes)).toBe(0);

  // Following a batch with the token's budget spent: the first poll gets 429 and waits instead of failing.
  const polls: number[] = [];
  const onPoll = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/v1/batches/')) res.on('finish', () => polls.push(res.statusCode));
  };
  for (let i = 0; i < LIMIT; i++) await stack.http.get('/v1/websites').set('Authorization', `Bearer ${token}`);
  stack.api.server.on('request', onPoll);
  const followed = await page.evaluate(
    (o) => bsm.followBatch(o.batchId, { apiBase: `${location.origin}/v1`, token: o.token, pollIntervalMs: 10 }).then((r) => r.batch.status),
    { batchId: result.batchId, token },
  );
  stack.api.server.off('request', onPoll);
  expect(followed).toBe('completed');
  expect(polls[0]).toBe(429);
  expect(polls.slice(1)).toContain(200);
});
