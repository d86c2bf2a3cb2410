/**
 * The Express app: routes, Bull Board, request ids and logs, and the one error mapper. Built from its
 * dependencies so tests and `npm start` run the same thing.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { httpDuration } from '../core/metrics';
import { BULL_BOARD_PATH, bullBoardByRole } from '../dashboard/bullBoard';
import type { ApiDeps } from './context';
import { routeLabel } from './handlers/dashboard/metrics';
import { observeUploadOutcome, observeUploadResponse } from './handlers/dashboard/uploadObserver';
import { authenticate } from './middleware/auth';
import { errorHandler, notFound } from './middleware/errors';
import { ipRateLimit } from './middleware/rateLimit';
import { createRoutes } from './routes';
import { parseQueryStrictly } from './storableText';
import { createUploads } from './uploads';
import { CheckThreads } from './uploads/checkThread';

export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.TRUST_PROXY); // req.ip: the per-address limits and the audit log
  app.set('query parser', parseQueryStrictly); // invalid percent-encoding is a 400, not U+FFFD
  app.use((req, res, next) => {
    const given = req.headers['x-request-id'];
    req.id = typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const route = routeLabel(req);
      httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, ms / 1000);
      observeUploadResponse(deps, req, res); // tus: upload bytes, and the batch's upload id
      observeUploadOutcome(req.method, route, res.statusCode); // for the upload-failure alert
      // The batch a request touched (loaded by batchProvider, or created by POST /v1/dumps) joins its log line.
      const batchId = res.locals.batch?.id ?? res.locals.batchId;
      deps.log.info({ reqId: req.id, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, ...(batchId ? { batchId } : {}) }, 'request');
    });
    next();
  });
  // Per-address limit on /v1 (uploads included), before any work is done for the request.
  app.use(ipRateLimit(deps));
  // tus needs the raw request stream: mounted before any route's body parser.
  // Threads that check large dumps off the event loop (tus uploads and POSTed bodies), kept between requests.
  const checkThreads = new CheckThreads(deps.config.VALIDATION_THREAD_PRELOAD);
  const uploads = createUploads(deps, checkThreads);
  app.use(uploads);
  app.locals.onClose = [() => uploads.close(), async () => checkThreads.close()];
  app.use(createRoutes(deps, checkThreads));
  app.use(BULL_BOARD_PATH, authenticate(deps, ['admin', 'operator'], { basicChallenge: true, loginRedirect: true }), bullBoardByRole(deps.queues));
  app.use(notFound);
  app.use(errorHandler(deps.log, deps.config.DUMP_BODY_LIMIT));
  return app;
}
