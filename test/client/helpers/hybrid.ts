/**
 * The hybrid client in real Chromium, on the app's own origin (another origin than the API, as in
 * production): the page imports the bundle from the API, fills its storage with the Catalyst shapes and
 * drives `createHybridClient` through page.evaluate. Events the client emits are collected in the page
 * (`hcLog`) so a test can read them at any point, across reloads too (each reload starts a new log).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Stack } from '../../helpers/stack';
import { WEBSITE_ID } from '../../fixtures/catalystDump';
import { catalystSpec, fillStorage } from './pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */

export async function startAppServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => res.end('<!doctype html><title>Catalyst Studio</title><p>app'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export interface AppPage {
  context: BrowserContext;
  page: Page;
  errors: Error[];
}

/** A fresh browser profile (context) with the app page open, holding the Catalyst data when `fill`. */
export async function openApp(browser: Browser, appOrigin: string, fill = true): Promise<AppPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${appOrigin}/studio`);
  if (fill) await fillStorage(page, catalystSpec());
  return { context, page, errors };
}

export interface ClientOptions {
  token: string;
  conflictRule?: 'server-wins' | 'client-wins' | 'merge-title';
  retryDelays?: number[];
  modePollMs?: number;
  busyPollMs?: number;
}

/**
 * Imports the bundle and starts a client as `globalThis.hc`; resolves with its first mode. The rule
 * 'merge-title' is a function rule: for two versions of a content item, the server's with the local title
 * appended (a merge); for anything else undefined (the server's version stands).
 */
export async function startClient(page: Page, apiUrl: string, o: ClientOptions): Promise<string> {
  // A string, not a function: the test compiler would turn a dynamic import() into require().
  await page.evaluate(`import('${apiUrl}/client/uploader.js').then((m) => { globalThis.bsm = m; })`);
  return page.evaluate(async (a) => {
    const g = globalThis as any;
    g.hcLog = { conflicts: [], progress: [], modes: [], outbox: [] };
    const rule = a.o.conflictRule === 'merge-title'
      ? (c: any) => (c.resource === 'contentItems' && c.local && c.server
        ? { ...c.server, data: { ...c.server.data, title: `${c.server.data.title} + ${c.local.data.title}` } }
        : undefined)
      : a.o.conflictRule;
    g.hc = g.bsm.createHybridClient({
      apiOrigin: a.apiUrl, token: a.o.token, websiteId: a.websiteId, conflictRule: rule, pollIntervalMs: 50,
      retryDelays: a.o.retryDelays ?? [50, 100, 200, 400], modePollMs: a.o.modePollMs ?? 500, busyPollMs: a.o.busyPollMs ?? 200,
      onConflict: (c: any) => g.hcLog.conflicts.push(c),
    });
    g.hc.on('progress', (p: any) => g.hcLog.progress.push({ stage: p.stage, message: p.message, fraction: p.fraction, batchId: p.batchId }));
    g.hc.on('mode', (m: any) => g.hcLog.modes.push(m.mode));
    g.hc.on('outbox', (s: any) => g.hcLog.outbox.push(s));
    return g.hc.ready;
  }, { apiUrl, o, websiteId: WEBSITE_ID });
}

/**
 * A page whose Catalyst data went through the real cutover — startMigration(), switchOver() against the
 * server's own GET /v1/cutover — so its client is in `api` mode.
 */
export async function switchedPage(browser: Browser, appOrigin: string, stack: Stack, user: string, o: Partial<ClientOptions> = {}): Promise<AppPage & { token: string }> {
  const opened = await openApp(browser, appOrigin);
  const token = await stack.mintToken(user);
  if ((await startClient(opened.page, stack.api.url, { ...o, token })) !== 'browser') throw new Error('expected a fresh user');
  const migrated = await inPage(opened.page, (hc) => hc.startMigration());
  if (migrated?.status !== 'completed') throw new Error(`migration ended ${migrated?.status}`);
  const switched = await inPage(opened.page, (hc) => hc.switchOver());
  if (switched.mode !== 'api') throw new Error(`switch ended in ${switched.mode}`);
  return { ...opened, token };
}

/** Runs `fn(hc)` in the page (`fn` must be self-contained: it is sent as source). */
export function inPage<T, A = undefined>(page: Page, fn: (hc: any, arg: A) => Promise<T> | T, arg?: A): Promise<T> {
  return page.evaluate(`(${fn.toString()})(globalThis.hc, ${JSON.stringify(arg ?? null)})`) as Promise<T>;
}

/** The page's raw localStorage value of `key`, parsed. */
export function localJson(page: Page, key: string): Promise<any> {
  return page.evaluate((k) => JSON.parse((globalThis as any).localStorage.getItem(k) ?? 'null'), key);
}

/**
 * The server's `GET /v1/cutover` answer for this page, replaced by `state` (for tests of the client's
 * behaviour in a mode, independent of how the server got there). CORS as the API answers it.
 */
export async function fakeCutover(page: Page, apiUrl: string, state: () => Record<string, unknown>): Promise<void> {
  await page.route(`${apiUrl}/v1/cutover`, (route) => route.fulfill({
    status: 200, contentType: 'application/json', headers: { 'Access-Control-Allow-Origin': '*' }, body: JSON.stringify(state()),
  }));
}

export function cutoverState(mode: string, website: { id: string; sourceId: string } | null, extra: Record<string, unknown> = {}) {
  return { mode, snapshotBatchId: null, latestBatchId: null, latestStatus: null, deltaBatchIds: [], switchedAt: null, reason: null, globalWebsite: website, ...extra };
}

/** The website the snapshot made of WEBSITE_ID for `user` (the global website). */
export async function globalWebsite(stack: Stack, user: string): Promise<{ id: string; sourceId: string }> {
  const [w] = await stack.api.deps.ds.query(`SELECT id, source_id FROM websites WHERE user_id = $1 AND source_id = $2`, [user, WEBSITE_ID]);
  if (!w) throw new Error(`no website ${WEBSITE_ID} for ${user}`);
  return { id: w.id, sourceId: w.source_id };
}

/** Every API write of `user`, in the order Postgres recorded them. */
export async function apiWrites(stack: Stack, user: string): Promise<{ table_name: string; op: string; source_id: string; title: string | null }[]> {
  return stack.api.deps.ds.query(
    `SELECT table_name, op, coalesce(after, before)->>'source_id' AS source_id, coalesce(after, before)->'data'->>'title' AS title
       FROM api_writes WHERE user_id = $1 ORDER BY seq`, [user]);
}
