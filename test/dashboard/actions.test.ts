/**
 * Real Chromium: the admin retries a failed batch and rolls back others from the dashboard's buttons,
 * through their confirmation dialogs (including the forced rollback a conflict asks for), and each outcome
 * is checked in Postgres; the read-only operator sees the same pages and Bull Board but is refused.
 */
import type { Browser, Page } from 'playwright-core';
import { catalystDump, CONTENT_ITEMS, type DumpDoc } from '../fixtures/catalystDump';
import { launchChromium } from '../client/helpers/browser';
import { tableChecksums } from '../helpers/checksums';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';
import { batchRow, lockSession, loginPage, postDump, screenshot, until } from './helpers';

jest.setTimeout(120000);

let stack: Stack;
let browser: Browser;
let admin: Page;
let adminErrors: Error[];
const ds = () => stack.api.deps.ds;

beforeAll(async () => {
  // Two attempts and short lock waits, so a held lock fails a phase for good quickly.
  stack = await startStack({ config: { JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '50', PHASE_LOCK_TIMEOUT_MS: '200', DASHBOARD_EVENTS_INTERVAL_MS: '100' } });
  browser = await launchChromium();
  ({ page: admin, errors: adminErrors } = await loginPage(browser, stack, TEST_ADMIN_TOKEN));
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

function dumpAt(capturedAt: string): DumpDoc {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt };
  return doc;
}

/** Batch 2 of a user: an item edited and the website renamed, so it updates rows batch 1 wrote. */
function laterDump(): DumpDoc {
  const doc = dumpAt('2026-11-29T10:00:00.000Z');
  const items = JSON.parse(JSON.stringify(CONTENT_ITEMS));
  items[0].data.title = 'Hello again';
  doc.localStorage = doc.localStorage.map((e) => (e.key === 'content-storage' ? { key: e.key, value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) } : e));
  (doc.indexedDB[0].stores[0].records[0].value as Record<string, unknown>).name = 'Coffee Shop & Roastery';
  return doc;
}

/** Narrows the overview to one user through the filter form (the URL keeps the filter). */
async function showUser(page: Page, userId: string): Promise<void> {
  await page.goto(`${stack.api.url}/admin`);
  await page.fill('#filters input[name=userId]', userId);
  await page.click('#filters button[type=submit]');
  await page.waitForURL(/userId=/);
}

async function confirm(page: Page, expectText: RegExp): Promise<string> {
  await page.waitForSelector('#confirm[open]');
  const text = (await page.textContent('#confirm'))!;
  expect(text).toMatch(expectText);
  await page.click('#confirm-ok');
  return text;
}

test('retry a failed batch from the overview; it continues where it stopped', async () => {
  const token = await stack.mintToken('user-retry');
  const lock = await lockSession(stack, ['LOCK TABLE content_items IN ACCESS EXCLUSIVE MODE']);
  let id: string;
  try {
    id = await postDump(stack, token, dumpAt('2026-11-28T14:00:00.000Z'));
    expect(await waitForBatch(stack, id)).toBe('failed');
    // BullMQ marks the job failed just after the phase recorded it; retry acts on failed jobs.
    await until(async () => (await stack.api.deps.queues.migration.getJob(`${id}.contentItems`))?.isFailed(), 'the failed job');
  } finally {
    await lock.release();
  }
  await showUser(admin, 'user-retry');
  const row = `tr[data-batch-id="${id}"]`;
  await admin.waitForSelector(`${row}[data-status="failed"]`);
  expect(await admin.locator('#batches tbody tr').count()).toBe(1); // the filter shows this user only
  await admin.click(`${row} button[data-action=retry]`);
  await confirm(admin, /failed in contentItems[\s\S]*not redone/);
  await admin.waitForSelector('#flash .msg:has-text("Retry queued")');
  await admin.waitForSelector(`${row}[data-status="completed"]`);

  expect((await batchRow(stack, id)).status).toBe('completed');
  const phases: { name: string; attempts: number }[] = await ds().query(`SELECT name, attempts FROM migration_phases WHERE batch_id = $1`, [id]);
  const attempts = Object.fromEntries(phases.map((p) => [p.name, p.attempts]));
  expect(attempts.ingest).toBe(1); // done work was not redone
  expect(attempts.contentItems).toBe(3); // two failed attempts, then the retry
  const audit = await ds().query(`SELECT actor, outcome FROM audit_log WHERE action = 'batch.retry' AND target = $1`, [`batch:${id}`]);
  expect(audit).toEqual([{ actor: 'admin', outcome: 'ok' }]);
});

test('roll back a batch from its page: the database returns to the state before it', async () => {
  const user = 'user-rollback';
  const token = await stack.mintToken(user);
  const before = await tableChecksums(ds(), user);
  const id = await postDump(stack, token, dumpAt('2026-11-28T15:00:00.000Z'));
  expect(await waitForBatch(stack, id)).toBe('completed');
  expect(await tableChecksums(ds(), user)).not.toEqual(before);

  await admin.goto(`${stack.api.url}/admin/batches/${id}`);
  await admin.waitForSelector('#batch-status .status.completed');
  await admin.click('#summary button[data-action=rollback]');
  await confirm(admin, /wrote \d+ row\(s\): .*websites \(1\)[\s\S]*rows it inserted are deleted/);
  await admin.waitForSelector('#batch-status .status.rolled_back');
  await admin.waitForSelector('#audit tr[data-action="batch.rollback"][data-outcome="ok"]');
  await screenshot(admin, 'batch-rolled-back');

  expect((await batchRow(stack, id)).status).toBe('rolled_back');
  expect(await tableChecksums(ds(), user)).toEqual(before);
});

test('a rollback a later batch conflicts with asks again, and the forced one rolls back both', async () => {
  const user = 'user-conflict';
  const token = await stack.mintToken(user);
  const before = await tableChecksums(ds(), user);
  const b1 = await postDump(stack, token, dumpAt('2026-11-28T16:00:00.000Z'));
  expect(await waitForBatch(stack, b1)).toBe('completed');
  const b2 = await postDump(stack, token, laterDump());
  expect(await waitForBatch(stack, b2)).toBe('completed');

  await showUser(admin, user);
  await admin.waitForSelector(`tr[data-batch-id="${b2}"][data-status="completed"]`);
  await admin.click(`tr[data-batch-id="${b1}"] button[data-action=rollback]`);
  await confirm(admin, /Roll back this batch\?/);
  await confirm(admin, new RegExp(`Later batches changed these rows[\\s\\S]*${b2}[\\s\\S]*newest first`));
  await admin.waitForSelector(`tr[data-batch-id="${b1}"][data-status="rolled_back"]`);
  await admin.waitForSelector(`tr[data-batch-id="${b2}"][data-status="rolled_back"]`);

  expect((await batchRow(stack, b1)).status).toBe('rolled_back');
  expect((await batchRow(stack, b2)).status).toBe('rolled_back');
  expect(await tableChecksums(ds(), user)).toEqual(before);
  // The job audits its outcome last (after releasing the batches' assets): wait for it.
  const audit = await until(async () => {
    const rows = await ds().query(`SELECT action, outcome FROM audit_log WHERE target = $1 ORDER BY id`, [`batch:${b1}`]);
    return rows.length === 3 ? rows : null;
  }, 'the forced rollback\'s outcome in the audit log');
  expect(audit.map((a: { action: string; outcome: string }) => `${a.action}:${a.outcome}`)).toEqual(['batch.rollback:refused', 'batch.rollback.forced:queued', 'batch.rollback.forced:ok']);
  expect(adminErrors).toEqual([]);
});

test('the read-only operator sees the dashboard and Bull Board but is refused every action', async () => {
  const user = 'user-readonly';
  const id = await postDump(stack, await stack.mintToken(user), dumpAt('2026-11-28T17:00:00.000Z'));
  expect(await waitForBatch(stack, id)).toBe('completed');
  const { page, errors } = await loginPage(browser, stack, await stack.mintToken('ops', 'operator'));
  await page.waitForSelector(`tr[data-batch-id="${id}"][data-status="completed"]`);
  expect(await page.textContent('#who')).toBe('operator (read-only)');
  const buttons = page.locator('#batches button[data-action]');
  expect(await buttons.count()).toBeGreaterThan(0);
  for (const b of await buttons.all()) expect(await b.isDisabled()).toBe(true);

  // Straight at the API with the session and a valid CSRF token: still 403.
  const statuses = await page.evaluate(`(async () => {
    const s = await (await fetch('/admin/session')).json();
    const post = (path, body) => fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrfToken }, body: JSON.stringify(body) }).then((r) => r.status);
    return [await post('/v1/admin/batches/${id}/rollback', { force: false }), await post('/v1/admin/batches/${id}/retry', {}),
            await fetch('/admin/queues/api/queues/migration/pause', { method: 'PUT' }).then((r) => r.status)];
  })()`);
  expect(statuses).toEqual([403, 403, 403]);

  const board = await page.goto(`${stack.api.url}/admin/queues/queue/migration/${id}.verify`);
  expect(board?.status()).toBe(200);
  await page.waitForSelector('text=migration');
  await screenshot(page, 'bull-board-operator');
  expect((await batchRow(stack, id)).status).toBe('completed');
  expect(await stack.api.deps.queues.migration.isPaused()).toBe(false);
  const [{ n }] = await ds().query(`SELECT count(*)::int AS n FROM audit_log WHERE target = $1`, [`batch:${id}`]);
  expect(n).toBe(0); // refused before reaching the action: nothing was asked for
  expect(errors).toEqual([]);
});
