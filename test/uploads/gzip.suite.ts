/**
 * gzip dumps through resumable uploads (metadata contentEncoding gzip), for one storage driver: an NDJSON
 * and a JSON dump migrate to the same rows as the uncompressed dump; the stored object is the compressed
 * upload, sealed, and nothing inflated is ever stored; a bomb (inflates past INFLATED_DUMP_MAX_BYTES) is
 * refused at the final PATCH with 413 and leaves nothing; bytes that are not gzip get 400.
 */
import { gzipSync } from 'node:zlib';
import { until } from '../helpers/locks';
import { expectBatchEnds, type Stack } from '../helpers/stack';
import { catalystDump, toNdjson } from '../fixtures/catalystDump';
import { dumpObjectKey } from '../../jobs/dumpObjects';
import {
  MiB, batchCount, bigDump, createUpload, ndjsonMeta, readObject, refusalOf, sha256, startUploadStack, tusRequest, tusUpload,
  uploadKeyOf, type Driver, type UploadStack,
} from './harness';

const LIMIT = 4 * MiB;

/** Every object key in the store under `prefix`. */
async function keysUnder(stack: Stack, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of stack.api.deps.store.list(prefix)) out.push(o.key);
  return out.sort();
}

/** What the batch made: every row it meant to have, with its checksum and the entry it came from. */
async function rowsOf(stack: Stack, batchId: string): Promise<unknown[]> {
  return stack.api.deps.ds.query(`SELECT table_name, row_id, checksum, entry_seq FROM batch_rows WHERE batch_id = $1 ORDER BY table_name, row_id`, [batchId]);
}

export function runGzipUploads(driver: Driver): void {
  describe(`gzip resumable uploads (${driver} driver)`, () => {
    let up: UploadStack;
    let token: string;
    const USER = `gzip-${driver}`;

    beforeAll(async () => {
      up = await startUploadStack(driver, { config: { INFLATED_DUMP_MAX_BYTES: String(LIMIT) } });
      token = await up.stack.mintToken(USER);
    }, 60_000);
    afterAll(() => up?.close());

    test('a gzip NDJSON dump migrates like the plain one; only the compressed upload is stored, sealed', async () => {
      const base = up.stack.api.url;
      const dump = bigDump(1.5 * MiB, `${driver}-gz`);
      const plain = await tusUpload(base, token, dump.bytes);
      await expectBatchEnds(up.stack, plain.batchId!);

      const gz = gzipSync(dump.bytes);
      expect(gz.length).toBeLessThan(dump.bytes.length / 10);
      // Several PATCHes; the declared sha256 is that of the compressed bytes, as uploaded.
      const res = await tusUpload(base, token, gz, { chunkSize: 8 * 1024, metadata: ndjsonMeta(sha256(gz), { contentEncoding: 'gzip' }) });
      expect(res.batchId).toBeTruthy();
      expect(res.batchId).not.toBe(plain.batchId);
      await expectBatchEnds(up.stack, res.batchId!);

      const [batch] = await up.stack.api.deps.ds.query(`SELECT dump_key, dump_sha256, dump_bytes, entry_count FROM migration_batches WHERE id = $1`, [res.batchId]);
      const sealedKey = dumpObjectKey(USER, sha256(gz), 'ndjson', 'gzip');
      expect(batch).toEqual({ dump_key: sealedKey, dump_sha256: sha256(gz), dump_bytes: String(gz.length), entry_count: dump.entries });
      expect(sealedKey).toMatch(/\.ndjson\.gz\.sealed$/);
      // The stored object unseals to the compressed bytes exactly: stored as uploaded, not inflated.
      expect((await readObject(up.stack, sealedKey)).equals(gz)).toBe(true);
      // Staged the same entries as the plain dump, and made the same rows.
      const entries = (id: string) => up.stack.api.deps.ds.query(`SELECT seq, area, entry_key, kind, value_bytes FROM dump_entries WHERE batch_id = $1 ORDER BY seq`, [id]);
      expect(await entries(res.batchId!)).toEqual(await entries(plain.batchId!));
      const rows = await rowsOf(up.stack, res.batchId!);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows).toEqual(await rowsOf(up.stack, plain.batchId!));

      // Nothing else of the gzip upload stays: its plain upload object goes after the grace period, and the
      // user's dumps are exactly the two sealed objects (no inflated copy anywhere in the store).
      await until(async () => (await up.stack.api.deps.store.head(uploadKeyOf(res.url))) === null);
      const userDir = sealedKey.slice(0, sealedKey.lastIndexOf('/') + 1);
      expect(await keysUnder(up.stack, userDir)).toEqual([dumpObjectKey(USER, dump.sha256, 'ndjson'), sealedKey].sort());
    }, 120_000);

    test('a gzip JSON document (§1a) migrates', async () => {
      const doc = catalystDump();
      doc.source = { ...doc.source, capturedAt: `2026-11-29T10:00:0${driver === 'fs' ? 1 : 2}.000Z` };
      const gz = gzipSync(Buffer.from(JSON.stringify(doc)));
      const meta = { filename: 'dump.json.gz', contentType: 'application/json', sha256: sha256(gz), contentEncoding: 'gzip' };
      const res = await tusUpload(up.stack.api.url, token, gz, { metadata: meta });
      await expectBatchEnds(up.stack, res.batchId!);
      const [batch] = await up.stack.api.deps.ds.query(`SELECT encoding, dump_key FROM migration_batches WHERE id = $1`, [res.batchId]);
      expect(batch).toEqual({ encoding: 'json', dump_key: dumpObjectKey(USER, sha256(gz), 'json', 'gzip') });
      // The same document uncompressed, as another user's batch, yields as many rows per table.
      const other = await up.stack.mintToken(`${USER}-json-plain`);
      const plainBytes = Buffer.from(JSON.stringify(doc));
      const plain = await tusUpload(up.stack.api.url, other, plainBytes, { metadata: { ...meta, sha256: sha256(plainBytes), contentEncoding: '' } });
      await expectBatchEnds(up.stack, plain.batchId!);
      const perTable = (id: string) => up.stack.api.deps.ds.query(`SELECT table_name, count(*)::int AS n FROM batch_rows WHERE batch_id = $1 GROUP BY 1 ORDER BY 1`, [id]);
      const counts = await perTable(res.batchId!);
      expect(counts.length).toBeGreaterThan(0);
      expect(counts).toEqual(await perTable(plain.batchId!));
    }, 120_000);

    test('a zip bomb is refused at the final PATCH with 413: upload deleted, no batch, nothing stored', async () => {
      const user = `${USER}-bomb`;
      const bombToken = await up.stack.mintToken(user);
      const doc = catalystDump();
      doc.localStorage.push({ key: 'bomb', value: '0'.repeat(10 * 1000 * 1000) });
      const bomb = gzipSync(Buffer.from(toNdjson(doc)), { level: 9 });
      expect(bomb.length).toBeLessThan(64 * 1024); // ~10 MB inflates from a few KB
      const before = await keysUnder(up.stack, '');
      const err = await tusUpload(up.stack.api.url, bombToken, bomb, { metadata: ndjsonMeta(sha256(bomb), { contentEncoding: 'gzip' }) }).catch((e: unknown) => e);
      const { status, body } = refusalOf(err);
      expect(status).toBe(413);
      expect(body.error).toMatchObject({ code: 'dump_too_large_inflated', details: { maxBytes: LIMIT } });
      expect(body.error!.message).toContain(String(LIMIT));
      expect(body.error!.message).toMatch(/no batch was created/);
      const url = (err as { originalRequest: { getURL(): string } }).originalRequest.getURL();
      expect((await tusRequest(url, 'HEAD', { token: bombToken })).status).toBe(404);
      expect(await batchCount(up.stack, user)).toBe(0);
      // The store holds nothing of it: no upload bytes or sidecars, no sealed dump.
      const after = await keysUnder(up.stack, '');
      expect(after.filter((k) => !before.includes(k))).toEqual([]);
      expect(after.some((k) => k.startsWith(uploadKeyOf(url)))).toBe(false);
      expect(await up.stack.api.deps.store.head(dumpObjectKey(user, sha256(bomb), 'ndjson', 'gzip'))).toBeNull();
    }, 60_000);

    test('bytes that are not gzip: 400 invalid_content_encoding, nothing kept', async () => {
      const user = `${USER}-corrupt`;
      const t = await up.stack.mintToken(user);
      const dump = bigDump(64 * 1024, `${driver}-notgz`);
      const cut = gzipSync(dump.bytes).subarray(0, 500); // a gzip stream cut off
      for (const bytes of [dump.bytes, cut]) {
        const err = await tusUpload(up.stack.api.url, t, bytes, { metadata: ndjsonMeta(sha256(bytes), { contentEncoding: 'gzip' }) }).catch((e: unknown) => e);
        const { status, body } = refusalOf(err);
        expect(status).toBe(400);
        expect(body.error?.code).toBe('invalid_content_encoding');
        expect(body.error?.message).toMatch(/gzip/);
        const url = (err as { originalRequest: { getURL(): string } }).originalRequest.getURL();
        expect(await up.stack.api.deps.store.head(uploadKeyOf(url))).toBeNull();
      }
      expect(await batchCount(up.stack, user)).toBe(0);
    }, 60_000);

    test('an unknown contentEncoding is refused at creation', async () => {
      const err = await createUpload(up.stack.api.url, token, 100, ndjsonMeta('a'.repeat(64), { contentEncoding: 'br' })).catch((e: Error) => e);
      expect(String(err)).toMatch(/400/);
      expect(String(err)).toMatch(/invalid_upload_metadata/);
      expect(String(err)).toMatch(/contentEncoding/);
    });
  });
}
