/**
 * The hybrid client when the API goes away, in real Chromium against the real API and workers: writes
 * made while every request to the API fails queue in the IndexedDB outbox (the browser copy has them at
 * once), the queue survives a reload, and once the API answers again the writes land in the order they
 * were made — checked in Postgres, row by row and in the api_writes journal. `Retry-After` on a 503 is
 * honoured. Each page gets to `api` mode through the real cutover (startMigration, switchOver).
 */
import type { Browser } from 'playwright-core';
import type { Server } from 'node:http';
import { CONTENT_ITEMS } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';
import { launchChromium } from './helpers/browser';
import { apiWrites, inPage, localJson, startAppServer, startClient, switchedPage } from './helpers/hybrid';

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

const migratedPage = (user: string) => switchedPage(browser, app.origin, stack, user);

test('writes made while the API is unreachable queue, survive a reload, and land in order when it returns', async () => {
  const user = 'hybrid-offline-1';
  const { page, token, errors } = await migratedPage(user);
  // Online first: a read comes from the API (and refreshes the browser copy).
  const listed = await inPage(page, (hc) => hc.contentItems.list());
  expect(listed.map((i: any) => i.id).sort()).toEqual(CONTENT_ITEMS.map((i) => i.id).sort());

  // The API goes away: every request from the page to it fails at the network level.
  const down = (route: any) => route.abort('connectionrefused');
  await page.route(`${stack.api.url}/v1/**`, down);
  await inPage(page, async (hc, ids: string[]) => {
    const [hello, ada] = await Promise.all(ids.map((id) => hc.contentItems.get(id)));
    await hc.contentItems.put({ ...hello, data: { ...hello.data, title: 'offline 1' }, updatedAt: '2026-01-01T00:00:01.000Z' });
    await hc.contentItems.put({ id: 'offline-new', contentTypeId: ada.contentTypeId, data: { fullName: 'Grace Hopper' }, createdAt: '2026-01-01T00:00:02.000Z', updatedAt: '2026-01-01T00:00:02.000Z' });
    await hc.contentItems.put({ ...hello, data: { ...hello.data, title: 'offline 2' }, updatedAt: '2026-01-01T00:00:03.000Z' });
    await hc.preferences.set('navigation', { expandedSections: ['content', 'analytics'], activeView: 'analytics', searchQuery: 'offline', lastVisited: {} });
  }, [HELLO.id, ADA.id]);
  const size = await inPage(page, (hc) => hc.outbox.size);
  expect(size).toBe(4);
  // The browser copy has every write already, in the app's own format.
  const env = await localJson(page, 'content-storage');
  expect(env).toMatchObject({ version: 0, state: { projectId: 'default' } });
  expect(env.state.contentItems.find((i: any) => i.id === HELLO.id).data.title).toBe('offline 2');
  expect(env.state.contentItems.at(-1)).toMatchObject({ id: 'offline-new', data: { fullName: 'Grace Hopper' } });
  expect((await localJson(page, 'catalyst-navigation-state')).searchQuery).toBe('offline');
  // Reads fall back to the browser copy.
  expect((await inPage(page, (hc, id: string) => hc.contentItems.get(id), HELLO.id)).data.title).toBe('offline 2');
  await page.waitForFunction(() => (globalThis as any).hc.outbox.state === 'retrying');

  // A reload while still offline: the queue is in IndexedDB; the last confirmed mode (api) holds.
  await page.reload();
  expect(await startClient(page, stack.api.url, { token })).toBe('api');
  expect(await inPage(page, (hc) => hc.outbox.size)).toBe(4);
  await inPage(page, (hc, id: string) => hc.contentItems.remove(id), ADA.id); // one more, after the reload
  expect(await inPage(page, (hc) => hc.outbox.size)).toBe(5);
  expect(await q(`SELECT count(*)::int AS n FROM api_writes WHERE user_id = $1`, [user])).toEqual([{ n: 0 }]);

  // The API is back: the outbox drains in order.
  await page.unroute(`${stack.api.url}/v1/**`, down);
  await inPage(page, (hc) => hc.outbox.flushed(30000));
  expect(await inPage(page, (hc) => [hc.outbox.size, hc.outbox.state])).toEqual([0, 'idle']);

  const items = await q(`SELECT source_id, data FROM content_items WHERE user_id = $1 ORDER BY source_id`, [user]);
  expect(items.find((r: any) => r.source_id === HELLO.id).data.title).toBe('offline 2');
  expect(items.find((r: any) => r.source_id === 'offline-new').data).toEqual({ fullName: 'Grace Hopper' });
  expect(items.find((r: any) => r.source_id === ADA.id)).toBeUndefined();
  const [prefs] = await q(`SELECT preferences FROM user_preferences WHERE user_id = $1`, [user]);
  expect(prefs.preferences.navigation).toMatchObject({ activeView: 'analytics', searchQuery: 'offline' });
  // In the order they were made, each once.
  const writes = (await apiWrites(stack, user)).map((w) => [w.table_name, w.op, w.source_id, w.title]);
  expect(writes).toEqual([
    ['content_items', 'update', HELLO.id, 'offline 1'],
    ['content_items', 'insert', 'offline-new', null],
    ['content_items', 'update', HELLO.id, 'offline 2'],
    ['user_preferences', 'update', 'localStorage', null],
    ['content_items', 'delete', ADA.id, null],
  ]);
  expect(await inPage(page, (hc) => hc.conflicts.list())).toEqual([]);
  expect(errors).toEqual([]);
});

test('a 503 with Retry-After holds the queue for that long, then the write goes through once', async () => {
  const user = 'hybrid-offline-2';
  const { page } = await migratedPage(user);
  let refused = 0;
  let refusedAt = 0;
  let sentAt = 0;
  await page.route(`${stack.api.url}/v1/websites/**`, async (route) => {
    if (route.request().method() === 'PUT' && refused === 0) {
      refused++;
      refusedAt = Date.now();
      return route.fulfill({ status: 503, headers: { 'Retry-After': '2', 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Retry-After' }, contentType: 'application/json', body: '{"error":{"code":"unavailable","message":"busy"}}' });
    }
    if (route.request().method() === 'PUT') sentAt = Date.now();
    return route.continue();
  });
  await inPage(page, async (hc, id: string) => {
    const item = await hc.contentItems.get(id);
    await hc.contentItems.put({ ...item, data: { ...item.data, title: 'after 503' } });
  }, HELLO.id);
  await page.waitForFunction(() => (globalThis as any).hc.outbox.state === 'retrying');
  const retryIn = await inPage(page, (hc) => hc.outbox.lastError);
  expect(retryIn).toBe('busy');
  await inPage(page, (hc) => hc.outbox.flushed(30000));
  expect(refused).toBe(1);
  expect(sentAt - refusedAt).toBeGreaterThanOrEqual(1900); // the backoff alone would be 50 ms
  const writes = await apiWrites(stack, user);
  expect(writes.map((w) => [w.op, w.title])).toEqual([['update', 'after 503']]);
});
