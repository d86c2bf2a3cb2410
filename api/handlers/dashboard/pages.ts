/** GET /admin (migrations overview), GET /admin/batches/:id (one batch), /admin/assets/* (CSS/JS). */
import { join } from 'node:path';
import express, { type Request, type Response } from 'express';
import { PAGES_DIR, PAGE_HEADERS, PUBLIC_DIR } from '../../../dashboard/assets';

/** Assets are public (the login page needs them) and hold nothing secret; data comes from the API. */
export const dashboardAssets = express.static(PUBLIC_DIR, { index: false, fallthrough: false, maxAge: 0 });

function page(file: string) {
  return (_req: Request, res: Response) => {
    res.set(PAGE_HEADERS).sendFile(join(PAGES_DIR, file));
  };
}

export const overviewPage = page('overview.html');
export const batchPage = page('batch.html');
