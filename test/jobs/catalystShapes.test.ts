/**
 * Realistic dumps of each shape in docs/catalyst-layout.md, quirks included, through the real pipeline;
 * row by row, what landed. Every report balances with nothing unexplained.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- report bodies and query rows, read field by field as the API documents them */
import { rowId } from '../../core/ids';
import { catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const q = (sql: string, p: unknown[] = []) => stack.api.deps.ds.query(sql, p);
const d = (iso: string) => ({ $t: 'Date', v: iso });

function emptyDump(): DumpDoc {
  return { format: 'browser-storage-dump', version: 1, source: { app: 'catalyst-studio', capturedAt: '2026-11-28T10:00:00.000Z' }, localStorage: [], sessionStorage: [], indexedDB: [] };
}

/** Posts a dump for a fresh user, waits, and checks the report balances and explains every non-migrated entry. */
async function migrate(user: string, doc: DumpDoc, query = ''): Promise<{ id: string; report: any }> {
  const token = await stack.mintToken(user);
  const res = await stack.http.post(`/v1/dumps${query}`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  const status = await waitForBatch(stack, res.body.batchId);
  const report = (await stack.http.get(`/v1/batches/${res.body.batchId}/report`).set(admin)).body;
  expect({ status, balanced: report.balanced }).toEqual({ status: 'completed', balanced: true });
  const t = report.totals;
  expect(t.migrated + t.preserved + t.rejected).toBe(t.entries);
  for (const e of report.entries) if (e.outcome !== 'migrated') expect(e.reason).toMatch(/\w{4,}/);
  return { id: res.body.batchId, report };
}

const outcomeOf = (report: any, key: unknown) => report.entries.find((e: any) => JSON.stringify(e.key) === JSON.stringify(key));

test('older shapes: bare content-item array, relationships before manyToOne/fieldName, chat in the localStorage fallback', async () => {
  const doc = emptyDump();
  const types = [
    { id: 't_post', name: 'Post', pluralName: 'Posts', icon: '📋', fields: [{ id: 'f1', name: 'title', label: 'Title', type: 'text', required: true, order: 0 }], relationships: [{ id: 'r1', name: 'tags', type: 'manyToMany', sourceContentTypeId: 't_post', targetContentTypeId: 't_tag', isRequired: false }], createdAt: '2025-08-09T10:00:00.000Z', updatedAt: '2025-08-09T10:00:00.000Z' },
    { id: 't_tag', name: 'Tag', pluralName: 'Tags', icon: '🏷', fields: [], relationships: [], createdAt: '2025-08-09T10:00:00.000Z', updatedAt: '2025-08-09T10:00:00.000Z' },
  ];
  doc.localStorage.push({ key: 'contentTypes', value: JSON.stringify(types) });
  doc.localStorage.push({ key: 'content-storage', value: JSON.stringify([{ id: 'i1', contentTypeId: 't_post', data: { title: 'Old' }, createdAt: '2025-08-09T11:00:00.000Z', updatedAt: '2025-08-09T11:00:00.000Z' }]) });
  doc.localStorage.push({ key: 'catalyst:chat:default', value: JSON.stringify({ messages: [{ id: 'm1', role: 'user', content: 'hi' }], timestamp: '2025-08-11T09:00:00.000Z', version: '1.0.0', metadata: { sessionId: 'default' } }) });
  const { report } = await migrate('u-old', doc);
  const user = 'u-old';
  const imported = rowId(user, 'website', '__imported__');
  expect(report.notes.globalWebsite).toMatchObject({ id: imported, rule: expect.stringContaining('no website in the dump') });
  const [site] = await q(`SELECT name FROM websites WHERE id = $1`, [imported]);
  expect(site.name).toBe('Imported content');
  const [post] = await q(`SELECT * FROM content_types WHERE user_id = $1 AND source_id = 't_post'`, [user]);
  expect(post.website_id).toBe(imported);
  expect(post.schema.relationships[0]).toMatchObject({ type: 'manyToMany', targetContentTypeId: rowId(user, 'content_type', 't_tag') });
  const items = await q(`SELECT * FROM content_items WHERE user_id = $1`, [user]);
  expect(items).toEqual([expect.objectContaining({ source_id: 'i1', content_type_id: post.id, data: { title: 'Old' }, status: 'draft' })]);
  expect(items[0].created_at.toISOString()).toBe('2025-08-09T11:00:00.000Z');
  const msgs = await q(`SELECT m.role, m.content, s.session_key FROM chat_messages m JOIN chat_sessions s ON s.id = m.chat_session_id WHERE m.user_id = $1`, [user]);
  expect(msgs).toEqual([{ role: 'user', content: 'hi', session_key: 'default' }]);
  expect(outcomeOf(report, 'content-storage').outcome).toBe('migrated');
});

test('newer shapes: extended deployment jobs, Appendix A UI keys, unknown keys preserved, a website given by ?websiteId=', async () => {
  const doc = emptyDump();
  const web = (id: string, name: string) => ({ key: id, value: { id, name, storageQuota: 52428800, createdAt: d('2025-08-20T10:00:00.000Z'), lastModified: d('2025-08-20T10:00:00.000Z') } });
  doc.indexedDB.push({ name: 'catalyst_global', version: 1, stores: [{ name: 'websites', keyPath: 'id', autoIncrement: false, indexes: [], records: [web('site_a', 'A'), web('site_b', 'B')] }] });
  doc.localStorage.push({ key: 'cms-provider-configs', value: JSON.stringify({ mock: { config: { endpoint: 'http://mock' } } }) });
  doc.localStorage.push({ key: 'deployment-history', value: JSON.stringify([
    { id: 'deploy-2', providerId: 'mock', status: 'cancelled', progress: 40, startedAt: '2025-08-21T08:00:00.000Z', logs: [], websiteId: 'site_b', integrationId: 'int-1', selectedTypes: ['BlogPost'], initiatedBy: 'me', options: { bypassValidation: true } },
    { id: 'deploy-1', providerId: 'contentstack', status: 'failed', progress: 10, startedAt: '2025-08-20T08:00:00.000Z', completedAt: '2025-08-20T08:01:00.000Z', error: 'boom', logs: [{ timestamp: '2025-08-20T08:00:01.000Z', level: 'error', message: 'boom' }] },
  ]) });
  for (const [k, v] of [['dashboard-density', 'compact'], ['command-palette-recent', '["a","b"]'], ['catalyst-sidebar-collapsed', 'true'], ['sitemapComments', '{}'], ['globalSections', '[]'], ['design-system-cache:x', '{"a":1}']]) doc.localStorage.push({ key: k, value: v });
  doc.sessionStorage.push({ key: 'dashboard_pending_prompt', value: 'make me a site' });
  const user = 'u-new';
  const { report } = await migrate(user, doc, '?websiteId=site_b');
  expect(report.notes.globalWebsite).toMatchObject({ sourceId: 'site_b', rule: 'the websiteId given with the upload' });
  const hist = await q(`SELECT * FROM deployment_history WHERE user_id = $1 ORDER BY deployed_at`, [user]);
  expect(hist.map((h: any) => [h.source_id, h.provider, h.status])).toEqual([['deploy-1', 'contentstack', 'failed'], ['deploy-2', 'mock', 'cancelled']]);
  expect(hist[1].website_id).toBe(rowId(user, 'website', 'site_b'));
  expect(hist[1].deployment_config_id).toBe(rowId(user, 'deployment_config', 'mock'));
  expect(hist[0].deployment_config_id).toBeNull(); // no contentstack config in the dump
  expect(hist[1].metadata).toMatchObject({ integrationId: 'int-1', selectedTypes: ['BlogPost'], options: { bypassValidation: true } });
  const [prefs] = await q(`SELECT preferences FROM user_preferences WHERE user_id = $1`, [user]);
  expect(JSON.stringify(prefs.preferences)).toContain('compact');
  const preserved = (await q(`SELECT entry_key FROM preserved_entries WHERE user_id = $1 ORDER BY entry_key`, [user])).map((r: any) => JSON.parse(r.entry_key));
  expect(preserved).toEqual(expect.arrayContaining(['sitemapComments', 'globalSections', 'design-system-cache:x', 'dashboard_pending_prompt']));
});

test('quirks: sections without metadata, empty website_default_* databases, invalid dates, U+0000, unparsable JSON', async () => {
  const doc = emptyDump();
  const section = (site: string, name: string, value: object) => ({ name: `website_${site}_${name}`, version: 1, stores: [{ name: 'data', keyPath: 'id', autoIncrement: false, indexes: [], records: [{ key: 'main', value: { ...value, id: 'main' } }] }] });
  doc.indexedDB.push(section('ws-lonely', 'content', { pages: [{ id: 'p1', title: 'Only page', slug: 'only', content: 'x', createdAt: d('2025-08-15T00:00:00.000Z'), updatedAt: d('2025-08-15T00:00:00.000Z') }], components: [], templates: [] }));
  doc.indexedDB.push(section('default', 'content', { pages: [], components: [], templates: [] }));
  doc.localStorage.push({ key: 'contentTypes', value: JSON.stringify([{ id: 'tt', name: 'Note', pluralName: 'Notes', icon: '📋', fields: [], relationships: [], createdAt: '2025-08-15T00:00:00.000Z', updatedAt: '2025-08-15T00:00:00.000Z' }]) });
  doc.localStorage.push({ key: 'content-storage', value: JSON.stringify({ state: { projectId: 'default', contentItems: [
    { id: 'ok', contentTypeId: 'tt', data: { body: 'nul \u0000 inside' }, createdAt: '2025-08-15T00:00:00.000Z', updatedAt: '2025-08-15T00:00:00.000Z' },
    { id: 'bad-date', contentTypeId: 'tt', data: {}, createdAt: 'yesterday-ish', updatedAt: '2025-08-15T00:00:00.000Z' },
    { id: 'no-type', contentTypeId: 'ghost', data: {}, createdAt: '2025-08-15T00:00:00.000Z', updatedAt: '2025-08-15T00:00:00.000Z' },
  ] }, version: 0 }) });
  doc.localStorage.push({ key: 'catalyst-navigation-state', value: '{"expandedSections": [' });
  doc.localStorage.push({ key: 'weird\u0000key', value: 'v\u0000al' });
  const user = 'u-quirks';
  const { id, report } = await migrate(user, doc);
  const lonely = rowId(user, 'website', 'ws-lonely');
  const [site] = await q(`SELECT * FROM websites WHERE id = $1`, [lonely]);
  expect(site).toMatchObject({ source_id: 'ws-lonely' });
  const [page] = await q(`SELECT * FROM website_pages WHERE user_id = $1`, [user]);
  expect(page).toMatchObject({ website_id: lonely, title: 'Only page', slug: 'only', position: 0 });
  expect((await q(`SELECT count(*)::int AS n FROM websites WHERE user_id = $1 AND source_id = 'default'`, [user]))[0].n).toBe(0);
  const items = await q(`SELECT source_id, data FROM content_items WHERE user_id = $1 ORDER BY source_id`, [user]);
  expect(items.map((i: any) => i.source_id)).toEqual(['ok']);
  // U+0000 can't live in jsonb: kept losslessly as a tagged string.
  expect(items[0].data.body).toEqual({ $t: 'String', utf16le: Buffer.from('nul \u0000 inside', 'utf16le').toString('base64') });
  const rejects = report.rejects.map((r: any) => r.code).sort();
  expect(rejects).toEqual(expect.arrayContaining(['invalid_date', 'missing_reference']));
  expect(outcomeOf(report, 'catalyst-navigation-state')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/JSON/i) });
  const weird = outcomeOf(report, 'weird\u0000key');
  expect(weird.outcome).toBe('preserved');
  const [raw] = await q(`SELECT value FROM preserved_entries WHERE user_id = $1 AND batch_id = $2 AND value LIKE '%al%'`, [user, id]);
  expect(JSON.parse(raw.value)).toBe('v\u0000al');
});

test('an entry whose data rides on another entry\'s refused row is not counted as migrated', async () => {
  const doc = emptyDump();
  doc.indexedDB.push({ name: 'catalyst_global', version: 1, stores: [{ name: 'websites', keyPath: 'id', autoIncrement: false, indexes: [], records: [
    { key: 'ws-nul', value: { id: 'ws-nul', name: 'Bad\u0000Name', storageQuota: 1, createdAt: d('2025-08-20T10:00:00.000Z'), lastModified: d('2025-08-20T10:00:00.000Z') } },
  ] }] });
  doc.indexedDB.push({ name: 'website_ws-nul_config', version: 1, stores: [{ name: 'data', keyPath: 'id', autoIncrement: false, indexes: [], records: [{ key: 'main', value: { id: 'main', settings: { a: 1 } } }] }] });
  doc.localStorage.push({ key: 'catalyst-navigation-state', value: '{"expandedSections":[],"activeView":"content","searchQuery":"","lastVisited":{}}' });
  const { report } = await migrate('u-rides', doc);
  const meta = report.entries.find((e: any) => e.db === 'catalyst_global');
  const config = report.entries.find((e: any) => e.db === 'website_ws-nul_config');
  expect(meta).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('U+0000') });
  expect(config).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining(`entry #${meta.seq}`) });
  expect((await q(`SELECT count(*)::int AS n FROM websites WHERE user_id = 'u-rides'`))[0].n).toBe(0);
});

test('a later dump re-creating a content type of the same name under a new id gets a free slug, not a failed batch', async () => {
  const user = 'u-slugs';
  const token = await stack.mintToken(user);
  const post = async (doc: DumpDoc) => {
    const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
    return waitForBatch(stack, res.body.batchId);
  };
  const typed = (id: string, at: string) => {
    const doc = catalystDump();
    doc.source = { ...doc.source, capturedAt: at };
    doc.localStorage = [{ key: 'contentTypes', value: JSON.stringify([{ id, name: 'Post', pluralName: 'Posts', icon: '📋', fields: [], relationships: [], createdAt: '2025-08-15T00:00:00.000Z', updatedAt: '2025-08-15T00:00:00.000Z' }]) }];
    return doc;
  };
  expect(await post(typed('t-first', '2026-12-03T10:00:00.000Z'))).toBe('completed');
  expect(await post(typed('t-second', '2026-12-04T10:00:00.000Z'))).toBe('completed');
  const rows = await q(`SELECT source_id, slug FROM content_types WHERE user_id = $1 ORDER BY source_id`, [user]);
  expect(rows).toEqual([{ source_id: 't-first', slug: 'post' }, { source_id: 't-second', slug: 'post-2' }]);
});
