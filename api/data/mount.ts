/**
 * Binds data-API routes (route.ts) to Express: CORS for the app's origin, auth, zod validation of params,
 * query and body (unknown fields refused; errors name the path), ETag and If-None-Match → 304.
 * If-Match is checked by the handlers, inside the transaction that changes the row (etag.ts).
 */
import express, { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import { AppError, Errors } from '../../core/errors';
import { depthExceeds, findUnstorable } from '../../format';
import { MAX_JSONB_DEPTH } from '../../jobs/write/storable';
import type { ApiDeps } from '../context';
import { authenticate } from '../middleware/auth';
import { matchesAny } from './etag';
import { readSnapshot } from './rows';
import type { RouteSpec } from './route';

/** `/v1/websites/:websiteId` → `/v1/websites/{websiteId}` (OpenAPI) */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** One readable line per zod issue, and the list as details: `data.title: expected string, received number`. */
export function validationError(code: string, where: string, error: z.ZodError): AppError {
  const issues = error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message, code: i.code }));
  const first = issues[0];
  return new AppError(400, code, `The ${where} is not valid: ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}.`, { issues });
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, code: string, where: string): T {
  if (!schema) return value as T;
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(code, where, r.error);
  return r.data;
}

/**
 * Any origin may call the data API: it authenticates by bearer token only (never a cookie), and `*`
 * without Allow-Credentials keeps cookies out. The app runs on its own origin, so every call is cross-origin.
 */
export function dataCors() {
  return (req: Request, res: Response, next: () => void) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'ETag, Location, X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset');
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept, If-Match, If-None-Match, X-Request-Id');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

function unstorableBody({ path, key }: { path: (string | number)[]; key: boolean }): AppError {
  const at = path.map(String).join('.') || '(root)';
  return new AppError(400, 'invalid_body', `The request body is not valid: ${at}: ${key ? 'a key holds' : 'holds'} U+0000 or a lone surrogate, which Postgres text cannot store.`, {
    issues: [{ path: at, message: 'must not contain U+0000 or a lone surrogate', code: 'custom' }],
  });
}

/** A request whose JSON body's size the parser noted (`verify`): 0 or none for an empty body. */
type SizedRequest = Request & { bodyBytes?: number };

/** The deepest a data-API body may nest: a stored value (MAX_JSONB_DEPTH) and the fields around it. */
const MAX_BODY_DEPTH = MAX_JSONB_DEPTH + 8;

export function mountRoutes(deps: ApiDeps, routes: RouteSpec[]): Router {
  const r = Router();
  const user = authenticate(deps, ['uploader']);
  const json = express.json({
    limit: deps.config.DATA_BODY_LIMIT, type: ['application/json', 'application/merge-patch+json'],
    verify: (req, _res, buf) => { (req as SizedRequest).bodyBytes = buf.length; },
  });
  for (const path of new Set(routes.filter((s) => s.handler).map((s) => s.path))) r.all(path, dataCors());
  for (const spec of routes) {
    if (!spec.handler) continue;
    // Only `user` and `none` are guarded here; the other values document routes that routes.ts guards.
    if (spec.auth !== 'user' && spec.auth !== 'none') throw new Error(`${spec.operationId}: mountRoutes serves auth 'user' or 'none', not '${spec.auth}'`);
    const handler = spec.handler;
    const chain = [
      ...(spec.auth === 'user' ? [user] : []),
      ...(spec.body ? [json] : []),
      async (req: Request, res: Response) => {
        const caller = req.caller;
        if (spec.auth === 'user' && !caller?.userId) throw new AppError(403, 'forbidden', 'The data API answers for one user: use that user\'s uploader token.');
        if (spec.body && !req.is(['application/json', 'application/merge-patch+json'])) {
          throw new AppError(415, 'unsupported_media_type', 'Send the body as application/json.');
        }
        // An empty body is not JSON: body-parser reads it as {}, which a PUT would store in place of the value.
        if (spec.body && (spec.method === 'put' || spec.method === 'patch') && !(req as SizedRequest).bodyBytes) {
          throw Errors.badRequest('empty_body', 'The request has no JSON body; send the whole value (PUT) or the changes (PATCH).');
        }
        // Handlers walk bodies recursively (and JSON.stringify them): a body nested past what can be stored
        // is refused here, before any of them runs out of stack.
        if (spec.body && depthExceeds(req.body, MAX_BODY_DEPTH)) {
          throw new AppError(400, 'unstorable_value', `The body nests arrays/objects more than ${MAX_BODY_DEPTH} levels deep; values are stored up to ${MAX_JSONB_DEPTH}.`);
        }
        // Text Postgres cannot hold, anywhere in the body: the driver would write a lone surrogate as U+FFFD
        // (two ids becoming one; a secret changing when sealed), and U+0000 fails the statement.
        const unstorable = spec.body ? findUnstorable(req.body) : null;
        if (unstorable) throw unstorableBody(unstorable);
        const request = {
          deps,
          caller: caller as never,
          params: parse(spec.params, req.params, 'invalid_path', 'path'),
          query: parse(spec.query, { ...req.query }, 'invalid_query', 'query string'),
          body: spec.body ? parse(spec.body, req.body, 'invalid_body', 'request body') : undefined,
          requestId: req.id ?? '',
          ifMatch: req.headers['if-match'],
        };
        const reply = spec.method === 'get' && spec.snapshot
          ? await readSnapshot(deps.ds, (db) => handler({ ...request, db }))
          : await handler({ ...request, db: deps.ds });
        if (reply.etag) res.setHeader('ETag', reply.etag);
        for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
        if (spec.method === 'get' && reply.etag && matchesAny(req.headers['if-none-match'], reply.etag, true)) {
          res.status(304).end();
          return;
        }
        const status = reply.status ?? 200;
        if (reply.body === undefined) res.status(status).end();
        else res.status(status).json(reply.body);
      },
    ];
    r[spec.method](spec.path, ...chain);
  }
  return r;
}
