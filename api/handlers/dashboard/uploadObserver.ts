/**
 * Watches resumable-upload (tus) responses from the outside, so api/uploads stays as it is:
 *  - upload bytes: a successful PATCH moves Upload-Offset from the request's value to the response's
 *    (tus 1.0.0: "The Server MUST acknowledge successful PATCH requests with the 204 No Content status. It
 *    MUST include the Upload-Offset header containing the new offset"); a creation-with-upload POST starts
 *    at 0. The difference is what arrived, counted as it arrives rather than when the upload finishes.
 *  - the response that created a batch (Migration-Batch-Id) links the batch to its upload id and request id
 *    in `notes`, so the dashboard's search finds a batch by the upload id the client saw in its URL, and
 *    later phases log the request id. Existing keys win: a duplicate upload never relabels a batch.
 *  - upload outcomes, for the upload-failure alert: every request that carries dump bytes, and those that
 *    failed (observeUploadOutcome).
 */
import type { Request, Response } from 'express';
import { recordUploadBytes, uploadFailures, uploadRequests, zeroSeries } from '../../../core/metrics';
import { BATCH_ID_HEADER, type ApiDeps } from '../../context';

const UPLOAD_URL = /^\/v1\/uploads\/([^/?#]+)/;

/** The requests that carry dump bytes, by method and route template (routeLabel), and their way in. */
const UPLOAD_ROUTES: Record<string, 'dumps' | 'delta' | 'tus'> = {
  'POST /v1/dumps': 'dumps',
  'POST /v1/batches/:id/delta': 'delta',
  'POST /v1/uploads/*': 'tus',
  'PATCH /v1/uploads/*': 'tus',
};
/**
 * A refused dump or upload (invalid dump, digest mismatch, too large, wrong type). Not counted: 401/403
 * (a caller's token, not the upload) and the answers a resuming tus client expects (404, 409, 410, 423).
 */
const REFUSED = new Set([400, 413, 415]);
zeroSeries(uploadRequests, ['dumps', 'delta', 'tus'].map((via) => ({ via })));
zeroSeries(uploadFailures, ['dumps', 'delta', 'tus'].flatMap((via) => [{ via, reason: 'refused' }, { via, reason: 'error' }]));

/** Counts one finished request if it carried dump bytes, and whether it failed. */
export function observeUploadOutcome(method: string, route: string, status: number): void {
  const via = UPLOAD_ROUTES[`${method} ${route}`];
  if (!via) return;
  uploadRequests.inc({ via });
  const reason = status >= 500 ? 'error' : REFUSED.has(status) ? 'refused' : null;
  if (reason) uploadFailures.inc({ via, reason });
}

export function tusUploadedBytes(req: Request, res: Response): number {
  if ((req.method !== 'PATCH' && req.method !== 'POST') || res.statusCode >= 300) return 0;
  const after = Number(res.getHeader('Upload-Offset'));
  const before = req.method === 'PATCH' ? Number(req.headers['upload-offset']) : 0;
  return Number.isFinite(after) && Number.isFinite(before) && after > before ? after - before : 0;
}

/** Called when a response under /v1/uploads has finished; never throws (a failure is logged). */
export function observeUploadResponse(deps: ApiDeps, req: Request, res: Response): void {
  if (!(req.originalUrl ?? '').startsWith('/v1/uploads')) return;
  recordUploadBytes('tus', tusUploadedBytes(req, res));
  const batchId = res.getHeader(BATCH_ID_HEADER);
  if (typeof batchId !== 'string' || res.statusCode >= 300) return;
  res.locals.batchId = batchId;
  const uploadId = UPLOAD_URL.exec(req.originalUrl)?.[1] ?? null;
  deps.ds
    .query(`UPDATE migration_batches SET notes = jsonb_strip_nulls(jsonb_build_object('uploadId', $2::text, 'requestId', $3::text)) || notes WHERE id = $1`, [batchId, uploadId, req.id ?? null])
    .catch((err: Error) => deps.log.warn({ reqId: req.id, batchId, err: err.message }, 'could not link the upload to its batch'));
}
