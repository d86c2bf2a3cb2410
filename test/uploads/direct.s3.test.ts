/**
 * Direct-to-S3 multipart uploads (/v1/uploads/direct) against s3rver: parts PUT through presigned URLs,
 * resumed from the parts list after a dropped part, a corrupted part refused by number, the whole digest
 * verified at completion (a wrong one leaves nothing), completing twice, abort, ownership, bounds, the
 * clean-up of expired uploads, and the filesystem driver not offering any of it.
 */
import { createHash } from 'node:crypto';
import { ListPartsCommand } from '@aws-sdk/client-s3';
import { createLogger } from '../../core/logger';
import { S3ObjectStore } from '../../core/objectStore';
import { runCleanup } from '../../jobs/maintenance/cleanup';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';
import { MiB, batchCount, bigDump, readObject, sha256, startUploadStack, type UploadStack } from './harness';

const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('direct-to-S3 uploads (s3 driver)', () => {
  let up: UploadStack;
  let token: string;
  let other: string;
  const USER = 'direct-s3';

  beforeAll(async () => {
    up = await startUploadStack('s3', { workers: true });
    token = await up.stack.mintToken(USER);
    other = await up.stack.mintToken('direct-s3-other');
  }, 60_000);
  afterAll(() => up?.close());

  const auth = (t = token) => ({ Authorization: `Bearer ${t}` });
  const start = (body: Record<string, unknown>, t = token) => up.stack.http.post('/v1/uploads/direct').set(auth(t)).send(body);
  const startFor = (bytes: Buffer, extra: Record<string, unknown> = {}) =>
    start({ filename: 'dump.ndjson', contentType: 'application/x-ndjson', sha256: sha256(bytes), size: bytes.length, partSize: 5 * MiB, ...extra });
  const partOf = (bytes: Buffer, n: number, partSize = 5 * MiB) => bytes.subarray((n - 1) * partSize, n * partSize);
  const presign = (id: string, n: number | string, md5: string, t = token) => up.stack.http.post(`/v1/uploads/direct/${id}/parts/${n}`).set(auth(t)).send({ md5 });
  /** Asks for the part's URL with its MD5, then PUTs `body` (the part, or something else) to it. */
  async function putPart(id: string, n: number, part: Buffer, body: Buffer = part, size = part.length): Promise<string> {
    const res = await presign(id, n, md5b64(part));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ n, method: 'PUT', headers: { 'Content-MD5': md5b64(part) }, size });
    expect(res.body.url.startsWith(up.s3!.endpoint)).toBe(true);
    // Real S3 refuses a part whose bytes or length differ from these signed headers (s3rver does not check).
    expect(new URL(res.body.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-md5;host');
    const put = await fetch(res.body.url, { method: 'PUT', body, headers: res.body.headers });
    expect(put.status).toBe(200);
    return put.headers.get('etag')!.replace(/"/g, '');
  }
  const listParts = (id: string, t = token) => up.stack.http.get(`/v1/uploads/direct/${id}/parts`).set(auth(t));
  const complete = (id: string, parts: { n: number; etag: string }[], t = token) => up.stack.http.post(`/v1/uploads/direct/${id}/complete`).set(auth(t)).send({ parts });
  const record = async (id: string) => (await up.stack.api.deps.ds.query(`SELECT * FROM direct_uploads WHERE id = $1`, [id]))[0];
  const s3 = () => up.stack.api.deps.store as S3ObjectStore;
  const multipartGone = async (key: string, uploadId: string) => {
    const err = await s3().client.send(new ListPartsCommand({ Bucket: s3().bucket, Key: key, UploadId: uploadId })).then(() => null, (e: Error) => e);
    return err?.name === 'NoSuchUpload';
  };

  test('the server offers direct uploads (capabilities) and answers CORS preflights for the page', async () => {
    const res = await up.stack.http.get('/v1/uploads/direct').set(auth());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ available: true, minPartSize: 5 * MiB, maxParts: 10_000, partChecksum: 'Content-MD5' });
    const pre = await up.stack.http.options('/v1/uploads/direct').set('Origin', 'http://app.example').set('Access-Control-Request-Method', 'POST');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-headers']).toMatch(/Authorization/);
    expect((await up.stack.http.get('/v1/uploads/direct')).status).toBe(401);
  });

  test('three parts, one dropped and resumed from the parts list; the batch migrates; completing again answers the same batch', async () => {
    const dump = bigDump(12 * MiB, 'direct-resume');
    const started = await startFor(dump.bytes);
    expect(started.status).toBe(201);
    const { uploadId, parts } = started.body;
    expect(parts).toBe(Math.ceil(dump.bytes.length / (5 * MiB)));
    expect(parts).toBeGreaterThanOrEqual(3);
    expect(started.headers.location).toBe(`/v1/uploads/direct/${uploadId}`);

    // Every part but the second; the second's connection dies mid-body (nothing of it is stored).
    const etags = new Map<number, string>();
    for (let n = 1; n <= parts; n++) if (n !== 2) etags.set(n, await putPart(uploadId, n, partOf(dump.bytes, n)));
    const url2 = (await presign(uploadId, 2, md5b64(partOf(dump.bytes, 2)))).body.url;
    const ctl = new AbortController();
    const dropped = fetch(url2, {
      method: 'PUT', signal: ctl.signal, duplex: 'half', headers: { 'Content-MD5': md5b64(partOf(dump.bytes, 2)) },
      body: new ReadableStream({ start(c) { c.enqueue(partOf(dump.bytes, 2).subarray(0, MiB)); ctl.abort(); } }),
    } as RequestInit);
    await expect(dropped).rejects.toThrow();

    // Completing now names the missing part and keeps the upload open.
    const early = await complete(uploadId, [...etags].map(([n, etag]) => ({ n, etag })));
    expect(early.status).toBe(400);
    expect(early.body.error).toMatchObject({ code: 'upload_parts_missing', details: { missing: [2] } });
    expect((await record(uploadId)).status).toBe('open');

    // The parts list is what a resuming client reads: every stored part, checked.
    const listed = await listParts(uploadId);
    expect(listed.status).toBe(200);
    expect(listed.body.stored.map((p: { n: number }) => p.n)).toEqual([...etags.keys()]);
    expect(listed.body.stored.every((p: { ok: boolean }) => p.ok)).toBe(true);
    expect(listed.body.stored[0]).toEqual({ n: 1, size: 5 * MiB, etag: md5hex(partOf(dump.bytes, 1)), ok: true });

    etags.set(2, await putPart(uploadId, 2, partOf(dump.bytes, 2)));
    const done = await complete(uploadId, [...etags].map(([n, etag]) => ({ n, etag })).sort((a, b) => a.n - b.n));
    expect(done.status).toBe(201);
    const batchId = done.body.batchId;
    expect(done.headers['migration-batch-id']).toBe(batchId);
    expect(done.body).toMatchObject({ statusUrl: `/v1/batches/${batchId}` });
    expect(await waitForBatch(up.stack, batchId, undefined, 60_000)).toBe('completed');

    const [batch] = await up.stack.api.deps.ds.query(`SELECT user_id, dump_key, dump_sha256, dump_bytes, entry_count FROM migration_batches WHERE id = $1`, [batchId]);
    expect(batch).toMatchObject({ user_id: USER, dump_sha256: dump.sha256, dump_bytes: String(dump.bytes.length), entry_count: dump.entries });
    expect((await readObject(up.stack, batch.dump_key)).equals(dump.bytes)).toBe(true);
    const [staged] = await up.stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM dump_entries WHERE batch_id = $1`, [batchId]);
    expect(staged.n).toBe(dump.entries);

    const again = await complete(uploadId, [{ n: 1, etag: 'x' }]);
    expect(again.status).toBe(200);
    expect(again.body.batchId).toBe(batchId);
    expect(await batchCount(up.stack, USER)).toBe(1);
    const gone = await presign(uploadId, 1, md5b64(partOf(dump.bytes, 1)));
    expect(gone.status).toBe(400);
    expect(gone.body.error.code).toBe('upload_finished');
  }, 120_000);

  test('what s3rver 3.7.1 verifies of a part: neither Content-MD5 nor x-amz-checksum-sha256 (so the server checks ETags)', async () => {
    // If this starts failing, s3rver (or its replacement) verifies part checksums itself: docs/http-api.md §2b.
    const dump = bigDump(6 * MiB, 'direct-probe');
    const { uploadId } = (await startFor(dump.bytes)).body;
    const part = partOf(dump.bytes, 1);
    const other = Buffer.from(part);
    other[0] ^= 0xff;
    const signed = (await presign(uploadId, 1, md5b64(part))).body;
    const withMd5 = await fetch(signed.url, { method: 'PUT', body: other, headers: signed.headers });
    expect(withMd5.status).toBe(200); // real S3: 400 BadDigest
    expect(withMd5.headers.get('etag')).toBe(`"${md5hex(other)}"`); // but the ETag is the MD5 of what it stored
    const withSha = await fetch(signed.url, { method: 'PUT', body: other, headers: { ...signed.headers, 'x-amz-checksum-sha256': createHash('sha256').update(part).digest('base64') } });
    expect(withSha.status).toBe(200); // real S3: 400 BadDigest
    expect((await up.stack.http.delete(`/v1/uploads/direct/${uploadId}`).set(auth())).status).toBe(204);
  });

  test('a part altered in transit is refused by number at completion; sent again, the upload completes', async () => {
    const dump = bigDump(6 * MiB, 'direct-corrupt');
    const { uploadId, parts } = (await startFor(dump.bytes)).body;
    expect(parts).toBe(2);
    const p1 = partOf(dump.bytes, 1);
    const flipped = Buffer.from(p1);
    flipped[12345] ^= 0xff; // same length, one byte changed: what S3 stores is not what the client hashed
    await putPart(uploadId, 1, p1, flipped);
    const e2 = await putPart(uploadId, 2, partOf(dump.bytes, 2));

    const listed = await listParts(uploadId);
    expect(listed.body.stored).toEqual([
      expect.objectContaining({ n: 1, ok: false, problem: 'digest_mismatch' }), expect.objectContaining({ n: 2, ok: true }),
    ]);
    const refused = await complete(uploadId, [{ n: 1, etag: md5hex(flipped) }, { n: 2, etag: e2 }]);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'upload_part_digest_mismatch', details: { parts: [1] } });
    expect(await batchCount(up.stack, USER)).toBe(1); // only the earlier test's

    const e1 = await putPart(uploadId, 1, p1);
    const done = await complete(uploadId, [{ n: 1, etag: e1 }, { n: 2, etag: e2 }]);
    expect(done.status).toBe(201);
    expect(await waitForBatch(up.stack, done.body.batchId, undefined, 60_000)).toBe('completed');
  }, 120_000);

  test('a wrong whole digest is refused at completion: no batch, no object, no record', async () => {
    const dump = bigDump(6 * MiB, 'direct-digest');
    const before = await batchCount(up.stack, USER);
    const { uploadId } = (await startFor(dump.bytes, { sha256: sha256(Buffer.from('something else')) })).body;
    const key = (await record(uploadId)).object_key;
    const etags = [await putPart(uploadId, 1, partOf(dump.bytes, 1)), await putPart(uploadId, 2, partOf(dump.bytes, 2))];
    const res = await complete(uploadId, etags.map((etag, i) => ({ n: i + 1, etag })));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'upload_digest_mismatch', details: { actual: dump.sha256 } });
    expect(await batchCount(up.stack, USER)).toBe(before);
    expect(await record(uploadId)).toBeUndefined();
    expect(await up.stack.api.deps.store.head(key)).toBeNull();
    expect((await listParts(uploadId)).status).toBe(404);
  }, 60_000);

  test('bounds: part size under 5 MiB, part number out of range, a short part, a bad MD5, a bad start', async () => {
    const dump = bigDump(6 * MiB, 'direct-bounds');
    const small = await startFor(dump.bytes, { partSize: MiB });
    expect(small.status).toBe(400);
    expect(small.body.error.code).toBe('invalid_part_size');
    const bad = await start({ filename: 'd', contentType: 'text/plain', sha256: 'zz', size: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_direct_upload');
    expect(bad.body.error.details.issues.map((i: { field: string }) => i.field).sort()).toEqual(['contentType', 'sha256', 'size']);
    const huge = await startFor(dump.bytes, { size: up.stack.config.UPLOAD_MAX_BYTES + 1 });
    expect(huge.status).toBe(413);

    const { uploadId } = (await startFor(dump.bytes)).body;
    for (const n of [0, 3, 'x']) {
      const res = await presign(uploadId, n, md5b64(Buffer.from('x')));
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'part_out_of_range', details: { parts: 2 } });
    }
    const noMd5 = await presign(uploadId, 1, 'not-an-md5');
    expect(noMd5.status).toBe(400);
    expect(noMd5.body.error.code).toBe('invalid_part_md5');

    // Part 1 four MiB short of its 5 MiB: not the last part, so refused by size (S3 itself: EntityTooSmall).
    const short = partOf(dump.bytes, 1).subarray(0, MiB);
    const e1 = await putPart(uploadId, 1, short, short, 5 * MiB); // the URL is for 5 MiB; s3rver takes 1
    const e2 = await putPart(uploadId, 2, partOf(dump.bytes, 2));
    const res = await complete(uploadId, [{ n: 1, etag: e1 }, { n: 2, etag: e2 }]);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'upload_part_size_mismatch', details: { parts: [{ n: 1, expected: 5 * MiB, actual: MiB }] } });
    expect((await record(uploadId)).status).toBe('open');
  }, 60_000);

  test("another user's upload answers 404 everywhere; abort removes the multipart upload and the record", async () => {
    const dump = bigDump(6 * MiB, 'direct-abort');
    const { uploadId } = (await startFor(dump.bytes)).body;
    const row = await record(uploadId);
    await putPart(uploadId, 1, partOf(dump.bytes, 1));
    for (const res of [
      await listParts(uploadId, other), await presign(uploadId, 1, md5b64(partOf(dump.bytes, 1)), other), await complete(uploadId, [{ n: 1, etag: 'x' }], other),
      await up.stack.http.delete(`/v1/uploads/direct/${uploadId}`).set(auth(other)),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect(await multipartGone(row.object_key, row.s3_upload_id)).toBe(false);

    const del = await up.stack.http.delete(`/v1/uploads/direct/${uploadId}`).set(auth());
    expect(del.status).toBe(204);
    expect(await record(uploadId)).toBeUndefined();
    expect(await multipartGone(row.object_key, row.s3_upload_id)).toBe(true);
    expect((await listParts(uploadId)).status).toBe(404);
  }, 60_000);

  test('the clean-up aborts expired direct uploads and deletes their records; others stay', async () => {
    const dump = bigDump(6 * MiB, 'direct-cleanup');
    const expired = (await startFor(dump.bytes)).body.uploadId;
    const fresh = (await startFor(dump.bytes)).body.uploadId;
    await putPart(expired, 1, partOf(dump.bytes, 1));
    const row = await record(expired);
    await up.stack.api.deps.ds.query(`UPDATE direct_uploads SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired]);
    expect((await listParts(expired)).status).toBe(410);

    const { ds, store } = up.stack.api.deps;
    const report = await runCleanup({ ds, store, config: up.stack.config, log: createLogger('silent') });
    expect(report.expiredDirectUploads).toBe(1);
    expect(await record(expired)).toBeUndefined();
    expect(await multipartGone(row.object_key, row.s3_upload_id)).toBe(true);
    expect((await record(fresh)).status).toBe('open');
  }, 60_000);
});

describe('direct-to-S3 uploads (fs driver)', () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack({ workers: false });
    token = await stack.mintToken('direct-fs');
  }, 60_000);
  afterAll(() => stack?.close());

  test('not offered: capabilities say so, the other routes answer 404 direct_upload_unavailable', async () => {
    const caps = await stack.http.get('/v1/uploads/direct').set('Authorization', `Bearer ${token}`);
    expect(caps.status).toBe(200);
    expect(caps.body).toMatchObject({ available: false });
    const res = await stack.http.post('/v1/uploads/direct').set('Authorization', `Bearer ${token}`)
      .send({ filename: 'd.ndjson', contentType: 'application/x-ndjson', sha256: 'a'.repeat(64), size: 10 });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('direct_upload_unavailable');
    const [row] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM direct_uploads`);
    expect(row.n).toBe(0);
  });
});
