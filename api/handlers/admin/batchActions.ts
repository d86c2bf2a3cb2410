/**
 * POST /v1/admin/batches/:id/retry {"force"?}, /rollback {"force"?}, /verify — admin only; each one audited.
 * The work lives in jobs/adminActions.ts; these only read the request and shape the response.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import type { MigrationBatch } from '../../../entities';
import { requestRollback, retryBatch, reverifyBatch } from '../../../jobs/adminActions';
import type { ApiDeps } from '../../context';

const ForceBody = z.object({ force: z.boolean().default(false) }).strict();

export function retryBatchHandler(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const body = ForceBody.safeParse(req.body ?? {});
    if (!body.success) throw Errors.badRequest('invalid_body', 'Send nothing, {} or {"force": true}.', body.error.issues);
    const batch = res.locals.batch as MigrationBatch;
    const r = await retryBatch(deps, batch, req.caller!.actor, body.data.force);
    res.status(202).json({ batchId: batch.id, ...r, statusUrl: `/v1/batches/${batch.id}` });
  };
}

export function rollbackBatchHandler(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const body = ForceBody.safeParse(req.body ?? {});
    if (!body.success) throw Errors.badRequest('invalid_body', 'Send {} or {"force": true}.', body.error.issues);
    const batch = res.locals.batch as MigrationBatch;
    const r = await requestRollback(deps, batch, body.data.force, req.caller!.actor);
    res.status(202).json({ batchId: batch.id, ...r, statusUrl: `/v1/batches/${batch.id}` });
  };
}

export function verifyBatchHandler(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const batch = res.locals.batch as MigrationBatch;
    res.json({ batchId: batch.id, verification: await reverifyBatch(deps, batch, req.caller!.actor) });
  };
}
