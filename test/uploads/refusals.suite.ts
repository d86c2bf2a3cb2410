/**
 * Everything an upload must refuse, for one storage driver: each refusal is a clean JSON error with the
 * status tus prescribes, and none leaves a batch behind.
 */
import {
  MiB, bigDump, createUpload, metadataHeader, ndjsonMeta, offsetOf, patchHeaders, refusalOf, sha256, startUploadStack,
  tusRequest, tusUpload, uploadKeyOf, backdateUpload, batchCount, type Driver, type UploadStack,
} from './harness';
import { TEST_ADMIN_TOKEN } from '../helpers/stack';

export function runUploadRefusals(driver: Driver): void {
  describe(`upload refusals (${driver} driver)`, () => {
    let up: UploadStack;
    let base: string;
    let token: string;
    let other: string;
    const USER = `refusals-${driver}`;

    beforeAll(async () => {
      up = await startUploadStack(driver, { workers: false });
      base = up.stack.api.url;
      token = await up.stack.mintToken(USER);
      other = await up.stack.mintToken(`${USER}-other`);
    }, 60_000);
    afterAll(async () => {
      // Whatever was tried above, no batch was ever created.
      expect(await batchCount(up.stack, USER)).toBe(0);
      await up?.close();
    });

    test('a wrong digest: the last PATCH gets 400, the upload is deleted, no batch', async () => {
      const dump = bigDump(1.5 * MiB, `${driver}-digest`);
      const wrong = sha256(Buffer.from('something else'));
      const err = await tusUpload(base, token, dump.bytes, { metadata: ndjsonMeta(wrong) }).catch((e: unknown) => e);
      const { status, body } = refusalOf(err);
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ code: 'upload_digest_mismatch', details: { expected: wrong, actual: dump.sha256 } });
      expect(body.error!.message).toMatch(/no batch was created/);
      const url = (err as { originalRequest: { getURL(): string } }).originalRequest.getURL();
      expect((await tusRequest(url, 'HEAD', { token })).status).toBe(404);
      for (const key of [uploadKeyOf(url), `${uploadKeyOf(url)}.info`]) expect(await up.stack.api.deps.store.head(key)).toBeNull();
    });

    test('a valid digest of something that is not a dump: 400 with the format error, no batch', async () => {
      const bytes = Buffer.from('{"format":"browser-storage-dump","version":1,"source":{"capturedAt":"2026-01-01T00:00:00Z"}}\n{"area":"localStorage","key":"a","value":"b"}\n');
      const err = await tusUpload(base, token, bytes).catch((e: unknown) => e);
      const { status, body } = refusalOf(err);
      expect(status).toBe(400);
      expect(body.error?.code).toMatch(/^dump_/); // the trailer is missing: truncated
    });

    test('a wrong offset: 409, the upload unchanged', async () => {
      const url = await createUpload(base, token, 1000, ndjsonMeta('a'.repeat(64)));
      expect((await tusRequest(url, 'PATCH', { token, headers: patchHeaders(0), body: Buffer.alloc(100, 1) })).status).toBe(204);
      const res = await tusRequest(url, 'PATCH', { token, headers: patchHeaders(50), body: Buffer.alloc(100, 2) });
      expect(res.status).toBe(409);
      expect(res.body.error?.code).toBe('upload_offset_conflict');
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(res.headers.get('tus-resumable')).toBe('1.0.0');
      expect(await offsetOf(url, token)).toBe(100);
    });

    test('an expired upload: PATCH and HEAD get 410', async () => {
      const url = await createUpload(base, token, 1000, ndjsonMeta('b'.repeat(64)));
      expect((await tusRequest(url, 'PATCH', { token, headers: patchHeaders(0), body: Buffer.alloc(100, 1) })).status).toBe(204);
      await backdateUpload(up.stack, url, (up.stack.config.UPLOAD_EXPIRY_HOURS + 1) * 3600_000);
      const res = await tusRequest(url, 'PATCH', { token, headers: patchHeaders(100), body: Buffer.alloc(100, 1) });
      // "the Server SHOULD respond with the 410 Gone status ... if the Server is keeping track of expired uploads"
      expect(res.status).toBe(410);
      expect(res.body.error?.code).toBe('upload_expired');
      expect((await tusRequest(url, 'HEAD', { token })).status).toBe(410);
    });

    test('a chunk past the declared length: 413, nothing written', async () => {
      const url = await createUpload(base, token, 10, ndjsonMeta('c'.repeat(64)));
      const res = await tusRequest(url, 'PATCH', { token, headers: patchHeaders(0), body: Buffer.alloc(20, 1) });
      expect(res.status).toBe(413);
      expect(res.body.error?.code).toBe('upload_length_exceeded');
      expect(await offsetOf(url, token)).toBe(0);
    });

    test('a PATCH with another Content-Type, or none: 415, nothing written', async () => {
      const url = await createUpload(base, token, 1000, ndjsonMeta('9'.repeat(64)));
      for (const type of ['application/octet-stream', 'application/offset+octet-stream; charset=utf-8', 'text/plain', undefined]) {
        const headers: Record<string, string> = { 'Upload-Offset': '0', ...(type ? { 'Content-Type': type } : {}) };
        const res = await tusRequest(url, 'PATCH', { token, headers, body: Buffer.alloc(100, 1) });
        // "otherwise the server SHOULD return a 415 Unsupported Media Type status" (tus 1.0.0, PATCH)
        expect({ type, status: res.status, code: res.body.error?.code }).toEqual({ type, status: 415, code: 'invalid_content_type' });
        expect(res.headers.get('tus-resumable')).toBe('1.0.0');
      }
      expect(await offsetOf(url, token)).toBe(0);
    });

    test('an Upload-Length over UPLOAD_MAX_BYTES: 413 at creation', async () => {
      const res = await tusRequest(`${base}/v1/uploads`, 'POST', {
        token, headers: { 'Upload-Length': String(up.stack.config.UPLOAD_MAX_BYTES + 1), 'Upload-Metadata': metadataHeader(ndjsonMeta('d'.repeat(64))) },
      });
      expect(res.status).toBe(413);
      expect(res.body.error?.code).toBe('upload_too_large');
    });

    test('a chunk without a valid token: 401, the upload unchanged', async () => {
      const url = await createUpload(base, token, 1000, ndjsonMeta('e'.repeat(64)));
      const none = await tusRequest(url, 'PATCH', { token: null, headers: patchHeaders(0), body: Buffer.alloc(100, 1) });
      expect(none.status).toBe(401);
      expect(none.body.error?.code).toBe('unauthorized');
      expect(none.headers.get('tus-resumable')).toBe('1.0.0');
      const bad = await tusRequest(url, 'PATCH', { token: 'bsm_not-a-token', headers: patchHeaders(0), body: Buffer.alloc(100, 1) });
      expect(bad.status).toBe(401);
      expect(bad.body.error?.code).toBe('invalid_token');
      expect(await offsetOf(url, token)).toBe(0);
    });

    test("another user's upload is not found (404) for every method; the admin token is not an uploader (403)", async () => {
      const url = await createUpload(base, token, 1000, ndjsonMeta('f'.repeat(64)));
      for (const method of ['HEAD', 'PATCH', 'DELETE']) {
        const res = await tusRequest(url, method, { token: other, headers: method === 'PATCH' ? patchHeaders(0) : {}, body: method === 'PATCH' ? Buffer.alloc(10) : undefined });
        expect(res.status).toBe(404);
      }
      expect(await offsetOf(url, token)).toBe(0);
      expect((await tusRequest(url, 'HEAD', { token: TEST_ADMIN_TOKEN })).status).toBe(403);
    });

    test('missing or invalid metadata: 400 at creation, nothing created', async () => {
      const cases: [Record<string, string>, RegExp][] = [
        [{ filename: 'd.ndjson', contentType: 'application/x-ndjson' }, /Missing: sha256/],
        [ndjsonMeta('xyz'), /sha256/],
        [{ ...ndjsonMeta('a'.repeat(64)), contentType: 'text/csv' }, /contentType/],
        [{ contentType: 'application/json', sha256: 'a'.repeat(64) }, /Missing: filename/],
        [{ ...ndjsonMeta('a'.repeat(64)), websiteId: 'site\u0000one' }, /websiteId must not contain U\+0000/],
      ];
      for (const [meta, message] of cases) {
        const res = await tusRequest(`${base}/v1/uploads`, 'POST', { token, headers: { 'Upload-Length': '100', 'Upload-Metadata': metadataHeader(meta) } });
        expect(res.status).toBe(400);
        expect(res.body.error?.code).toBe('invalid_upload_metadata');
        expect(res.body.error?.message).toMatch(message);
        expect(res.headers.get('location')).toBeNull();
      }
    });

    test('the owner is set by the server: a client-sent userId is replaced', async () => {
      const url = await createUpload(base, token, 1000, { ...ndjsonMeta('0'.repeat(64)), userId: `${USER}-other` });
      const head = await tusRequest(url, 'HEAD', { token });
      expect(head.status).toBe(200);
      const meta = Object.fromEntries(head.headers.get('upload-metadata')!.split(',').map((p) => {
        const [k, v] = p.split(' ');
        return [k, Buffer.from(v ?? '', 'base64').toString()];
      }));
      expect(meta.userId).toBe(USER);
      expect((await tusRequest(url, 'HEAD', { token: other })).status).toBe(404);
    });

    test('requests without Tus-Resumable get 412 in the JSON error form', async () => {
      const res = await fetch(`${base}/v1/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Upload-Length': '10' } });
      expect(res.status).toBe(412);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('tus_version_required');
    });
  });
}
