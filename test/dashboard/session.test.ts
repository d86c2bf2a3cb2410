/**
 * Dashboard login sessions over HTTP: the cookie's flags and contents, where it is accepted, CSRF, the
 * read-only operator, revocation, logout, and live streams that never hold a closing server open.
 */
import { get } from 'node:http';
import { sha256Hex } from '../../core/ids';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';

let stack: Stack;
let closed = false;

beforeAll(async () => {
  stack = await startStack({ workers: false });
});
afterAll(async () => {
  if (!closed) await stack.close();
});

async function login(token: string, extra: Record<string, string> = {}) {
  const res = await stack.http.post('/admin/login').type('form').set(extra).send({ token, next: '/admin' });
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const cookie = setCookie.find((c) => c.startsWith('bsm_session='));
  return { res, setCookie: cookie, cookie: cookie?.split(';')[0] ?? '' };
}

async function csrfOf(cookie: string): Promise<string> {
  const s = await stack.http.get('/admin/session').set('Cookie', cookie);
  expect(s.status).toBe(200);
  return s.body.csrfToken;
}

test('the admin logs in: an HttpOnly, SameSite=Strict cookie holding a random id, never the token', async () => {
  const { res, setCookie, cookie } = await login(TEST_ADMIN_TOKEN);
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/admin');
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  expect(setCookie).toMatch(/Path=\//);
  expect(setCookie).toMatch(new RegExp(`Max-Age=${stack.config.ADMIN_SESSION_TTL_S}`));
  expect(setCookie).not.toMatch(/Secure/); // plain http here
  expect(setCookie).not.toContain(TEST_ADMIN_TOKEN);
  const id = cookie.split('=')[1];
  const key = `${stack.config.QUEUE_PREFIX}:admin-session:${sha256Hex(id)}`;
  const ttl = await stack.api.deps.redis.ttl(key);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(stack.config.ADMIN_SESSION_TTL_S);
  expect(await stack.api.deps.redis.get(key)).not.toContain(TEST_ADMIN_TOKEN);
});

test('behind an https proxy the cookie is Secure', async () => {
  const { setCookie } = await login(TEST_ADMIN_TOKEN, { 'X-Forwarded-Proto': 'https' });
  expect(setCookie).toMatch(/; Secure/);
});

test('wrong and uploader tokens get the form again, and no cookie', async () => {
  const wrong = await login('not-a-token-at-all');
  expect(wrong.res.status).toBe(401);
  expect(wrong.res.text).toContain('not valid');
  expect(wrong.setCookie).toBeUndefined();
  const uploader = await login(await stack.mintToken('someone'));
  expect(uploader.res.status).toBe(403);
  expect(uploader.res.text).toContain('uploader token');
  expect(uploader.setCookie).toBeUndefined();
});

test('the cookie opens the pages, the admin API and Bull Board; without it browsers go to the login form', async () => {
  const { cookie } = await login(TEST_ADMIN_TOKEN);
  expect((await stack.http.get('/admin').set('Cookie', cookie)).status).toBe(200);
  expect((await stack.http.get('/v1/admin/batches').set('Cookie', cookie)).status).toBe(200);
  const board = await stack.http.get('/admin/queues/api/queues').set('Cookie', cookie);
  expect(board.status).toBe(200);
  expect(board.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === false)).toBe(true);
  const page = await stack.http.get('/admin/batches/00000000-0000-4000-8000-000000000000').set('Accept', 'text/html');
  expect(page.status).toBe(303);
  expect(page.headers.location).toBe('/admin/login?next=%2Fadmin%2Fbatches%2F00000000-0000-4000-8000-000000000000');
  expect((await stack.http.get('/admin/queues').set('Accept', 'text/html')).status).toBe(303);
  expect((await stack.http.get('/v1/admin/batches')).status).toBe(401);
});

test('login never redirects off-site', async () => {
  const res = await stack.http.post('/admin/login').type('form').send({ token: TEST_ADMIN_TOKEN, next: '//evil.example/admin' });
  expect(res.headers.location).toBe('/admin');
});

test('CSRF: a state change with the cookie needs the X-CSRF-Token header or our own Origin', async () => {
  const { cookie } = await login(TEST_ADMIN_TOKEN);
  const mint = () => stack.http.post('/v1/admin/tokens').set('Cookie', cookie).send({ userId: 'csrf-user' });
  const bare = await mint();
  expect(bare.status).toBe(403);
  expect(bare.body.error.code).toBe('csrf_failed');
  expect((await mint().set('Origin', 'https://evil.example')).status).toBe(403);
  expect((await mint().set('X-CSRF-Token', 'x'.repeat(32))).status).toBe(403);
  expect((await mint().set('X-CSRF-Token', await csrfOf(cookie))).status).toBe(201);
  const sameOrigin = await stack.http.post('/v1/admin/tokens').set('Cookie', cookie).set('Host', 'dash.local:8080').set('Origin', 'http://dash.local:8080').send({ userId: 'csrf-user' });
  expect(sameOrigin.status).toBe(201);
});

test('an operator sees pages and a read-only Bull Board, and may change nothing', async () => {
  const opToken = await stack.mintToken('ops-person', 'operator');
  const { res, cookie } = await login(opToken);
  expect(res.status).toBe(303);
  const csrf = await csrfOf(cookie);
  expect((await stack.http.get('/admin/session').set('Cookie', cookie)).body).toMatchObject({ role: 'operator', canAct: false });
  expect((await stack.http.get('/admin').set('Cookie', cookie)).status).toBe(200);
  const board = await stack.http.get('/admin/queues/api/queues').set('Cookie', cookie);
  expect(board.status).toBe(200);
  expect(board.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === true)).toBe(true);
  const pause = await stack.http.put('/admin/queues/api/queues/migration/pause').set('Cookie', cookie).set('X-CSRF-Token', csrf);
  expect(pause.status).toBe(403);
  expect(await stack.api.deps.queues.migration.isPaused()).toBe(false);
  const mint = await stack.http.post('/v1/admin/tokens').set('Cookie', cookie).set('X-CSRF-Token', csrf).send({ userId: 'x' });
  expect(mint.status).toBe(403);
  // Revoking the operator's token ends the session at once.
  await stack.api.deps.ds.query(`UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1`, [sha256Hex(opToken)]);
  expect((await stack.http.get('/v1/admin/batches').set('Cookie', cookie)).status).toBe(401);
});

test('logout ends the session', async () => {
  const { cookie } = await login(TEST_ADMIN_TOKEN);
  const out = await stack.http.post('/admin/logout').set('Cookie', cookie).set('Host', 'h.local').set('Origin', 'http://h.local');
  expect(out.status).toBe(303);
  expect(([] as string[]).concat(out.headers['set-cookie'] ?? []).join()).toMatch(/bsm_session=;.*Max-Age=0/);
  expect((await stack.http.get('/v1/admin/batches').set('Cookie', cookie)).status).toBe(401);
});

test('a live stream answers with events, and ends when the server shuts down', async () => {
  const { cookie } = await login(TEST_ADMIN_TOKEN);
  const json = await stack.http.get('/v1/admin/events/batches').set('Cookie', cookie).set('Accept', 'application/json');
  expect(json.body).toMatchObject({ batches: [] });
  const firstEvent = new Promise<{ type: string; ended: Promise<void> }>((resolve, reject) => {
    get(`${stack.api.url}/v1/admin/events/batches`, { headers: { Cookie: cookie, Accept: 'text/event-stream' } }, (res) => {
      let buf = '';
      const ended = new Promise<void>((r) => res.on('end', () => r()));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        const m = /event: (\w+)\ndata: /.exec(buf);
        if (m) resolve({ type: `${res.headers['content-type']} ${m[1]}`, ended });
      });
    }).on('error', reject);
  });
  const { type, ended } = await firstEvent;
  expect(type).toBe('text/event-stream; charset=utf-8 batches');
  const t0 = Date.now();
  closed = true;
  await stack.close(); // would hang here if the open stream held the server
  await ended;
  expect(Date.now() - t0).toBeLessThan(5000);
});
