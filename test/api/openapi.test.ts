/**
 * GET /v1/openapi.json against the app that serves it: the document is valid OpenAPI 3.1, every /v1 route
 * the Express app serves is in it, every operation in it is served, every example parses with its route's
 * schemas, and real answers parse with the schemas the document was made from.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { z } from 'zod';
import { DOCUMENTED_ROUTES } from '../../api/handlers/docs';
import { openApiPath } from '../../api/data/mount';
import type { RouteSpec } from '../../api/data/route';
import { UPLOADS_PATH } from '../../api/uploads';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';

type Doc = { openapi: string; servers?: { url: string }[]; paths: Record<string, Record<string, { operationId: string }>> };

const ROUTES: RouteSpec[] = DOCUMENTED_ROUTES;
const PUBLIC_URL = 'http://api.example.test:8080';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let stack: Stack;
let doc: Doc;

beforeAll(async () => {
  stack = await startStack({ workers: false, config: { PUBLIC_URL } });
  const res = await stack.http.get('/v1/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  doc = res.body;
});
afterAll(() => stack?.close());

/**
 * The validator package is ES modules only and Jest here runs CommonJS, so it runs in a child Node process
 * (native ESM), the document on its stdin.
 */
function validate(document: unknown): { valid: boolean; errors?: unknown } {
  const script = `import { Validator } from '@seriousme/openapi-schema-validator';
    let text = ''; for await (const chunk of process.stdin) text += chunk;
    process.stdout.write(JSON.stringify(await new Validator().validate(JSON.parse(text))));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(document), cwd: join(__dirname, '..', '..') });
  return JSON.parse(out.toString());
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((method) => ({ method, path })));

test('(a) the document is valid OpenAPI 3.1, with unique operation ids and the public URL as server', () => {
  expect(doc.openapi).toBe('3.1.0');
  expect(validate(doc)).toEqual({ valid: true });
  // The validator is not vacuous: a broken document is refused.
  expect(validate({ ...doc, paths: { '/v1/x': { get: { responses: 'none' } } } }).valid).toBe(false);
  const ids = operations().map(({ method, path }) => doc.paths[path][method].operationId);
  expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  expect(doc.servers).toEqual([{ url: PUBLIC_URL }]);
});

type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; slash?: boolean; rawPath?: unknown };

/** Every route of the app (Express 5: app.router.stack, routers nested as layers with handle.stack). */
function servedRoutes(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const walk = (layers: Layer[], prefix: string) => {
    for (const layer of layers) {
      if (layer.route) {
        for (const path of [layer.route.path].flat()) for (const method of Object.keys(layer.route.methods)) out.push({ method, path: prefix + path });
      } else if (layer.handle?.stack) {
        // A router mounted at '/' is `slash`; one mounted at a path keeps it as rawPath.
        walk(layer.handle.stack, layer.slash ? prefix : prefix + String(layer.rawPath ?? ''));
      }
    }
  };
  walk((stack.app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

test('(b) every /v1 route the app serves is documented', () => {
  const served = servedRoutes().filter((r) => r.path.startsWith('/v1/'));
  expect(served.length).toBeGreaterThan(25); // the walk found the routers (routes.ts and the data routes)
  // tus is middleware (api/uploads), not a route: its operations are listed here.
  served.push(
    { method: 'options', path: UPLOADS_PATH }, { method: 'post', path: UPLOADS_PATH },
    ...['head', 'patch', 'delete'].map((method) => ({ method, path: `${UPLOADS_PATH}/:id` })),
  );
  const missing = served.filter(({ method, path }) => {
    const item = doc.paths[openApiPath(path)];
    // `_all`: the data routes' CORS handler (mount.ts), on paths whose methods are documented one by one.
    return method === '_all' ? !item : !item?.[method];
  });
  expect(missing).toEqual([]);
});

test('(c) every documented operation is served (no token: anything but the not-found-route answer)', async () => {
  const unserved: string[] = [];
  for (const { method, path } of operations()) {
    const url = path.replace(/\{[^}]+\}/g, 'x0');
    const res = await (stack.http as unknown as Record<string, (u: string) => Promise<{ status: number; body: { error?: { code: string; message: string } } }>>)[method](url);
    expect(res.status).toBeLessThan(500);
    // A HEAD answer has no body: every documented HEAD is guarded, so a served one answers 401, never 404.
    const notFoundRoute = method === 'head'
      ? res.status === 404
      : res.body?.error?.code === 'not_found' && res.body.error.message === `${method.toUpperCase()} ${url} was not found.`;
    if (notFoundRoute) unserved.push(`${method.toUpperCase()} ${path}`);
  }
  expect(operations().length).toBeGreaterThan(30);
  expect(unserved).toEqual([]);
});

test('(d) every example is valid: requests against the body schema, responses against a 2xx schema', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const spec of ROUTES) {
    for (const ex of spec.examples ?? []) {
      const at = `${spec.operationId} "${ex.summary}"`;
      if (ex.request !== undefined) {
        checked++;
        const r = spec.body?.safeParse(ex.request);
        if (!r?.success) problems.push(`${at} request: ${r ? JSON.stringify(r.error.issues) : 'the route has no body'}`);
      }
      if (ex.response !== undefined) {
        checked++;
        const schemas = Object.entries(spec.responses).filter(([s, r]) => Number(s) < 300 && r.schema).map(([, r]) => r.schema as z.ZodType);
        const results = schemas.map((s) => s.safeParse(ex.response));
        if (!results.some((r) => r.success)) problems.push(`${at} response: ${results.length ? JSON.stringify(results[0].error?.issues) : 'no 2xx schema'}`);
      }
    }
  }
  expect(checked).toBeGreaterThan(5);
  expect(problems).toEqual([]);
});

/** The documented 2xx schema of a core operation. */
function schemaOf(operationId: string, status: number): z.ZodType {
  const schema = ROUTES.find((s) => s.operationId === operationId)?.responses[status]?.schema;
  if (!schema) throw new Error(`${operationId} documents no ${status} schema`);
  return schema;
}

function expectShape(operationId: string, res: { status: number; body: unknown }, status = 200) {
  expect(res.status).toBe(status);
  const r = schemaOf(operationId, status).safeParse(res.body);
  if (!r.success) throw new Error(`${operationId}: the answer does not match its documented schema: ${JSON.stringify(r.error.issues)}\n${JSON.stringify(res.body)}`);
}

test('(e) real answers match the documented schemas (and the dump example is accepted as it is)', async () => {
  const admin = `Bearer ${TEST_ADMIN_TOKEN}`;
  const minted = await stack.http.post('/v1/admin/tokens').set('Authorization', admin).send({ userId: 'docs-user', label: 'openapi test' });
  expectShape('mintToken', minted, 201);
  const user = `Bearer ${minted.body.token}`;
  const example = ROUTES.find((s) => s.operationId === 'postDump')!.examples![0].request;
  const posted = await stack.http.post('/v1/dumps').set('Authorization', user).set('Content-Type', 'application/json').send(JSON.stringify(example));
  expectShape('postDump', posted, 202);
  const id = posted.body.batchId as string;
  expectShape('getBatch', await stack.http.get(`/v1/batches/${id}`).set('Authorization', user));
  expectShape('getBatchReport', await stack.http.get(`/v1/batches/${id}/report`).set('Authorization', user));
  expectShape('listBatches', await stack.http.get('/v1/admin/batches').set('Authorization', admin));
  expectShape('listAudit', await stack.http.get('/v1/admin/audit').set('Authorization', admin));
  expectShape('listRejects', await stack.http.get(`/v1/admin/batches/${id}/rejects`).set('Authorization', admin));
  // The live streams answer their JSON once to `Accept: application/json`: the batch list and the batch.
  const listOnce = await stack.http.get('/v1/admin/events/batches').set('Authorization', admin).set('Accept', 'application/json');
  expectShape('listBatches', listOnce);
  const batchOnce = await stack.http.get(`/v1/admin/events/batches/${id}`).set('Authorization', admin).set('Accept', 'application/json');
  expectShape('getBatch', batchOnce);
  const again = await stack.http.post('/v1/dumps').set('Authorization', user).set('Content-Type', 'application/json').send(JSON.stringify(example));
  expectShape('postDump', again, 200);
});
