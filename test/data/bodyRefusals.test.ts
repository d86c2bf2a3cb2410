/**
 * Data-API bodies that once made a 500 or lost data (found by an HTTP fuzz), each now a 400 that changes
 * nothing: an empty PUT/PATCH body (body-parser reads it as {}, which a PUT stored in place of the value),
 * a body nested far past what can be stored (the handlers' recursive walks ran out of stack), and U+0000
 * in a content type's name (Postgres refused the duplicate-name query).
 */
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const as = () => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  stack = await startStack({ workers: false });
  token = await stack.mintToken('user-body-refusals');
});
afterAll(() => stack.close());

/** JSON text of `{"x":{"x":…1…}}` (or `[[…1…]]`) nested `levels` deep, written by hand: serializers recurse. */
function nested(levels: number, arrays = false): string {
  return arrays ? `${'['.repeat(levels)}1${']'.repeat(levels)}` : `${'{"x":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

test('an empty PUT or PATCH body is a 400 and leaves the stored value as it was', async () => {
  const put = await stack.http.put('/v1/preferences').set(as()).send({ ui: { theme: 'dark' } });
  expect(put.status).toBe(200);
  for (const method of ['put', 'patch'] as const) {
    const res = await stack.http[method]('/v1/preferences').set(as()).set('Content-Type', method === 'patch' ? 'application/merge-patch+json' : 'application/json').send('');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('empty_body');
  }
  expect((await stack.http.get('/v1/preferences').set(as())).body.preferences.ui).toEqual({ theme: 'dark' });
  // An empty object is a body: a merge patch of {} changes nothing, and says so with 200.
  expect((await stack.http.patch('/v1/preferences').set(as()).set('Content-Type', 'application/merge-patch+json').send('{}')).status).toBe(200);
});

test('a body nested far past what can be stored is a 400 unstorable_value on every write route, never a 500', async () => {
  const site = (await stack.http.post('/v1/websites').set(as()).send({ name: 'Deep' })).body;
  const type = (await stack.http.post(`/v1/websites/${site.id}/content-types`).set(as()).send({ name: 'Post' })).body;
  const deep = nested(20_000);
  const json = (text: string) => ({ text, type: 'application/json' });
  const send = (method: 'put' | 'patch' | 'post', path: string, body: { text: string; type: string }) =>
    stack.http[method](path).set(as()).set('Content-Type', body.type).send(body.text);
  const cases: [string, () => Promise<{ status: number; body: { error?: { code: string } } }>][] = [
    ['PUT /v1/preferences', () => send('put', '/v1/preferences', json(`{"ui":{"x":${deep}}}`))],
    ['PATCH /v1/preferences', () => send('patch', '/v1/preferences', { text: `{"ui":{"x":${deep}}}`, type: 'application/merge-patch+json' })],
    ['POST content item', () => send('post', `/v1/websites/${site.id}/content-items`, json(`{"contentTypeId":"${type.id}","data":{"x":${nested(20_000, true)}}}`))],
    ['POST content type', () => send('post', `/v1/websites/${site.id}/content-types`, json(`{"name":"Deep","fields":[{"id":"f","name":"f","label":"F","type":"text","required":false,"order":0,"defaultValue":${deep}}]}`))],
    ['POST deployment config', () => send('post', '/v1/deployment-configs', json(`{"provider":"p","config":{"x":${nested(3_000, true)}}}`))],
  ];
  for (const [name, request] of cases) {
    const res = await request();
    expect({ name, status: res.status, code: res.body.error?.code }).toEqual({ name, status: 400, code: 'unstorable_value' });
  }
  const [{ n }] = await stack.api.deps.ds.query(`SELECT (SELECT count(*) FROM content_items WHERE user_id = $1) + (SELECT count(*) FROM deployment_configs WHERE user_id = $1) AS n`, ['user-body-refusals']);
  expect(Number(n)).toBe(0);
  // Deep, but storable: still written.
  expect((await send('post', `/v1/websites/${site.id}/content-items`, json(`{"contentTypeId":"${type.id}","data":{"x":${nested(1_000)}}}`))).status).toBe(201);
});

test('U+0000 or a lone surrogate in a content type\'s name is a 400, not a database error', async () => {
  const site = (await stack.http.post('/v1/websites').set(as()).send({ name: 'Names' })).body;
  for (const name of ['a\u0000b', 'a\ud800b']) {
    const res = await stack.http.post(`/v1/websites/${site.id}/content-types`).set(as()).send({ name });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
  }
});
