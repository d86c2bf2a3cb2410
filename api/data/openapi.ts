/**
 * The OpenAPI 3.1 document, generated from the route descriptions (route.ts) and their zod schemas — the
 * same objects the router validates with — so it cannot drift from what is served. OpenAPI 3.1 schemas are
 * JSON Schema 2020-12, which is what zod emits.
 */
import { z } from 'zod';
import { openApiPath } from './mount';
import type { RouteSpec } from './route';

type Json = Record<string, unknown>;

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
  const examples = spec.examples ?? [];
  const op: Json = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    security: spec.auth === 'none' ? [] : [{ bearer: [] }],
    parameters: parameters(spec),
    responses: Object.fromEntries(
      Object.entries(spec.responses).map(([status, r]) => {
        const ex = examples.filter((e) => e.response !== undefined && Number(status) < 300);
        return [status, {
          description: r.description,
          ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
          ...(r.schema ? { content: { 'application/json': { schema: schemaOf(r.schema, 'output'), ...(ex.length ? { examples: Object.fromEntries(ex.map((e, i) => [`example${i + 1}`, { summary: e.summary, value: e.response }])) } : {}) } } } : {}),
        }];
      }),
    ),
  };
  if (spec.body) {
    const ex = examples.filter((e) => e.request !== undefined);
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: schemaOf(spec.body, 'input'), ...(ex.length ? { examples: Object.fromEntries(ex.map((e, i) => [`example${i + 1}`, { summary: e.summary, value: e.request }])) } : {}) } },
    };
  }
  return op;
}

export function buildOpenApi(routes: RouteSpec[], info: { version: string; serverUrl?: string }): Json {
  const paths: Record<string, Json> = {};
  for (const spec of routes) {
    const p = openApiPath(spec.path);
    paths[p] ??= {};
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
        'paths and references accept either. Single resources answer with an ETag; `If-None-Match` gives 304, `If-Match` on writes gives 412 when the resource changed.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An uploader token (the user\'s own data) or, for /v1/admin, the admin token' } } },
    paths,
  };
}
