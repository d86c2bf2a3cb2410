/**
 * Rate limits (api/middleware/rateLimit.ts, docs/limits.md) against real Redis and the real stack: per
 * token, per address, shared by two API instances, failed logins; health and metrics never limited; a
 * Redis that is gone or stops answering lets requests through. Each test speaks from its own address
 * (X-Forwarded-For: the app trusts it by default, TRUST_PROXY), so the per-address budgets do not mix.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createApp } from '../../api/app';
import { startApi, type RunningApi } from '../../api/server';
import { createLogger } from '../../core/logger';
import { createRedis } from '../../core/redis';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';

let stack: Stack;
let alice: string;
let bob: string;
let second: RunningApi | null = null;

const TOKEN_LIMIT = 3;
const IP_LIMIT = 5;
const LOGIN_LIMIT = 2;

beforeAll(async () => {
  stack = await startStack({
    workers: false,
    config: { RATE_LIMIT_PER_TOKEN: String(TOKEN_LIMIT), RATE_LIMIT_PER_IP: String(IP_LIMIT), RATE_LIMIT_WINDOW_S: '60', LOGIN_LIMIT_PER_IP: String(LOGIN_LIMIT) },
  });
  alice = await mint('alice');
  bob = await mint('bob');
});
afterAll(async () => {
  await second?.close();
  await stack.close();
});

let ipSeq = 0;
/** A fresh client address per use (TEST-NET-3), so per-address counts start at zero. */
const freshIp = () => `203.0.113.${++ipSeq}`;
/** stack.mintToken, from an address of its own (the admin's calls count against an address too). */
async function mint(userId: string): Promise<string> {
  const res = await request(stack.app).post('/v1/admin/tokens').set('X-Forwarded-For', freshIp()).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ userId });
  expect(res.status).toBe(201);
  return res.body.token as string;
}
const get = (path: string, token: string | null, ip: string, app = stack.app) => {
  const r = request(app).get(path).set('X-Forwarded-For', ip);
  return token ? r.set('Authorization', `Bearer ${token}`) : r;
};

function expectRateLimited(res: request.Response, scope: string, limit: number, windowSeconds: number): void {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(res.body).toEqual({
    error: {
      code: 'rate_limited',
      message: expect.stringContaining(`at most ${limit} per ${windowSeconds} s`),
      details: { scope, limit, windowSeconds, retryAfterSeconds: retryAfter },
    },
  });
}

test('a token over its limit gets 429 with Retry-After and the error form; another token does not', async () => {
  const ip = freshIp();
  for (let i = 1; i <= TOKEN_LIMIT; i++) {
    const ok = await get('/v1/websites', alice, ip);
    expect(ok.status).toBe(200);
    expect(ok.headers['ratelimit-limit']).toBe(String(TOKEN_LIMIT));
    expect(ok.headers['ratelimit-remaining']).toBe(String(TOKEN_LIMIT - i));
    expect(Number(ok.headers['ratelimit-reset'])).toBeGreaterThan(0);
  }
  // The 429 is readable from the app's origin: CORS exposes Retry-After and the RateLimit headers.
  const limited = await get('/v1/websites', alice, freshIp());
  expectRateLimited(limited, 'token', TOKEN_LIMIT, 60);
  expect(limited.headers['access-control-expose-headers']).toMatch(/Retry-After.*RateLimit-Remaining/);
  // The token's budget is spent whatever it calls, uploads included (the tus adapter counts too).
  const upload = await request(stack.app).post('/v1/uploads').set('X-Forwarded-For', freshIp()).set('Authorization', `Bearer ${alice}`).set('Tus-Resumable', '1.0.0').set('Upload-Length', '10');
  expectRateLimited(upload, 'token', TOKEN_LIMIT, 60);
  expect(upload.headers['tus-resumable']).toBe('1.0.0');

  expect((await get('/v1/websites', bob, ip)).status).toBe(200);

  // Keys are the token's database id, never the token.
  const keys = await stack.api.deps.redis.keys(`${stack.config.QUEUE_PREFIX}:rl:*`);
  const [row] = await stack.api.deps.ds.query(`SELECT id FROM api_tokens WHERE user_id = 'alice'`);
  expect(keys).toContain(`${stack.config.QUEUE_PREFIX}:rl:token:token:${row.id}`);
  for (const k of keys) for (const secret of [alice, bob, TEST_ADMIN_TOKEN]) expect(k).not.toContain(secret);
});

test('an address over its limit gets 429 under /v1, with or without a valid token; another address does not', async () => {
  const ip = freshIp();
  for (let i = 0; i < IP_LIMIT - 1; i++) expect((await get('/v1/openapi.json', null, ip)).status).toBe(200);
  expect((await get('/v1/websites', 'bsm_wrong-token', ip)).status).toBe(401); // guesses use the budget up too
  const limited = await get('/v1/openapi.json', null, ip);
  expectRateLimited(limited, 'ip', IP_LIMIT, 60);
  expect(limited.headers['access-control-allow-origin']).toBe('*');
  expectRateLimited(await get('/v1/websites', bob, ip), 'ip', IP_LIMIT, 60);
  // Preflights are free; outside /v1 (the pages, the client bundle) the per-address limit does not apply.
  expect((await request(stack.app).options('/v1/websites').set('X-Forwarded-For', ip)).status).toBe(204);
  expect((await get('/admin/login', null, ip)).status).toBe(200);
  expect((await get('/v1/openapi.json', null, freshIp())).status).toBe(200);
});

test('health and metrics are never limited, even for an address whose budget is spent', async () => {
  const ip = freshIp();
  for (let i = 0; i < IP_LIMIT; i++) await get('/v1/openapi.json', null, ip);
  expect((await get('/v1/openapi.json', null, ip)).status).toBe(429);
  for (let i = 0; i < IP_LIMIT * 2; i++) {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await get(path, null, ip);
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
  }
  expect((await get('/metrics', null, ip)).text).toMatch(/bsm_rate_limited_total\{scope="ip"\} [1-9]/);
});

test('two API instances sharing Redis and QUEUE_PREFIX share one count', async () => {
  second = await startApi(stack.config, { migrate: false, log: stack.api.log });
  const carol = await mint('carol');
  const ip = freshIp();
  const apps = [stack.app, second.app, stack.app];
  for (const app of apps) expect((await get('/v1/websites', carol, ip, app)).status).toBe(200);
  expectRateLimited(await get('/v1/websites', carol, ip, second.app), 'token', TOKEN_LIMIT, 60);
  expectRateLimited(await get('/v1/websites', carol, ip, stack.app), 'token', TOKEN_LIMIT, 60);
});

test('failed dashboard logins are limited per address; successful ones do not count', async () => {
  const ip = freshIp();
  const login = (token: string, accept = 'text/html') =>
    request(stack.app).post('/admin/login').set('X-Forwarded-For', ip).set('Accept', accept).type('form').send({ token, next: '/admin' });
  for (let i = 0; i < LOGIN_LIMIT + 2; i++) expect((await login(TEST_ADMIN_TOKEN)).status).toBe(303);
  for (let i = 0; i < LOGIN_LIMIT; i++) expect((await login('not-the-token')).status).toBe(401);
  // The form again, saying why (a browser posted it), and the error form for a script.
  const page = await login(TEST_ADMIN_TOKEN);
  expect(page.status).toBe(429);
  expect(page.headers['content-type']).toMatch(/text\/html/);
  expect(Number(page.headers['retry-after'])).toBeGreaterThan(0);
  expect(page.text).toContain('Too many failed dashboard logins');
  expectRateLimited(await login(TEST_ADMIN_TOKEN, 'application/json'), 'login', LOGIN_LIMIT, 900);
  // Another address may still log in.
  const other = await request(stack.app).post('/admin/login').set('X-Forwarded-For', freshIp()).type('form').send({ token: TEST_ADMIN_TOKEN });
  expect(other.status).toBe(303);
});

test('TRUST_PROXY: the default believes the client\'s own X-Forwarded-For; a hop count does not', async () => {
  // Behind one proxy that appends the address it saw: the client varies the left-most entry at will.
  const proxySaw = freshIp();
  const spoofed = (app: typeof stack.app) => request(app).get('/v1/openapi.json').set('X-Forwarded-For', `${freshIp()}, ${proxySaw}`);
  for (let i = 0; i < IP_LIMIT + 2; i++) expect((await spoofed(stack.app)).status).toBe(200); // `true`: evaded
  const oneProxy = createApp({ ...stack.api.deps, config: { ...stack.config, TRUST_PROXY: 1 } });
  for (let i = 0; i < IP_LIMIT; i++) expect((await spoofed(oneProxy)).status).toBe(200);
  expectRateLimited(await spoofed(oneProxy), 'ip', IP_LIMIT, 60);
});

/** A logger whose warnings the test can read. */
function capturedLog(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { log: createLogger('warn', {}, sink as never), lines };
}

describe('Redis trouble fails open', () => {
  test('Redis unreachable: requests pass unlimited, and a warning is logged', async () => {
    const { log, lines } = capturedLog();
    const dead = createRedis('redis://127.0.0.1:1', 'producer'); // nothing listens on port 1
    try {
      const app = createApp({ ...stack.api.deps, redis: dead, log });
      const ip = freshIp();
      const dave = await mint('dave');
      for (let i = 0; i < Math.max(TOKEN_LIMIT, IP_LIMIT) + 2; i++) {
        const res = await get('/v1/websites', dave, ip, app);
        expect(res.status).toBe(200);
        expect(res.headers['ratelimit-limit']).toBeUndefined();
      }
      expect(lines.join('')).toContain('rate limiter cannot reach Redis');
    } finally {
      dead.disconnect();
    }
  });

  test('Redis that stops answering: each request waits at most a moment, then passes', async () => {
    // A TCP relay to the real Redis that can be told to swallow everything: connected, but silent.
    let silent = false;
    const sockets: Socket[] = [];
    const relay: Server = createServer((client) => {
      const upstream = connect(6379, '127.0.0.1');
      sockets.push(client, upstream);
      client.on('data', (d) => { if (!silent) upstream.write(d); });
      upstream.on('data', (d) => { if (!silent) client.write(d); });
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as { port: number }).port;
    const redis = createRedis(`redis://127.0.0.1:${port}`, 'producer');
    const { log, lines } = capturedLog();
    try {
      await redis.ping();
      const app = createApp({ ...stack.api.deps, redis, log });
      const erin = await mint('erin');
      const ip = freshIp();
      const counted = await get('/v1/websites', erin, ip, app);
      expect(counted.headers['ratelimit-limit']).toBe(String(TOKEN_LIMIT)); // counted while Redis answered
      silent = true;
      for (let i = 0; i < TOKEN_LIMIT + 1; i++) {
        const started = Date.now();
        const res = await get('/v1/websites', erin, ip, app);
        expect(res.status).toBe(200);
        expect(Date.now() - started).toBeLessThan(3000);
      }
      expect(lines.join('')).toContain('rate limiter cannot reach Redis');
    } finally {
      redis.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise((r) => relay.close(r));
    }
  });
});
