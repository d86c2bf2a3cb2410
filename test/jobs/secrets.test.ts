/**
 * The CMS provider secrets of a dump appear nowhere in plain text: not in Postgres, not in Redis (job data
 * is ids only), not in the logs (at trace level), not in any API response. They are recoverable with the key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SecretBox } from '../../core/crypto';
import { rowId } from '../../core/ids';
import { SECRET_API_KEY, STRAPI_TOKEN, catalystDump } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let logs = '';
const SECRETS = [SECRET_API_KEY, STRAPI_TOKEN];
const USER = 'user-secrets';

beforeAll(async () => {
  const sink = new PassThrough();
  sink.on('data', (c) => (logs += c));
  stack = await startStack({ logTo: sink, config: { LOG_LEVEL: 'trace' } });
});
afterAll(() => stack.close());

test('secrets are sealed at rest and leak nowhere', async () => {
  const token = await stack.mintToken(USER);
  const auth = { Authorization: `Bearer ${token}` };
  const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
  const res = await stack.http.post('/v1/dumps').set(auth).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  const id = res.body.batchId;
  expect(await waitForBatch(stack, id)).toBe('completed');

  const responses = [
    JSON.stringify(res.body),
    JSON.stringify((await stack.http.get(`/v1/batches/${id}`).set(auth)).body),
    JSON.stringify((await stack.http.get(`/v1/batches/${id}/report`).set(auth)).body),
    JSON.stringify((await stack.http.get(`/v1/batches/${id}/report`).set(admin)).body),
    JSON.stringify((await stack.http.get('/v1/admin/batches').set(admin)).body),
    JSON.stringify((await stack.http.get('/v1/admin/audit').set(admin)).body),
    (await stack.http.get('/admin/queues/api/queues?activeQueue=migration&status=completed').auth('a', TEST_ADMIN_TOKEN)).text,
  ];

  // Postgres: every table of the schema, every row as text.
  const tables: { table_name: string }[] = await stack.api.deps.ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`);
  const pgHits: string[] = [];
  for (const { table_name } of tables) {
    const [r] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM "${table_name}" t WHERE t::text LIKE ANY($1)`, [SECRETS.map((s) => `%${s}%`)]);
    if (r.n > 0) pgHits.push(table_name);
  }
  expect(pgHits).toEqual([]);

  // Redis: every key under this stack's prefix, whatever its type.
  const redis = stack.api.deps.redis;
  const keys = await redis.keys(`${stack.config.QUEUE_PREFIX}:*`);
  expect(keys.length).toBeGreaterThan(0);
  let redisText = '';
  for (const k of keys) {
    const type = await redis.type(k);
    const v =
      type === 'string' ? await redis.get(k)
      : type === 'hash' ? await redis.hgetall(k)
      : type === 'list' ? await redis.lrange(k, 0, -1)
      : type === 'set' ? await redis.smembers(k)
      : type === 'zset' ? await redis.zrange(k, 0, -1)
      : type === 'stream' ? await redis.xrange(k, '-', '+')
      : null;
    redisText += JSON.stringify(v);
  }
  expect(redisText).toContain(id); // job data is there — ids only

  // The object store: the dump itself is sealed at rest.
  const files = readdirSync(stack.config.STORAGE_DIR, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  expect(files.some((f) => f.name.endsWith('.sealed'))).toBe(true);
  const stored = files.map((f) => readFileSync(join(f.parentPath, f.name)).toString('latin1')).join('');

  expect(logs).toContain(id);
  for (const s of SECRETS) {
    expect(stored).not.toContain(s);
    expect(redisText).not.toContain(s);
    expect(logs).not.toContain(s);
    for (const r of responses) expect(r).not.toContain(s);
  }

  // …and still recoverable with the key: the envelope names its key id.
  const [cfg] = await stack.api.deps.ds.query(`SELECT id, config FROM deployment_configs WHERE id = $1`, [rowId(USER, 'deployment_config', 'contentful')]);
  expect(cfg.config.apiKey).toMatchObject({ $enc: 'aes-256-gcm', kid: 'k1' });
  const box = new SecretBox(stack.config.encryptionKeys, stack.config.ENCRYPTION_KEY_ID);
  expect(box.open(cfg.config.apiKey, `${cfg.id}:apiKey`)).toBe(SECRET_API_KEY);
});
