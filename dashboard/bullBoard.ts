/**
 * Bull Board at /admin/queues, for admins (and, read-only, operators). Browsers authenticate with HTTP
 * basic auth (any user name, the admin token as password) or a bearer header.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { Queues } from '../core/queues';

export const BULL_BOARD_PATH = '/admin/queues';

export function createBullBoardRouter(queues: Queues, opts: { readOnly: boolean }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [queues.migration, queues.maintenance].map((q) => new BullMQAdapter(q, { readOnlyMode: opts.readOnly, allowRetries: !opts.readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Storage migrations' } },
  });
  return serverAdapter.getRouter();
}
