/**
 * One description per data-API route: method, path, who may call it, the zod schemas of its params,
 * query, body and responses, examples, and the handler. `mount.ts` binds these to Express (validation,
 * ETags, 304/412) and `openapi.ts` turns the same objects into the OpenAPI document, so the two cannot
 * disagree.
 */
import type { z } from 'zod';
import type { ApiDeps, Caller } from '../context';
import type { Db } from './rows';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';

/**
 * Who may call: `user` an uploader token acting for its own user (the only data callers; mount.ts serves
 * these); the others document the core routes that routes.ts guards itself (coreRoutes.ts): `uploader` an
 * uploader token (own batches) or an admin/operator token or dashboard session, `admin` the admin only,
 * `adminRead` the admin or an operator, `none` anyone.
 */
export type Auth = 'user' | 'uploader' | 'admin' | 'adminRead' | 'none';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Response headers worth documenting (ETag, Location…). */
  headers?: Record<string, string>;
  /** Media type of `schema` when the body is not JSON (an event stream, bytes). */
  contentType?: string;
}

export interface RouteExample {
  summary: string;
  request?: unknown;
  response?: unknown;
}

/** What a handler gets: validated input, the caller and the request's preconditions. */
export interface DataRequest<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  deps: ApiDeps;
  caller: Caller & { userId: string };
  params: P;
  query: Q;
  body: B;
  requestId: string;
  /**
   * Where the handler reads: for a `snapshot` GET, one read-only REPEATABLE READ transaction for the whole
   * request, so that its statements see one committed state, never half of a concurrent write; otherwise
   * the pool (writes open their own transaction, write.ts).
   */
  db: Db;
  /** `If-Match` as sent (one or more entity tags, or `*`), for updates and deletes. */
  ifMatch: string | undefined;
}

/** What a handler answers; `etag` becomes the ETag header (and drives If-None-Match → 304 on GET). */
export interface DataReply {
  status?: number;
  body?: unknown;
  etag?: string;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: Method;
  /** Express path syntax (`/v1/websites/:websiteId`). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: Auth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** The JSON body (application/json). */
  body?: z.ZodType;
  /** Bodies in other media types, for the document only (mount.ts parses JSON): NDJSON dumps, tus chunks. */
  otherBodies?: Record<string, z.ZodType>;
  /** The body may be left out (e.g. `{}` is the default). */
  bodyOptional?: boolean;
  /**
   * A GET whose answer (and ETag) is built from several statements — rows of several tables, or a row and
   * its parent's: they run in one read-only snapshot (`req.db`), so the answer is one committed state. Not
   * for a single statement after the website's look-up (a list page): the snapshot's two extra round trips
   * cost a fifth of a page's throughput (docs/BENCHMARKS.md).
   */
  snapshot?: boolean;
  /** Extra request headers the route reads (If-Match…), for the document. */
  requestHeaders?: Record<string, string>;
  responses: Record<number, ResponseSpec>;
  examples?: RouteExample[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler?: (req: DataRequest<any, any, any>) => Promise<DataReply>;
}

/** Keeps literal types and checks the shape at the definition site. */
export function route(spec: RouteSpec): RouteSpec {
  return spec;
}
