/**
 * POST /v1/dumps — a whole dump in the body, as the JSON document (§1a) or NDJSON (§1b).
 * The dump is validated as a whole before anything is kept: a malformed one gets 400 saying what is wrong
 * and leaves no batch. The same dump posted twice by the same user returns the first batch (200).
 */
import { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../core/errors';
import { recordUploadBytes } from '../../core/metrics';
import { sha256Hex } from '../../core/ids';
import { isDumpFormatError, isStorableText, validateDump, type DumpEncoding } from '../../format';
import { createBatch, discardBatch, type NewBatch } from '../../jobs/batches';
import { transition } from '../../jobs/lifecycle';
import { dumpObjectKey, putDump } from '../../jobs/dumpObjects';
import { enqueueBatch } from '../../jobs/pipeline';
import type { MigrationBatch } from '../../entities';
import type { ApiDeps } from '../context';

/** A website id is kept as text with the batch (websiteHint): Postgres text cannot hold U+0000 or a lone surrogate. */
export const WebsiteIdSchema = z.string().min(1).max(200).refine(isStorableText, 'must not contain U+0000 or a lone surrogate');
const Query = z.object({ websiteId: WebsiteIdSchema.optional() });
const IdempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export function encodingOf(contentType: string | undefined): DumpEncoding | null {
  const t = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (t === 'application/json') return 'json';
  if (t === 'application/x-ndjson' || t === 'application/ndjson') return 'ndjson';
  return null;
}

export function postDump(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const caller = req.caller!;
    if (!caller.userId) throw Errors.forbidden('uploads (use an uploader token: dumps belong to a user)');
    const encoding = encodingOf(req.headers['content-type']);
    if (!encoding) throw Errors.badRequest('unsupported_media_type', 'Send the dump as application/json (§1a) or application/x-ndjson (§1b).');
    const q = Query.safeParse(req.query);
    if (!q.success) throw Errors.badRequest('invalid_query', 'websiteId must be 1–200 characters, without U+0000 or a lone surrogate.', q.error.issues);
    const idemRaw = req.headers['idempotency-key'];
    const idem = idemRaw === undefined ? null : IdempotencyKey.safeParse(idemRaw);
    if (idem && !idem.success) throw Errors.badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1–200 printable ASCII characters.');
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw Errors.badRequest('empty_body', 'The request has no dump in its body.');

    let summary: Awaited<ReturnType<typeof validateDump>>;
    try {
      summary = await validateDump(Readable.from([body]), encoding);
    } catch (err) {
      if (isDumpFormatError(err)) throw Errors.badRequest(err.code, err.message, err.details);
      throw err;
    }
    recordUploadBytes('dumps', body.length);
    const sha = sha256Hex(body);
    const key = dumpObjectKey(caller.userId, sha, encoding);
    await putDump(deps.store, deps.config, key, body);
    const { batch, created } = await createBatchForDump(deps, {
      userId: caller.userId, dumpKey: key, dumpSha256: sha, dumpBytes: body.length, encoding,
      entryCount: summary.counts.total, source: summary.header.source as Record<string, unknown>,
      websiteHint: q.data.websiteId ?? null, idempotencyKey: idem?.success ? idem.data : null,
    });
    res.locals.batchId = batch.id;
    if (created && req.id) await rememberRequestId(deps, batch.id, req.id);
    if (created || batch.status === 'received') await startBatch(deps, batch, created);
    const status = created ? 'queued' : batch.status === 'received' ? 'queued' : batch.status;
    deps.log.info({ reqId: req.id, batchId: batch.id, userId: caller.userId, created, entries: summary.counts.total, bytes: body.length }, created ? 'batch created' : 'duplicate dump: existing batch returned');
    res.status(created ? 202 : 200).json({ batchId: batch.id, status, statusUrl: `/v1/batches/${batch.id}`, duplicate: !created });
  };
}

/**
 * Creates the batch of a dump already stored under `nb.dumpKey`. If that fails, the object goes too (unless
 * a batch of the same dump points at it), so a refused or failed request leaves no dump behind.
 */
export async function createBatchForDump(deps: ApiDeps, nb: NewBatch): ReturnType<typeof createBatch> {
  try {
    return await createBatch(deps.ds, nb);
  } catch (err) {
    try {
      const [row] = await deps.ds.query(`SELECT 1 FROM migration_batches WHERE dump_key = $1 LIMIT 1`, [nb.dumpKey]);
      if (!row) await deps.store.delete(nb.dumpKey);
    } catch (cleanup) {
      deps.log.warn({ dumpKey: nb.dumpKey, err: (cleanup as Error).message }, 'could not remove the dump of a batch that was not created');
    }
    throw err;
  }
}

/**
 * Keeps the id of the request that created the batch in its notes, before the flow is queued, so every
 * worker log line of the batch can carry it (jobs/runPhase.ts) and a support ticket's X-Request-Id finds
 * the batch (the dashboard searches notes.requestId). The tus finish hook can call it too.
 */
export async function rememberRequestId(deps: ApiDeps, batchId: string, requestId: string): Promise<void> {
  await deps.ds.query(`UPDATE migration_batches SET notes = notes || jsonb_build_object('requestId', $2::text) WHERE id = $1`, [batchId, requestId]);
}

/** Queues the batch's flow; if Redis refuses, the batch is removed again so nothing half-written remains. */
export async function startBatch(deps: ApiDeps, batch: MigrationBatch, created: boolean): Promise<void> {
  try {
    await enqueueBatch(deps.queues.flows, batch.id, deps.config);
  } catch (err) {
    deps.log.error({ batchId: batch.id, err: (err as Error).message }, 'could not queue the batch');
    if (created) {
      await discardBatch(deps.ds, batch.id);
      await deps.store.delete(batch.dumpKey).catch(() => undefined);
    }
    throw Errors.unavailable('The job queue (Redis)');
  }
  // From `received` only: a worker may already have taken it to running (or further), which stands.
  await transition(deps.ds, batch.id, { from: ['received'], to: 'queued', set: { error: null } });
}
