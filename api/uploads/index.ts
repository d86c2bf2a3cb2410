/**
 * /v1/uploads: resumable uploads, tus 1.0.0 (creation, creation-with-upload, termination, expiration, checksum), by
 * @tus/server inside the Express app (docs/http-api.md §2). This module is the adapter: it authenticates (uploader
 * tokens only: an upload belongs to a user), hands the raw request stream to tus, and writes tus' answer
 * back, turning every error into the JSON error form. Policy lives in the hooks: metadata checks at
 * creation, ownership on every request, digest + validation + batch when the last byte arrives.
 */
import { Readable } from 'node:stream';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Server } from '@tus/server';
import { TUS_RESUMABLE, type Upload } from '@tus/utils';
import { AppError, Errors } from '../../core/errors';
import { BATCH_ID_HEADER, type ApiDeps, type Caller } from '../context';
import { resolveCaller, tokenFromRequest } from '../middleware/auth';
import { limitCaller, RATE_LIMIT_HEADERS } from '../middleware/rateLimit';
import { CHECKSUM_ALGORITHMS, parseUploadChecksum, withChunkChecksum } from './checksum';
import { finishUpload } from './finishUpload';
import { checkUploadMetadata } from './metadata';
import { RedisLocker } from './RedisLocker';
import { mapTusError, wrapPlainError } from './tusErrors';
import type { CheckThreads } from './checkThread';
import { StreamedFinishes } from './streamedFinish';
import { createUploadStore, newUploadId, publicUploadId, uploadIdFromUrl } from './uploadStore';

export const UPLOADS_PATH = '/v1/uploads';
const ROUTE = /^\/v1\/uploads(?:\/([^/]+))?\/?$/;
const TUS_METHODS = new Set(['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The /v1/uploads handler; `close()` stops the uploads' streamed finishes (on shutdown). `threads`: the
 * process's check threads.
 */
export function createUploads(deps: ApiDeps, threads: CheckThreads): RequestHandler & { close(): Promise<void> } {
  const finishes = new StreamedFinishes(deps.config, deps.store, deps.log, threads);
  const uploads = createUploadStore(deps.config, deps.redis, finishes);
  // tus hands our hooks the request object we gave it: the caller and request id ride along keyed by it.
  const requests = new WeakMap<object, { caller: Caller; requestId?: string; createdId?: string; finished?: boolean }>();
  const callerOf = (req: object): Caller => {
    const c = requests.get(req)?.caller;
    if (!c?.userId) throw Errors.unauthorized();
    return c;
  };
  const base = deps.config.PUBLIC_URL?.replace(/\/+$/, '');

  const tus = new Server({
    path: UPLOADS_PATH,
    datastore: uploads.datastore,
    // Several API processes may serve one upload: its lock must be visible to all of them.
    locker: new RedisLocker({
      redis: deps.redis, prefix: `${deps.config.QUEUE_PREFIX}:tus`, log: deps.log, beforeRelease: (id) => uploads.writesSettled(id),
    }),
    maxSize: deps.config.UPLOAD_MAX_BYTES,
    respectForwardedHeaders: true, // as Express' `trust proxy`
    // Termination: "When receiving a DELETE request for an existing upload the Server SHOULD free
    // associated resources and MUST respond with the 204 No Content status" — for unfinished uploads. A
    // finished upload is a batch's stored dump; the retention job decides when it goes (400 instead).
    disableTerminationForFinishedUploads: true,
    exposedHeaders: [BATCH_ID_HEADER, 'X-Request-Id', ...RATE_LIMIT_HEADERS],
    allowedHeaders: ['Upload-Checksum'], // a browser's CORS preflight must let the Checksum extension's header through
    namingFunction: () => newUploadId(),
    // Store ids are object keys (`uploads/<hex>`); URLs carry only the hex part.
    generateUrl: (_req, { proto, host, path, id }) => `${base ?? `${proto}://${host}`}${path}/${publicUploadId(id)}`,
    getFileIdFromRequest: (_req, lastPath) => uploadIdFromUrl(lastPath),
    async onUploadCreate(req, upload: Upload) {
      const caller = callerOf(req);
      if (!upload.size) throw Errors.badRequest('empty_upload', 'Upload-Length must be at least 1: an empty upload holds no dump.');
      const metadata = checkUploadMetadata(upload.metadata, caller.userId!);
      finishes.prepare(upload.size);
      const r = requests.get(req);
      if (r) r.createdId = upload.id;
      return { metadata: { ...metadata } };
    },
    async onIncomingRequest(req, id) {
      if (req.method === 'POST') return; // creation: the id is brand new
      const caller = callerOf(req);
      const meta = await uploads.metadataOf(id);
      // Another user's upload answers exactly like a missing one, so ids cannot be probed.
      if (meta && meta.userId !== caller.userId) throw Errors.notFound('This upload');
    },
    onUploadFinish: (req, upload) => {
      const r = requests.get(req);
      if (r) r.finished = true; // its finish decides what happens to it (a refused one is removed there)
      return finishUpload(deps, uploads, upload, r?.requestId);
    },
    onResponseError: async (req, err) => {
      // A creation whose first chunk was refused (past Upload-Length, a checksum mismatch) answers without a
      // Location: nobody can resume or delete that upload, so it goes now rather than at its expiry.
      const r = requests.get(req);
      const created = req.method === 'POST' && !r?.finished ? r?.createdId : undefined;
      if (created) await uploads.datastore.remove(created).catch((e: Error) => deps.log.debug({ uploadKey: created, err: e.message }, 'refused upload not removed here (gone already, or it expires)'));
      return mapTusError(err, deps.config.UPLOAD_MAX_BYTES, deps.log, Number(req.headers.get('upload-length')));
    },
  });

  const handler = async (req: Request, res: Response, next: NextFunction) => {
    const m = ROUTE.exec(req.path);
    if (!m || m[1] === 'direct') return next(); // /v1/uploads/direct: direct-to-S3 uploads (routes.ts)
    // "The Tus-Resumable header MUST be included in every request and response except for OPTIONS
    // requests" (tus 1.0.0, Tus-Resumable): also on the errors we answer ourselves.
    res.setHeader('Tus-Resumable', TUS_RESUMABLE);
    res.setHeader('Access-Control-Allow-Origin', '*');
    try {
      if (!TUS_METHODS.has(req.method)) {
        res.setHeader('Allow', [...TUS_METHODS].join(', '));
        throw new AppError(405, 'method_not_allowed', `${req.method} is not part of the upload protocol; use POST, HEAD, PATCH or DELETE (tus 1.0.0).`);
      }
      const webReq = toWebRequest(req);
      if (req.method !== 'OPTIONS') requests.set(webReq, { caller: await authenticateUploader(deps, req, res), requestId: req.id });
      checkPatchContentType(req);
      // Checksum extension (checksum.ts): the data store verifies the chunk against this before it counts.
      const checksum = req.method === 'PATCH' || req.method === 'POST' ? parseUploadChecksum(req.headers['upload-checksum']) : undefined;
      if (req.method === 'OPTIONS') res.setHeader('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','));
      await send(res, await withChunkChecksum(checksum, () => tus.handleWeb(webReq)), req.method);
    } catch (err) {
      next(err);
    }
  };
  return Object.assign(handler, { close: () => finishes.close() });
}

export const PATCH_CONTENT_TYPE = 'application/offset+octet-stream';

/**
 * "All PATCH requests MUST use Content-Type: application/offset+octet-stream, otherwise the server SHOULD
 * return a 415 Unsupported Media Type status." (tus 1.0.0, PATCH). @tus/server answers 400 (header
 * validation) or 403 (none given), so the adapter checks first. A request without Tus-Resumable is left to
 * tus' 412, which the protocol puts before everything else.
 */
function checkPatchContentType(req: Request): void {
  if (req.method !== 'PATCH' || req.headers['tus-resumable'] === undefined) return;
  if (req.headers['content-type'] === PATCH_CONTENT_TYPE) return;
  throw new AppError(415, 'invalid_content_type', `A PATCH must carry Content-Type: ${PATCH_CONTENT_TYPE} (tus 1.0.0); the chunk was not written.`);
}

async function authenticateUploader(deps: ApiDeps, req: Request, res: Response): Promise<Caller> {
  const token = tokenFromRequest(req);
  if (!token) throw Errors.unauthorized();
  const caller = await resolveCaller(deps, token);
  if (!caller) throw Errors.invalidToken();
  if (caller.role !== 'uploader' || !caller.userId) throw Errors.forbidden('uploads (use an uploader token: an upload belongs to a user)');
  // Every tus request counts (each chunk's PATCH too): the uploader retries a 429 after its Retry-After.
  await limitCaller(deps, res, caller);
  return caller;
}

/** The Node request as a fetch Request for tus' handleWeb; the body stays a stream (never buffered). */
function toWebRequest(req: Request): globalThis.Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const hasBody = req.method === 'PATCH' || req.method === 'POST';
  const url = new URL(req.originalUrl, `http://${req.headers.host ?? 'localhost'}`);
  return new globalThis.Request(url, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : undefined,
    duplex: 'half',
  } as RequestInit);
}

/** Writes tus' Response; error bodies become the JSON error form of docs/http-api.md §2. */
async function send(res: Response, response: globalThis.Response, method: string): Promise<void> {
  let body: Buffer | undefined;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  // The request log line names the batch the final PATCH created (as for POST /v1/dumps).
  const batchId = response.headers.get(BATCH_ID_HEADER);
  if (batchId) res.locals.batchId = batchId;
  if (response.status >= 400) {
    body = Buffer.from(wrapPlainError(response.status, await response.text()));
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
  } else if (response.body) {
    // tus success answers carry no content (201/204/200 for HEAD); never a download here.
    const buf = Buffer.from(await response.arrayBuffer());
    body = buf.length > 0 ? buf : undefined;
  }
  if (body) res.setHeader('Content-Length', String(body.length));
  res.statusCode = response.status;
  res.end(method === 'HEAD' ? undefined : body);
}
