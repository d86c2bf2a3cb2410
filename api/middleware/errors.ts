/** The one error mapper: every failure leaves as {"error":{"code","message","details"}} (docs/http-api.md §2). */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, Errors } from '../../core/errors';
import { isDecodeErrorCode } from '../../core/inflate';
import type { Logger } from '../../core/logger';

/** What Express' own parts (body-parser, serve-static/send, the router) throw: http-errors style. */
interface HttpLibError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
  code?: string;
  /** body-parser's limit (bytes) of the body refused as too large. */
  limit?: number;
  /** Set by api/checkedBody.ts: the refused body was a dump (it could go through /v1/uploads instead). */
  dump?: boolean;
}

/** Codes for client errors a library raised, by status (the message says the rest). */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 406: 'not_acceptable',
  411: 'length_required', 413: 'payload_too_large', 415: 'unsupported_media_type', 416: 'range_not_satisfiable',
};

/**
 * A library error that states a 4xx status is the client's fault, as Express' own final handler treats it
 * (`err.status`/`err.statusCode`): it keeps that status instead of becoming a 500. Its message is passed on
 * only when the library marked it safe to show (`expose`, set by http-errors for 4xx).
 */
export function fromLibraryError(e: HttpLibError): AppError | null {
  if (e?.type === 'entity.too.large') return null; // has its own message (the body limit), below
  if (e?.type === 'entity.parse.failed' || e?.type === 'charset.unsupported')
    return Errors.badRequest('invalid_body', `The request body could not be read: ${e.message}`);
  if (e?.type === 'encoding.unsupported')
    return new AppError(415, 'unsupported_content_encoding', `${e.message}: send the body uncompressed, or with Content-Encoding gzip, deflate or br.`);
  if (e?.type === 'request.aborted') return Errors.badRequest('request_aborted', 'The client closed the connection before the body arrived.');
  const status = typeof e?.status === 'number' ? e.status : e?.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  // body-parser passes on the decoder's own error (Z_DATA_ERROR, Z_BUF_ERROR, brotli's ERR__ERROR_…) as a
  // 400 when a body does not decode as its Content-Encoding says.
  if (isDecodeErrorCode(e.code)) {
    return Errors.badRequest('invalid_content_encoding',
      'The request body does not decode as its Content-Encoding says (not data of that encoding, or cut off). Send it compressed as declared, or drop the Content-Encoding header.');
  }
  const message = e.expose && e.message ? e.message : `The request was refused (HTTP ${status}).`;
  return new AppError(status, CODE_BY_STATUS[status] ?? `http_${status}`, message);
}

export function errorHandler(log: Logger, bodyLimit: string): ErrorRequestHandler {
  return (raw, req, res, _next) => {
    let err: AppError;
    const e = raw as HttpLibError;
    const lib = raw instanceof AppError ? null : fromLibraryError(e);
    if (raw instanceof AppError) err = raw;
    else if (e?.type === 'entity.too.large') {
      err = e.dump ? Errors.tooLarge(bodyLimit)
        : new AppError(413, 'payload_too_large', `The request body is larger than this endpoint accepts${typeof e.limit === 'number' ? ` (${e.limit} bytes)` : ''}.`, typeof e.limit === 'number' ? { limit: e.limit } : undefined);
    }
    else if (lib) err = lib;
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
