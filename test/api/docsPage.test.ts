/**
 * Real Chromium on /docs, with the page's real Content-Security-Policy (no bypassCSP): Swagger UI, served
 * from this server, draws every operation of /v1/openapi.json without a policy violation, a console error
 * or a request to another origin. Leaves a screenshot in test-artifacts/screenshots/docs.png.
 */
import type { Browser } from 'playwright-core';
import { launchChromium } from '../client/helpers/browser';
import { screenshot } from '../dashboard/helpers';
import { startStack, type Stack } from '../helpers/stack';

jest.setTimeout(90000);

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack({ workers: false });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

test('the page and its assets are served from this origin with a strict CSP', async () => {
  const page = await stack.http.get('/docs');
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  const csp = page.headers['content-security-policy'];
  expect(csp).toContain("script-src 'self';");
  expect(csp).toContain("style-src 'self';");
  expect(csp).not.toMatch(/unsafe-eval|https?:/);
  expect(page.text).not.toMatch(/<script>|<script(?![^>]*\ssrc=)[^>]*>|src="https?:|href="https?:/); // no inline script, no other origin
  for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'docs-init.js']) {
    const res = await stack.http.get(`/docs/assets/${file}`);
    expect(res.status).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  }
  // Only the files the page uses: not the package's demo page, not a path out of the folder.
  for (const file of ['index.html', 'swagger-initializer.js', '..%2Fpackage.json']) expect((await stack.http.get(`/docs/assets/${file}`)).status).toBe(404);
});

test('Swagger UI draws every operation under the real CSP, without violations or console errors', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const offOrigin: string[] = [];
  const tried = `${stack.api.url}/v1/assets/${'0'.repeat(64)}`;
  page.on('console', (m) => {
    // Chromium logs every 4xx fetch as an error: the 404 that "Try it out" below asks for is expected.
    if (m.type() === 'error' && m.location().url !== tried) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(stack.api.url) && !r.url().startsWith('data:')) offOrigin.push(r.url());
  });
  // CSP violations reach the page as events; a binding reports each one to the test. The listener goes in
  // before any page script, as an init script (a string: the tests compile without the DOM types).
  await page.exposeBinding('reportViolation', (_src, v: string) => void problems.push(`CSP: ${v}`));
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) =>
      window.reportViolation(e.violatedDirective + ' blocked ' + e.blockedURI + ' (' + e.sourceFile + ':' + e.lineNumber + ')'));`,
  });

  const res = await page.goto(`${stack.api.url}/docs`, { waitUntil: 'load' });
  expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
  await page.getByText("List the user's websites").first().waitFor({ state: 'visible' });
  await page.getByText('Upload a whole dump and start its migration').first().waitFor({ state: 'visible' });
  await page.locator('.opblock').nth(20).waitFor({ state: 'attached' });
  const operations = await page.locator('.opblock').count();
  expect(operations).toBeGreaterThan(20);
  await page.locator('.info .title').filter({ hasText: 'browser-storage-migrator' }).waitFor();

  // Open one operation: its parameters and the example body render too.
  await page.locator('#operations-Dumps-postDump .opblock-summary-control').click();
  await page.locator('#operations-Dumps-postDump .opblock-body').waitFor({ state: 'visible' });
  await page.locator('#operations-Dumps-postDump').getByText('Idempotency-Key').first().waitFor({ state: 'visible' });

  // "Try it out" calls the API from the page (connect-src 'self') and highlights the answer: an asset
  // that does not exist answers the JSON error form.
  const op = page.locator('#operations-Assets-getAsset');
  await op.locator('.opblock-summary-control').click();
  await op.getByRole('button', { name: 'Try it out' }).click();
  await op.locator('input[placeholder="asset"]').fill('0'.repeat(64));
  await op.getByRole('button', { name: 'Execute' }).click();
  await op.locator('.live-responses-table .response-col_status').filter({ hasText: '404' }).waitFor({ state: 'visible' });
  await op.locator('.live-responses-table .response-col_description').getByText('"not_found"').first().waitFor({ state: 'visible' });

  await screenshot(page, 'docs');
  await context.close();
  expect(problems).toEqual([]);
  expect(offOrigin).toEqual([]);
});
