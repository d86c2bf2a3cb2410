/**
 * Retention, run on a schedule by the maintenance queue (MAINTENANCE_SCHEDULES):
 * 1. Abandoned uploads: an unfinished tus upload expires UPLOAD_EXPIRY_HOURS after its creation (the API
 *    then answers 410); its bytes are removed here. Anything under `uploads/` that no batch points at and
 *    that nothing wrote to for that long is such a leftover (a finished upload is sealed into a batch's dump
 *    and its plain bytes removed by `discardUpload` shortly after; a refused one is deleted at once).
 * 2. Stored dumps: removed DUMP_RETENTION_DAYS after upload, but never while their batch is active
 *    (received, queued, running, rolling_back) or can still be rolled back or re-applied: a finished batch
 *    keeps its dump for ROLLBACK_WINDOW_DAYS after finished_at. The batch is marked
 *    (notes.dumpDeletedAt), not changed otherwise: its rows and report stay. The staged values of its
 *    entries (dump_entries.value) go with the dump; their outcomes and reasons stay.
 * 3. Assets of rolled-back batches that nothing needs any more (jobs/assets.ts), if a rollback job left any.
 * 4. Direct-to-S3 uploads (api/uploads/direct.ts) past their expiry: the S3 multipart upload is aborted
 *    (its parts freed) and the record deleted; a completed one's record goes then too.
 * 5. Puts cut short (a process killed mid-write; e.g. a dump sealed while its upload arrived,
 *    api/uploads/streamedFinish.ts): fs temp files, S3 multipart uploads under `dumps/`, older than the
 *    upload expiry. A put visible as an object never leaves either behind.
 */
import { AbortMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { UnrecoverableError, type Job } from 'bullmq';
import { FsObjectStore, S3ObjectStore, type ObjectInfo } from '../../core/objectStore';
import { releaseAssets } from '../assets';
import { DUMPS_PREFIX } from '../dumpObjects';
import type { JobPayloads } from '../names';
import type { PhaseDeps } from '../phases/context';

/** Where resumable uploads live in the object store; a finished upload's key is its batch's dumpKey. */
export const UPLOADS_PREFIX = 'uploads/';
/** Objects @tus/s3-store keeps beside an upload `<key>`: its record and a tail smaller than one S3 part. */
export const UPLOAD_SIDECAR_SUFFIXES = ['.info', '.part'] as const;

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const BATCH_LIMIT = 500;
/** Statuses after which a batch can be deleted once out of the rollback window (anything else: keep). */
const FINISHED = ['completed', 'needs_attention', 'failed', 'rolled_back'];

export type CleanupDeps = Pick<PhaseDeps, 'ds' | 'store' | 'config' | 'log'>;

export interface CleanupReport {
  /** Abandoned uploads whose objects were deleted. */
  expiredUploads: number;
  /** Unfinished S3 multipart uploads aborted. */
  abortedMultipart: number;
  /** Batches whose stored dump was deleted. */
  deletedDumps: string[];
  /** Assets of rolled-back batches deleted (nothing else needed them) by this run. */
  releasedAssets: number;
  /** Expired direct-to-S3 upload records removed (their multipart uploads aborted when unfinished). */
  expiredDirectUploads: number;
  /** Puts cut short and removed: fs temp files, or S3 multipart uploads under `dumps/`. */
  interruptedPuts: number;
}

export async function cleanupJob(deps: PhaseDeps, _job: Job): Promise<CleanupReport> {
  return runCleanup(deps);
}

/**
 * A finished upload's plain bytes, once its dump is sealed into the object store (api/uploads/finishUpload):
 * removed a short grace period after the final PATCH (queued with a delay), unless a batch reads them.
 */
export async function discardUploadJob(deps: PhaseDeps, job: Job<JobPayloads['discardUpload']>): Promise<{ removed: boolean }> {
  const key = job.data.uploadKey;
  if (!key.startsWith(UPLOADS_PREFIX) || key.includes('..')) throw new UnrecoverableError(`not an upload key: ${key}`);
  const [ref] = await deps.ds.query(`SELECT 1 FROM migration_batches WHERE dump_key = $1 LIMIT 1`, [key]);
  if (ref) return { removed: false };
  await abortMultipartOf(deps, key);
  for (const k of [key, ...UPLOAD_SIDECAR_SUFFIXES.map((s) => key + s)]) await deps.store.delete(k);
  deps.log.info({ uploadKey: key }, 'finished upload removed (its dump is sealed)');
  return { removed: true };
}

/** `now` is a parameter so that tests can run the clean-up "days later" without waiting. */
export async function runCleanup(deps: CleanupDeps, now = new Date()): Promise<CleanupReport> {
  const uploadCutoff = new Date(now.getTime() - deps.config.UPLOAD_EXPIRY_HOURS * HOUR);
  const { expired, aborted } = await removeAbandonedUploads(deps, uploadCutoff);
  const deletedDumps = await removeRetainedDumps(deps, now);
  // Normally done by the rollback job itself; this catches one that stopped between its undo and the release.
  const releasedAssets = (await releaseAssets(deps.ds, deps.store)).deleted.length;
  const expiredDirectUploads = await removeExpiredDirectUploads(deps, now);
  const interruptedPuts = await removeInterruptedPuts(deps, uploadCutoff);
  const report = { expiredUploads: expired, abortedMultipart: aborted, deletedDumps, releasedAssets, expiredDirectUploads, interruptedPuts };
  deps.log.info({ expiredUploads: expired, abortedMultipart: aborted, deletedDumps: deletedDumps.length, expiredDirectUploads, interruptedPuts }, 'retention cleanup done');
  return report;
}

function baseKeyOf(key: string): string {
  const suffix = UPLOAD_SIDECAR_SUFFIXES.find((s) => key.endsWith(s));
  return suffix ? key.slice(0, -suffix.length) : key;
}

async function removeAbandonedUploads(deps: CleanupDeps, cutoff: Date): Promise<{ expired: number; aborted: number }> {
  // One entry per upload: its objects and the last time anything was written to it.
  const groups = new Map<string, { objects: ObjectInfo[]; lastWrite: number }>();
  for await (const obj of deps.store.list(UPLOADS_PREFIX)) {
    const base = baseKeyOf(obj.key);
    const g = groups.get(base) ?? { objects: [], lastWrite: 0 };
    g.objects.push(obj);
    g.lastWrite = Math.max(g.lastWrite, obj.lastModified.getTime());
    groups.set(base, g);
  }
  const stale = [...groups.entries()].filter(([, g]) => g.lastWrite < cutoff.getTime()).map(([k]) => k);
  const referenced = new Set<string>();
  for (let i = 0; i < stale.length; i += BATCH_LIMIT) {
    const rows: { dump_key: string }[] = await deps.ds.query(`SELECT dump_key FROM migration_batches WHERE dump_key = ANY($1::text[])`, [stale.slice(i, i + BATCH_LIMIT)]);
    for (const r of rows) referenced.add(r.dump_key);
  }
  let expired = 0;
  let aborted = 0;
  for (const key of stale) {
    if (referenced.has(key)) continue; // a batch's dump: step 2 decides
    if (await abortMultipartOf(deps, key)) aborted++;
    for (const obj of groups.get(key)!.objects) await deps.store.delete(obj.key);
    expired++;
  }
  aborted += await abortStaleMultipart(deps, cutoff);
  if (expired > 0) deps.log.info({ expired, aborted }, 'abandoned uploads removed');
  return { expired, aborted };
}

/**
 * Direct-to-S3 uploads whose record expired: unfinished ones have their multipart upload aborted (a
 * completion that started less than an hour ago is left to finish). The records go in one statement per page.
 */
async function removeExpiredDirectUploads(deps: CleanupDeps, now: Date): Promise<number> {
  let removed = 0;
  for (;;) {
    const rows: { id: string; object_key: string; s3_upload_id: string; status: string }[] = await deps.ds.query(
      `SELECT id, object_key, s3_upload_id, status FROM direct_uploads
        WHERE expires_at < $1 AND (status <> 'completing' OR claimed_at < $1::timestamptz - interval '1 hour')
        ORDER BY expires_at LIMIT ${BATCH_LIMIT}`,
      [now],
    );
    if (rows.length === 0) return removed;
    const store = deps.store;
    for (const r of rows) {
      if (r.status === 'completed' || !(store instanceof S3ObjectStore)) continue;
      try {
        await store.client.send(new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: r.object_key, UploadId: r.s3_upload_id }));
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name !== 'NoSuchUpload' && e.$metadata?.httpStatusCode !== 404) throw err;
      }
    }
    await deps.ds.query(`DELETE FROM direct_uploads WHERE id = ANY($1::text[])`, [rows.map((r) => r.id)]);
    removed += rows.length;
    if (removed > 0) deps.log.info({ removed }, 'expired direct uploads removed');
    if (rows.length < BATCH_LIMIT) return removed;
  }
}

/** S3: an unfinished upload's parts sit in a multipart upload named in its `.info` object. */
async function abortMultipartOf(deps: CleanupDeps, key: string): Promise<boolean> {
  const store = deps.store;
  if (!(store instanceof S3ObjectStore)) return false;
  try {
    const info = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: `${key}.info` }));
    const uploadId = info.Metadata?.['upload-id'];
    if (!uploadId) return false;
    await store.client.send(new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: key, UploadId: uploadId }));
    return true;
  } catch (err) {
    // No .info, or the multipart upload is already completed/aborted: nothing to abort.
    deps.log.debug({ key, err: (err as Error).name }, 'no multipart upload to abort');
    return false;
  }
}

/** Puts cut short before `cutoff` (step 5). */
async function removeInterruptedPuts(deps: CleanupDeps, cutoff: Date): Promise<number> {
  const store = deps.store;
  const removed = store instanceof FsObjectStore ? await store.removeStaleTemp(cutoff) : await abortStaleMultipart(deps, cutoff, DUMPS_PREFIX);
  if (removed > 0) deps.log.info({ removed }, 'puts cut short removed');
  return removed;
}

/** S3: multipart uploads under `prefix` (uploads/: whose `.info` is gone, a crash mid-create) older than the expiry. */
async function abortStaleMultipart(deps: CleanupDeps, cutoff: Date, prefix = UPLOADS_PREFIX): Promise<number> {
  const store = deps.store;
  if (!(store instanceof S3ObjectStore)) return 0;
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  try {
    for (;;) {
      const res = await store.client.send(
        new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of res.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= cutoff) continue;
        await store.client.send(new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
      if (!res.IsTruncated) break;
      keyMarker = res.NextKeyMarker;
      uploadIdMarker = res.NextUploadIdMarker;
    }
  } catch (err) {
    // Some S3 clones cannot list multipart uploads; a bucket lifecycle rule
    // (AbortIncompleteMultipartUpload) covers them.
    deps.log.warn({ err: (err as Error).name }, 'could not list multipart uploads');
  }
  return aborted;
}

/** The batch may lose its dump: old enough, finished, out of the rollback window, not yet deleted. */
const deletable = (t: string) => `${t}.created_at < $1 AND ${t}.status = ANY($3::text[]) AND ${t}.finished_at IS NOT NULL AND ${t}.finished_at < $2`;

async function removeRetainedDumps(deps: CleanupDeps, now: Date): Promise<string[]> {
  const retainedSince = new Date(now.getTime() - deps.config.DUMP_RETENTION_DAYS * DAY);
  const windowStart = new Date(now.getTime() - deps.config.ROLLBACK_WINDOW_DAYS * DAY);
  const params = [retainedSince, windowStart, FINISHED];
  const candidates: { id: string }[] = await deps.ds.query(
    `SELECT b.id FROM migration_batches b
     WHERE ${deletable('b')} AND NOT (b.notes ? 'dumpDeletedAt')
       -- a dump shared with a batch that still needs it stays
       AND NOT EXISTS (SELECT 1 FROM migration_batches o WHERE o.dump_key = b.dump_key AND o.id <> b.id
                       AND NOT (${deletable('o')}))
     ORDER BY b.created_at LIMIT ${BATCH_LIMIT}`,
    params,
  );
  const deleted: string[] = [];
  for (const { id } of candidates) {
    await deps.ds.transaction(async (m) => {
      // Re-check under a row lock: an admin retry or rollback that changes the status waits for us, and
      // one already in progress (row locked) makes us skip the batch until the next run.
      const [row]: { dump_key: string }[] = await m.query(
        `SELECT b.dump_key FROM migration_batches b WHERE b.id = $4 AND ${deletable('b')} AND NOT (b.notes ? 'dumpDeletedAt') FOR UPDATE SKIP LOCKED`,
        [...params, id],
      );
      if (!row) return;
      const keys = row.dump_key.startsWith(UPLOADS_PREFIX) ? [row.dump_key, ...UPLOAD_SIDECAR_SUFFIXES.map((s) => row.dump_key + s)] : [row.dump_key];
      for (const key of keys) await deps.store.delete(key);
      // The staged copy of every entry goes with the dump (as large as the dump itself); each entry's
      // outcome, reason and result stay, so the report still accounts for every entry.
      await m.query(`UPDATE dump_entries SET value = '', sealed = false WHERE batch_id = $1 AND value <> ''`, [id]);
      await m.query(`UPDATE migration_batches SET notes = notes || jsonb_build_object('dumpDeletedAt', $2::text) WHERE id = $1`, [id, now.toISOString()]);
      deleted.push(id);
    });
  }
  if (deleted.length > 0) deps.log.info({ batches: deleted.length }, 'stored dumps past retention removed');
  return deleted;
}
