/**
 * Real Chromium: an admin logs in through the form and watches a running batch move on the overview and
 * the batch page, without reloading. The batch is held exactly where the test wants it by Postgres locks:
 * a table lock stops the preserve phase before its first page, then a row lock on an entry near the end
 * lets the pages before it through and holds the rest, so the bars, rows/s and ETA show a batch part-way.
 */
import type { Browser, Page } from 'playwright-core';
import { catalystDump } from '../fixtures/catalystDump';
import { launchChromium } from '../client/helpers/browser';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';
import { barState, batchRow, blockedBy, lockSession, loginPage, postDump, screenshot } from './helpers';

jest.setTimeout(120000);

let stack: Stack;
let browser: Browser;
let token: string;

beforeAll(async () => {
  // A long lock timeout: the phase waits on the test's locks instead of failing; fast live updates.
  stack = await startStack({ workers: false, config: { PHASE_LOCK_TIMEOUT_MS: '60000', DASHBOARD_EVENTS_INTERVAL_MS: '100' } });
  token = await stack.mintToken('user-progress');
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** Waits in the page until the phase's bar satisfies `test` (a JS expression over `b`: status, done, total). */
async function waitBar(page: Page, scope: string, phase: string, test: string): Promise<void> {
  const sel = JSON.stringify(`${scope} .bar[data-phase="${phase}"]`);
  await page.waitForFunction(`(() => { const e = document.querySelector(${sel}); if (!e) return false;
    const b = { status: e.dataset.status, done: Number(e.dataset.done), total: Number(e.dataset.total) }; return ${test}; })()`);
}

test('log in, watch a running batch progress live on the overview and the batch page', async () => {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: '2026-11-28T13:00:00.000Z' };
  // 600 keys the app mapping does not know: the preserve phase keeps them raw, 200 per page.
  for (let i = 0; i < 600; i++) doc.localStorage.push({ key: `legacy-note-${String(i).padStart(4, '0')}`, value: JSON.stringify({ n: i, text: 'x'.repeat(120) }) });
  const tableLock = await lockSession(stack, ['LOCK TABLE preserved_entries IN ACCESS EXCLUSIVE MODE']);
  let rowLock: Awaited<ReturnType<typeof lockSession>> | null = null;
  try {
    const id = await postDump(stack, token, doc);
    const { page, errors } = await loginPage(browser, stack, TEST_ADMIN_TOKEN);
    const row = `tr[data-batch-id="${id}"]`;
    await page.waitForSelector(`${row}[data-status="queued"]`);
    await page.evaluate('window.__sameDocument = true'); // survives only if the page never reloads

    stack.startWorkers();
    await waitBar(page, row, 'preserve', `b.status === 'running' && b.total > 0`); // total comes with its first progress report
    for (const done of ['ingest', 'websites', 'contentTypes', 'contentItems']) expect((await barState(page, row, done))?.status).toBe('completed');
    const before = (await barState(page, row, 'preserve'))!;
    expect(before.done).toBeLessThan(before.total);
    const fractionBefore = Number(await page.getAttribute(`${row} [data-field=progress]`, 'data-fraction'));

    // Lock an entry near the end, then free the table: the pages before it commit, its page waits.
    const [{ seq }] = await stack.api.deps.ds.query(`SELECT seq FROM dump_entries WHERE batch_id = $1 AND outcome = 'pending' ORDER BY seq OFFSET 550 LIMIT 1`, [id]);
    rowLock = await lockSession(stack, [`SELECT 1 FROM dump_entries WHERE batch_id = $1 AND seq = $2 FOR UPDATE`, [id, seq]]);
    await tableLock.release();
    await blockedBy(stack, rowLock.pid);
    const [{ done: heldAt }] = await stack.api.deps.ds.query(`SELECT done FROM migration_phases WHERE batch_id = $1 AND name = 'preserve'`, [id]);
    await waitBar(page, row, 'preserve', `b.status === 'running' && b.done === ${heldAt}`);
    const mid = (await barState(page, row, 'preserve'))!;
    expect(mid.done).toBeGreaterThan(before.done);
    expect(mid.done).toBeLessThan(mid.total);
    expect(Number(await page.getAttribute(`${row} [data-field=progress]`, 'data-fraction'))).toBeGreaterThan(fractionBefore);
    expect(await page.textContent(`${row} [data-field=rate]`)).toMatch(/^[\d,.]+ rows\/s$/);
    expect(await page.textContent(`${row} [data-field=eta]`)).toMatch(/^\d+(s|m \d+s|h \d+m)$/);
    await screenshot(page, 'overview');

    // The batch page at the same moment: the phase table with its bars and Bull Board links.
    const batchPage = await page.context().newPage();
    await batchPage.goto(`${stack.api.url}/admin/batches/${id}`);
    await waitBar(batchPage, '#phases', 'preserve', `b.status === 'running' && b.done === ${mid.done}`);
    expect(await batchPage.getAttribute('a[data-job="preserve"]', 'href')).toBe(`/admin/queues/queue/migration/${id}.preserve`);
    await screenshot(batchPage, 'batch-running');

    await rowLock.release();
    await page.waitForSelector(`${row}[data-status="completed"]`);
    expect(await page.textContent(`${row} [data-field=verification]`)).toContain('verified');
    expect(Number(await page.textContent(`${row} [data-field=preserved]`))).toBeGreaterThanOrEqual(600);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);

    await batchPage.waitForSelector('#batch-status .status.completed');
    await batchPage.waitForSelector('#report [data-field=balanced] .verify-ok');
    expect(await batchPage.textContent('#verification [data-field=verification]')).toMatch(/Verified/);
    await screenshot(batchPage, 'batch');

    const b = await batchRow(stack, id);
    expect(b.status).toBe('completed');
    const [p] = await stack.api.deps.ds.query(`SELECT done, total, status FROM migration_phases WHERE batch_id = $1 AND name = 'preserve'`, [id]);
    expect(p).toMatchObject({ status: 'completed', done: p.total });
    expect(errors).toEqual([]);
  } finally {
    await rowLock?.release();
    await tableLock.release();
  }
});
