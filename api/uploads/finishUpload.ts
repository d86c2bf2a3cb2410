/**
 * `onUploadFinish`: the last byte has arrived. The stored bytes are read back from the object store and
 * must have the SHA-256 the client declared (docs/http-api.md §2: "when the last byte arrives the server verifies
 * the digest and creates the batch") and be a valid dump (the same check as POST /v1/dumps). Then the
 * dump is sealed into the object store like a posted one (secrets at rest), the upload's plain bytes are
 * discarded, the batch is created and queued, and the final PATCH answers with Migration-Batch-Id.
 * A refused upload is deleted, so nothing of it remains: no batch, no bytes, no upload record.
 *
 * A gzip upload (metadata contentEncoding gzip): the digest covers the compressed bytes as uploaded; the
 * validation reads them through the bounded inflater (core/inflate.ts: past INFLATED_DUMP_MAX_BYTES, 413
 * dump_too_large_inflated; not gzip, 400 invalid_content_encoding); the dump is stored compressed, and
 * ingest inflates it while reading (jobs/dumpObjects.ts dumpContent). Nothing inflated is ever written.
 */
import { createHash } from 'node:crypto';
import type { Upload } from '@tus/utils';
import { AppError, Errors } from '../../core/errors';
import { uploadFinish } from '../../core/metrics';
import { CorruptGzipError, inflateBounded, InflatedTooLargeError } from '../../core/inflate';
import { isDumpFormatError, validateDump, type DumpCounts, type DumpEncoding } from '../../format';
import { dumpObjectKey, putDump } from '../../jobs/dumpObjects';
import type { JobPayloads } from '../../jobs/names';
import { BATCH_ID_HEADER, type ApiDeps } from '../context';
import { createBatchForDump, encodingOf, rememberRequestId, startBatch } from '../dumpIntake';
import { storedMeta, type UploadMeta } from './metadata';
import type { CheckResult } from './checkThread';
import type { UploadStore } from './uploadStore';

async function digestOf(deps: ApiDeps, key: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await deps.store.get(key)) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    hash.update(buf);
    bytes += buf.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** What the finish needs of the upload's store: a direct-to-S3 upload has no streamed finish. */
export type FinishingStore = Pick<UploadStore, 'discard'> & Partial<Pick<UploadStore, 'finishedAhead'>>;

export async function finishUpload(deps: ApiDeps, uploads: FinishingStore, upload: Upload, requestId?: string): Promise<{ headers: Record<string, string> }> {
  const key = upload.id;
  const meta = storedMeta(upload.metadata);
  const encoding = encodingOf(meta.contentType)!;
  const size = upload.size ?? -1;
  const started = Date.now();
  // Digest, validation and seal done while the bytes arrived (streamedFinish.ts), when this process saw them all.
  const ahead = uploads.finishedAhead?.(key, size);
  let checked: CheckResult | undefined;
  try {
    checked = ahead ? await ahead.check().catch((err: Error) => {
      deps.log.warn({ uploadKey: key, err: err.message }, 'upload: the streamed check failed; reading the bytes back');
      return undefined;
    }) : undefined;
    let { bytes, summary } = await verified(deps, key, meta, encoding, size, checked);
    const sealedKey = dumpObjectKey(meta.userId, meta.sha256, encoding, meta.contentEncoding);
    if (!(await deps.store.head(sealedKey))) {
      const committed = checked !== undefined && ahead?.sealedKey === sealedKey && (await ahead.commitSeal().then(() => true, (err: Error) => {
        deps.log.warn({ uploadKey: key, err: err.message }, 'upload: the seal written while the bytes arrived failed; sealing from the stored bytes');
        return false;
      }));
      if (!committed) {
        // Sealed from the stored bytes: the batch must read what was checked, so a streamed answer (about the
        // bytes as they arrived) is not enough; the stored ones are checked first.
        if (checked) {
          checked = undefined;
          ({ bytes, summary } = await verified(deps, key, meta, encoding, size));
        }
        await putDump(deps.store, deps.config, sealedKey, await deps.store.get(key));
      }
    }
    const { batch, created } = await createBatchForDump(deps, {
      userId: meta.userId, dumpKey: sealedKey, dumpSha256: meta.sha256, dumpBytes: bytes, encoding,
      entryCount: summary.counts.total, source: summary.header.source as Record<string, unknown>,
      websiteHint: meta.websiteId ?? null, idempotencyKey: null, layout: meta.layout,
    });
    // The batch reads the sealed copy: the plain upload goes once the client has had its final response
    // (a second upload of the same dump at once: docs/http-api.md §2, "returns the first batch").
    if (created) await scheduleDiscard(deps, key);
    else await uploads.discard(key, deps.store);
    if (created && requestId) await rememberRequestId(deps, batch.id, requestId);
    if (created || batch.status === 'received') await startBatch(deps, batch, created);
    uploadFinish.observe({ how: checked ? 'streamed' : 'read_back', outcome: 'accepted' }, (Date.now() - started) / 1000);
    deps.log.info(
      {
        reqId: requestId, batchId: batch.id, userId: meta.userId, uploadKey: key, created, entries: summary.counts.total, bytes,
        verifyMs: Date.now() - started, streamed: Boolean(checked),
      },
      created ? 'upload finished: batch created' : 'upload finished: duplicate dump, existing batch returned',
    );
    return { headers: { [BATCH_ID_HEADER]: batch.id } };
  } catch (err) {
    await discardUnlessReferenced(deps, uploads, key);
    uploadFinish.observe({ how: checked ? 'streamed' : 'read_back', outcome: err instanceof AppError ? 'refused' : 'error' }, (Date.now() - started) / 1000);
    if (err instanceof AppError) deps.log.info({ reqId: requestId, uploadKey: key, code: err.code, streamed: Boolean(checked) }, 'upload refused: discarded');
    else deps.log.error({ uploadKey: key, err: (err as Error).stack ?? String(err) }, 'finishing an upload failed');
    throw err;
  } finally {
    ahead?.abort(); // whatever of it was not committed
  }
}

/**
 * The upload's digest (against the declared one), size and validation, from the streamed check when there
 * is one, else read back from the stored bytes; throws the refusal the client gets.
 */
async function verified(
  deps: ApiDeps, key: string, meta: UploadMeta, encoding: DumpEncoding, size: number, checked?: CheckResult,
): Promise<{ bytes: number; summary: { header: { source: unknown }; counts: DumpCounts } }> {
  const actual = checked ?? (await digestOf(deps, key));
  if (actual.sha256 !== meta.sha256) {
    throw Errors.badRequest(
      'upload_digest_mismatch',
      `The uploaded bytes have SHA-256 ${actual.sha256}, but the upload declared ${meta.sha256}. The dump was altered in transit or the digest is wrong; the upload was discarded and no batch was created. Upload it again.`,
      { expected: meta.sha256, actual: actual.sha256 },
    );
  }
  if (actual.bytes !== size) throw new Error(`upload ${key} holds ${actual.bytes} bytes, declared ${size}`);
  try {
    if (checked) {
      if (!checked.validation.ok) throw checked.validation.error;
      return { bytes: actual.bytes, summary: checked.validation.summary };
    }
    const raw = await deps.store.get(key);
    return { bytes: actual.bytes, summary: await validateDump(meta.contentEncoding === 'gzip' ? inflateBounded(raw, deps.config.INFLATED_DUMP_MAX_BYTES) : raw, encoding) };
  } catch (err) {
    throw asUploadError(err);
  }
}

/** A refused dump's error as the answer the client gets (the same whether it was checked streamed or read back). */
function asUploadError(err: unknown): unknown {
  if (isDumpFormatError(err)) return Errors.badRequest(err.code, `${err.message} The upload was discarded; no batch was created.`, err.details);
  if (err instanceof InflatedTooLargeError) {
    return new AppError(413, 'dump_too_large_inflated',
      `The gzip dump inflates to more than ${err.maxBytes} bytes, the most a dump may hold once inflated (INFLATED_DUMP_MAX_BYTES). The upload was discarded; no batch was created. Split the dump, or ask the operator to raise the limit.`,
      { maxBytes: err.maxBytes });
  }
  if (err instanceof CorruptGzipError) {
    return Errors.badRequest('invalid_content_encoding',
      `The upload declared contentEncoding gzip, but its bytes do not inflate as gzip (not gzip data, cut off, or damaged: ${err.zlibCode ?? 'zlib error'}). The upload was discarded; no batch was created. Upload the gzip file as it is, or leave contentEncoding out for an uncompressed dump.`,
      { zlibCode: err.zlibCode });
  }
  return err;
}

/** How long a finished upload's plain bytes stay (for the client's last HEAD) before they are removed. */
export const FINISHED_UPLOAD_GRACE_MS = 5000;

async function scheduleDiscard(deps: ApiDeps, uploadKey: string): Promise<void> {
  const data: JobPayloads['discardUpload'] = { uploadKey };
  await deps.queues.maintenance.add('discardUpload', data, {
    delay: FINISHED_UPLOAD_GRACE_MS, jobId: `discard.${uploadKey.replace(/\//g, '_')}`, attempts: 5,
    backoff: { type: 'exponential', delay: 10_000 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/** A refused or failed finish leaves nothing behind, but never deletes bytes a batch points at. */
async function discardUnlessReferenced(deps: ApiDeps, uploads: FinishingStore, key: string): Promise<void> {
  try {
    const [row] = await deps.ds.query(`SELECT 1 FROM migration_batches WHERE dump_key = $1 LIMIT 1`, [key]);
    if (!row) await uploads.discard(key, deps.store);
  } catch (err) {
    // The retention cleanup removes it after UPLOAD_EXPIRY_HOURS if this fails (e.g. Postgres is down).
    deps.log.warn({ uploadKey: key, err: (err as Error).message }, 'could not discard a refused upload');
  }
}
