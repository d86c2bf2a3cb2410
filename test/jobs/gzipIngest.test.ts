/**
 * Ingest reads a gzip dump through the bounded inflater (jobs/dumpObjects.ts dumpContent): a stored gzip
 * object that inflates past INFLATED_DUMP_MAX_BYTES, or no longer inflates, fails the batch at once
 * (`dump_inflate_failed`, one attempt), before anything is staged.
 */
import { gzipSync } from 'node:zlib';
import { catalystDump, toNdjson } from '../fixtures/catalystDump';
import { putDump } from '../../jobs/dumpObjects';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';
import { ndjsonMeta, sha256, tusUpload } from '../uploads/harness';

const LIMIT = 256 * 1024;
let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ workers: false, config: { INFLATED_DUMP_MAX_BYTES: String(LIMIT), JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '50' } });
  token = await stack.mintToken('user-gzip-ingest');
});
afterAll(() => stack.close());

test.each([
  ['inflates past the limit', () => {
    const doc = catalystDump();
    doc.localStorage.push({ key: 'big', value: '0'.repeat(2 * LIMIT) });
    return gzipSync(toNdjson(doc));
  }],
  ['is not gzip', () => Buffer.from(toNdjson(catalystDump()))],
])('a stored gzip dump that %s fails ingest at once with dump_inflate_failed', async (what, replacement) => {
  await stack.stopWorkers();
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: `2026-11-29T12:00:0${what.length % 10}.000Z` };
  const gz = gzipSync(toNdjson(doc));
  const up = await tusUpload(stack.api.url, token, gz, { metadata: ndjsonMeta(sha256(gz), { contentEncoding: 'gzip' }) });
  const [b] = await stack.api.deps.ds.query(`SELECT dump_key FROM migration_batches WHERE id = $1`, [up.batchId]);
  expect(b.dump_key).toMatch(/\.ndjson\.gz\.sealed$/);
  await putDump(stack.api.deps.store, stack.config, b.dump_key, replacement()); // the stored object, altered
  stack.startWorkers();
  expect(await waitForBatch(stack, up.batchId!)).toBe('failed');
  const [ingest] = await stack.api.deps.ds.query(`SELECT status, attempts, error FROM migration_phases WHERE batch_id = $1 AND name = 'ingest'`, [up.batchId]);
  expect(ingest).toMatchObject({ status: 'failed', attempts: 1 });
  const [batch] = await stack.api.deps.ds.query(`SELECT error FROM migration_batches WHERE id = $1`, [up.batchId]);
  expect(batch.error).toMatchObject({ code: 'dump_inflate_failed' });
  expect(batch.error.message).toMatch(what === 'is not gzip' ? /do not inflate as gzip/ : new RegExp(`more than ${LIMIT} bytes`));
  const [staged] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM dump_entries WHERE batch_id = $1`, [up.batchId]);
  expect(staged.n).toBe(0);
}, 60_000);
