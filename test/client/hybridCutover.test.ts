/**
 * The whole cutover in real Chromium against the real API, Postgres and workers, with the server's own
 * `GET /v1/cutover`: a page holding Catalyst data starts its migration, keeps editing while the snapshot
 * batch is held at its preserve phase (a real lock on preserved_entries), switches over while the delta
 * batch is held the same way and keeps editing, and every edit ends up in Postgres exactly once. The
 * delta batch's report counts only the rows that changed; an unchanged snapshot's delta writes none. Then
 * an admin rolls the chain back and the client returns to the browser copy, intact.
 */
import type { Browser, Page } from 'playwright-core';
import type { Server } from 'node:http';
import { CONTENT_ITEMS, CONTENT_TYPES } from '../fixtures/catalystDump';
import { lockTable, until } from '../helpers/locks';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';
import { launchChromium } from './helpers/browser';
import { inPage, localJson, openApp, startAppServer, startClient } from './helpers/hybrid';

/* eslint-disable @typescript-eslint/no-explicit-any */
jest.setTimeout(120000);

let stack: Stack;
let browser: Browser;
let app: { server: Server; origin: string };

beforeAll(async () => {
  // A held phase waits for its lock (no lock timeout, no retries eaten) until the test releases it.
  [stack, browser, app] = await Promise.all([startStack({ config: { PHASE_LOCK_TIMEOUT_MS: '60000' } }), launchChromium(), startAppServer()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => app?.server.close(resolve));
});

const q = (sql: string, params: unknown[] = []) => stack.api.deps.ds.query(sql, params);
const [HELLO, ADA, INLINE] = CONTENT_ITEMS;
const AUTHOR = CONTENT_TYPES[1];
const PREVIEW = { showDeviceFrame: true, showToolbar: true, autoRefresh: false, refreshInterval: 4000, defaultDevice: 'iphone-15', zoom: 0.75, showGrid: false, showRulers: true, highlightInteractive: true };
const NAV = { expandedSections: ['content', 'development'], activeView: 'development', searchQuery: 'hero', lastVisited: { overview: '/overview', content: '/content' } };
const newItem = (id: string, name: string) => ({ id, contentTypeId: AUTHOR.id, data: { fullName: name }, createdAt: '2026-11-29T10:00:00.000Z', updatedAt: '2026-11-29T10:00:00.000Z' });

/** Waits until `phase` of the user's batch of `kind` is running — i.e. waiting on the held lock. */
async function heldAt(user: string, kind: 'snapshot' | 'delta', phase = 'preserve'): Promise<string> {
  return until(async () => {
    const [b] = await q(
      `SELECT b.id FROM migration_batches b JOIN migration_phases p ON p.batch_id = b.id
        WHERE b.user_id = $1 AND b.kind = $2 AND p.name = $3 AND p.status = 'running' ORDER BY b.created_at DESC LIMIT 1`, [user, kind, phase]);
    return b?.id as string | undefined;
  }, 60000);
}

const setTitle = (page: Page, id: string, title: string) => inPage(page, async (hc, a: { id: string; title: string }) => {
  const it = await hc.contentItems.get(a.id);
  await hc.contentItems.put({ ...it, data: { ...it.data, title: a.title }, updatedAt: new Date().toISOString() });
}, { id, title });

let cut: { page: Page; user: string; snapshotId: string; deltaId: string } | null = null;

/** Starts the migration, holds its batch at preserve, edits meanwhile, lets it finish. */
async function migrateWhileEditing(page: Page, user: string): Promise<string> {
  const lock = await lockTable(stack, 'preserved_entries');
  try {
    await page.evaluate(() => { (globalThis as any).migration = (globalThis as any).hc.startMigration(); });
    const snapshotId = await heldAt(user, 'snapshot');
    await page.waitForFunction(() => (globalThis as any).hc.mode === 'migrating');
    // Edits while the snapshot batch runs: to the browser copy (and held), caught by the delta later.
    await setTitle(page, HELLO.id, 'edited while migrating');
    await inPage(page, async (hc, a: any) => {
      await hc.contentItems.put(a.n1);
      await hc.contentItems.remove(a.inline);
      await hc.preferences.set('preview', a.preview);
      await hc.preferences.set('projectContext', null); // removes the key: the delta carries a removal
      const author = await hc.contentTypes.get(a.author);
      await hc.contentTypes.put({ ...author, fields: [...author.fields, { id: 'f-bio', name: 'bio', label: 'Bio', type: 'text', required: false, order: 1 }] });
    }, { n1: newItem('n1-during-migration', 'Grace Hopper'), inline: INLINE.id, preview: PREVIEW, author: AUTHOR.id });
    await lock.release();
    expect(await page.evaluate(() => (globalThis as any).migration)).toMatchObject({ batchId: snapshotId, status: 'completed' });
    return snapshotId;
  } finally {
    await lock.release();
  }
}

/** Switches over, holds the delta batch at preserve, edits meanwhile (into the outbox), lets it finish. */
async function switchWhileEditing(page: Page, user: string): Promise<{ deltaId: string; switched: any }> {
  const lock = await lockTable(stack, 'preserved_entries');
  try {
    await page.evaluate(() => { (globalThis as any).switching = (globalThis as any).hc.switchOver(); });
    const deltaId = await heldAt(user, 'delta');
    await page.waitForFunction(() => (globalThis as any).hc.mode === 'switching');
    // Edits while the delta batch runs: after the delta's snapshot, so only the outbox carries them.
    await setTitle(page, HELLO.id, 'edited while switching');
    await inPage(page, async (hc, a: any) => {
      await hc.contentItems.put(a.n2);
      await hc.preferences.set('navigation', a.nav);
    }, { n2: newItem('n2-during-switch', 'Katherine Johnson'), nav: NAV });
    expect(await inPage(page, (hc) => hc.outbox.state)).toBe('held');
    expect(await inPage(page, (hc) => hc.outbox.size)).toBeGreaterThanOrEqual(3);
    await lock.release();
    return { deltaId, switched: await page.evaluate(() => (globalThis as any).switching) };
  } finally {
    await lock.release();
  }
}

/** Every edit is in Postgres, and every row once. */
async function expectEveryEditOnce(user: string): Promise<string[]> {
  const items = await q(`SELECT source_id, data FROM content_items WHERE user_id = $1 ORDER BY source_id`, [user]);
  expect(items.map((r: any) => r.source_id).sort()).toEqual([ADA.id, HELLO.id, 'n1-during-migration', 'n2-during-switch'].sort());
  expect(items.find((r: any) => r.source_id === HELLO.id).data.title).toBe('edited while switching');
  expect(items.find((r: any) => r.source_id === 'n1-during-migration').data).toEqual({ fullName: 'Grace Hopper' });
  expect(items.find((r: any) => r.source_id === 'n2-during-switch').data).toEqual({ fullName: 'Katherine Johnson' });
  const [prefs] = await q(`SELECT preferences FROM user_preferences WHERE user_id = $1`, [user]);
  expect(prefs.preferences.preview).toEqual(PREVIEW);
  expect(prefs.preferences.navigation).toEqual(NAV);
  expect(prefs.preferences.projectContext).toBeUndefined();
  const [author] = await q(`SELECT schema FROM content_types WHERE user_id = $1 AND source_id = $2`, [user, AUTHOR.id]);
  expect(author.schema.fields.map((f: any) => f.name)).toEqual(['fullName', 'bio']);
  for (const t of ['content_items', 'content_types', 'user_preferences', 'websites']) {
    expect(await q(`SELECT source_id, count(*)::int AS n FROM ${t} WHERE user_id = $1 GROUP BY 1 HAVING count(*) > 1`, [user])).toEqual([]);
  }
  return items.map((r: any) => r.source_id);
}

/** One progress stream: migration stages, then the delta and the switch; fractions within [0, 1]. */
async function expectOneProgressStream(page: Page): Promise<void> {
  const progress = await page.evaluate(() => (globalThis as any).hcLog.progress as { stage: string; fraction: number | null }[]);
  const stages = progress.map((p) => p.stage).filter((s, i, all) => s !== all[i - 1]);
  expect(stages).toEqual(['snapshot', 'upload', 'processing', 'done', 'delta', 'switch']);
  expect(progress.every((p) => p.fraction === null || (p.fraction >= 0 && p.fraction <= 1))).toBe(true);
  expect(await page.evaluate(() => (globalThis as any).hcLog.modes)).toEqual(['migrating', 'ready', 'switching', 'api']);
}

test('migrate, keep editing while each batch runs, switch: every edit is in Postgres once', async () => {
  const user = 'hybrid-cutover-1';
  const { page, errors } = await openApp(browser, app.origin);
  expect(await startClient(page, stack.api.url, { token: await stack.mintToken(user) })).toBe('browser');
  const snapshotId = await migrateWhileEditing(page, user);
  expect(await inPage(page, (hc) => hc.mode)).toBe('ready');
  // The snapshot's rows are the snapshot's: the edits are not on the server yet.
  expect((await q(`SELECT data->>'title' AS t FROM content_items WHERE user_id = $1 AND source_id = $2`, [user, HELLO.id]))[0].t).toBe('Hello world');

  const { deltaId, switched } = await switchWhileEditing(page, user);
  expect(switched).toMatchObject({ mode: 'api', deltaBatchId: deltaId, changed: expect.any(Number), removed: 1 });
  await inPage(page, (hc) => hc.outbox.flushed(30000));
  cut = { page, user, snapshotId, deltaId };
  const ids = await expectEveryEditOnce(user);

  // The delta batch changed only what changed (its journal, as the report counts it).
  const report = (await stack.http.get(`/v1/batches/${deltaId}/report`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)).body;
  expect(report.changes.content_items).toEqual({ inserted: 1, updated: 1, deleted: 1 }); // n1, HELLO, INLINE (pruned)
  expect(report.changes.content_types).toEqual({ inserted: 0, updated: 1, deleted: 0 });
  expect(report.changes.user_preferences).toEqual({ inserted: 0, updated: 1, deleted: 0 });
  expect(Object.keys(report.changes).sort()).toEqual(['content_items', 'content_types', 'user_preferences']);

  // The API and the browser copy agree.
  const listed = await inPage(page, (hc) => hc.contentItems.list());
  expect(listed.map((i: any) => i.id).sort()).toEqual(ids.sort());
  expect((await localJson(page, 'content-storage')).state.contentItems.map((i: any) => i.id).sort()).toEqual(ids.sort());
  await expectOneProgressStream(page);
  expect(errors).toEqual([]);
});

test('an admin rolls the chain back: the client returns to the browser copy, which is intact', async () => {
  expect(cut).not.toBeNull();
  const { page, user, snapshotId, deltaId } = cut!;
  await setTitle(page, HELLO.id, 'edited in api mode');
  await inPage(page, (hc) => hc.outbox.flushed(30000));
  const before = await localJson(page, 'content-storage');

  const res = await stack.http.post(`/v1/admin/batches/${snapshotId}/rollback`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ force: true });
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, snapshotId, ['rolled_back', 'failed'], 30000)).toBe('rolled_back');
  expect(await waitForBatch(stack, deltaId, ['rolled_back', 'failed'], 30000)).toBe('rolled_back');
  await page.waitForFunction(() => (globalThis as any).hc.mode === 'browser', undefined, { timeout: 15000 });
  expect(await inPage(page, (hc) => hc.state.reason)).toBe('rolled_back');

  // The browser copy holds every write, in the app's own format; reads and writes use it again.
  expect(await localJson(page, 'content-storage')).toEqual(before);
  expect(before).toMatchObject({ version: 0, state: { projectId: 'default' } });
  const items = await inPage(page, (hc) => hc.contentItems.list());
  expect(items.map((i: any) => i.id).sort()).toEqual([ADA.id, HELLO.id, 'n1-during-migration', 'n2-during-switch'].sort());
  expect(items.find((i: any) => i.id === HELLO.id).data.title).toBe('edited in api mode');
  expect(await inPage(page, (hc) => hc.preferences.getAll())).toMatchObject({ preview: PREVIEW, navigation: NAV });
  const sent: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/v1/websites') || r.url().includes('/v1/preferences')) sent.push(r.url()); });
  await setTitle(page, HELLO.id, 'edited after the rollback');
  expect(await inPage(page, (hc) => [hc.outbox.size, hc.outbox.state])).toEqual([0, 'idle']);
  expect((await localJson(page, 'content-storage')).state.contentItems.find((i: any) => i.id === HELLO.id).data.title).toBe('edited after the rollback');
  expect(sent).toEqual([]);
  expect(await q(`SELECT count(*)::int AS n FROM content_items WHERE user_id = $1 AND batch_id IS NOT NULL`, [user])).toEqual([{ n: 0 }]);
});

test('a delta of an unchanged snapshot writes no row', async () => {
  const user = 'hybrid-cutover-2';
  const { page } = await openApp(browser, app.origin);
  expect(await startClient(page, stack.api.url, { token: await stack.mintToken(user) })).toBe('browser');
  expect(await inPage(page, (hc) => hc.startMigration())).toMatchObject({ status: 'completed' });
  const switched = await inPage(page, (hc) => hc.switchOver());
  // Only the sealed entry (its digest is not disclosed) is re-sent; nothing else changed.
  expect(switched).toMatchObject({ mode: 'api', changed: 1, added: 0, removed: 0 });
  const report = (await stack.http.get(`/v1/batches/${switched.deltaBatchId}/report`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)).body;
  expect(report).toMatchObject({ status: 'completed', kind: 'delta' });
  expect(report.changes).toEqual({});
  expect(await q(`SELECT count(*)::int AS n FROM row_journal WHERE batch_id = $1`, [switched.deltaBatchId])).toEqual([{ n: 0 }]);
});

test('two tabs switch at once: one delta batch (they take turns), both end in api mode, the shared outbox sends each write once', async () => {
  const user = 'hybrid-cutover-3';
  const { context, page } = await openApp(browser, app.origin);
  const token = await stack.mintToken(user);
  await startClient(page, stack.api.url, { token });
  expect(await inPage(page, (hc) => hc.startMigration())).toMatchObject({ status: 'completed' });
  const tab2 = await context.newPage();
  await tab2.goto(`${app.origin}/studio`);
  expect(await startClient(tab2, stack.api.url, { token })).toBe('ready');

  // The tabs take turns (a Web Lock): the second finds the first one's switch done (or running, and follows it).
  const both = await Promise.all([page, tab2].map((p) => inPage(p, (hc) => hc.switchOver())));
  expect(both.map((r) => r.mode)).toEqual(['api', 'api']);
  const deltas = await q(`SELECT id, status FROM migration_batches WHERE user_id = $1 AND kind = 'delta'`, [user]);
  expect(deltas).toEqual([{ id: expect.any(String), status: 'completed' }]);
  expect(both.map((r) => r.deltaBatchId).filter(Boolean)).toEqual([deltas[0].id]);

  await setTitle(page, HELLO.id, 'tab 1');
  await setTitle(tab2, ADA.id, 'tab 2');
  await Promise.all([page, tab2].map((p) => inPage(p, (hc) => hc.outbox.flushed(30000))));
  const writes = await q(`SELECT coalesce(after, before)->>'source_id' AS id FROM api_writes WHERE user_id = $1 AND table_name = 'content_items' ORDER BY seq`, [user]);
  expect(writes.map((w: any) => w.id)).toEqual([HELLO.id, ADA.id]);
});
