/**
 * Shared pieces of the upload suites: a stack per storage driver (local directory, or S3 on an
 * in-process s3rver), a dump larger than three 1 MiB chunks, a promise-shaped tus-js-client upload, raw tus
 * requests for the protocol's refusals, and a second API process-alike on the same database and Redis.
 */
import { readDumpObject } from '../../jobs/dumpObjects';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tus from 'tus-js-client';
import { createApp } from '../../api/app';
import { createRedis } from '../../core/redis';
import { catalystDump, entryCount, toNdjson } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';
import { startS3, type TestS3 } from './s3rver';

export const MiB = 1024 * 1024;
export type Driver = 'fs' | 's3';

export interface UploadStack {
  stack: Stack;
  s3: TestS3 | null;
  close(): Promise<void>;
}

/**
 * The suites' dumps are a few MiB: uploads of 1 MiB or more are checked while they arrive (the default
 * threshold is 8 MiB), so every flow here runs through the streamed finish, and falls back where it must.
 */
export const STREAMED_FINISH_MIN_BYTES = MiB;

export async function startUploadStack(driver: Driver, opts: { workers?: boolean; config?: Record<string, string>; logTo?: NodeJS.WritableStream } = {}): Promise<UploadStack> {
  const s3 = driver === 's3' ? await startS3() : null;
  const stack = await startStack({
    workers: opts.workers, logTo: opts.logTo,
    config: { UPLOAD_STREAMED_FINISH_MIN_BYTES: String(STREAMED_FINISH_MIN_BYTES), ...opts.config, ...s3?.env },
  });
  return {
    stack,
    s3,
    async close() {
      // Upload records expire on their own (a day after their expiry); tests remove theirs at once.
      const redis = stack.api.deps.redis;
      const keys = await redis.keys(`${stack.config.QUEUE_PREFIX}:tus:*`);
      if (keys.length > 0) await redis.del(...keys);
      await stack.close();
      await s3?.close();
    },
  };
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** The Catalyst fixture as NDJSON, padded with unknown localStorage entries to at least `minBytes`. */
export function bigDump(minBytes = 3.5 * MiB, tag = 'a'): { bytes: Buffer; sha256: string; entries: number } {
  const doc = catalystDump();
  // Distinct content per entry (and per tag, so two dumps of one suite never dedupe into one batch).
  for (let i = 0; doc.localStorage.reduce((n, e) => n + e.value.length, 0) < minBytes; i++) {
    doc.localStorage.push({ key: `scratch-${tag}-${i}`, value: `${tag}:${i}:`.padEnd(256 * 1024, String.fromCharCode(97 + (i % 26))) });
  }
  const bytes = Buffer.from(toNdjson(doc));
  return { bytes, sha256: sha256(bytes), entries: entryCount(doc) };
}

export function ndjsonMeta(sha: string, extra: Record<string, string> = {}): Record<string, string> {
  return { filename: 'dump.ndjson', contentType: 'application/x-ndjson', sha256: sha, ...extra };
}

export interface TusOutcome {
  url: string;
  batchId: string | null;
  /** True when `stopAfter` stopped the upload before its end. */
  stopped: boolean;
}

/**
 * Uploads with tus-js-client in `chunkSize` chunks. With `stopAfter`, the client aborts as soon as the
 * server has accepted that many bytes; with `uploadUrl`, it resumes: HEAD for the offset, then PATCHes.
 */
export function tusUpload(
  base: string,
  token: string,
  bytes: Buffer,
  opts: { metadata?: Record<string, string>; uploadUrl?: string; chunkSize?: number; stopAfter?: number; withCreation?: boolean } = {},
): Promise<TusOutcome> {
  return new Promise((resolve, reject) => {
    let stopped = false;
    const upload = new tus.Upload(bytes, {
      endpoint: `${base}/v1/uploads`,
      uploadUrl: opts.uploadUrl ?? null,
      chunkSize: opts.chunkSize ?? MiB,
      headers: { Authorization: `Bearer ${token}` },
      metadata: opts.metadata ?? ndjsonMeta(sha256(bytes)),
      retryDelays: null, // refusals must surface, not be retried
      uploadDataDuringCreation: opts.withCreation ?? false,
      onChunkComplete: (_size, accepted) => {
        if (opts.stopAfter === undefined || stopped || accepted < opts.stopAfter) return;
        stopped = true;
        void upload.abort().then(() => resolve({ url: upload.url!, batchId: null, stopped: true }), reject);
      },
      onSuccess: ({ lastResponse }) => resolve({ url: upload.url!, batchId: lastResponse.getHeader('Migration-Batch-Id') ?? null, stopped: false }),
      onError: reject,
    });
    upload.start();
  });
}

/** What tus-js-client's onError carries for an HTTP refusal. */
export function refusalOf(err: unknown): { status: number; body: { error?: { code: string; message: string } } } {
  const res = (err as tus.DetailedError).originalResponse;
  if (!res) throw err;
  return { status: res.getStatus(), body: JSON.parse(res.getBody() || '{}') };
}

export const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' };

export function metadataHeader(meta: Record<string, string>): string {
  return Object.entries(meta).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',');
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string; details?: unknown } };
}

/** One raw tus request (fetch); `token: null` sends no Authorization. */
export async function tusRequest(
  url: string,
  method: string,
  opts: { token: string | null; headers?: Record<string, string>; body?: Buffer },
): Promise<RawResponse> {
  const res = await fetch(url, {
    method,
    headers: { ...TUS_HEADERS, ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    body: opts.body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

/** POST /v1/uploads without data; returns the upload URL. */
export async function createUpload(base: string, token: string, size: number, meta: Record<string, string>): Promise<string> {
  const res = await tusRequest(`${base}/v1/uploads`, 'POST', { token, headers: { 'Upload-Length': String(size), 'Upload-Metadata': metadataHeader(meta) } });
  if (res.status !== 201) throw new Error(`creation refused: ${res.status} ${JSON.stringify(res.body)}`);
  return new URL(res.headers.get('location')!, base).href;
}

export function patchHeaders(offset: number): Record<string, string> {
  return { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' };
}

export async function offsetOf(url: string, token: string): Promise<number> {
  const res = await tusRequest(url, 'HEAD', { token });
  if (res.status !== 200) throw new Error(`HEAD ${url}: ${res.status}`);
  return Number(res.headers.get('upload-offset'));
}

/** The store id / object key of an upload URL (`uploads/<hex>`). */
export function uploadKeyOf(url: string): string {
  return `uploads/${new URL(url).pathname.split('/').pop()}`;
}

/** Makes an upload look `ms` older than it is, by moving its creation date back in its Redis record. */
export async function backdateUpload(stack: Stack, url: string, ms: number): Promise<void> {
  const key = `${stack.config.QUEUE_PREFIX}:tus:upload:${uploadKeyOf(url)}`;
  const raw = await stack.api.deps.redis.get(key);
  if (!raw) throw new Error(`no upload record at ${key}`);
  const record = JSON.parse(raw);
  const upload = record.file ?? record; // S3 store: {file, upload-id}; file store: the upload itself
  upload.creation_date = new Date(Date.parse(upload.creation_date) - ms).toISOString();
  await stack.api.deps.redis.set(key, JSON.stringify(record), 'KEEPTTL');
}

export async function batchCount(stack: Stack, userId: string): Promise<number> {
  const [row] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM migration_batches WHERE user_id = $1`, [userId]);
  return row.n;
}

/** An object's bytes; a sealed dump (`*.sealed`) is unsealed. */
export async function readObject(stack: Stack, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await readDumpObject(stack.api.deps.store, stack.config, key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A second API on the same database, queues and storage, with its own Redis connection and port. */
export async function startSecondApi(stack: Stack): Promise<{ url: string; close(): Promise<void> }> {
  const redis = createRedis(stack.config.REDIS_URL, 'producer');
  const app = createApp({ ...stack.api.deps, redis });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
      for (const stop of (app.locals.onClose ?? []) as (() => Promise<void>)[]) await stop();
      await redis.quit();
    },
  };
}

/** The same upload URL, served by another API. */
export function onApi(url: string, base: string): string {
  const u = new URL(url);
  return `${base}${u.pathname}`;
}
