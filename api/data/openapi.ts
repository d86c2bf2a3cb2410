/**
 * The OpenAPI 3.1 document, generated from the route descriptions (route.ts) and their zod schemas — the
 * same objects the router validates with — so it cannot drift from what is served. OpenAPI 3.1 schemas are
 * JSON Schema 2020-12, which is what zod emits.
 */
import { z } from 'zod';
import { SESSION_COOKIE } from '../../dashboard/session';
import { openApiPath } from './mount';
import type { Auth, RouteSpec } from './route';

type Json = Record<string, unknown>;

/** Security requirements per `auth` (alternatives: any one of them lets the caller in), as routes.ts guards. */
const SECURITY: Record<Auth, Json[]> = {
  user: [{ bearer: [] }],
  uploader: [{ bearer: [] }, { adminToken: [] }, { operatorToken: [] }, { dashboardSession: [] }],
  admin: [{ adminToken: [] }, { dashboardSession: [] }],
  adminRead: [{ adminToken: [] }, { operatorToken: [] }, { dashboardSession: [] }],
  none: [],
};

const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'An uploader token (minted by POST /v1/admin/tokens): acts for its own user only' },
  adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token (ADMIN_TOKEN)' },
  operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token (role "operator"): read-only admin' },
  dashboardSession: {
    type: 'apiKey', in: 'cookie', name: SESSION_COOKIE,
    description: 'The dashboard login session (POST /admin/login, admin or operator); a state-changing request also needs its X-CSRF-Token header',
  },
};

/** `{examples}` for a media type, named example1…, from the examples that have `pick`. */
function examplesOf(spec: RouteSpec, pick: 'request' | 'response'): Json {
  const ex = (spec.examples ?? []).filter((e) => e[pick] !== undefined);
  return ex.length ? { examples: Object.fromEntries(ex.map((e, i) => [`example${i + 1}`, { summary: e.summary, value: e[pick] }])) } : {};
}

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rest;
}

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  for (const [where, obj] of [['path', spec.params], ['query', spec.query]] as const) {
    if (!obj) continue;
    const js = schemaOf(obj, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = schema as Json;
      out.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  for (const [name, description] of Object.entries(spec.requestHeaders ?? {})) out.push({ name, in: 'header', required: false, schema: { type: 'string' }, description });
  return out;
}

function operation(spec: RouteSpec): Json {
  const op: Json = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    security: SECURITY[spec.auth],
    parameters: parameters(spec),
    responses: Object.fromEntries(
      Object.entries(spec.responses).map(([status, r]) => [status, {
        description: r.description,
        ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: schemaOf(r.schema, 'output'), ...(Number(status) < 300 ? examplesOf(spec, 'response') : {}) } } } : {}),
      }]),
    ),
  };
  const content: Json = spec.body ? { 'application/json': { schema: schemaOf(spec.body, 'input'), ...examplesOf(spec, 'request') } } : {};
  for (const [type, schema] of Object.entries(spec.otherBodies ?? {})) content[type] = { schema: schemaOf(schema, 'input') };
  if (Object.keys(content).length) op.requestBody = { required: !spec.bodyOptional, content };
  return op;
}

export function buildOpenApi(routes: RouteSpec[], info: { version: string; serverUrl?: string }): Json {
  const paths: Record<string, Json> = {};
  for (const spec of routes) {
    const p = openApiPath(spec.path);
    paths[p] ??= {};
    // Two descriptions of one operation would silently hide one of them.
    if (paths[p][spec.method]) throw new Error(`${spec.method.toUpperCase()} ${spec.path} is described twice`);
    paths[p][spec.method] = operation(spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'browser-storage-migrator',
      version: info.version,
      description:
        'Moves a web app\'s browser storage into Postgres (dumps, batches, admin actions), and serves the migrated data back to the app. ' +
        'Errors are always `{"error":{"code","message","details"}}`. Data resources carry the server `id` and the browser\'s `sourceId`; ' +
        'paths and references accept either. Single resources answer with an ETag; `If-None-Match` gives 304, `If-Match` on writes gives 412 when the resource changed. ' +
        'Every token and client address has a request budget per window: past it any route answers 429 `rate_limited` with `Retry-After` (seconds); ' +
        'answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    components: { securitySchemes: SECURITY_SCHEMES },
    paths,
  };
}
