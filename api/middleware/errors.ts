/** The one error mapper: every failure leaves as {"error":{"code","message","details"}} (CONTRACT §2). */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, Errors } from '../../core/errors';
import type { Logger } from '../../core/logger';

export function errorHandler(log: Logger, bodyLimit: string): ErrorRequestHandler {
  return (raw, req, res, _next) => {
    let err: AppError;
    const e = raw as { type?: string; status?: number; message?: string };
    if (raw instanceof AppError) err = raw;
    else if (e?.type === 'entity.too.large') err = Errors.tooLarge(bodyLimit);
    else if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
      err = Errors.badRequest('invalid_body', `The request body could not be read: ${e.message}`);
    else if (e?.type === 'request.aborted') err = Errors.badRequest('request_aborted', 'The client closed the connection before the body arrived.');
    else if (pgCode(raw) === '55P03') {
      // lock_timeout: a migration page or rollback of the same user holds their row lock (jobs/write/userLock.ts).
      res.setHeader('Retry-After', '2');
      err = new AppError(503, 'busy', 'Your data is being written by a migration or rollback right now; try again in a moment.');
    }
    else {
      log.error({ err: raw instanceof Error ? raw.stack : String(raw), reqId: req.id }, 'unhandled error');
      err = new AppError(500, 'internal', 'Something went wrong on our side; the request was not applied. Try again, and report the request id if it persists.', { requestId: req.id });
    }
    if (res.headersSent) return;
    res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } });
  };
}

/** SQLSTATE of a Postgres error, as pg or TypeORM's QueryFailedError carries it. */
function pgCode(raw: unknown): string | undefined {
  const e = raw as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

export const notFound: RequestHandler = (req, _res, next) => next(Errors.notFound(`${req.method} ${req.path}`));
