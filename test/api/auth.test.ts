/** Tokens: missing/wrong → 401, wrong role → 403; other users' batches are invisible; bad dumps → 400. */
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';
import { catalystDump, toNdjson } from '../fixtures/catalystDump';

let stack: Stack;
let alice: string;
let bob: string;

beforeAll(async () => {
  stack = await startStack({ workers: false });
  alice = await stack.mintToken('alice');
  bob = await stack.mintToken('bob');
});
afterAll(() => stack.close());

const post = (token: string | null, body: string, type = 'application/json') => {
  const r = stack.http.post('/v1/dumps').set('Content-Type', type);
  return (token ? r.set('Authorization', `Bearer ${token}`) : r).send(body);
};

test('no token is 401 with the error form', async () => {
  const res = await post(null, JSON.stringify(catalystDump()));
  expect(res.status).toBe(401);
  expect(res.body.error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('Bearer') });
});

test('a wrong token is 401', async () => {
  const res = await post('bsm_not-a-real-token', JSON.stringify(catalystDump()));
  expect(res.status).toBe(401);
  expect(res.body.error.code).toBe('invalid_token');
});

test('an uploader token cannot use admin endpoints (403)', async () => {
  const res = await stack.http.post('/v1/admin/tokens').set('Authorization', `Bearer ${alice}`).send({ userId: 'mallory' });
  expect(res.status).toBe(403);
  expect(res.body.error.code).toBe('forbidden');
  const list = await stack.http.get('/v1/admin/batches').set('Authorization', `Bearer ${alice}`);
  expect(list.status).toBe(403);
});

test('the admin token cannot post dumps (a dump belongs to a user), nor can a read-only operator', async () => {
  const res = await post(TEST_ADMIN_TOKEN, JSON.stringify(catalystDump()));
  expect(res.status).toBe(403);
  const operator = await stack.mintToken('ops', 'operator');
  expect((await post(operator, JSON.stringify(catalystDump()))).status).toBe(403);
});

test('Bull Board needs the admin token', async () => {
  expect((await stack.http.get('/admin/queues')).status).toBe(401);
  expect((await stack.http.get('/admin/queues').set('Authorization', `Bearer ${alice}`)).status).toBe(403);
  const ok = await stack.http.get('/admin/queues/api/queues').auth('admin', TEST_ADMIN_TOKEN);
  expect(ok.status).toBe(200);
  expect(ok.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['maintenance', 'migration']);
});

test('another user\'s batch is not found for an uploader, visible to the admin', async () => {
  const res = await post(alice, JSON.stringify(catalystDump()));
  expect(res.status).toBe(202);
  const id = res.body.batchId;
  expect((await stack.http.get(`/v1/batches/${id}`).set('Authorization', `Bearer ${bob}`)).status).toBe(404);
  expect((await stack.http.get(`/v1/batches/${id}/report`).set('Authorization', `Bearer ${bob}`)).status).toBe(404);
  expect((await stack.http.get(`/v1/batches/${id}`).set('Authorization', `Bearer ${alice}`)).status).toBe(200);
  expect((await stack.http.get(`/v1/batches/${id}`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)).status).toBe(200);
});

describe('a malformed dump gets 400 saying what is wrong, and leaves no batch', () => {
  const cases: [string, string, string, string][] = [
    ['not JSON at all', '{"format": "browser-sto', 'application/json', 'dump_'],
    ['wrong format name', JSON.stringify({ ...catalystDump(), format: 'something-else' }), 'application/json', 'dump_'],
    ['unsupported version', JSON.stringify({ ...catalystDump(), version: 2 }), 'application/json', 'dump_'],
    ['localStorage value not a string', JSON.stringify({ ...catalystDump(), localStorage: [{ key: 'a', value: 5 }] }), 'application/json', 'dump_'],
    ['a database name with U+0000', JSON.stringify({ ...catalystDump(), indexedDB: [{ name: 'db\u0000x', version: 1, stores: [] }] }), 'application/json', 'dump_'],
    ['NDJSON without trailer', toNdjson(catalystDump()).trim().split('\n').slice(0, -1).join('\n'), 'application/x-ndjson', 'dump_truncated'],
    ['NDJSON with a wrong count', toNdjson(catalystDump()).replace(/"entries":\d+/, '"entries":999'), 'application/x-ndjson', 'dump_count_mismatch'],
  ];
  test.each(cases)('%s', async (_name, body, type, code) => {
    const before = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM migration_batches`);
    const res = await post(alice, body, type);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toContain(code);
    expect(res.body.error.message.length).toBeGreaterThan(10);
    const after = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM migration_batches`);
    expect(after[0].n).toBe(before[0].n);
  });

  test('an unknown content type is refused', async () => {
    const res = await post(alice, 'hello', 'text/plain');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });
});

test('a body over the limit gets 413 pointing to /v1/uploads', async () => {
  const small = await startStack({ workers: false, config: { DUMP_BODY_LIMIT: '1kb' } });
  try {
    const token = await small.mintToken('alice');
    const res = await small.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    expect(res.status).toBe(413);
    expect(res.body.error.details.uploadUrl).toBe('/v1/uploads');
  } finally {
    await small.close();
  }
});

test('a state-changing request with basic auth must come from this origin (browsers replay basic credentials)', async () => {
  const cross = await stack.http.post('/v1/admin/tokens').auth('admin', TEST_ADMIN_TOKEN).set('Origin', 'https://evil.example').send({ userId: 'x' });
  expect(cross.status).toBe(403);
  expect(cross.body.error.code).toBe('csrf_failed');
  const noOrigin = await stack.http.post('/v1/admin/tokens').auth('admin', TEST_ADMIN_TOKEN).send({ userId: 'x' });
  expect(noOrigin.status).toBe(403);
  const host = new URL(stack.api.url).host;
  const same = await stack.http.post('/v1/admin/tokens').auth('admin', TEST_ADMIN_TOKEN).set('Host', host).set('Origin', `http://${host}`).send({ userId: 'x' });
  expect(same.status).toBe(201);
  const bearer = await stack.http.post('/v1/admin/tokens').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ userId: 'x' });
  expect(bearer.status).toBe(201);
});

test('text Postgres cannot hold (U+0000, a lone surrogate) in an admin body or filter is a 400, not a 500 or a quietly changed user', async () => {
  const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
  for (const body of [{ userId: 'x', label: 'a\u0000' }, { userId: 'a\ud800' }, { userId: 'a\udfff' }, { userId: '   ' }, { userId: 'x', label: 'b\udc00' }]) {
    const res = await stack.http.post('/v1/admin/tokens').set(admin).send(body);
    expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'invalid_body' });
  }
  for (const path of ['/v1/admin/batches?userId=%00', '/v1/admin/batches?q=a%00', '/v1/admin/tokens?userId=%00', '/v1/admin/audit?actor=%00', '/v1/admin/audit?action=%00', '/v1/admin/audit?target=%00']) {
    const res = await stack.http.get(path).set(admin);
    expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code: 'invalid_query' });
  }
});

test('a body over the limit of an endpoint that takes no dumps gets 413 with that limit, not the dump message', async () => {
  const res = await stack.http.post('/v1/admin/tokens').set({ Authorization: `Bearer ${TEST_ADMIN_TOKEN}` }).set('Content-Type', 'application/json').send(JSON.stringify({ userId: 'x', label: 'y'.repeat(200_000) }));
  expect(res.status).toBe(413);
  expect(res.body.error).toMatchObject({ code: 'payload_too_large', details: { limit: 102400 } });
  expect(res.body.error.message).not.toMatch(/dump|uploads/);
});
