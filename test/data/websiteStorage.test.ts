/**
 * A website's content and assets sections through the data API, against a real stack: a migrated
 * section reads back as the app held it; a PUT builds the same rows the migration builds (same ids),
 * replaces the whole section, keeps dates of unchanged pages; ETags (304, 412), validation, ownership.
 */
import { rowId } from '../../core/ids';
import { PNG_1PX, WEBSITE_ID, catalystDump } from '../fixtures/catalystDump';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let alice: string;
let bob: string;
const ALICE = 'alice-storage';
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const q = (sql: string, args: unknown[] = []) => stack.api.deps.ds.query(sql, args);

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.mintToken(ALICE);
  bob = await stack.mintToken('bob-storage');
  const res = await stack.http.post('/v1/dumps').set(as(alice)).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  await stack.stopWorkers(); // the rest is API only
});
afterAll(() => stack.close());

async function website(token: string, name: string) {
  const res = await stack.http.post('/v1/websites').set(as(token)).send({ name });
  expect(res.status).toBe(201);
  return res.body as { id: string; sourceId: string };
}

const PAGES = [
  { id: 'p-home', title: 'Home', slug: 'home', content: '<h1>Hi</h1>', metadata: { seo: { title: 'Home' } }, createdAt: '2025-08-12T07:00:40.000Z', updatedAt: '2025-08-12T07:02:00.000Z' },
  { id: 'p-about', title: 'About', slug: 'about', content: 'About us' },
];
const COMPONENTS = [{ id: 'c-hero', name: 'Hero', type: 'section', props: { align: 'center' }, children: [{ id: 'c-title', name: 'Title', type: 'text', props: {} }] }];
const TEMPLATES = [{ id: 't-blog', name: 'Blog', description: 'Posts', structure: { layout: 'two-column' }, variables: ['title', 'body'] }];

describe('content section', () => {
  it('reads a migrated section back as the app held it (browser ids, ISO dates)', async () => {
    const res = await stack.http.get(`/v1/websites/${WEBSITE_ID}/content`).set(as(alice));
    expect(res.status).toBe(200);
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.body).toEqual({
      id: rowId(ALICE, 'website', WEBSITE_ID), sourceId: WEBSITE_ID,
      pages: [{ id: 'page-home', serverId: rowId(ALICE, 'website_page', WEBSITE_ID, 'page-home'), title: 'Home', slug: 'home', content: '<h1>Welcome</h1>', createdAt: '2025-08-12T07:00:40.000Z', updatedAt: '2025-08-12T07:02:00.000Z' }],
      components: [], templates: [],
    });
    expect((await stack.http.get(`/v1/websites/${WEBSITE_ID}/content`).set(as(alice)).set('If-None-Match', res.headers.etag)).status).toBe(304);
  });

  it('re-sending the migrated section unchanged writes nothing: same row ids as the migration, same ETag', async () => {
    const before = await stack.http.get(`/v1/websites/${WEBSITE_ID}/content`).set(as(alice));
    const { id: _id, sourceId: _s, ...section } = before.body;
    const put = await stack.http.put(`/v1/websites/${WEBSITE_ID}/content`).set(as(alice)).set('If-Match', before.headers.etag).send(section);
    expect(put.status).toBe(200);
    expect(put.body).toEqual(before.body);
    expect(put.headers.etag).toBe(before.headers.etag);
    const [row] = await q(`SELECT batch_id FROM website_pages WHERE id = $1`, [before.body.pages[0].serverId]);
    expect(row.batch_id).not.toBeNull(); // untouched: still the migration's write
  });

  it('replaces the whole section in order, deleting what was left out, and records the API writes', async () => {
    const w = await website(alice, 'Content Site');
    const put = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: PAGES, components: COMPONENTS, templates: TEMPLATES });
    expect(put.status).toBe(200);
    expect(put.body.pages.map((p: { id: string }) => p.id)).toEqual(['p-home', 'p-about']);
    expect(put.body.pages[0]).toEqual({ ...PAGES[0], serverId: rowId(ALICE, 'website_page', w.sourceId, 'p-home') });
    expect(put.body.pages[1]).toMatchObject({ ...PAGES[1], createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect(put.body.pages[1]).not.toHaveProperty('metadata');
    expect(put.body.components).toEqual([{ ...COMPONENTS[0], serverId: expect.any(String) }]);
    expect(put.body.templates).toEqual([{ ...TEMPLATES[0], serverId: expect.any(String) }]);
    const get = await stack.http.get(`/v1/websites/${w.sourceId}/content`).set(as(alice));
    expect(get.body).toEqual(put.body);
    expect(get.headers.etag).toBe(put.headers.etag);

    const smaller = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [PAGES[1], PAGES[0]] });
    expect(smaller.body.pages.map((p: { id: string }) => p.id)).toEqual(['p-about', 'p-home']);
    expect(smaller.body.components).toEqual([]);
    expect(smaller.body.templates).toEqual([]);
    const [n] = await q(`SELECT (SELECT count(*) FROM website_components WHERE website_id = $1)::int + (SELECT count(*) FROM website_templates WHERE website_id = $1)::int AS n`, [w.id]);
    expect(n.n).toBe(0);
    const writes = await q(`SELECT table_name, op FROM api_writes WHERE user_id = $1 AND table_name = 'website_components'`, [ALICE]);
    expect(writes.map((x: { op: string }) => x.op).sort()).toEqual(['delete', 'insert']);
    const [page] = await q(`SELECT batch_id FROM website_pages WHERE id = $1`, [put.body.pages[0].serverId]);
    expect(page.batch_id).toBeNull();
  });

  it('keeps dates of unchanged pages and bumps updatedAt of changed ones', async () => {
    const w = await website(alice, 'Dates Site');
    const first = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [PAGES[1]] });
    await new Promise((r) => setTimeout(r, 10));
    const same = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [PAGES[1]] });
    expect(same.body.pages[0]).toEqual(first.body.pages[0]);
    expect(same.headers.etag).toBe(first.headers.etag);
    const changed = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [{ ...PAGES[1], content: 'New' }] });
    expect(changed.body.pages[0].createdAt).toBe(first.body.pages[0].createdAt);
    expect(Date.parse(changed.body.pages[0].updatedAt)).toBeGreaterThan(Date.parse(first.body.pages[0].updatedAt));
  });

  it('answers 412 to a stale If-Match and leaves the section as it was', async () => {
    const w = await website(alice, 'Etag Site');
    const a = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [PAGES[0]] });
    const b = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).set('If-Match', a.headers.etag).send({ pages: [PAGES[1]] });
    expect(b.status).toBe(200);
    const stale = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).set('If-Match', a.headers.etag).send({ pages: [] });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({ code: 'precondition_failed', details: { currentEtag: b.headers.etag } });
    expect((await stack.http.get(`/v1/websites/${w.id}/content`).set(as(alice))).body.pages.map((p: { id: string }) => p.id)).toEqual(['p-about']);
  });

  it('refuses invalid bodies naming the path', async () => {
    const w = await website(alice, 'Invalid Site');
    const noTitle = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [{ id: 'x', slug: 's', content: '' }] });
    expect(noTitle.status).toBe(400);
    expect(noTitle.body.error.code).toBe('invalid_body');
    expect(noTitle.body.error.details.issues[0].path).toBe('pages.0.title');
    const unknown = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ sections: [] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/sections/);
    const badVar = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ templates: [{ ...TEMPLATES[0], variables: [1] }] });
    expect(badVar.body.error.details.issues[0].path).toBe('templates.0.variables.0');
    const badDate = await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [{ ...PAGES[1], createdAt: '2025-02-30' }] });
    expect(badDate.body.error.details.issues[0].path).toBe('pages.0.createdAt');
    expect((await stack.http.get(`/v1/websites/${w.id}/content`).set(as(alice))).body.pages).toEqual([]);
  });

  it("another user's token gets 404 for the website's sections, by either id", async () => {
    const w = await website(alice, 'Private Site');
    await stack.http.put(`/v1/websites/${w.id}/content`).set(as(alice)).send({ pages: [PAGES[0]] }).expect(200);
    for (const ref of [w.id, w.sourceId, WEBSITE_ID]) {
      expect((await stack.http.get(`/v1/websites/${ref}/content`).set(as(bob))).status).toBe(404);
      expect((await stack.http.get(`/v1/websites/${ref}/assets`).set(as(bob))).status).toBe(404);
      expect((await stack.http.put(`/v1/websites/${ref}/content`).set(as(bob)).send({ pages: [] })).status).toBe(404);
      expect((await stack.http.put(`/v1/websites/${ref}/assets`).set(as(bob)).send({ images: [] })).status).toBe(404);
    }
    expect((await stack.http.get(`/v1/websites/${w.id}/content`).set(as(alice))).body.pages).toHaveLength(1);
    expect((await stack.http.get(`/v1/websites/${w.id}/content`)).status).toBe(401);
  });
});

describe('assets section', () => {
  it('reads migrated assets back as AssetReferences', async () => {
    const res = await stack.http.get(`/v1/websites/${WEBSITE_ID}/assets`).set(as(alice));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: rowId(ALICE, 'website', WEBSITE_ID), sourceId: WEBSITE_ID, images: ['https://images.example.com/logo.png'], videos: [], documents: [] });
    expect((await stack.http.get(`/v1/websites/${WEBSITE_ID}/assets`).set(as(alice)).set('If-None-Match', res.headers.etag)).status).toBe(304);
  });

  it('replaces the lists in order, moves a data: URL to an asset URL, and honours If-Match', async () => {
    const w = await website(alice, 'Assets Site');
    const png = `data:image/png;base64,${PNG_1PX}`;
    const put = await stack.http.put(`/v1/websites/${w.id}/assets`).set(as(alice)).send({ images: ['https://a.example/1.png', png], documents: ['https://a.example/doc.pdf'] });
    expect(put.status).toBe(200);
    expect(put.body.images[0]).toBe('https://a.example/1.png');
    expect(put.body.images[1]).toMatch(/\/v1\/assets\/[0-9a-f]{64}\.[A-Za-z0-9_-]{22}$/);
    expect(put.body.videos).toEqual([]);
    expect(put.body.documents).toEqual(['https://a.example/doc.pdf']);
    const asset = await stack.http.get(new URL(put.body.images[1]).pathname);
    expect(asset.status).toBe(200);
    expect(Buffer.from(asset.body).equals(Buffer.from(PNG_1PX, 'base64'))).toBe(true);

    const stale = put.headers.etag;
    const smaller = await stack.http.put(`/v1/websites/${w.id}/assets`).set(as(alice)).set('If-Match', stale).send({ images: ['https://a.example/2.png'] });
    expect(smaller.status).toBe(200);
    expect(smaller.body).toMatchObject({ images: ['https://a.example/2.png'], videos: [], documents: [] });
    const [n] = await q(`SELECT count(*)::int AS n FROM website_assets WHERE website_id = $1`, [w.id]);
    expect(n.n).toBe(1);
    expect((await stack.http.put(`/v1/websites/${w.id}/assets`).set(as(alice)).set('If-Match', stale).send({})).status).toBe(412);
    const bad = await stack.http.put(`/v1/websites/${w.id}/assets`).set(as(alice)).send({ videos: [42] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('videos.0');
    expect((await stack.http.get(`/v1/websites/${w.id}/assets`).set(as(alice))).body.images).toEqual(['https://a.example/2.png']);
  });
});
