/**
 * Real Chromium, under the pages' own Content-Security-Policy (no bypassCSP; a violation fails the test):
 * a delta batch's page links to the batch it follows and says what it changed, and the base links back;
 * phase bars are drawn; the tokens page lists and revokes. What is checked is what is drawn.
 */
import type { Browser, Page } from 'playwright-core';
import { catalystDump, CONTENT_ITEMS } from '../fixtures/catalystDump';
import { launchChromium } from '../client/helpers/browser';
import { startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';
import { postDump, screenshot } from './helpers';

jest.setTimeout(60000);

let stack: Stack;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } }); // no bypassCSP: the real policy
  page = await context.newPage();
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  await page.goto(`${stack.api.url}/admin`);
  await page.fill('#token', TEST_ADMIN_TOKEN);
  await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), page.click('button[type=submit]')]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

test('a delta links to its base, says what it changed, and the base links to its delta', async () => {
  const token = await stack.mintToken('dash-delta');
  const base = await postDump(stack, token, catalystDump());
  expect(await waitForBatch(stack, base)).toBe('completed');
  const items = JSON.parse(JSON.stringify(CONTENT_ITEMS));
  items[1].data.fullName = 'Ada King';
  const lines = [
    JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { capturedAt: '2026-11-28T11:00:00.000Z' } }),
    JSON.stringify({ area: 'localStorage', key: 'content-storage', value: JSON.stringify({ state: { contentItems: items, projectId: 'default' }, version: 0 }) }),
    JSON.stringify({ end: true, entries: 1 }),
  ];
  const res = await stack.http.post(`/v1/batches/${base}/delta`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/x-ndjson').send(lines.join('\n') + '\n');
  expect(res.status).toBe(202);
  const delta = res.body.batchId;
  expect(await waitForBatch(stack, delta)).toBe('completed');

  await page.goto(`${stack.api.url}/admin/batches/${delta}`);
  const link = page.locator('[data-field="base"]');
  await link.waitFor();
  expect(await link.textContent()).toBe(base.slice(0, 8));
  expect(await link.getAttribute('href')).toBe(`/admin/batches/${base}`);
  await page.locator('[data-field="changes"]', { hasText: '0 inserted · 1 updated · 0 deleted' }).waitFor();
  await screenshot(page, 'batch-delta');

  await link.click();
  await page.waitForURL((u) => u.pathname === `/admin/batches/${base}`);
  const followed = page.locator('[data-field="followed-by"] a');
  await followed.first().waitFor();
  expect(await followed.getAttribute('href')).toBe(`/admin/batches/${delta}`);
  expect(cspViolations).toEqual([]);
});

test('under the real CSP the phase bars are drawn: a completed batch\'s bars are full', async () => {
  const token = await stack.mintToken('dash-bars');
  const id = await postDump(stack, token, { ...catalystDump(), source: { capturedAt: '2026-11-28T12:00:00.000Z' } });
  expect(await waitForBatch(stack, id)).toBe('completed');
  await page.goto(`${stack.api.url}/admin/batches/${id}`);
  const fill = page.locator('#phases .bar[data-phase="contentItems"] span');
  await fill.waitFor();
  const widths = await fill.evaluate((span) => {
    const s = span as unknown as { offsetWidth: number; parentElement: { offsetWidth: number } };
    return { fill: s.offsetWidth, bar: s.parentElement.offsetWidth };
  });
  expect(widths.bar).toBeGreaterThan(0);
  expect(widths.fill).toBe(widths.bar);
  await screenshot(page, 'batch-bars-csp');
  expect(cspViolations).toEqual([]);
});

test('the tokens page lists tokens (no secret) and the admin revokes one through its dialog; the token then answers 401', async () => {
  const secret = await stack.mintToken('dash-token-user');
  await page.goto(`${stack.api.url}/admin/tokens?userId=dash-token-user`);
  const row = page.locator('#tokens tbody tr[data-token]');
  await row.first().waitFor();
  expect(await row.count()).toBe(1);
  expect(await page.content()).not.toContain(secret);
  await row.locator('button[data-action="revoke"]').click();
  await page.locator('#confirm-ok').click();
  await page.locator('#flash', { hasText: 'revoked' }).waitFor();
  expect((await stack.http.get('/v1/cutover').set('Authorization', `Bearer ${secret}`)).status).toBe(401);
  await page.locator('#filters input[name="includeRevoked"]').check();
  await page.locator('#filters button[type="submit"]').click();
  await page.locator('#tokens td[data-field="revoked"]', { hasText: /\d/ }).waitFor();
  await screenshot(page, 'tokens');
  expect(cspViolations).toEqual([]);
});
