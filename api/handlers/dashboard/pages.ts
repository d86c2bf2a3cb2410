/** GET /admin (migrations overview), GET /admin/batches/:id (one batch), GET /admin/tokens (tokens), /admin/assets/* (CSS/JS). */
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Errors } from '../../../core/errors';
import { PAGES_DIR, PAGE_HEADERS, PUBLIC_DIR } from '../../../dashboard/assets';

const serveAssets = express.static(PUBLIC_DIR, { index: false, fallthrough: false, maxAge: 0 });

/**
 * Assets are public (the login page needs them) and hold nothing secret; data comes from the API.
 * serve-static answers a path that climbs out of the directory with 403 and a missing file with 404, as
 * bare http-errors: both are "no such asset" here (a 403 would only tell a prober the path resolved
 * outside), so both leave as our 404.
 */
export function dashboardAssets(req: Request, res: Response, next: NextFunction): void {
  serveAssets(req, res, (err?: unknown) => {
    const status = (err as { status?: number } | undefined)?.status;
    if (status === 403 || status === 404) return next(Errors.notFound(`/admin/assets${req.path}`));
    next(err);
  });
}

function page(file: string) {
  return (_req: Request, res: Response) => {
    res.set(PAGE_HEADERS).sendFile(join(PAGES_DIR, file));
  };
}

export const overviewPage = page('overview.html');
export const batchPage = page('batch.html');
export const tokensPage = page('tokens.html');
