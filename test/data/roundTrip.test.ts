/**
 * The round trip: migrate Catalyst dumps (the usual shapes, older ones and newer ones), then read every
 * migrated entry back through the data API and compare it with the value the browser held — up to the
 * documented differences (docs/data-api.md): dates as ISO strings, `data:` images as stable asset URLs,
 * secrets masked, content types folded by name, `id` the server's (the browser's in `sourceId`).
 * Every migrated entry must be checked: a kind without a checker fails the test.
 */
import { createHash } from 'node:crypto';
import { decodeValue } from '../../format';
import { SECRET_FIELD } from '../../jobs/transforms/catalyst/deployments';
import { catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Ctx { token: string; report: Json; doc: DumpDoc }
const get = async (c: Ctx, path: string): Promise<Json> => {
  const res = await stack.http.get(path).set('Authorization', `Bearer ${c.token}`);
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return res.body;
};
const d = (iso: string) => ({ $t: 'Date', v: iso });
/** What the app read from IndexedDB, as JSON: §1c decoded, Dates as ISO strings (the documented difference). */
const plain = (encoded: unknown): Json => JSON.parse(JSON.stringify(decodeValue(encoded)));
const parse = (s: string): Json => JSON.parse(s);
const enc = encodeURIComponent;

/** The browser value of a report entry. */
function valueOf(doc: DumpDoc, e: Json): Json {
  if (e.area !== 'indexedDB') return [...doc.localStorage, ...doc.sessionStorage].find((x) => x.key === e.key && (e.area === 'localStorage' ? doc.localStorage : doc.sessionStorage).includes(x))!.value;
  const db = doc.indexedDB.find((x) => x.name === e.db)!;
  return db.stores.find((s) => s.name === e.store)!.records.find((r) => JSON.stringify(r.key) === JSON.stringify(e.key))!.value;
}

/** A data: URL the browser held, replaced by its stable asset URL whose bytes are the same. */
async function sameOrAsset(browser: unknown, api: unknown): Promise<void> {
  if (typeof browser === 'string' && browser.startsWith('data:')) {
    expect(api).toMatch(/\/v1\/assets\/[0-9a-f]{64}\.[A-Za-z0-9_-]{22}$/);
    const bytes = Buffer.from(browser.slice(browser.indexOf(',') + 1), 'base64');
    expect((api as string)).toContain(`/v1/assets/${createHash('sha256').update(bytes).digest('hex')}.`);
    const res = await stack.http.get(new URL(api as string).pathname);
    expect(Buffer.compare(Buffer.from(res.body), bytes)).toBe(0);
  } else if (browser && typeof browser === 'object' && !Array.isArray(browser)) {
    expect(Object.keys(api as object).sort()).toEqual(Object.keys(browser).sort());
    for (const k of Object.keys(browser)) await sameOrAsset((browser as Json)[k], (api as Json)[k]);
  } else expect(api).toEqual(browser);
}

const strip = (o: Json, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
/** A resource in the app's terms: the browser's id back in `id`, server-only fields dropped. */
const asBrowser = (o: Json, ...serverOnly: string[]) => ({ ...strip(o, 'id', 'sourceId', ...serverOnly), id: o.sourceId });
const maskSecrets = (v: Json): Json =>
  Array.isArray(v) ? v.map(maskSecrets) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_FIELD.test(k) && x !== null ? '********' : maskSecrets(x)])) : v;

const PREF_KEYS: Record<string, string> = { 'catalyst-navigation-state': 'navigation', 'preview-settings': 'preview', 'project-context': 'projectContext' };

const CHECKERS: Record<string, (c: Ctx, e: Json, value: Json) => Promise<void>> = {
  website: async (c, e, v) => {
    expect(asBrowser(await get(c, `/v1/websites/${enc(e.key)}`), 'slug')).toEqual(plain(v));
  },
  'website-config': async (c, e, v) => {
    const site = e.db.replace(/^website_/, '').replace(/_config$/, '');
    expect(strip(await get(c, `/v1/websites/${enc(site)}/config`), 'id', 'sourceId')).toEqual(strip(plain(v), 'id'));
  },
  'website-content': async (c, e, v) => {
    const site = e.db.replace(/^website_/, '').replace(/_content$/, '');
    const api = await get(c, `/v1/websites/${enc(site)}/content`);
    const drop = (xs: Json[]) => xs.map((x) => strip(x, 'serverId'));
    expect({ pages: drop(api.pages), components: drop(api.components), templates: drop(api.templates) }).toEqual(strip(plain(v), 'id'));
  },
  'website-assets': async (c, e, v) => {
    const site = e.db.replace(/^website_/, '').replace(/_assets$/, '');
    await sameOrAsset(strip(plain(v), 'id'), strip(await get(c, `/v1/websites/${enc(site)}/assets`), 'id', 'sourceId'));
  },
  'website-ai-context': async (c, e, v) => {
    const site = e.db.replace(/^website_/, '').replace(/_ai_context$/, '');
    const api = await get(c, `/v1/websites/${enc(site)}/ai-context`);
    const browser = strip(plain(v), 'id');
    const got = { ...strip(api, 'id', 'sourceId', 'websiteId', 'websiteSourceId'), history: api.history.map((h: Json) => strip(h, 'serverId')) };
    await sameOrAsset(browser, got);
  },
  'content-types': async (c, _e, v) => {
    const site = c.report.notes.globalWebsite.sourceId;
    const api: Json[] = await get(c, `/v1/websites/${enc(site)}/content-types`);
    const aliases = c.report.notes.contentTypeAliases ?? {};
    for (const t of parse(v)) {
      const found = api.find((x) => x.sourceId === t.id);
      if (!found) expect(aliases[t.id]).toBeDefined(); // folded into the type of the same name (documented)
      else expect(asBrowser(found, 'websiteId', 'slug')).toEqual(t);
    }
  },
  'content-items': async (c, _e, v) => {
    const site = c.report.notes.globalWebsite.sourceId;
    const items: Json[] = [];
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page: Json = await get(c, `/v1/websites/${enc(site)}/content-items?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      items.push(...page.items);
      cursor = page.nextCursor;
    }
    const parsed = parse(v);
    const aliases = c.report.notes.contentTypeAliases ?? {};
    for (const it of Array.isArray(parsed) ? parsed : parsed.state.contentItems) {
      const api = items.find((x) => x.sourceId === it.id);
      expect(asBrowser(strip(api, 'data'), 'websiteId', 'contentTypeServerId', 'status')).toEqual({ ...strip(it, 'data'), contentTypeId: aliases[it.contentTypeId] ?? it.contentTypeId });
      await sameOrAsset(it.data, api.data);
    }
  },
  preference: async (c, e, v) => {
    const { preferences: p } = await get(c, '/v1/preferences');
    if (e.key === 'previewSettings') expect(p.previewAlt ?? p.preview).toEqual(parse(v));
    else if (PREF_KEYS[e.key]) expect(p[PREF_KEYS[e.key]]).toEqual(parse(v));
    else expect(p.ui[e.key]).toEqual((() => { try { return parse(v); } catch { return v; } })());
  },
  'deployment-configs': async (c, _e, v) => {
    const api: Json[] = await get(c, '/v1/deployment-configs');
    for (const [provider, rec] of Object.entries(parse(v) as Json)) {
      const found = api.find((x) => x.sourceId === provider);
      expect({ config: found.config, ...strip(found, 'id', 'sourceId', 'provider', 'websiteId', 'maskedFields', 'createdAt', 'updatedAt', 'config') })
        .toEqual({ ...(rec as Json), config: maskSecrets((rec as Json).config) });
      expect(JSON.stringify(found)).not.toMatch(/secret|token-also/i);
    }
  },
  'deployment-history': async (c, _e, v) => {
    const { items } = await get(c, '/v1/deployment-history?limit=200');
    const jobs = parse(v);
    expect(items.map((x: Json) => x.sourceId)).toEqual((Array.isArray(jobs) ? jobs : jobs.deployments).map((j: Json) => j.id)); // newest first, as stored
    for (const j of Array.isArray(jobs) ? jobs : jobs.deployments) expect(asBrowser(items.find((x: Json) => x.sourceId === j.id), 'websiteServerId')).toEqual(j);
  },
  chat: async (c, e, v) => {
    const [, part, session] = /^catalyst:(chat|metadata):(.*)$/.exec(e.key)!;
    const api = await get(c, `/v1/chat-sessions/${enc(session)}`);
    const value = typeof v === 'string' ? parse(v) : plain(v);
    if (part === 'chat') expect(strip(api, 'id', 'sourceId', 'storageMetadata')).toEqual(value);
    else expect(api.storageMetadata).toEqual(value);
  },
  'ai-prompt': async (c, e, v) => {
    const api = await get(c, `/v1/ai-prompts/${enc(e.key.replace(/^ai_prompt_/, ''))}`);
    expect(strip(api, 'id', 'sourceId', 'websiteId')).toEqual(parse(v));
  },
};

async function roundTrip(user: string, doc: DumpDoc, query = ''): Promise<Set<string>> {
  const token = await stack.mintToken(user);
  const res = await stack.http.post(`/v1/dumps${query}`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  const report = (await stack.http.get(`/v1/batches/${res.body.batchId}/report`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)).body;
  const ctx: Ctx = { token, report, doc };
  const kinds = new Set<string>();
  for (const e of report.entries.filter((x: Json) => x.outcome === 'migrated')) {
    const check = CHECKERS[e.kind];
    if (!check) throw new Error(`no round-trip check for kind ${e.kind} (${e.area} ${e.key})`);
    await check(ctx, e, valueOf(doc, e));
    kinds.add(e.kind);
  }
  return kinds;
}

test('the usual shapes: every migrated entry reads back as the browser held it', async () => {
  const kinds = await roundTrip('rt-usual', catalystDump());
  expect([...kinds].sort()).toEqual(Object.keys(CHECKERS).sort()); // every kind of the layout came back
});

test('older shapes: bare item array, relationships without fieldName, chat in the localStorage fallback', async () => {
  const doc = catalystDump();
  doc.localStorage = doc.localStorage.filter((e) => !['content-storage', 'contentTypes'].includes(e.key));
  doc.indexedDB = doc.indexedDB.filter((db) => db.name !== 'catalyst-studio');
  doc.localStorage.push(
    { key: 'contentTypes', value: JSON.stringify([{ id: 't_post', name: 'Post', pluralName: 'Posts', icon: '📋', fields: [], relationships: [{ id: 'r1', name: 'tags', type: 'manyToMany', sourceContentTypeId: 't_post', targetContentTypeId: 't_tag', isRequired: false }], createdAt: '2025-08-09T10:00:00.000Z', updatedAt: '2025-08-09T10:00:00.000Z' }, { id: 't_tag', name: 'Tag', pluralName: 'Tags', icon: '🏷', fields: [], relationships: [], createdAt: '2025-08-09T10:00:00.000Z', updatedAt: '2025-08-09T10:00:00.000Z' }]) },
    { key: 'content-storage', value: JSON.stringify([{ id: 'i1', contentTypeId: 't_post', data: { title: 'Old' }, createdAt: '2025-08-09T11:00:00.000Z', updatedAt: '2025-08-09T11:00:00.000Z' }]) },
    { key: 'catalyst:chat:default', value: JSON.stringify({ messages: [{ id: 'm1', role: 'user', content: 'hi' }], timestamp: '2025-08-11T09:00:00.000Z', version: '1.0.0', metadata: { sessionId: 'default' } }) },
  );
  const kinds = await roundTrip('rt-old', doc);
  expect(kinds).toEqual(expect.objectContaining(new Set(['content-types', 'content-items', 'chat'])));
});

test('newer shapes: extended deployment jobs, Appendix A keys, two websites with ?websiteId=', async () => {
  const doc = catalystDump();
  doc.indexedDB[0].stores[0].records.push({ key: 'site_b', value: { id: 'site_b', name: 'B', storageQuota: 52428800, createdAt: d('2025-08-20T10:00:00.000Z'), lastModified: d('2025-08-20T10:00:00.000Z') } });
  doc.localStorage = doc.localStorage.filter((e) => e.key !== 'deployment-history');
  doc.localStorage.push(
    { key: 'deployment-history', value: JSON.stringify([
      { id: 'deploy-2', providerId: 'mock', status: 'cancelled', progress: 40, startedAt: '2025-08-21T08:00:00.000Z', logs: [], websiteId: 'site_b', integrationId: 'int-1', selectedTypes: ['BlogPost'], initiatedBy: 'me', options: { bypassValidation: true } },
      { id: 'deploy-1', providerId: 'contentstack', status: 'failed', progress: 10, startedAt: '2025-08-20T08:00:00.000Z', completedAt: '2025-08-20T08:01:00.000Z', error: 'boom', logs: [{ timestamp: '2025-08-20T08:00:01.000Z', level: 'error', message: 'boom' }] },
    ]) },
    { key: 'dashboard-density', value: 'compact' }, { key: 'command-palette-recent', value: '["a","b"]' }, { key: 'catalyst-sidebar-collapsed', value: 'true' },
  );
  const kinds = await roundTrip('rt-new', doc, '?websiteId=site_b');
  expect(kinds.has('deployment-history') && kinds.has('preference') && kinds.has('website')).toBe(true);
});
