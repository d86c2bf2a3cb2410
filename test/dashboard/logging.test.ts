/**
 * Logs at trace level through a real API and real workers: every line is JSON; the request id follows a
 * dump from its HTTP request into every phase's log lines with the batch id; and no secret — bearer
 * tokens, the admin token, session cookies, CSRF tokens, a dump's apiKey — is ever written.
 */
import { phasesOf } from '../../jobs/layouts';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import request from 'supertest';
import { startApi, type RunningApi } from '../../api/server';
import { createLogger } from '../../core/logger';
import { createWorkers, type Workers } from '../../worker/createWorkers';
import { catalystDump, SECRET_API_KEY, STRAPI_TOKEN } from '../fixtures/catalystDump';
import { testConfig, TEST_ADMIN_TOKEN } from '../helpers/stack';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});
const config = testConfig({ LOG_LEVEL: 'trace' });
const log = createLogger('trace', { proc: 'test' }, sink);
let api: RunningApi;
let workers: Workers;

beforeAll(async () => {
  api = await startApi(config, { migrate: true, log });
  workers = createWorkers({ config, ds: api.deps.ds, store: api.deps.store, log: log.child({ proc: 'worker' }) });
});
afterAll(async () => {
  await workers.close();
  await api.deps.queues.migration.obliterate({ force: true }).catch(() => undefined);
  await api.deps.queues.maintenance.obliterate({ force: true }).catch(() => undefined);
  await api.deps.ds.query(`DROP SCHEMA IF EXISTS "${config.DATABASE_SCHEMA}" CASCADE`);
  await api.close();
});

const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('a dump posted with a bearer token and an apiKey inside: request id and batch id everywhere, no secret anywhere', async () => {
  const http = request(api.app);
  const minted = await http.post('/v1/admin/tokens').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ userId: 'user-logs' });
  const token: string = minted.body.token;
  const requestId = `req-${randomBytes(6).toString('hex')}`;
  let batchId = '';
  // The verify job's completion comes after its last log line (the DB says completed a little earlier).
  const verified = new Promise<void>((resolve) => workers.migration.on('completed', (job) => job.id === `${batchId}.verify` && resolve()));
  const res = await http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('X-Request-Id', requestId)
    .set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(res.status).toBe(202);
  expect(res.headers['x-request-id']).toBe(requestId);
  batchId = res.body.batchId;

  // A dashboard session too: its cookie and CSRF token must stay out of the logs as well.
  const login = await http.post('/admin/login').type('form').send({ token: TEST_ADMIN_TOKEN });
  const cookie = String(([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]).split(';')[0];
  const session = await http.get('/admin/session').set('Cookie', cookie);
  await http.post('/v1/admin/tokens').set('Cookie', cookie).set('X-CSRF-Token', session.body.csrfToken).send({ userId: 'x' }).expect(201);

  await verified;
  const [b] = await api.deps.ds.query(`SELECT status, notes FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b).toMatchObject({ status: 'completed', notes: { requestId } });

  // Something careless on purpose: a header set and a dump fragment logged whole, nested deep.
  log.warn({ req: { headers: { authorization: `Bearer ${token}`, cookie } }, details: { entry: { value: { contentful: { config: { apiKey: SECRET_API_KEY } } } } } }, 'careless');

  const all = lines.join('\n');
  for (const secret of [token, TEST_ADMIN_TOKEN, SECRET_API_KEY, STRAPI_TOKEN, cookie.split('=')[1], session.body.csrfToken]) {
    expect(secret.length).toBeGreaterThan(10);
    expect(all).not.toContain(secret);
  }
  expect(all).toContain('[redacted]');

  const entries = parsed(); // every line is one JSON object
  const post = entries.find((e) => e.msg === 'request' && e.method === 'POST' && e.path === '/v1/dumps');
  expect(post).toMatchObject({ reqId: requestId, batchId, status: 202, proc: 'test' });
  expect(entries.find((e) => e.msg === 'batch created')).toMatchObject({ reqId: requestId, batchId });
  const phases = entries.filter((e) => e.msg === 'phase completed' && e.batchId === batchId);
  expect(phases.length).toBe(phasesOf('catalyst').length);
  for (const p of phases) expect(p).toMatchObject({ reqId: requestId, batchId, proc: 'worker', level: 30 });
  const careless = entries.find((e) => e.msg === 'careless') as { req: { headers: Record<string, string> }; details: { entry: { value: { contentful: { config: { apiKey: string } } } } } };
  expect(careless.req.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]' });
  expect(careless.details.entry.value.contentful.config.apiKey).toBe('[redacted]');
});
