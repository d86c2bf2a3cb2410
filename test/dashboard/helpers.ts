/**
 * Shared by the dashboard tests: logging in through the real form in Chromium, posting dumps, holding
 * Postgres locks to make a batch wait exactly where a test wants it, and saving screenshots.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Browser, Page } from 'playwright-core';
import type { Stack } from '../helpers/stack';

/** Where the run leaves its screenshots (gitignored); the README points here. */
export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'test-artifacts', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A fresh browser context logged in through the login form; `errors` collects uncaught page errors. */
export async function loginPage(browser: Browser, stack: Stack, token: string, path = '/admin'): Promise<{ page: Page; errors: Error[] }> {
  // bypassCSP: the pages' CSP forbids eval, which Playwright's string predicates (waitForFunction) need.
  const context = await browser.newContext({ viewport: { width: 1500, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (err) => errors.push(err));
  await page.goto(`${stack.api.url}${path}`);
  await page.waitForURL(/\/admin\/login/); // no session yet: the page sends us to the form
  await page.fill('#token', token);
  await Promise.all([page.waitForURL((u) => u.pathname === path), page.click('button[type=submit]')]);
  return { page, errors };
}

export async function postDump(stack: Stack, token: string, doc: unknown): Promise<string> {
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  if (res.status !== 202) throw new Error(`dump refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.batchId as string;
}

/** A pg session of its own, in a transaction, so the locks it takes hold until release(). */
export async function lockSession(stack: Stack, ...statements: [string, unknown[]?][]): Promise<{ pid: number; release(): Promise<void> }> {
  const c = new Client({ connectionString: stack.config.DATABASE_URL, options: `-c search_path=${stack.config.DATABASE_SCHEMA}` });
  await c.connect();
  const [{ pid }] = (await c.query('SELECT pg_backend_pid() AS pid')).rows;
  await c.query('BEGIN');
  for (const [sql, params] of statements) await c.query(sql, params);
  let done = false;
  return {
    pid,
    async release() {
      if (done) return;
      done = true;
      await c.query('COMMIT').catch(() => undefined);
      await c.end();
    },
  };
}

/** Polls Postgres (where the pipeline records state) until `f` returns something truthy. */
export async function until<T>(f: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function batchRow(stack: Stack, id: string): Promise<{ status: string; error: Record<string, unknown> | null; notes: Record<string, unknown> }> {
  const [row] = await stack.api.deps.ds.query(`SELECT status, error, notes FROM migration_batches WHERE id = $1`, [id]);
  return row;
}

/** A bar's data-* attributes in the page (a string for evaluate: the test compiler has no DOM types). */
export async function barState(page: Page, scope: string, phase: string): Promise<{ status: string; done: number; total: number } | null> {
  return page.evaluate(`(() => {
    const b = document.querySelector(${JSON.stringify(`${scope} .bar[data-phase="${phase}"]`)});
    return b ? { status: b.dataset.status, done: Number(b.dataset.done), total: Number(b.dataset.total) } : null;
  })()`);
}

/** Resolves once some Postgres session waits on a lock held by backend `pid` (a phase reached our lock). */
export async function blockedBy(stack: Stack, pid: number): Promise<void> {
  await until(async () => {
    const [r] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]);
    return r.n > 0;
  }, `a session blocked by backend ${pid}`);
}
