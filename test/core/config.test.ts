/** Configuration is checked once at start-up: defaults work locally; a bad value names its variable. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../core/config';

test('defaults work on a local machine', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({ PORT: 3000, REDIS_URL: 'redis://127.0.0.1:6379', STORAGE_DIR: '.data/objects', WORKER_CONCURRENCY: 4 });
  expect(c.encryptionKeys.get('k1')).toHaveLength(32);
  expect(c.s3).toBeUndefined();
});

test.each([
  ['PORT', 'eighty', 'PORT'],
  ['ENCRYPTION_KEY', Buffer.alloc(16).toString('base64'), 'ENCRYPTION_KEY: must be 32 bytes'],
  ['ADMIN_TOKEN', 'short', 'ADMIN_TOKEN: must be at least 16 characters'],
  ['DATABASE_URL', 'not a url', 'DATABASE_URL'],
  ['WORKER_CONCURRENCY', '0', 'WORKER_CONCURRENCY'],
  ['DUMP_BODY_LIMIT', 'lots', 'DUMP_BODY_LIMIT'],
])('a bad %s is named', (name, value, message) => {
  expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  expect(() => loadConfig({ [name]: value })).toThrow(message);
});

test('production refuses the development secrets', () => {
  expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/development defaults are refused/);
  expect(() => loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'a-real-admin-token-123456', ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') })).not.toThrow();
});

test('S3 is used when S3_BUCKET is set; old keys stay readable for rotation', () => {
  const k2 = Buffer.alloc(32, 2).toString('base64');
  const c = loadConfig({ S3_BUCKET: 'dumps', S3_ENDPOINT: 'http://minio:9000', ENCRYPTION_OLD_KEYS: `k0:${k2}` });
  expect(c.s3).toMatchObject({ bucket: 'dumps', endpoint: 'http://minio:9000', region: 'us-east-1' });
  expect(c.encryptionKeys.get('k0')).toEqual(Buffer.alloc(32, 2));
});

test('a process given a bad value stops with a message naming the variable', async () => {
  const run = promisify(execFile);
  const err = await run(process.execPath, ['--import', 'tsx', join(__dirname, '../../worker/main.ts')], { env: { ...process.env, WORKER_CONCURRENCY: 'many' } }).catch((e) => e);
  expect(err.code).toBe(1);
  expect(err.stderr).toContain('WORKER_CONCURRENCY');
});
