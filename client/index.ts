/**
 * The browser uploader (served as an ES module at /client/uploader.js):
 *
 *   import { migrate } from '/client/uploader.js';
 *   const result = await migrate({ token, websiteId, onProgress: (p) => console.log(p) });
 *   if (result.status === 'completed') { ... the app may now retire its browser copy ... }
 *
 * It reads and never changes the app's storage; deciding what to do with the browser copy once the batch
 * is `completed` is the app's call, so a server-side rollback always has that copy to fall back on.
 */
import { type SnapshotOptions } from './snapshot';
import { streamNdjsonBlob } from './stream';
import type { MigrationResult } from './types';
import { uploadBuilt, type UploadOptions } from './upload';

export { snapshot, readWebStorage } from './snapshot';
export type { SnapshotOptions } from './snapshot';
export { upload, sha256Hex, DEFAULT_CHUNK_SIZE, DEFAULT_RETRY_DELAYS } from './upload';
export type { UploadOptions } from './upload';
export { followBatch, TERMINAL_STATUSES, ApiError } from './follow';
export { encodeValue, EncodeError } from './encode';
export { serialize, summarize, toNdjson } from './ndjson';
export { RESUME_KEY_PREFIX } from './resumeStore';
export { streamNdjsonBlob, BATCH_CHARS } from './stream';
export { buildNdjsonBlob, ndjsonFile, DEFAULT_COMPRESSION, type Compression, type NdjsonBlob } from './ndjsonBlob';
export * from './types';

export type MigrateOptions = UploadOptions & SnapshotOptions;

/**
 * Storage streamed into the upload file (stream.ts: never the whole dump in memory), then upload.
 * Progress: `stage: 'snapshot'` with `partial: true` and the counts so far while storage is read, then
 * once without `partial` with what was found in all; then the upload's stages.
 */
export async function migrate(opts: MigrateOptions): Promise<MigrationResult> {
  const built = await streamNdjsonBlob({ ...opts, onSummary: (summary) => opts.onProgress?.({ stage: 'snapshot', summary, partial: true }) });
  opts.onProgress?.({ stage: 'snapshot', summary: built.summary });
  return uploadBuilt({ source: { capturedAt: built.capturedAt } }, built, opts);
}

// The hybrid data client (cutover from browser storage to the API): see README.md, "Cutover".
export { createHybridClient } from './hybrid/client';
export type { HybridClient } from './hybrid/client';
export type { SwitchResult } from './hybrid/cutover';
export { CATALYST_KEYS } from './hybrid/catalyst';
export type { ContentItem, ContentType, PreferenceSection } from './hybrid/catalyst';
export { HYBRID_DB_NAME } from './hybrid/db';
export { ApiFailure } from './hybrid/http';
export type * from './hybrid/types';
