/**
 * The README's browser snippet, as written: extracted from README.md, served by a page on the app's own
 * origin (not the API's), run in Chromium. Only the API address and the token placeholder are replaced.
 * The page's storage holds a small Catalyst dump; the snippet must migrate it to `completed`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';
import { launchChromium } from './helpers/browser';

jest.setTimeout(60000);

let stack: Stack;
let browser: Browser;
let app: Server;

/** The one ```html block of README.md's "From the browser app" section. */
function readmeSnippet(): string {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### From the browser app'));
  const m = /```html\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md has no html snippet under "From the browser app"');
  return m[1];
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => app?.close(resolve));
});

test('the README\'s <script type="module"> migrates the page\'s storage from another origin, as written', async () => {
  const token = await stack.mintToken('readme-browser');
  const snippet = readmeSnippet().replaceAll('http://localhost:3000', stack.api.url).replace('UPLOADER_TOKEN', JSON.stringify(token));
  expect(snippet).toContain('migrate(');
  let serveSnippet = false;
  app = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>app</title>${serveSnippet ? snippet : '<p>app</p>'}`);
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;

  const page = await browser.newPage();
  const errors: Error[] = [];
  const logs: string[] = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => logs.push(m.text()));
  // The app's data, in the app's own storage, before the page with the snippet loads.
  await page.goto(`${origin}/`);
  await page.evaluate(`localStorage.setItem('contentTypes', ${JSON.stringify(JSON.stringify([{ id: 't1', name: 'BlogPost', pluralName: 'BlogPosts', icon: '📋', fields: [], relationships: [], createdAt: '2025-08-12T06:56:40.123Z', updatedAt: '2025-08-12T06:56:40.123Z' }]))}); localStorage.setItem('dashboard-density', 'compact')`);
  serveSnippet = true;
  await page.goto(`${origin}/`);

  let batchId: string | undefined;
  const deadline = Date.now() + 40000;
  while (!batchId && Date.now() < deadline) {
    [{ id: batchId } = { id: undefined }] = await stack.api.deps.ds.query(`SELECT id FROM migration_batches WHERE user_id = 'readme-browser' LIMIT 1`);
    if (!batchId) await new Promise((r) => setTimeout(r, 100));
  }
  expect(batchId).toBeDefined();
  expect(await waitForBatch(stack, batchId!)).toBe('completed');
  const [{ n }] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM content_types WHERE user_id = 'readme-browser' AND source_id = 't1'`);
  expect(n).toBe(1);
  expect(errors).toEqual([]);
  expect(logs.some((l) => l.includes('[object Object]') || l.includes('stage'))).toBe(true); // onProgress: console.log ran
  await page.close();
});
