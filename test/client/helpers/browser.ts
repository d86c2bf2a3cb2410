/**
 * Real Chromium for the uploader tests: Debian's /usr/bin/chromium driven by playwright-core, with the
 * flags docs/stack-notes.md lists (no sandbox as root, no GPU, no QUIC, no background traffic). Each launch gets a
 * fresh temporary profile, and each test file its own API port, i.e. its own origin: parallel-safe.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { startStack, type Stack } from '../../helpers/stack';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** `extraArgs`: e.g. `--enable-precise-memory-info` for a test that measures the page's heap. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** Opens the API's own /uploader page, so the page's origin is the API's origin. `errors` collects uncaught page errors. */
export async function openUploaderPage(browser: Browser, apiUrl: string): Promise<{ page: Page; errors: Error[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (err) => errors.push(err));
  await page.goto(`${apiUrl}/uploader`, { waitUntil: 'load' });
  return { page, errors };
}

/** The uploader module, imported inside the page (window.bsm), so page.evaluate can call it. */
export async function loadUploader(page: Page): Promise<void> {
  // A string, not a function: the test compiler would turn a dynamic import() into require().
  await page.evaluate(`import('/client/uploader.js').then((m) => { globalThis.bsm = m; })`);
}

/**
 * A real stack and a Chromium for a test file, started before its tests and closed after them (read
 * `env.stack`, `env.browser` inside the tests).
 */
export function useStackAndBrowser(): { stack: Stack; browser: Browser } {
  const env = {} as { stack: Stack; browser: Browser };
  beforeAll(async () => {
    [env.stack, env.browser] = await Promise.all([startStack(), launchChromium()]);
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.stack?.close();
  });
  return env;
}
