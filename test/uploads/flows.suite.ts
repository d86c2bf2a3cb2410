/**
 * Resumable uploads end to end, for one storage driver: 1 MiB chunks, a connection dropped mid-chunk,
 * resumption from the server's offset, the migration completed from the uploaded bytes; two API instances
 * serving one upload (and taking its lock from each other); creation-with-upload; duplicates.
 */
import { until } from '../helpers/locks';
import { request } from 'node:http';
import {
  MiB, bigDump, createUpload, ndjsonMeta, offsetOf, onApi, patchHeaders, readObject, sha256, startSecondApi, startUploadStack,
  tusRequest, tusUpload, uploadKeyOf, type Driver, type UploadStack,
} from './harness';
import { waitForBatch } from '../helpers/stack';
import { catalystDump } from '../fixtures/catalystDump';

export function runUploadFlows(driver: Driver): void {
  describe(`resumable uploads (${driver} driver)`, () => {
    let up: UploadStack;
    let token: string;
    const USER = `flows-${driver}`;

    beforeAll(async () => {
      up = await startUploadStack(driver);
      token = await up.stack.mintToken(USER);
    }, 60_000);
    afterAll(() => up?.close());

    test('1 MiB chunks, connection dropped mid-chunk, resumed from HEAD offset, migration completed', async () => {
      const base = up.stack.api.url;
      const dump = bigDump(3.5 * MiB, `${driver}-drop`);
      expect(dump.bytes.length).toBeGreaterThan(3 * MiB);

      // First half with the client, in 1 MiB chunks; the client stops once half is accepted.
      const half = Math.floor(dump.bytes.length / 2);
      const first = await tusUpload(base, token, dump.bytes, { stopAfter: half });
      expect(first.stopped).toBe(true);
      const accepted = await offsetOf(first.url, token);
      expect(accepted).toBeGreaterThanOrEqual(half);

      // Then a chunk whose connection dies part-way: the socket is destroyed after 300 KiB of 1 MiB.
      await dropMidChunk(first.url, token, accepted, dump.bytes.subarray(accepted, accepted + MiB), 300 * 1024);

      // The server's offset is the truth: at least what was accepted, short of the end.
      const resumeAt = await offsetOf(first.url, token);
      expect(resumeAt).toBeGreaterThanOrEqual(accepted);
      expect(resumeAt).toBeLessThan(dump.bytes.length);

      const rest = await tusUpload(base, token, dump.bytes, { uploadUrl: first.url });
      expect(rest.stopped).toBe(false);
      expect(rest.batchId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await waitForBatch(up.stack, rest.batchId!, undefined, 60_000)).toBe('completed');

      // The batch reads a sealed copy of the uploaded bytes (the plain upload is gone), exactly the dump's.
      const [batch] = await up.stack.api.deps.ds.query(
        `SELECT dump_key, dump_sha256, dump_bytes, entry_count, notes->>'requestId' AS request_id FROM migration_batches WHERE id = $1`, [rest.batchId],
      );
      expect(batch.dump_key).toMatch(/^dumps\/.*\.sealed$/);
      await until(async () => (await up.stack.api.deps.store.head(uploadKeyOf(first.url))) === null); // plain bytes go after a grace period
      expect(batch).toMatchObject({ dump_sha256: dump.sha256, dump_bytes: String(dump.bytes.length), entry_count: dump.entries });
      expect(batch.request_id).toEqual(expect.any(String)); // the final PATCH's X-Request-Id, for support tickets
      expect((await readObject(up.stack, batch.dump_key)).equals(dump.bytes)).toBe(true); // readObject unseals
      const [staged] = await up.stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM dump_entries WHERE batch_id = $1`, [rest.batchId]);
      expect(staged.n).toBe(dump.entries);
    }, 90_000);

    test('two API instances serve halves of one upload and take its lock from each other', async () => {
      const a = up.stack.api.url;
      const b = await startSecondApi(up.stack);
      try {
        const dump = bigDump(3.5 * MiB, `${driver}-two`);
        const first = await tusUpload(a, token, dump.bytes, { stopAfter: 2 * MiB });
        const onB = onApi(first.url, b.url);
        expect(await offsetOf(onB, token)).toBe(await offsetOf(first.url, token));

        // A PATCH on A that stalls mid-body holds the upload's lock (in Redis) ...
        const offset = await offsetOf(first.url, token);
        const stalled = stalledPatch(first.url, token, offset, dump.bytes.subarray(offset), 64 * 1024);
        await waitForLock(up, uploadKeyOf(first.url));
        // ... until B asks for it: A's request is cancelled and ends before B's HEAD gets the lock.
        const head = await tusRequest(onB, 'HEAD', { token });
        const headAt = Date.now();
        expect(head.status).toBe(200);
        const stalledEndedAt = await stalled;
        expect(stalledEndedAt).toBeLessThanOrEqual(headAt);

        const rest = await tusUpload(b.url, token, dump.bytes, { uploadUrl: onB });
        expect(rest.batchId).toBeTruthy();
        expect(await waitForBatch(up.stack, rest.batchId!, undefined, 60_000)).toBe('completed');
        const [batch] = await up.stack.api.deps.ds.query(`SELECT dump_key FROM migration_batches WHERE id = $1`, [rest.batchId]);
        expect((await readObject(up.stack, batch.dump_key)).equals(dump.bytes)).toBe(true);
      } finally {
        await b.close();
      }
    }, 90_000);

    test('creation-with-upload of a whole JSON document (§1a) creates the batch in the POST', async () => {
      const doc = catalystDump();
      doc.source = { ...doc.source, capturedAt: `2026-11-28T10:00:0${driver === 'fs' ? 1 : 2}.000Z` };
      const bytes = Buffer.from(JSON.stringify(doc));
      const meta = { filename: 'dump.json', contentType: 'application/json', sha256: sha256(bytes), websiteId: 'website_hint_1' };
      const res = await tusUpload(up.stack.api.url, token, bytes, { metadata: meta, withCreation: true, chunkSize: 10 * MiB });
      expect(res.batchId).toBeTruthy();
      const [batch] = await up.stack.api.deps.ds.query(`SELECT encoding, website_hint FROM migration_batches WHERE id = $1`, [res.batchId]);
      expect(batch).toEqual({ encoding: 'json', website_hint: 'website_hint_1' });
      expect(await waitForBatch(up.stack, res.batchId!, undefined, 60_000)).toBe('completed');
    }, 60_000);

    test('the same dump uploaded twice returns the first batch and drops the second copy', async () => {
      const dump = bigDump(MiB, `${driver}-dup`);
      const one = await tusUpload(up.stack.api.url, token, dump.bytes);
      const two = await tusUpload(up.stack.api.url, token, dump.bytes);
      expect(two.batchId).toBe(one.batchId);
      expect(await up.stack.api.deps.store.head(uploadKeyOf(two.url))).toBeNull();
      expect(await up.stack.api.deps.store.head(uploadKeyOf(one.url))).not.toBeNull();
      expect((await tusRequest(two.url, 'HEAD', { token })).status).toBe(404);
      await waitForBatch(up.stack, one.batchId!, undefined, 60_000);
    }, 60_000);

    test('a finished upload cannot be terminated; an unfinished one can', async () => {
      const dump = bigDump(MiB, `${driver}-term`);
      const done = await tusUpload(up.stack.api.url, token, dump.bytes);
      const refused = await tusRequest(done.url, 'DELETE', { token });
      expect(refused.status).toBe(400);
      expect(refused.body.error?.code).toBe('upload_finished');
      await waitForBatch(up.stack, done.batchId!, undefined, 60_000);

      const url = await createUpload(up.stack.api.url, token, 1000, ndjsonMeta('0'.repeat(64)));
      expect((await tusRequest(url, 'PATCH', { token, headers: patchHeaders(0), body: Buffer.alloc(100, 1) })).status).toBe(204);
      expect((await tusRequest(url, 'DELETE', { token })).status).toBe(204);
      expect((await tusRequest(url, 'HEAD', { token })).status).toBe(404);
      for (const key of [uploadKeyOf(url), `${uploadKeyOf(url)}.info`]) expect(await up.stack.api.deps.store.head(key)).toBeNull();
    });
  });
}

/** Sends `sent` bytes of a PATCH that announced `chunk.length`, then destroys the socket. */
function dropMidChunk(url: string, token: string, offset: number, chunk: Buffer, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}`, ...patchHeaders(offset), 'Content-Length': String(chunk.length) },
    });
    req.on('error', () => resolve()); // expected: we hang up
    req.on('response', (r) => r.resume().on('end', () => resolve()));
    req.write(chunk.subarray(0, sent), () => req.destroy());
  });
}

/** A PATCH that sends `sent` bytes and then waits; resolves with the time its exchange ended. */
function stalledPatch(url: string, token: string, offset: number, rest: Buffer, sent: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}`, ...patchHeaders(offset), 'Content-Length': String(rest.length) },
    });
    const ended = () => {
      resolve(Date.now());
      req.destroy();
    };
    req.on('response', (r) => r.resume().on('end', ended));
    req.on('error', ended);
    req.on('close', ended);
    req.write(rest.subarray(0, sent));
  });
}

/** Waits until some API process holds the upload's lock in Redis. */
async function waitForLock(up: UploadStack, key: string): Promise<void> {
  const lockKey = `${up.stack.config.QUEUE_PREFIX}:tus:lock:${key}`;
  const deadline = Date.now() + 10_000;
  while (!(await up.stack.api.deps.redis.exists(lockKey))) {
    if (Date.now() > deadline) throw new Error('the stalled PATCH never took the lock');
    await new Promise((r) => setImmediate(r));
  }
}

