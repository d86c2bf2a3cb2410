/**
 * POST /v1/dumps — a whole dump in the body, as the JSON document (§1a) or NDJSON (§1b).
 * The dump is validated as a whole before anything is kept: a malformed one gets 400 saying what is wrong
 * and leaves no batch. The same dump posted twice by the same user returns the first batch (200); with
 * another layout (`?layout=`) it is another batch.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../core/errors';
import { recordUploadBytes } from '../../core/metrics';
import { isDumpFormatError } from '../../format';
import { isLayoutName, unknownLayout } from '../../jobs/layouts';
import { receiveCheckedBody, storeCheckedBody, type CheckedBody } from '../checkedBody';
import type { ApiDeps } from '../context';
import { createBatchForDump, encodingOf, rememberRequestId, startBatch, WebsiteIdSchema } from '../dumpIntake';
import type { CheckThreads } from '../uploads/checkThread';

const Query = z.object({ websiteId: WebsiteIdSchema.optional(), layout: z.string().optional() });
const IdempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export function postDump(deps: ApiDeps, threads: CheckThreads) {
  return async (req: Request, res: Response) => {
    const caller = req.caller!;
    if (!caller.userId) throw Errors.forbidden('uploads (use an uploader token: dumps belong to a user)');
    const encoding = encodingOf(req.headers['content-type']);
    if (!encoding) throw Errors.badRequest('unsupported_media_type', 'Send the dump as application/json (§1a) or application/x-ndjson (§1b).');
    const q = Query.safeParse(req.query);
    if (!q.success) throw Errors.badRequest('invalid_query', 'websiteId must be 1–200 characters, without U+0000 or a lone surrogate; layout one name.', q.error.issues);
    if (q.data.layout !== undefined && !isLayoutName(q.data.layout)) throw unknownLayout(q.data.layout);
    const idemRaw = req.headers['idempotency-key'];
    const idem = idemRaw === undefined ? null : IdempotencyKey.safeParse(idemRaw);
    if (idem && !idem.success) throw Errors.badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1–200 printable ASCII characters.');

    // Read and validated as it arrives, on a thread when large (api/checkedBody.ts): this process keeps serving meanwhile.
    let body: CheckedBody;
    try {
      body = await receiveCheckedBody(deps, threads, req, { encoding, limit: deps.config.DUMP_BODY_LIMIT, what: 'dump' });
    } catch (err) {
      if (isDumpFormatError(err)) throw Errors.badRequest(err.code, err.message, err.details);
      throw err;
    }
    const { summary, sha256: sha } = body;
    recordUploadBytes('dumps', body.bytes);
    const key = await storeCheckedBody(deps, body, { userId: caller.userId, encoding });
    const { batch, created } = await createBatchForDump(deps, {
      userId: caller.userId, dumpKey: key, dumpSha256: sha, dumpBytes: body.bytes, encoding,
      entryCount: summary.counts.total, source: summary.header.source as Record<string, unknown>,
      websiteHint: q.data.websiteId ?? null, idempotencyKey: idem?.success ? idem.data : null, layout: q.data.layout,
    });
    res.locals.batchId = batch.id;
    if (created && req.id) await rememberRequestId(deps, batch.id, req.id);
    if (created || batch.status === 'received') await startBatch(deps, batch, created);
    const status = created ? 'queued' : batch.status === 'received' ? 'queued' : batch.status;
    deps.log.info({ reqId: req.id, batchId: batch.id, userId: caller.userId, created, entries: summary.counts.total, bytes: body.bytes }, created ? 'batch created' : 'duplicate dump: existing batch returned');
    res.status(created ? 202 : 200).json({ batchId: batch.id, status, statusUrl: `/v1/batches/${batch.id}`, duplicate: !created });
  };
}
