/**
 * Load-and-guard (docs/style.md §2.2): loads :id into res.locals.batch, and hides other users' batches from
 * uploaders (404, so a token cannot probe which ids exist).
 */
import type { NextFunction, Request, Response } from 'express';
import { Errors } from '../../core/errors';
import { MigrationBatch } from '../../entities';
import type { ApiDeps } from '../context';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function batchProvider(deps: ApiDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const id = String(req.params.id);
    if (!UUID.test(id)) return next(Errors.notFound(`Batch ${id}`));
    const batch = await deps.ds.getRepository(MigrationBatch).findOneBy({ id });
    const caller = req.caller!;
    if (!batch || (caller.role === 'uploader' && batch.userId !== caller.userId)) return next(Errors.notFound(`Batch ${id}`));
    res.locals.batch = batch;
    next();
  };
}
