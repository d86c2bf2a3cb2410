/**
 * The hybrid client before the switch, in real Chromium on the app's own origin: in `browser` mode it
 * reads and writes the app's own keys, byte for byte in the app's own JSON (the Zustand envelope, both
 * preview keys, the pretty-printed project context) and sends nothing to the data API; it learns a new
 * mode from the server's polling alone; from `migrating` on, writes are also queued (held) for the
 * switch; and its own IndexedDB database never appears in a snapshot.
 */
import type { Browser, Page } from 'playwright-core';
import type { Server } from 'node:http';
import { CONTENT_ITEMS, CONTENT_TYPES } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium } from './helpers/browser';
import { cutoverState, fakeCutover, inPage, openApp, startAppServer, startClient } from './helpers/hybrid';

/* eslint-disable @typescript-eslint/no-explicit-any */
jest.setTimeout(60000);

let stack: Stack;
let browser: Browser;
let app: { server: Server; origin: string };

beforeAll(async () => {
  [stack, browser, app] = await Promise.all([startStack({ workers: false }), launchChromium(), startAppServer()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => app?.server.close(resolve));
});

const raw = (page: Page, key: string) => page.evaluate((k) => (globalThis as any).localStorage.getItem(k), key);

/** Requests the page sends to the API other than the cutover state and the bundle. */
function dataRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (url.startsWith(stack.api.url) && !url.includes('/v1/cutover') && !url.includes('/client/')) seen.push(`${r.method()} ${url}`);
  });
  return seen;
}

test('browser mode: the app\'s own keys and JSON, nothing sent to the data API', async () => {
  const { page, errors } = await openApp(browser, app.origin);
  await fakeCutover(page, stack.api.url, () => cutoverState('browser', null));
  const sent = dataRequests(page);
  expect(await startClient(page, stack.api.url, { token: await stack.mintToken('hybrid-browser-1') })).toBe('browser');

  expect(await inPage(page, (hc) => hc.contentItems.list())).toEqual(CONTENT_ITEMS);
  expect(await inPage(page, (hc) => hc.contentTypes.list())).toEqual(CONTENT_TYPES);
  const prefs = await inPage(page, (hc) => hc.preferences.getAll());
  expect(prefs.navigation.activeView).toBe('content');
  expect(prefs.preview.showGrid).toBe(true);
  expect(prefs.projectContext.projectName).toBe('Bean There');

  const added = { id: 'new-item', contentTypeId: CONTENT_ITEMS[1].contentTypeId, data: { fullName: 'Grace' }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
  const edited = { ...CONTENT_ITEMS[0], data: { ...CONTENT_ITEMS[0].data, title: 'Edited' } };
  await inPage(page, async (hc, a: any) => {
    await hc.contentItems.put(a.added);
    await hc.contentItems.put(a.edited);
    await hc.contentItems.remove(a.removed);
  }, { added, edited, removed: CONTENT_ITEMS[2].id });
  // Exactly what Zustand's persist writes: the envelope, items in the store's order (edit in place, new appended).
  expect(await raw(page, 'content-storage')).toBe(JSON.stringify({ state: { contentItems: [edited, CONTENT_ITEMS[1], added], projectId: 'default' }, version: 0 }));

  const type = { ...CONTENT_TYPES[1], fields: [], updatedAt: '2026-01-02T00:00:00.000Z' };
  await inPage(page, (hc, t: any) => hc.contentTypes.put(t), type);
  expect(await raw(page, 'contentTypes')).toBe(JSON.stringify([CONTENT_TYPES[0], type, CONTENT_TYPES[2]]));

  const preview = { showDeviceFrame: true, showToolbar: false, autoRefresh: true, refreshInterval: 5000, defaultDevice: 'iphone', zoom: 1.5, showGrid: false, showRulers: true, highlightInteractive: false };
  const ctx = { currentStage: 'design', projectName: 'Bean There', conversationMetadata: { topicHistory: [], lastActivity: '2026-01-01T00:00:00.000Z', messageCount: 5 } };
  const nav = { expandedSections: [], activeView: 'overview', searchQuery: 'x', lastVisited: {} };
  await inPage(page, async (hc, a: any) => {
    await hc.preferences.set('preview', a.preview);
    await hc.preferences.set('projectContext', a.ctx);
    await hc.preferences.set('navigation', a.nav);
  }, { preview, ctx, nav });
  expect(await raw(page, 'preview-settings')).toBe(JSON.stringify(preview));
  expect(await raw(page, 'previewSettings')).toBe(JSON.stringify(preview));
  expect(await raw(page, 'project-context')).toBe(JSON.stringify(ctx, null, 2));
  expect(await raw(page, 'catalyst-navigation-state')).toBe(JSON.stringify(nav));

  expect(await inPage(page, (hc) => [hc.outbox.size, hc.outbox.state])).toEqual([0, 'idle']);
  expect(sent).toEqual([]);
  // The client's own database exists, and a snapshot leaves it out (while carrying the writes above).
  const names = await page.evaluate(async () => ((await (globalThis as any).indexedDB.databases()) as { name: string }[]).map((d) => d.name));
  expect(names).toContain('bsm-hybrid');
  const dump = await page.evaluate(async () => { const d = await (globalThis as any).bsm.snapshot(); return { dbs: d.indexedDB.map((x: any) => x.name), ls: d.localStorage }; });
  expect(dump.dbs).not.toContain('bsm-hybrid');
  expect(dump.ls.find((e: any) => e.key === 'preview-settings').value).toBe(JSON.stringify(preview));
  expect(errors).toEqual([]);
});

test('an empty profile gets the envelope the store would create; the mode comes from polling; from migrating on, writes are also held in the outbox', async () => {
  const { page } = await openApp(browser, app.origin, false);
  let state = cutoverState('browser', null);
  await fakeCutover(page, stack.api.url, () => state);
  const sent = dataRequests(page);
  expect(await startClient(page, stack.api.url, { token: await stack.mintToken('hybrid-browser-2'), modePollMs: 200 })).toBe('browser');
  const item = { id: 'a', contentTypeId: 't', data: {}, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
  await inPage(page, (hc, it: any) => hc.contentItems.put(it), item);
  expect(await raw(page, 'content-storage')).toBe(JSON.stringify({ state: { contentItems: [item], projectId: 'default' }, version: 0 }));

  // The server moves on; the client notices by itself (no refreshMode call).
  state = cutoverState('migrating', null, { snapshotBatchId: '00000000-0000-4000-8000-000000000000' });
  await page.waitForFunction(() => (globalThis as any).hc.mode === 'migrating');
  expect(await page.evaluate(() => (globalThis as any).hcLog.modes)).toEqual(['migrating']);
  await inPage(page, (hc, it: any) => hc.contentItems.put({ ...it, data: { n: 2 } }), item);
  expect(JSON.parse(await raw(page, 'content-storage')).state.contentItems[0].data).toEqual({ n: 2 });
  expect(await inPage(page, (hc) => [hc.outbox.size, hc.outbox.state])).toEqual([1, 'held']);

  // Rolled back (the server says browser again): the browser copy is the truth; the held write is dropped.
  state = cutoverState('browser', null, { reason: 'rolled_back' });
  await page.waitForFunction(() => (globalThis as any).hc.mode === 'browser');
  await page.waitForFunction(() => (globalThis as any).hc.outbox.size === 0);
  expect(JSON.parse(await raw(page, 'content-storage')).state.contentItems[0].data).toEqual({ n: 2 });
  expect(sent).toEqual([]);
});
