/**
 * Bull Board at /admin/queues, for admins (and, read-only, operators). Browsers authenticate with the
 * dashboard's login cookie, HTTP basic auth (any user name, the token as password) or a bearer header.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { RequestHandler, Router } from 'express';
import { Errors } from '../core/errors';
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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Two boards on the same queues, chosen per request by the caller's role (set by the auth middleware in
 * front): admins get the full board, operators a board in readOnlyMode (no retry/clean/pause buttons).
 * Operators are also refused every state-changing request outright (403), so a hand-made request cannot
 * reach a handler that a future Bull Board version forgot to guard.
 */
export function bullBoardByRole(queues: Queues): RequestHandler {
  const full = createBullBoardRouter(queues, { readOnly: false });
  const readOnly = createBullBoardRouter(queues, { readOnly: true });
  return (req, res, next) => {
    const role = req.caller?.role;
    if (role === 'admin') return full(req, res, next);
    if (role === 'operator' && SAFE_METHODS.has(req.method)) return readOnly(req, res, next);
    next(Errors.forbidden(role === 'operator' ? 'queue changes (the operator role is read-only)' : 'Bull Board'));
  };
}
