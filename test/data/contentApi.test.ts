/**
 * The data API for websites, content types and content items, against a real stack: ownership (another
 * user's ids answer 404), validation errors naming the path, ETags (304, 412), cascades, references,
 * and keyset pagination that holds while rows are inserted.
 */
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let alice: string;
let bob: string;
const as = (token: string) => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  stack = await startStack({ workers: false });
  alice = await stack.mintToken('alice');
  bob = await stack.mintToken('bob');
});
afterAll(() => stack.close());

async function website(token: string, body: Record<string, unknown>) {
  const res = await stack.http.post('/v1/websites').set(as(token)).send(body);
  expect(res.status).toBe(201);
  return res.body;
}

describe('websites', () => {
  it('creates, reads by server id and by browser id, and lists only the owner\'s', async () => {
    const w = await website(alice, { sourceId: 'website_1_a', name: 'Coffee Shop', category: 'ecommerce', storageQuota: 104857600, createdAt: '2025-08-12T07:00:34.567Z', lastModified: '2025-08-12T07:00:35.100Z' });
    expect(w).toMatchObject({ sourceId: 'website_1_a', name: 'Coffee Shop', category: 'ecommerce', storageQuota: 104857600, createdAt: '2025-08-12T07:00:34.567Z', lastModified: '2025-08-12T07:00:35.100Z' });
    expect(w.id).toMatch(/^[0-9a-f-]{36}$/);
    const byId = await stack.http.get(`/v1/websites/${w.id}`).set(as(alice));
    const bySource = await stack.http.get('/v1/websites/website_1_a').set(as(alice));
    expect(byId.status).toBe(200);
    expect(bySource.body).toEqual(byId.body);
    expect(byId.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    // Bob sees none of it: 404 by either id, and an empty list.
    expect((await stack.http.get(`/v1/websites/${w.id}`).set(as(bob))).status).toBe(404);
    expect((await stack.http.get('/v1/websites/website_1_a').set(as(bob))).status).toBe(404);
    expect((await stack.http.patch(`/v1/websites/${w.id}`).set(as(bob)).send({ name: 'x' })).status).toBe(404);
    expect((await stack.http.delete(`/v1/websites/${w.id}`).set(as(bob))).status).toBe(404);
    expect((await stack.http.get('/v1/websites').set(as(bob))).body).toEqual([]);
    expect((await stack.http.get('/v1/websites').set(as(alice))).body.map((x: { id: string }) => x.id)).toContain(w.id);
  });

  it('refuses unknown fields and bad values, naming the path, and writes nothing', async () => {
    const res = await stack.http.post('/v1/websites').set(as(alice)).send({ name: 'X', colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
    expect(res.body.error.message).toMatch(/colour/);
    const bad = await stack.http.post('/v1/websites').set(as(alice)).send({ name: 'X', storageQuota: 'lots' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('storageQuota');
    const names = (await stack.http.get('/v1/websites').set(as(alice))).body.map((x: { name: string }) => x.name);
    expect(names).not.toContain('X');
    expect((await stack.http.post('/v1/websites').send({ name: 'X' })).status).toBe(401);
  });

  it('answers 304 to a matching If-None-Match and 412 to a stale If-Match', async () => {
    const w = await website(alice, { name: 'Etag Site' });
    const first = await stack.http.get(`/v1/websites/${w.id}`).set(as(alice));
    const etag = first.headers.etag;
    expect((await stack.http.get(`/v1/websites/${w.id}`).set(as(alice)).set('If-None-Match', etag)).status).toBe(304);
    const ok = await stack.http.patch(`/v1/websites/${w.id}`).set(as(alice)).set('If-Match', etag).send({ name: 'Renamed' });
    expect(ok.status).toBe(200);
    expect(ok.body.name).toBe('Renamed');
    expect(ok.headers.etag).not.toBe(etag);
    const stale = await stack.http.patch(`/v1/websites/${w.id}`).set(as(alice)).set('If-Match', etag).send({ name: 'Lost' });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('precondition_failed');
    expect(stale.body.error.details.currentEtag).toBe(ok.headers.etag);
    expect((await stack.http.delete(`/v1/websites/${w.id}`).set(as(alice)).set('If-Match', etag)).status).toBe(412);
    expect((await stack.http.get(`/v1/websites/${w.id}`).set(as(alice))).body.name).toBe('Renamed');
  });

  it('keeps the config section apart and deleting a website deletes what belongs to it', async () => {
    const w = await website(alice, { name: 'Full', config: { settings: { features: ['payments'] }, theme: { primary: '#10B981' } } });
    const cfg = await stack.http.get(`/v1/websites/${w.id}/config`).set(as(alice));
    expect(cfg.body).toMatchObject({ settings: { features: ['payments'] }, theme: { primary: '#10B981' } });
    await stack.http.patch(`/v1/websites/${w.id}`).set(as(alice)).send({ name: 'Full 2' }).expect(200);
    expect((await stack.http.get(`/v1/websites/${w.id}/config`).set(as(alice))).body.theme).toEqual({ primary: '#10B981' });
    const t = await stack.http.post(`/v1/websites/${w.id}/content-types`).set(as(alice)).send({ name: 'Post' }).expect(201);
    await stack.http.post(`/v1/websites/${w.id}/content-items`).set(as(alice)).send({ contentTypeId: t.body.id, data: { title: 'a' } }).expect(201);
    await stack.http.delete(`/v1/websites/${w.id}`).set(as(alice)).expect(204);
    const [left] = await stack.api.deps.ds.query(`SELECT (SELECT count(*) FROM content_types WHERE website_id = $1)::int + (SELECT count(*) FROM content_items WHERE website_id = $1)::int AS n`, [w.id]);
    expect(left.n).toBe(0);
  });
});

describe('content types and items', () => {
  let site: { id: string };
  let post: { id: string; sourceId: string };
  let author: { id: string; sourceId: string };

  beforeAll(async () => {
    site = await website(alice, { sourceId: 'site-ct', name: 'Blog' });
    author = (await stack.http.post(`/v1/websites/${site.id}/content-types`).set(as(alice)).send({ sourceId: 'ct-author', name: 'Author', fields: [{ id: 'f1', name: 'name', label: 'Name', type: 'text', required: true, order: 0 }] })).body;
    const res = await stack.http.post(`/v1/websites/site-ct/content-types`).set(as(alice)).send({
      sourceId: 'ct-post', name: 'BlogPost',
      fields: [
        { id: 'f1', name: 'title', label: 'Title', type: 'text', required: true, order: 0 },
        { id: 'f2', name: 'author', label: 'Author', type: 'reference', required: false, order: 1 },
      ],
      relationships: [{ id: 'r1', name: 'author', type: 'manyToOne', sourceContentTypeId: 'ct-post', targetContentTypeId: author.id, fieldName: 'author', isRequired: false }],
    });
    expect(res.status).toBe(201);
    post = res.body;
  });

  it('stores relationships by browser id whichever id was sent, with app defaults', () => {
    expect(post).toMatchObject({ name: 'BlogPost', pluralName: 'BlogPosts', icon: '📋', slug: 'blog-post' });
    expect((post as unknown as { relationships: unknown[] }).relationships[0]).toMatchObject({ sourceContentTypeId: 'ct-post', targetContentTypeId: 'ct-author' });
  });

  it('refuses a relationship to a content type the website does not have, and a duplicate name', async () => {
    const bad = await stack.http.post(`/v1/websites/${site.id}/content-types`).set(as(alice)).send({
      name: 'Other', relationships: [{ id: 'r', name: 'x', type: 'oneToOne', sourceContentTypeId: 'ct-post', targetContentTypeId: 'nope', isRequired: false }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_reference', details: { path: 'relationships.0.targetContentTypeId' } });
    const dup = await stack.http.post(`/v1/websites/${site.id}/content-types`).set(as(alice)).send({ name: 'BlogPost' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('duplicate_name');
    const other = await stack.http.get(`/v1/websites/${site.id}/content-types`).set(as(bob));
    expect(other.status).toBe(404);
  });

  it('checks an item\'s content type and reference fields, storing references as browser ids', async () => {
    const a = await stack.http.post(`/v1/websites/${site.id}/content-items`).set(as(alice)).send({ sourceId: 'item-author', contentTypeId: 'ct-author', data: { name: 'Ann' } });
    expect(a.status).toBe(201);
    const p = await stack.http.post(`/v1/websites/${site.id}/content-items`).set(as(alice)).send({ contentTypeId: post.id, data: { title: 'Hi', author: a.body.id } });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({ contentTypeId: 'ct-post', contentTypeServerId: post.id, status: 'draft', data: { title: 'Hi', author: 'item-author' } });
    const noType = await stack.http.post(`/v1/websites/${site.id}/content-items`).set(as(alice)).send({ contentTypeId: 'missing', data: {} });
    expect(noType.body.error).toMatchObject({ code: 'invalid_reference', details: { path: 'contentTypeId' } });
    const noRef = await stack.http.post(`/v1/websites/${site.id}/content-items`).set(as(alice)).send({ contentTypeId: 'ct-post', data: { author: 'ghost' } });
    expect(noRef.status).toBe(400);
    expect(noRef.body.error).toMatchObject({ code: 'invalid_reference', details: { path: 'data.author' } });
    // Bob's token cannot reach Alice's item even with its server id.
    expect((await stack.http.get(`/v1/websites/${site.id}/content-items/${p.body.id}`).set(as(bob))).status).toBe(404);
  });

  it('moves an inline data: image to a stable asset URL', async () => {
    const png = `data:image/png;base64,${Buffer.from('fake png bytes').toString('base64')}`;
    const res = await stack.http.post(`/v1/websites/${site.id}/content-items`).set(as(alice)).send({ contentTypeId: 'ct-post', data: { title: 'img', hero: png } });
    expect(res.status).toBe(201);
    const url = new URL(res.body.data.hero);
    const asset = await stack.http.get(url.pathname);
    expect(asset.status).toBe(200);
    expect(Buffer.from(asset.body).toString()).toBe('fake png bytes');
  });

  it('pages with a cursor that neither repeats nor skips rows while others are inserted', async () => {
    const w = await website(alice, { name: 'Paging' });
    const t = (await stack.http.post(`/v1/websites/${w.id}/content-types`).set(as(alice)).send({ name: 'Note' })).body;
    const base = Date.parse('2025-01-01T00:00:00.000Z');
    const made: string[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await stack.http.post(`/v1/websites/${w.id}/content-items`).set(as(alice)).send({ sourceId: `n${i}`, contentTypeId: t.id, data: { i }, createdAt: new Date(base + (i % 5) * 1000).toISOString() });
      made.push(r.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let inserted = 0;
    do {
      const res: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await stack.http
        .get(`/v1/websites/${w.id}/content-items`).query({ contentTypeId: t.sourceId, limit: 7, ...(cursor ? { cursor } : {}) }).set(as(alice));
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((x) => x.id));
      cursor = res.body.nextCursor;
      // Rows inserted between pages, before and after the cursor's position.
      await stack.http.post(`/v1/websites/${w.id}/content-items`).set(as(alice)).send({ contentTypeId: t.id, data: { late: inserted }, createdAt: new Date(base + (inserted % 2 ? 10 : -10) * 1000).toISOString() }).expect(201);
      inserted++;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length); // no repeats
    for (const id of made) expect(seen).toContain(id); // no skips
    const badCursor = await stack.http.get(`/v1/websites/${w.id}/content-items`).query({ cursor: 'garbage' }).set(as(alice));
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.code).toBe('invalid_cursor');
    expect((await stack.http.get(`/v1/websites/${w.id}/content-items`).query({ limit: 500 }).set(as(alice))).body.error.details.issues[0].path).toBe('limit');
  });

  it('deleting a content type deletes its items; 412 on a stale item update', async () => {
    const t = (await stack.http.post(`/v1/websites/${site.id}/content-types`).set(as(alice)).send({ name: 'Temp' })).body;
    const it1 = (await stack.http.post(`/v1/websites/${site.id}/content-items`).set(as(alice)).send({ contentTypeId: t.id, data: { a: 1 } })).body;
    const read = await stack.http.get(`/v1/websites/${site.id}/content-items/${it1.id}`).set(as(alice));
    await stack.http.patch(`/v1/websites/${site.id}/content-items/${it1.id}`).set(as(alice)).send({ data: { a: 2 } }).expect(200);
    const stale = await stack.http.put(`/v1/websites/${site.id}/content-items/${it1.id}`).set(as(alice)).set('If-Match', read.headers.etag).send({ contentTypeId: t.id, data: { a: 3 } });
    expect(stale.status).toBe(412);
    await stack.http.delete(`/v1/websites/${site.id}/content-types/${t.id}`).set(as(alice)).expect(204);
    expect((await stack.http.get(`/v1/websites/${site.id}/content-items/${it1.id}`).set(as(alice))).status).toBe(404);
  });
});
