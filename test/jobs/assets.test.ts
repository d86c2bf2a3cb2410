/**
 * Assets (images moved out of data: URLs) leave with the batch that stored them on rollback, unless another
 * applied batch or any row still references them; their URLs are unguessable beyond the content hash
 * (`/v1/assets/<sha256>.<mac>`), and the hash-only URLs written before keep serving the objects stored then.
 */
import { createHash, randomUUID } from 'node:crypto';
import { assetKey, legacyAssetKey } from '../../core/assets';
import { catalystDump, PNG_1PX, type DumpDoc } from '../fixtures/catalystDump';
import { until } from '../helpers/locks';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const PNG_SHA = createHash('sha256').update(Buffer.from(PNG_1PX, 'base64')).digest('hex');
const OTHER_B64 = Buffer.from('another image, only in one batch').toString('base64');
const OTHER_SHA = createHash('sha256').update(Buffer.from(OTHER_B64, 'base64')).digest('hex');

async function migrate(user: string, doc: DumpDoc = catalystDump()): Promise<{ batchId: string; url: string }> {
  const token = await stack.mintToken(user);
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  const batchId = res.body.batchId as string;
  expect(await waitForBatch(stack, batchId, undefined, 60_000)).toBe('completed');
  const [row] = await stack.api.deps.ds.query(`SELECT data->>'heroImage' AS url FROM content_items WHERE batch_id = $1 AND data->>'heroImage' LIKE '%/v1/assets/%'`, [batchId]);
  return { batchId, url: row.url as string };
}

async function rollback(batchId: string): Promise<void> {
  const res = await stack.http.post(`/v1/admin/batches/${batchId}/rollback`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({});
  expect(res.status).toBeLessThan(300);
  // The job audits 'ok' after the undo and the release of its assets.
  await until(async () => (await stack.api.deps.ds.query(`SELECT 1 FROM audit_log WHERE target = $1 AND outcome = 'ok'`, [`batch:${batchId}`]))[0], 30_000);
}

const path = (url: string) => new URL(url).pathname;
const stored = async (sha: string) => Boolean(await stack.api.deps.store.head(assetKey(sha)));

test('a migrated image gets an unguessable URL; the hash alone, or a wrong MAC, finds nothing', async () => {
  const { batchId, url } = await migrate('assets-url');
  expect(path(url)).toMatch(new RegExp(`^/v1/assets/${PNG_SHA}\\.[A-Za-z0-9_-]{22}$`));
  const ok = await stack.http.get(path(url));
  expect([ok.status, ok.headers['content-length']]).toEqual([200, String(Buffer.from(PNG_1PX, 'base64').length)]);
  expect((await stack.http.get(`/v1/assets/${PNG_SHA}`)).status).toBe(404);
  const mac = path(url).split('.')[1];
  const wrong = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A');
  expect((await stack.http.get(`/v1/assets/${PNG_SHA}.${wrong}`)).status).toBe(404);
  expect(await stack.api.deps.ds.query(`SELECT sha256 FROM batch_assets WHERE batch_id = $1`, [batchId])).toEqual([{ sha256: PNG_SHA }]);
});

test('hash-only URLs written before signed URLs still serve the objects stored then', async () => {
  const sha = createHash('sha256').update('legacy').digest('hex');
  await stack.api.deps.store.put(legacyAssetKey(sha), Buffer.from('legacy'), { contentType: 'image/png' });
  expect((await stack.http.get(`/v1/assets/${sha}`)).status).toBe(200);
});

test('an asset shared by batches (and rows) stays until the last one goes; one only its batch used leaves with it', async () => {
  const doc = catalystDump();
  const only = JSON.parse(doc.localStorage[1].value);
  only.state.contentItems.push({ id: 'only-here', contentTypeId: '1754981100456_p0o9i8u7y', data: { photo: `data:image/png;base64,${OTHER_B64}` }, createdAt: '2025-08-12T07:00:00Z', updatedAt: '2025-08-12T07:00:00Z' });
  doc.localStorage[1].value = JSON.stringify(only);
  const a = await migrate('assets-a', doc);
  const b = await migrate('assets-b'); // the same PNG, another user
  expect(await stored(OTHER_SHA)).toBe(true);

  await rollback(a.batchId);
  expect(await stored(OTHER_SHA)).toBe(false); // only batch A had it
  expect((await stack.http.get(path(a.url).replace(PNG_SHA, OTHER_SHA))).status).toBe(404);
  expect(await stored(PNG_SHA)).toBe(true); // batch B (still applied) holds it
  expect((await stack.http.get(path(b.url))).status).toBe(200);

  // A row outside any batch (as the data API writes them, batch_id NULL) still references the image.
  const ds = stack.api.deps.ds;
  await ds.query(
    `INSERT INTO websites (id, user_id, source_id, batch_id, name, slug, metadata, created_at, updated_at)
     VALUES ($1, 'assets-c', 'site-c', NULL, 'C', 'c', $2, now(), now())`,
    [randomUUID(), JSON.stringify({ logo: b.url })],
  );
  await rollback(b.batchId);
  expect(await stored(PNG_SHA)).toBe(true);
  expect(await ds.query(`SELECT a.batch_id FROM batch_assets a WHERE a.batch_id = ANY($1::uuid[])`, [[a.batchId, b.batchId]])).toEqual([]);
});
