/**
 * `npm start` sets up Postgres and Redis as `npm test` does (scripts/start-services.sh --for-start), says
 * what it does, and leaves alone a service whose URL was given.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import Redis from 'ioredis';
import { npmStart, type NpmStart } from './helpers/npmStart';
import { freePort, missingBinaries } from './helpers/privateServices';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '..', 'scripts', 'start-services.sh');
const DEFAULT_DB = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
let app: NpmStart | undefined;

afterAll(() => app?.cleanup());

// The default URLs are the ones `npm start` sets up; a machine whose tests use other servers checks the other branch.
const usesDefaults = (process.env.DATABASE_URL ?? DEFAULT_DB) === DEFAULT_DB && !process.env.REDIS_URL;

(usesDefaults ? test : test.skip)('npm start without DATABASE_URL/REDIS_URL sets up the local services, says so, and comes up ready', async () => {
  app = await npmStart('svc', { DATABASE_URL: undefined, REDIS_URL: undefined, TEST_DATABASE_URL: undefined });
  const out = app.output();
  expect(out).toContain('postgres: DATABASE_URL not set: using local Postgres on 127.0.0.1:5432');
  expect(out).toContain('set DATABASE_URL to use your own');
  expect(out).toMatch(/postgres: ready on 127\.0\.0\.1:5432/);
  expect(out).toMatch(/redis: ready on 127\.0\.0\.1:6379/);
  // the set-up ran before the app printed its URLs
  expect(out.indexOf('redis: ready')).toBeLessThan(out.indexOf('browser-storage-migrator is running'));
  const ready = await fetch(`${app.base}/readyz`);
  expect(ready.status).toBe(200);
}, 40000);

test('--for-start leaves a service alone when its URL is given, and BSM_SETUP_SERVICES=false skips both', async () => {
  // An address nothing answers on: a set-up attempt would fail (remote host), so exit 0 proves it was left alone.
  const given = await run('bash', [SCRIPT, '--for-start'], { env: { ...process.env, DATABASE_URL: 'postgres://u:p@10.255.255.1:5999/db', REDIS_URL: 'redis://10.255.255.1:6999' } });
  expect(given.stdout).toContain('postgres: DATABASE_URL is set: using your server as given (nothing started or installed)');
  expect(given.stdout).toContain('redis: REDIS_URL is set: using your server as given (nothing started or installed)');
  expect(given.stdout).not.toContain('ready on');
  const skipped = await run('bash', [SCRIPT, '--for-start'], { env: { ...process.env, BSM_SETUP_SERVICES: 'false' } });
  expect(skipped.stdout).toContain('services: set-up skipped (BSM_SETUP_SERVICES=false)');
});

const noRedis = missingBinaries({ redis: true });
(noRedis ? test.skip : test)('the set-up starts a local Redis that is not running (the path a fresh machine takes)', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await expect(probe.connect()).rejects.toThrow(); // nothing there yet
  probe.disconnect();
  // Postgres is already up here, so only Redis is started (SETUP for a URL on 127.0.0.1 that nothing serves).
  const { stdout } = await run('bash', [SCRIPT], { env: { ...process.env, REDIS_URL: url } });
  expect(stdout).toContain(`redis: ready on 127.0.0.1:${port} (started)`);
  const redis = new Redis(url);
  try {
    expect(await redis.ping()).toBe('PONG');
  } finally {
    await redis.call('SHUTDOWN', 'NOSAVE').catch(() => undefined); // the connection drops as it stops
    redis.disconnect();
  }
}, 30000);
