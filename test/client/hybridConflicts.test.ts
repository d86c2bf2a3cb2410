/**
 * Two browser profiles of one user, both in `api` mode, edit the same things (real Chromium, real API):
 * the one that writes second gets the 412 path (If-Match with the ETag it had seen), its onConflict hears
 * both versions, the rule decides, and the local change stays in the conflict log until the app
 * resolves it. Edits of different preference sections are not conflicts (the document's ETag moved, our
 * section did not).
 */
import type { Browser, Page } from 'playwright-core';
import type { Server } from 'node:http';
import { CONTENT_ITEMS } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium } from './helpers/browser';
import { inPage, localJson, openApp, startAppServer, startClient, switchedPage, type ClientOptions } from './helpers/hybrid';

/* eslint-disable @typescript-eslint/no-explicit-any */
jest.setTimeout(90000);

let stack: Stack;
let browser: Browser;
let app: { server: Server; origin: string };

beforeAll(async () => {
  [stack, browser, app] = await Promise.all([startStack(), launchChromium(), startAppServer()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => app?.server.close(resolve));
});

const q = (sql: string, params: unknown[] = []) => stack.api.deps.ds.query(sql, params);
const [HELLO, ADA] = CONTENT_ITEMS;
const title = async (user: string, id: string) => (await q(`SELECT data->>'title' AS t FROM content_items WHERE user_id = $1 AND source_id = $2`, [user, id]))[0]?.t;

/** Profile A migrates the user's data; profiles A and B then run clients in `api` mode (A with `rule`). */
async function twoProfiles(user: string, rule?: ClientOptions['conflictRule']): Promise<{ a: Page; b: Page; statuses: number[] }> {
  const A = await switchedPage(browser, app.origin, stack, user, { conflictRule: rule });
  const B = await openApp(browser, app.origin, false); // another profile: nothing in its storage
  expect(await startClient(B.page, stack.api.url, { token: A.token })).toBe('api');
  const statuses: number[] = [];
  A.page.on('response', (r) => { if (['PUT', 'PATCH', 'DELETE'].includes(r.request().method())) statuses.push(r.status()); });
  return { a: A.page, b: B.page, statuses };
}

/** Reads an item (its ETag is now known), then sets its title. */
const editTitle = (page: Page, id: string, t: string) => inPage(page, async (hc, arg: { id: string; t: string }) => {
  const item = await hc.contentItems.get(arg.id);
  await hc.contentItems.put({ ...item, data: { ...item.data, title: arg.t } });
  await hc.outbox.flushed(20000);
}, { id, t });

test("server-wins (the default): the second writer's change is not applied, but reported with both versions and kept in the log until resolved", async () => {
  const user = 'hybrid-conflict-1';
  const { a, b, statuses } = await twoProfiles(user);
  const seenByA = await inPage(a, (hc, id: string) => hc.contentItems.get(id), HELLO.id); // A's ETag: this version
  await editTitle(b, HELLO.id, 'from B');
  await inPage(a, async (hc, arg: { item: any }) => {
    await hc.contentItems.put({ ...arg.item, data: { ...arg.item.data, title: 'from A' } });
    await hc.outbox.flushed(20000);
  }, { item: seenByA });
  expect(statuses).toContain(412); // A sent If-Match with the ETag it had seen, and the server refused it

  const reported = await a.evaluate(() => (globalThis as any).hcLog.conflicts);
  expect(reported).toHaveLength(1);
  expect(reported[0]).toMatchObject({ resource: 'contentItems', id: HELLO.id, reason: 'precondition_failed', applied: 'server', local: { data: { title: 'from A' } }, server: { data: { title: 'from B' } } });
  expect(await title(user, HELLO.id)).toBe('from B');
  // A's browser copy now shows the server's version; A's change is in the log, not lost.
  const cached = (await localJson(a, 'content-storage')).state.contentItems.find((i: any) => i.id === HELLO.id);
  expect(cached.data.title).toBe('from B');
  const log = await inPage(a, (hc) => hc.conflicts.list());
  expect(log).toEqual([expect.objectContaining({ logId: reported[0].logId, local: expect.objectContaining({ data: expect.objectContaining({ title: 'from A' }) }) })]);
  // The log survives a reload (IndexedDB).
  await a.reload();
  await startClient(a, stack.api.url, { token: await stack.mintToken(user) });
  expect(await inPage(a, (hc) => hc.conflicts.list())).toHaveLength(1);

  // The app resolves it with a merge of its own: written on top of the server's version, log emptied.
  await inPage(a, async (hc, arg: { logId: number; id: string }) => {
    const [c] = await hc.conflicts.list();
    await hc.conflicts.resolve(arg.logId, { ...c.server, data: { ...c.server.data, title: `${c.server.data.title} & ${c.local.data.title}` } });
    await hc.outbox.flushed(20000);
  }, { logId: reported[0].logId, id: HELLO.id });
  expect(await title(user, HELLO.id)).toBe('from B & from A');
  expect(await inPage(a, (hc) => hc.conflicts.list())).toEqual([]);
});

test("client-wins: the second writer's change is written over the first on the new ETag, and still reported and logged", async () => {
  const user = 'hybrid-conflict-2';
  const { a, b, statuses } = await twoProfiles(user, 'client-wins');
  const seenByA = await inPage(a, (hc, id: string) => hc.contentItems.get(id), HELLO.id);
  await editTitle(b, HELLO.id, 'from B');
  await inPage(a, async (hc, item: any) => {
    await hc.contentItems.put({ ...item, data: { ...item.data, title: 'from A' } });
    await hc.outbox.flushed(20000);
  }, seenByA);
  expect(statuses.filter((s) => s === 412)).toHaveLength(1);
  expect(statuses.at(-1)).toBe(200);
  expect(await title(user, HELLO.id)).toBe('from A');
  const [c] = await a.evaluate(() => (globalThis as any).hcLog.conflicts);
  expect(c).toMatchObject({ applied: 'client', local: { data: { title: 'from A' } }, server: { data: { title: 'from B' } } });
  expect(await inPage(a, (hc) => hc.conflicts.list())).toHaveLength(1);
});

test('a function rule merges; a delete against an edit keeps the edited item under server-wins; preference sections merge without conflict', async () => {
  const user = 'hybrid-conflict-3';
  const { a, b } = await twoProfiles(user, 'merge-title');
  const seenByA = await inPage(a, (hc, id: string) => hc.contentItems.get(id), HELLO.id);
  await editTitle(b, HELLO.id, 'from B');
  await inPage(a, async (hc, item: any) => {
    await hc.contentItems.put({ ...item, data: { ...item.data, title: 'from A' } });
    await hc.outbox.flushed(20000);
  }, seenByA);
  expect(await title(user, HELLO.id)).toBe('from B + from A');
  expect((await a.evaluate(() => (globalThis as any).hcLog.conflicts))[0]).toMatchObject({ applied: 'merged' });

  // Different preference sections: B moves the document's ETag, A's section is untouched: no conflict.
  await inPage(a, (hc) => hc.preferences.getAll());
  await inPage(b, async (hc) => { await hc.preferences.set('preview', { showGrid: false, zoom: 2 }); await hc.outbox.flushed(20000); });
  await inPage(a, async (hc) => { await hc.preferences.set('navigation', { activeView: 'development', expandedSections: [], searchQuery: '', lastVisited: {} }); await hc.outbox.flushed(20000); });
  const [prefs] = await q(`SELECT preferences FROM user_preferences WHERE user_id = $1`, [user]);
  expect(prefs.preferences.preview).toEqual({ showGrid: false, zoom: 2 });
  expect(prefs.preferences.navigation.activeView).toBe('development');
  expect(await a.evaluate(() => (globalThis as any).hcLog.conflicts)).toHaveLength(1);

  // The same section: a conflict; the function rule only knows items, so it returns undefined → server's.
  await inPage(b, async (hc) => { await hc.preferences.set('navigation', { activeView: 'content', expandedSections: ['b'], searchQuery: '', lastVisited: {} }); await hc.outbox.flushed(20000); });
  await inPage(a, async (hc) => { await hc.preferences.set('navigation', { activeView: 'analytics', expandedSections: ['a'], searchQuery: '', lastVisited: {} }); await hc.outbox.flushed(20000); });
  const conflicts = await a.evaluate(() => (globalThis as any).hcLog.conflicts);
  expect(conflicts.at(-1)).toMatchObject({ resource: 'preferences', id: 'navigation', local: { activeView: 'analytics' }, server: { activeView: 'content' } });
  expect((await localJson(a, 'catalyst-navigation-state')).activeView).toBe(conflicts.at(-1).applied === 'server' ? 'content' : 'analytics');
  expect(await inPage(a, (hc) => hc.conflicts.list())).toHaveLength(2);

  // A deletes the author B has just edited: 412 → server-wins would keep B's; the merge rule keeps B's too.
  const adaSeen = await inPage(a, (hc, id: string) => hc.contentItems.get(id), ADA.id);
  expect(adaSeen.id).toBe(ADA.id);
  await inPage(b, async (hc, id: string) => { const it = await hc.contentItems.get(id); await hc.contentItems.put({ ...it, data: { ...it.data, fullName: 'Ada King' } }); await hc.outbox.flushed(20000); }, ADA.id);
  await inPage(a, async (hc, id: string) => { await hc.contentItems.remove(id); await hc.outbox.flushed(20000); }, ADA.id);
  expect((await q(`SELECT data FROM content_items WHERE user_id = $1 AND source_id = $2`, [user, ADA.id]))[0]?.data).toEqual({ fullName: 'Ada King' });
  expect((await a.evaluate(() => (globalThis as any).hcLog.conflicts)).at(-1)).toMatchObject({ id: ADA.id, local: null, server: { data: { fullName: 'Ada King' } } });
  expect((await localJson(a, 'content-storage')).state.contentItems.find((i: any) => i.id === ADA.id).data.fullName).toBe('Ada King');
});
