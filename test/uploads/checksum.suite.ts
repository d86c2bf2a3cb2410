/**
 * tus Checksum extension, for one storage driver: a chunk whose bytes do not match its Upload-Checksum is
 * refused with 460 at that chunk, the offset unchanged (also when the chunk is big enough to become an S3
 * part, and when it is the last one); the same chunk sent correctly is accepted and the upload migrates.
 * The header stays optional.
 */
import { createHash } from 'node:crypto';
import { expectBatchEnds } from '../helpers/stack';
import {
  MiB, batchCount, bigDump, createUpload, metadataHeader, ndjsonMeta, offsetOf, patchHeaders, startUploadStack, tusRequest, type Driver, type UploadStack,
} from './harness';

function checksum(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm} ${createHash(algorithm).update(bytes).digest('base64')}`;
}

/** The chunk with one byte changed, as a flipped bit in transit would. */
function corrupted(chunk: Buffer): Buffer {
  const bad = Buffer.from(chunk);
  bad[bad.length >> 1] ^= 0x20;
  return bad;
}

export function runChecksumUploads(driver: Driver): void {
  describe(`per-chunk checksums (${driver} driver)`, () => {
    let up: UploadStack;
    let token: string;
    const USER = `checksum-${driver}`;

    beforeAll(async () => {
      up = await startUploadStack(driver);
      token = await up.stack.mintToken(USER);
    }, 60_000);
    afterAll(() => up?.close());

    test('OPTIONS advertises the checksum extension and its algorithms; browsers may send the header', async () => {
      const res = await fetch(`${up.stack.api.url}/v1/uploads`, { method: 'OPTIONS', headers: { Origin: 'http://elsewhere.example', 'Access-Control-Request-Method': 'PATCH' } });
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('tus-extension')!.split(',')).toContain('checksum');
      expect(res.headers.get('tus-checksum-algorithm')!.split(',')).toEqual(expect.arrayContaining(['sha256', 'sha1']));
      expect(res.headers.get('access-control-allow-headers')).toMatch(/Upload-Checksum/i);
    });

    test('a corrupted chunk gets 460 at that chunk, offset unchanged; resent correctly, the upload migrates', async () => {
      const dump = bigDump(7.5 * MiB, `${driver}-sum`);
      const url = await createUpload(up.stack.api.url, token, dump.bytes.length, ndjsonMeta(dump.sha256));
      // Chunks: 6 MiB (a whole S3 part), 1 MiB without the header (optional), the rest (the last one).
      const cuts = [0, 6 * MiB, 7 * MiB, dump.bytes.length];
      for (let i = 0; i < cuts.length - 1; i++) {
        const chunk = dump.bytes.subarray(cuts[i], cuts[i + 1]);
        if (i !== 1) {
          const bad = await tusRequest(url, 'PATCH', { token, headers: { ...patchHeaders(cuts[i]), 'Upload-Checksum': checksum(chunk) }, body: corrupted(chunk) });
          expect(bad.status).toBe(460);
          expect(bad.body.error).toMatchObject({ code: 'checksum_mismatch', details: { algorithm: 'sha256', expected: checksum(chunk).split(' ')[1] } });
          expect(bad.body.error!.message).toMatch(/not stored/);
          expect(await offsetOf(url, token)).toBe(cuts[i]);
          expect(await batchCount(up.stack, USER)).toBe(0); // the last chunk did not finish the upload
        }
        const headers: Record<string, string> = { ...patchHeaders(cuts[i]), ...(i === 1 ? {} : { 'Upload-Checksum': checksum(chunk, i === 2 ? 'sha1' : 'sha256') }) };
        const good = await tusRequest(url, 'PATCH', { token, headers, body: chunk });
        expect(good.status).toBe(204);
        expect(Number(good.headers.get('upload-offset'))).toBe(cuts[i + 1]);
        if (i === cuts.length - 2) {
          const batchId = good.headers.get('migration-batch-id');
          expect(batchId).toMatch(/^[0-9a-f-]{36}$/);
          await expectBatchEnds(up.stack, batchId!);
          const [b] = await up.stack.api.deps.ds.query(`SELECT dump_sha256, entry_count FROM migration_batches WHERE id = $1`, [batchId]);
          expect(b).toEqual({ dump_sha256: dump.sha256, entry_count: dump.entries });
        }
      }
    }, 120_000);

    test('a creation whose first chunk is refused (a checksum mismatch) answers without a Location and leaves no upload behind; bytes past Upload-Length are named as such', async () => {
      const dump = bigDump(1.5 * MiB, `${driver}-first`);
      const redis = up.stack.api.deps.redis;
      const records = async () => (await redis.keys(`${up.stack.config.QUEUE_PREFIX}:tus:upload:*`)).length;
      const before = await records();
      const batches = await batchCount(up.stack, USER);
      const create = (headers: Record<string, string>, body: Buffer) => tusRequest(`${up.stack.api.url}/v1/uploads`, 'POST', {
        token, body, headers: { 'Upload-Length': String(dump.bytes.length), 'Upload-Metadata': metadataHeader(ndjsonMeta(dump.sha256)), 'Content-Type': 'application/offset+octet-stream', ...headers },
      });
      const chunk = dump.bytes.subarray(0, MiB);
      const mismatch = await create({ 'Upload-Checksum': checksum(chunk) }, corrupted(chunk));
      expect(mismatch.status).toBe(460);
      expect(mismatch.headers.get('location')).toBeNull();
      expect(await records()).toBe(before);
      expect(await batchCount(up.stack, USER)).toBe(batches);
      // Past Upload-Length: the upload's declared bytes arrived (and finished it); the rest is refused as
      // what it is, not as an upload over the maximum size.
      const past = await create({}, Buffer.concat([dump.bytes, Buffer.from('more')]));
      expect(past.status).toBe(413);
      expect(past.body.error).toMatchObject({ code: 'upload_length_exceeded' });
    });

    test('an unsupported algorithm or a malformed header: 400 before anything is written', async () => {
      const url = await createUpload(up.stack.api.url, token, 1000, ndjsonMeta('e'.repeat(64)));
      const body = Buffer.alloc(100, 7);
      for (const value of [`md5 ${createHash('md5').update(body).digest('base64')}`, 'sha256', `sha256 ${Buffer.alloc(5).toString('base64')}`]) {
        const res = await tusRequest(url, 'PATCH', { token, headers: { ...patchHeaders(0), 'Upload-Checksum': value }, body });
        expect(res.status).toBe(400);
        expect(res.body.error?.code).toBe('invalid_upload_checksum');
      }
      expect(await offsetOf(url, token)).toBe(0);
      await tusRequest(url, 'DELETE', { token });
    });
  });
}
