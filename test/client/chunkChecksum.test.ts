/**
 * The browser uploader's per-chunk integrity, in Chromium: every PATCH carries Upload-Checksum (sha256 of
 * its chunk); a chunk altered on the way (the test rewrites the second PATCH's body with page.route, keeping
 * its headers) is refused by the server with 460 at that chunk, and the uploader sends it again at the same
 * offset; the migration completes with the data intact.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { decodeValue, type BlobValue } from '../../format';
import type { MigrationResult } from '../../client/types';
import { WEBSITE_ID } from '../fixtures/catalystDump';
import { loadUploader, openUploaderPage, useStackAndBrowser } from './helpers/browser';
import { catalystSpec, fillStorage, mediaDb } from './helpers/pageStorage';

declare const bsm: { migrate(o: unknown): Promise<MigrationResult> };

jest.setTimeout(60000);

const env = useStackAndBrowser();

interface Sent { offset: number; checksum: string | undefined; bodySha256: string; altered: boolean }

test('every PATCH carries its chunk\'s sha256; a chunk altered in transit gets 460 and is sent again', async () => {
  const CHUNK = 32 * 1024;
  const blobBytes = randomBytes(128 * 1024);
  // The server's answer to each PATCH, in order (its body is left alone: tus reads it).
  const answers: { offset: number; status: number }[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'PATCH' || !req.url?.startsWith('/v1/uploads/')) return;
    res.on('finish', () => answers.push({ offset: Number(req.headers['upload-offset']), status: res.statusCode }));
  };
  env.stack.api.server.on('request', onRequest);

  const { page, errors } = await openUploaderPage(env.browser, env.stack.api.url);
  const spec = catalystSpec();
  spec.indexedDB.push(mediaDb(blobBytes, Buffer.from('%PDF-1.7')));
  await fillStorage(page, spec);
  await loadUploader(page);
  const token = await env.stack.mintToken('checksum-user');

  // What the page sent: each PATCH's Upload-Checksum and the sha256 of the chunk it sent. The second PATCH
  // goes on with one bit flipped, its headers as the page set them.
  const sent: Sent[] = [];
  await page.route('**/v1/uploads/**', async (route) => {
    const req = route.request();
    if (req.method() !== 'PATCH') return route.continue();
    const body = req.postDataBuffer()!;
    const headers = await req.allHeaders();
    const altered = sent.length === 1;
    sent.push({ offset: Number(headers['upload-offset']), checksum: headers['upload-checksum'], bodySha256: createHash('sha256').update(body).digest('base64'), altered });
    if (!altered) return route.continue();
    const bad = Buffer.from(body);
    bad[bad.length >> 1] ^= 0x01;
    return route.continue({ postData: bad });
  });
  const result = await page.evaluate((o) => bsm.migrate(o), { token, websiteId: WEBSITE_ID, chunkSize: CHUNK, pollIntervalMs: 50, retryDelays: [0, 100, 200] });
  env.stack.api.server.off('request', onRequest);
  expect(errors).toEqual([]);
  expect(result.status).toBe('completed');

  expect(sent.length).toBeGreaterThanOrEqual(5);
  // Every chunk the page sent carried the sha256 of exactly that chunk.
  for (const s of sent) expect(s.checksum).toBe(`sha256 ${s.bodySha256}`);
  // The altered one was refused at that chunk; the page sent it again at the same offset, and it was taken.
  expect(answers[1]).toEqual({ offset: CHUNK, status: 460 });
  expect(answers[2]).toEqual({ offset: CHUNK, status: 204 });
  expect(sent[2]).toMatchObject({ offset: CHUNK, checksum: sent[1].checksum, altered: false });
  expect(answers.filter((a) => a.status !== 204)).toEqual([answers[1]]);
  expect(answers).toHaveLength(sent.length);

  const [kept] = await env.stack.api.deps.ds.query(`SELECT value FROM preserved_entries WHERE user_id = $1 AND db_name = 'catalyst-media'`, ['checksum-user']);
  const { blob } = decodeValue(JSON.parse(kept.value)) as { blob: BlobValue };
  expect(Buffer.compare(blob.bytes, blobBytes)).toBe(0);
});
