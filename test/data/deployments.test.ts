/**
 * Deployment configs and history through the data API, against a real stack. Secrets: no response ever
 * holds one in clear (the raw response text is searched), the stored row holds a sealed envelope that opens
 * to it, a masked round trip keeps it byte for byte, a new value is sealed anew. Plus ETags, validation,
 * ownership, and history read back as the app's DeploymentJob, newest first in keyset pages.
 */
import { SecretBox, type SealedSecret } from '../../core/crypto';
import { rowId } from '../../core/ids';
import { secretsOf } from '../../api/data/context';
import { SECRET_API_KEY, STRAPI_TOKEN, WEBSITE_ID, catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let alice: string;
let bob: string;
const ALICE = 'alice-deploy';
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const q = (sql: string, args: unknown[] = []) => stack.api.deps.ds.query(sql, args);
const SECRETS = [SECRET_API_KEY, STRAPI_TOKEN, 'opt-key-111-secret', 'nested-token-222-secret', 'pw-333-secret', 'opt-key-444-rotated'];

/** Every response this suite gets is checked for plaintext secrets, in its raw text. */
function clean<T extends { text: string }>(res: T): T {
  for (const s of SECRETS) expect(res.text ?? '').not.toContain(s);
  return res;
}

async function migrate(token: string, doc: DumpDoc) {
  const res = await stack.http.post('/v1/dumps').set(as(token)).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
}

const JOB = (n: number, startedAt: string, extra: Record<string, unknown> = {}) => ({
  id: `deploy-${n}`, providerId: 'contentful', status: n % 2 ? 'failed' : 'completed', progress: 100, startedAt, completedAt: startedAt, logs: [], retryCount: 0, maxRetries: 3, ...extra,
});

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.mintToken(ALICE);
  bob = await stack.mintToken('bob-deploy');
  await migrate(alice, catalystDump());
  // Carol: only a longer history, with ties on startedAt and a newer job naming its website.
  const at = (s: number) => new Date(Date.UTC(2025, 7, 12, 8, 0, s)).toISOString();
  const jobs = [JOB(7, at(30), { websiteId: 'website_other', error: 'boom' }), JOB(6, at(20)), JOB(5, at(20)), JOB(4, at(20)), JOB(3, at(10)), JOB(2, at(5)), JOB(1, at(0))];
  const doc: DumpDoc = { ...catalystDump(), localStorage: [{ key: 'deployment-history', value: JSON.stringify(jobs) }], sessionStorage: [], indexedDB: [] };
  await migrate(await stack.mintToken('carol-deploy'), doc);
  await stack.stopWorkers();
});
afterAll(() => stack.close());

describe('deployment configs', () => {
  const contentfulId = () => rowId(ALICE, 'deployment_config', 'contentful');

  it('lists migrated configs with every secret masked and named in maskedFields', async () => {
    const res = clean(await stack.http.get('/v1/deployment-configs').set(as(alice)));
    expect(res.status).toBe(200);
    expect(res.body.map((c: { provider: string }) => c.provider)).toEqual(['contentful', 'strapi']);
    expect(res.body[0]).toEqual({
      id: contentfulId(), sourceId: 'contentful', provider: 'contentful', websiteId: rowId(ALICE, 'website', WEBSITE_ID),
      config: { apiKey: '********', workspace: 'abc123xyz', environment: 'master' }, maskedFields: ['apiKey'],
      lastConnected: '2025-08-12T08:00:00.000Z', connectionExpiry: '2025-08-13T08:00:00.000Z',
      createdAt: '2025-08-12T08:00:00.000Z', updatedAt: '2025-08-12T08:00:00.000Z',
    });
    expect(res.body[1]).toMatchObject({ sourceId: 'strapi', config: { endpoint: 'https://cms.example.com', apiKey: '********' }, maskedFields: ['apiKey'] });
    expect(res.body[1]).not.toHaveProperty('lastConnected');
    const byProvider = clean(await stack.http.get('/v1/deployment-configs/contentful').set(as(alice)));
    const byId = clean(await stack.http.get(`/v1/deployment-configs/${contentfulId()}`).set(as(alice)));
    expect(byProvider.body).toEqual(res.body[0]);
    expect(byId.body).toEqual(res.body[0]);
    expect((await stack.http.get('/v1/deployment-configs/contentful').set(as(alice)).set('If-None-Match', byId.headers.etag)).status).toBe(304);
  });

  it('a masked round trip keeps the stored envelope; a new key is sealed anew', async () => {
    const [before] = await q(`SELECT config FROM deployment_configs WHERE id = $1`, [contentfulId()]);
    const env = before.config.apiKey as SealedSecret;
    expect(SecretBox.isSealed(env)).toBe(true);
    expect(secretsOf(stack.config).open(env, `${contentfulId()}:apiKey`)).toBe(SECRET_API_KEY);
    const read = await stack.http.get('/v1/deployment-configs/contentful').set(as(alice));
    const { config, lastConnected, connectionExpiry, websiteId } = read.body;
    const same = clean(await stack.http.put('/v1/deployment-configs/contentful').set(as(alice)).set('If-Match', read.headers.etag).send({ config, lastConnected, connectionExpiry, websiteId }));
    expect(same.status).toBe(200);
    expect(same.body).toEqual(read.body);
    expect(same.headers.etag).toBe(read.headers.etag);
    const [kept] = await q(`SELECT config FROM deployment_configs WHERE id = $1`, [contentfulId()]);
    expect(kept.config).toEqual(before.config);

    const changed = clean(await stack.http.put('/v1/deployment-configs/contentful').set(as(alice)).send({ config: { ...config, apiKey: 'opt-key-444-rotated', environment: 'staging' }, websiteId }));
    expect(changed.body.config).toEqual({ apiKey: '********', workspace: 'abc123xyz', environment: 'staging' });
    expect(changed.body).not.toHaveProperty('lastConnected');
    const [after] = await q(`SELECT config::text AS text, config FROM deployment_configs WHERE id = $1`, [contentfulId()]);
    expect(after.config.apiKey).not.toEqual(env);
    expect(secretsOf(stack.config).open(after.config.apiKey, `${contentfulId()}:apiKey`)).toBe('opt-key-444-rotated');
    expect(after.text).not.toContain('opt-key-444-rotated');
    expect((await stack.http.put('/v1/deployment-configs/contentful').set(as(alice)).set('If-Match', read.headers.etag).send({ config })).status).toBe(412);
  });

  it('seals secret-named fields at any depth on create, and never answers them', async () => {
    const body = { provider: 'optimizely', config: { apiKey: 'opt-key-111-secret', projectId: 'p1', auth: { token: 'nested-token-222-secret' }, hooks: [{ url: 'https://h.example', password: 'pw-333-secret' }] }, websiteId: WEBSITE_ID };
    const res = clean(await stack.http.post('/v1/deployment-configs').set(as(alice)).send(body));
    expect(res.status).toBe(201);
    const id = rowId(ALICE, 'deployment_config', 'optimizely');
    expect(res.headers.location).toBe(`/v1/deployment-configs/${id}`);
    expect(res.body).toMatchObject({ id, provider: 'optimizely', websiteId: rowId(ALICE, 'website', WEBSITE_ID), maskedFields: ['apiKey', 'auth.token', 'hooks[0].password'] });
    expect(res.body.config).toEqual({ apiKey: '********', projectId: 'p1', auth: { token: '********' }, hooks: [{ url: 'https://h.example', password: '********' }] });
    const [row] = await q(`SELECT config, config::text AS text, batch_id FROM deployment_configs WHERE id = $1`, [id]);
    for (const s of SECRETS) expect(row.text).not.toContain(s);
    expect(row.batch_id).toBeNull();
    const box = secretsOf(stack.config);
    expect(box.open(row.config.auth.token, `${id}:auth.token`)).toBe('nested-token-222-secret');
    expect(box.open(row.config.hooks[0].password, `${id}:hooks[0].password`)).toBe('pw-333-secret');

    const dup = await stack.http.post('/v1/deployment-configs').set(as(alice)).send({ provider: 'optimizely', config: {} });
    expect(dup.status).toBe(409);
    // A mask where no secret is stored would erase the real one: refused.
    const noSecret = await stack.http.put(`/v1/deployment-configs/${id}`).set(as(alice)).send({ config: { ...res.body.config, clientSecret: '********' } });
    expect(noSecret.status).toBe(400);
    expect(noSecret.body.error.details.path).toBe('config.clientSecret');
    const kept = clean(await stack.http.put(`/v1/deployment-configs/${id}`).set(as(alice)).send({ config: res.body.config, websiteId: null }));
    expect(kept.body).toMatchObject({ websiteId: null, maskedFields: ['apiKey', 'auth.token', 'hooks[0].password'] });
    const [again] = await q(`SELECT config FROM deployment_configs WHERE id = $1`, [id]);
    expect(again.config).toEqual(row.config);
  });

  it('refuses invalid bodies naming the path', async () => {
    const cases: [unknown, string][] = [
      [{ provider: 'strapi2' }, 'config'],
      [{ provider: 'bad provider', config: {} }, 'provider'],
      [{ provider: 'x', config: {}, lastConnected: 'yesterday' }, 'lastConnected'],
      [{ provider: 'x', config: 'apiKey=1' }, 'config'],
    ];
    for (const [body, path] of cases) {
      const res = await stack.http.post('/v1/deployment-configs').set(as(alice)).send(body as object);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body.error.details.issues[0].path).toBe(path);
    }
    const unknown = await stack.http.put('/v1/deployment-configs/strapi').set(as(alice)).send({ config: {}, provider: 'strapi' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/provider/);
    expect((await stack.http.post('/v1/deployment-configs').set(as(alice)).send({ provider: 'y', config: {}, websiteId: 'no-such-site' })).status).toBe(404);
  });

  it("another user's token gets 404 for every id and empty lists", async () => {
    expect(clean(await stack.http.get('/v1/deployment-configs').set(as(bob))).body).toEqual([]);
    for (const ref of ['contentful', contentfulId()]) {
      expect((await stack.http.get(`/v1/deployment-configs/${ref}`).set(as(bob))).status).toBe(404);
      expect((await stack.http.put(`/v1/deployment-configs/${ref}`).set(as(bob)).send({ config: { apiKey: '********' } })).status).toBe(404);
      expect((await stack.http.delete(`/v1/deployment-configs/${ref}`).set(as(bob))).status).toBe(404);
    }
    // Bob can have his own contentful config: same provider, his own row.
    const own = clean(await stack.http.post('/v1/deployment-configs').set(as(bob)).send({ provider: 'contentful', config: { apiKey: 'opt-key-111-secret' } }));
    expect(own.status).toBe(201);
    expect(own.body.id).not.toBe(contentfulId());
    expect(clean(await stack.http.get('/v1/deployment-configs/contentful').set(as(alice))).body.id).toBe(contentfulId());
  });

  it('deletes a config (If-Match honoured); its history stays, unlinked', async () => {
    const read = await stack.http.get('/v1/deployment-configs/strapi').set(as(alice));
    await stack.http.put('/v1/deployment-configs/strapi').set(as(alice)).send({ config: { ...read.body.config, endpoint: 'https://cms2.example.com' } }).expect(200);
    expect((await stack.http.delete('/v1/deployment-configs/strapi').set(as(alice)).set('If-Match', read.headers.etag)).status).toBe(412);
    await stack.http.delete('/v1/deployment-configs/strapi').set(as(alice)).expect(204);
    expect((await stack.http.get('/v1/deployment-configs/strapi').set(as(alice))).status).toBe(404);
    await stack.http.delete('/v1/deployment-configs/contentful').set(as(alice)).expect(204);
    const [h] = await q(`SELECT deployment_config_id FROM deployment_history WHERE user_id = $1`, [ALICE]);
    expect(h.deployment_config_id).toBeNull();
    expect((await stack.http.get('/v1/deployment-history').set(as(alice))).body.items).toHaveLength(1);
  });
});

describe('deployment history', () => {
  it('reads a migrated job back as the app stored it', async () => {
    const doc = catalystDump();
    const [job] = JSON.parse(doc.localStorage.find((e) => e.key === 'deployment-history')!.value);
    const res = await stack.http.get('/v1/deployment-history').set(as(alice));
    expect(res.status).toBe(200);
    const { id: jobId, ...rest } = job;
    const serverId = rowId(ALICE, 'deployment', jobId);
    expect(res.body).toEqual({ items: [{ ...rest, id: serverId, sourceId: jobId, websiteServerId: rowId(ALICE, 'website', WEBSITE_ID) }], nextCursor: null });
    for (const ref of [jobId, serverId]) {
      const one = await stack.http.get(`/v1/deployment-history/${ref}`).set(as(alice));
      expect(one.body).toEqual(res.body.items[0]);
      expect((await stack.http.get(`/v1/deployment-history/${ref}`).set(as(alice)).set('If-None-Match', one.headers.etag)).status).toBe(304);
      expect((await stack.http.get(`/v1/deployment-history/${ref}`).set(as(bob))).status).toBe(404);
    }
    expect((await stack.http.get('/v1/deployment-history').set(as(bob))).body).toEqual({ items: [], nextCursor: null });
  });

  it('pages newest first without repeats, and restores a job\'s own websiteId', async () => {
    const carol = await stack.mintToken('carol-deploy');
    const seen: { sourceId: string; startedAt: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: { items: { sourceId: string; startedAt: string }[]; nextCursor: string | null } } = await stack.http
        .get('/v1/deployment-history').query({ limit: 3, ...(cursor ? { cursor } : {}) }).set(as(carol));
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((j) => j.sourceId)).toHaveLength(7);
    expect(new Set(seen.map((j) => j.sourceId)).size).toBe(7);
    const times = seen.map((j) => Date.parse(j.startedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const newest = (await stack.http.get('/v1/deployment-history/deploy-7').set(as(carol))).body;
    expect(newest).toMatchObject({ sourceId: 'deploy-7', websiteId: 'website_other', websiteServerId: null, error: 'boom', status: 'failed' });
    expect(newest).not.toHaveProperty('websiteSourceId');
    const bad = await stack.http.get('/v1/deployment-history').query({ cursor: 'nope' }).set(as(carol));
    expect(bad.body.error.code).toBe('invalid_cursor');
    expect((await stack.http.get('/v1/deployment-history').query({ limit: 0 }).set(as(carol))).body.error.details.issues[0].path).toBe('limit');
    expect((await stack.http.get('/v1/deployment-history').query({ websiteId: WEBSITE_ID }).set(as(carol))).status).toBe(404);
  });
});
