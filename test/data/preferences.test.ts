/**
 * /v1/preferences against a real stack: the empty state before anything is stored (200, not 404), a
 * migrated row read back as the app wrote it and re-sent unchanged (the API builds the migration's row),
 * PUT and JSON Merge Patch (RFC 7386), ETags (304, 412), validation naming the path, ownership.
 */
import { rowId } from '../../core/ids';
import { catalystDump } from '../fixtures/catalystDump';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const q = (sql: string, args: unknown[] = []) => stack.api.deps.ds.query(sql, args);

beforeAll(async () => {
  stack = await startStack({ workers: false });
});
afterAll(() => stack.close());

const NAV = { expandedSections: ['content'], activeView: 'content', searchQuery: 'blog', lastVisited: { overview: '/overview', content: '/content' } };
const PREVIEW = { showDeviceFrame: false, showToolbar: true, autoRefresh: true, refreshInterval: 2000, defaultDevice: 'desktop-macbook', zoom: 1, showGrid: true, showRulers: false, highlightInteractive: false };

describe('preferences', () => {
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    alice = await stack.mintToken('alice-prefs');
    bob = await stack.mintToken('bob-prefs');
  });

  it('answers the empty state before anything is stored, with an ETag that If-Match can create under', async () => {
    const empty = await stack.http.get('/v1/preferences').set(as(alice));
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ id: rowId('alice-prefs', 'user_preferences'), sourceId: 'localStorage', preferences: { ui: {} }, createdAt: null, updatedAt: null });
    const tag = empty.headers.etag;
    expect(tag).toBeTruthy();
    expect((await stack.http.get('/v1/preferences').set(as(alice)).set('If-None-Match', tag)).status).toBe(304);
    const created = await stack.http.put('/v1/preferences').set(as(alice)).set('If-Match', tag).send({ navigation: NAV, ui: { 'dashboard-density': 'compact' } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: empty.body.id, preferences: { navigation: NAV, ui: { 'dashboard-density': 'compact' } } });
    expect(created.body.createdAt).toEqual(created.body.updatedAt);
    expect(created.headers.etag).not.toBe(tag);
    // A second client that also saw the empty state must not overwrite what the first one created.
    const late = await stack.http.put('/v1/preferences').set(as(alice)).set('If-Match', tag).send({ ui: {} });
    expect(late.status).toBe(412);
    const [row] = await q(`SELECT source_id, batch_id FROM user_preferences WHERE user_id = 'alice-prefs'`);
    expect(row).toEqual({ source_id: 'localStorage', batch_id: null });
  });

  it('keeps UI values as the app stored them and leaves updatedAt alone on an unchanged PUT', async () => {
    const body = { navigation: NAV, preview: PREVIEW, ui: { 'dashboard-density': 'compact', 'catalyst-sidebar-collapsed': true, 'command-palette-recent': ['a', 'b'], 'site-builder-tutorial-completed': 'true' } };
    const first = await stack.http.put('/v1/preferences').set(as(alice)).send(body);
    expect(first.body.preferences).toEqual(body);
    await new Promise((r) => setTimeout(r, 10));
    const again = await stack.http.put('/v1/preferences').set(as(alice)).send(body);
    expect(again.body).toEqual(first.body);
    expect(again.headers.etag).toBe(first.headers.etag);
    const get = await stack.http.get('/v1/preferences').set(as(alice));
    expect(get.body).toEqual(first.body);
    expect(get.headers.etag).toBe(first.headers.etag);
  });

  it('applies a JSON Merge Patch: objects merge, null removes, arrays replace', async () => {
    const base = await stack.http.put('/v1/preferences').set(as(alice)).send({ navigation: NAV, preview: PREVIEW, previewAlt: { ...PREVIEW, zoom: 2 }, ui: { a: 1, b: [1, 2] } });
    expect(base.body.preferences.previewAlt).toEqual({ ...PREVIEW, zoom: 2 });
    const patch = { navigation: { searchQuery: null, lastVisited: { analytics: '/analytics' } }, previewAlt: null, ui: { a: null, b: [3], c: 'new' } };
    const res = await stack.http.patch('/v1/preferences').set(as(alice)).set('Content-Type', 'application/merge-patch+json').set('If-Match', base.headers.etag).send(JSON.stringify(patch));
    expect(res.status).toBe(200);
    const { searchQuery: _gone, ...nav } = NAV;
    expect(res.body.preferences).toEqual({ navigation: { ...nav, lastVisited: { ...NAV.lastVisited, analytics: '/analytics' } }, preview: PREVIEW, ui: { b: [3], c: 'new' } });
    const json = await stack.http.patch('/v1/preferences').set(as(alice)).send({ ui: null, projectContext: { projectName: 'Bean There' } });
    expect(json.status).toBe(200);
    expect(json.body.preferences.ui).toEqual({});
    expect(json.body.preferences.projectContext).toEqual({ projectName: 'Bean There' });
    expect((await stack.http.patch('/v1/preferences').set(as(alice)).set('If-Match', base.headers.etag).send({ ui: {} })).status).toBe(412);
    const text = await stack.http.patch('/v1/preferences').set(as(alice)).set('Content-Type', 'text/plain').send('{"ui":{}}');
    expect(text.status).toBe(415);
  });

  it('refuses invalid bodies naming the path, and writes nothing', async () => {
    const before = await stack.http.get('/v1/preferences').set(as(alice));
    const cases: [string, 'put' | 'patch', unknown, string][] = [
      ['unknown top-level key', 'put', { colour: 'red' }, '(root)'],
      ['a section that is not an object', 'put', { navigation: 'content' }, 'navigation'],
      ['ui that is not an object', 'put', { ui: [1] }, 'ui'],
      ['previewAlt without preview', 'put', { previewAlt: PREVIEW }, 'previewAlt'],
      ['a structured key inside ui', 'put', { ui: { 'project-context': {} } }, 'ui.project-context'],
      ['a patch value that is not an object', 'patch', { preview: 3 }, 'preview'],
      ['an unknown key in a patch', 'patch', { theme: 'dark' }, '(root)'],
      ['a patch that leaves previewAlt without preview', 'patch', { preview: null, previewAlt: PREVIEW }, 'previewAlt'],
    ];
    for (const [what, method, body, path] of cases) {
      const res = await stack.http[method]('/v1/preferences').set(as(alice)).send(body as object);
      expect({ what, status: res.status, code: res.body.error?.code }).toEqual({ what, status: 400, code: 'invalid_body' });
      expect({ what, path: res.body.error.details.issues[0].path }).toEqual({ what, path });
    }
    const unknown = await stack.http.put('/v1/preferences').set(as(alice)).send({ colour: 'red' });
    expect(unknown.body.error.message).toMatch(/colour/);
    const after = await stack.http.get('/v1/preferences').set(as(alice));
    expect(after.headers.etag).toBe(before.headers.etag);
  });

  it("never shows or changes another user's preferences", async () => {
    const mine = await stack.http.get('/v1/preferences').set(as(alice));
    const theirs = await stack.http.get('/v1/preferences').set(as(bob));
    expect(theirs.body).toMatchObject({ id: rowId('bob-prefs', 'user_preferences'), preferences: { ui: {} }, createdAt: null });
    expect(theirs.headers.etag).not.toBe(mine.headers.etag);
    expect((await stack.http.put('/v1/preferences').set(as(bob)).set('If-Match', mine.headers.etag).send({ ui: {} })).status).toBe(412);
    await stack.http.put('/v1/preferences').set(as(bob)).send({ ui: { x: 1 } }).expect(200);
    expect((await stack.http.get('/v1/preferences').set(as(alice))).body).toEqual(mine.body);
    expect((await stack.http.get('/v1/preferences')).status).toBe(401);
  });
});

describe('migrated preferences', () => {
  it('read back as the app wrote them; re-sent unchanged, the row is the migration\'s own', async () => {
    const token = await stack.mintToken('carol-prefs');
    stack.startWorkers();
    const posted = await stack.http.post('/v1/dumps').set(as(token)).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
    expect(await waitForBatch(stack, posted.body.batchId)).toBe('completed');
    await stack.stopWorkers();
    const res = await stack.http.get('/v1/preferences').set(as(token));
    expect(res.status).toBe(200);
    const doc = catalystDump();
    const stored = (key: string) => JSON.parse(doc.localStorage.find((e) => e.key === key)!.value);
    expect(res.body).toEqual({
      id: rowId('carol-prefs', 'user_preferences'), sourceId: 'localStorage',
      preferences: { navigation: stored('catalyst-navigation-state'), preview: stored('preview-settings'), projectContext: stored('project-context'), ui: {} },
      createdAt: '2025-08-12T08:10:00.000Z', updatedAt: '2025-08-12T08:10:00.000Z',
    });
    const again = await stack.http.put('/v1/preferences').set(as(token)).set('If-Match', res.headers.etag).send(res.body.preferences);
    expect(again.status).toBe(200);
    expect(again.headers.etag).toBe(res.headers.etag);
    const [row] = await q(`SELECT batch_id FROM user_preferences WHERE user_id = 'carol-prefs'`);
    expect(row.batch_id).toBe(posted.body.batchId);
  });
});
