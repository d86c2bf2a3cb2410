/**
 * POST /v1/batches/:id/delta — what changed in the browser since batch :id (docs/cutover.md): an NDJSON
 * dump whose entries replace entries of the base and whose `{"op":"delete"}` lines remove them. It becomes
 * a follow-up batch of the same chain, applied through the same pipeline (journal, prune, verify, exact
 * rollback). The base must be the chain's latest completed batch, so two deltas never fork a chain.
 */
import type { Request, Response } from 'express';
import { AppError, Errors } from '../../core/errors';
import { recordUploadBytes } from '../../core/metrics';
import type { MigrationBatch } from '../../entities';
import { isDumpFormatError } from '../../format';
import { describeApiChanges, findApiChanges } from '../../jobs/apiChanges';
import { batchChain } from '../../jobs/write/userLock';
import { receiveCheckedBody, storeCheckedBody, type CheckedBody } from '../checkedBody';
import type { ApiDeps } from '../context';
import { createBatchForDump, encodingOf, rememberRequestId, startBatch } from '../dumpIntake';
import type { CheckThreads } from '../uploads/checkThread';

/** 409 unless `base` may take a delta now. */
async function checkBase(deps: ApiDeps, base: MigrationBatch): Promise<string> {
  if ((base.notes as { dumpDeletedAt?: string })?.dumpDeletedAt) {
    throw new AppError(410, 'base_unavailable', `Batch ${base.id} is past retention: its dump and staged entries were removed, so no delta can follow it. Take a new snapshot instead.`);
  }
  if (base.status !== 'completed') {
    throw Errors.conflict('base_not_completed', `Batch ${base.id} is ${base.status}: a delta follows a completed (verified) batch. Wait for it, or take a new snapshot.`, { status: base.status });
  }
  const root = base.kind === 'delta' && base.rootBatchId ? base.rootBatchId : base.id;
  const [newer] = await deps.ds.query(
    `SELECT id, status FROM migration_batches WHERE root_batch_id = $1 AND id <> $2 AND created_at > $3 AND status NOT IN ('rolled_back', 'failed')
     ORDER BY created_at DESC LIMIT 1`,
    [root, base.id, base.createdAt],
  );
  if (newer && ['received', 'queued', 'running'].includes(newer.status)) {
    throw Errors.conflict('delta_in_progress', `Delta batch ${newer.id} of this chain is ${newer.status}; wait for it, then send the next delta against it.`, { batchId: newer.id });
  }
  if (newer) throw Errors.conflict('stale_base', `Batch ${newer.id} follows batch ${base.id} in this chain: send the delta against ${newer.id} (GET /v1/cutover names it).`, { latestBatchId: newer.id });
  return root;
}

/**
 * 409 `changed_through_api` when rows of the chain up to `base` were changed through the data API since
 * they were migrated: the delta writes those rows again (the base's state with the browser's changes), so
 * it would overwrite them — as a rollback would, which is refused for the same reason. Rows the data API
 * created are not the chain's and stay as they are.
 */
async function refuseOverApiWrites(deps: ApiDeps, base: MigrationBatch): Promise<void> {
  const chain = await batchChain(deps.ds, base.id);
  const changes = await findApiChanges(deps.ds, base.userId, chain.map((b) => b.id), 20, { references: false });
  if (changes.count === 0) return;
  throw Errors.conflict('changed_through_api', `Rows of this chain were changed through the data API since they were migrated (${describeApiChanges(changes)}). A delta writes the chain's rows again and would overwrite them, so it is not applied: the app reads and writes the API now; make the browser's changes there.`, {
    apiChanges: { count: changes.count, changes: changes.changes.map(({ value: _v, ...c }) => c) },
  });
}

export function postDelta(deps: ApiDeps, threads: CheckThreads) {
  return async (req: Request, res: Response) => {
    const caller = req.caller!;
    const base = res.locals.batch as MigrationBatch;
    if (!caller.userId || base.userId !== caller.userId) throw Errors.forbidden('deltas of another user\'s batch');
    if (encodingOf(req.headers['content-type']) !== 'ndjson') throw new AppError(415, 'unsupported_media_type', 'Send the delta as application/x-ndjson (docs/cutover.md).');
    // Read and validated as it arrives, on a thread when large (api/checkedBody.ts): this process keeps serving meanwhile.
    let body: CheckedBody;
    try {
      body = await receiveCheckedBody(deps, threads, req, { encoding: 'ndjson', delta: true, limit: deps.config.DUMP_BODY_LIMIT, what: 'delta' });
    } catch (err) {
      if (isDumpFormatError(err)) throw Errors.badRequest(err.code, err.message, err.details);
      throw err;
    }
    const { summary, sha256: sha } = body;
    // The same delta again (a retry after a lost answer) answers its batch, before the chain checks: by
    // then that batch is the chain's newer one.
    const [again] = await deps.ds.query(`SELECT id, status FROM migration_batches WHERE user_id = $1 AND dump_sha256 = $2 AND base_batch_id = $3`, [caller.userId, sha, base.id]);
    if (again) {
      res.locals.batchId = again.id;
      res.status(200).json({ batchId: again.id, status: again.status, statusUrl: `/v1/batches/${again.id}`, baseBatchId: base.id, duplicate: true });
      return;
    }
    const root = await checkBase(deps, base);
    await refuseOverApiWrites(deps, base);
    recordUploadBytes('dumps', body.bytes);
    const key = await storeCheckedBody(deps, body, { userId: caller.userId, encoding: 'ndjson' });
    const c = summary.counts;
    const { batch, created } = await createBatchForDump(deps, {
      userId: caller.userId, dumpKey: key, dumpSha256: sha, dumpBytes: body.bytes, encoding: 'ndjson',
      entryCount: c.total, source: summary.header.source as Record<string, unknown>, websiteHint: base.websiteHint, idempotencyKey: null, layout: base.layout,
      delta: { baseBatchId: base.id, rootBatchId: root, lines: c.total, puts: c.total - c.removals, removals: c.removals },
    }).catch((err) => {
      // uq_batches_live_delta: another delta on this base won the race between checkBase and here.
      if ((err as { driverError?: { constraint?: string } }).driverError?.constraint === 'uq_batches_live_delta') {
        throw Errors.conflict('delta_in_progress', `Another delta of batch ${base.id} was accepted at the same moment; follow GET /v1/cutover and send the next delta against it.`);
      }
      throw err;
    });
    res.locals.batchId = batch.id;
    if (created && req.id) await rememberRequestId(deps, batch.id, req.id);
    if (created || batch.status === 'received') await startBatch(deps, batch, created);
    const status = created || batch.status === 'received' ? 'queued' : batch.status;
    deps.log.info({ reqId: req.id, batchId: batch.id, baseBatchId: base.id, puts: c.total - c.removals, removals: c.removals, created }, created ? 'delta batch created' : 'duplicate delta: existing batch returned');
    res.status(created ? 202 : 200).json({ batchId: batch.id, status, statusUrl: `/v1/batches/${batch.id}`, baseBatchId: base.id, duplicate: !created });
  };
}
