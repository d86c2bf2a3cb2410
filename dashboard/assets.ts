/**
 * Where the dashboard's files live: plain HTML/CSS/vanilla JS, served as they are (no build step), so
 * what is in the repository is exactly what the browser runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PUBLIC_DIR = join(__dirname, 'public');
export const PAGES_DIR = join(__dirname, 'pages');

/** Pages get a strict CSP: every script and style comes from /admin/assets, nothing inline, no framing. */
export const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let loginTemplate: string | null = null;

/** The login form, with an error message and the page to return to (both escaped). */
export function renderLogin(opts: { error?: string; next: string }): string {
  loginTemplate ??= readFileSync(join(PAGES_DIR, 'login.html'), 'utf8');
  const error = opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : '';
  return loginTemplate.replace('<!--error-->', error).replace('{{next}}', escapeHtml(opts.next));
}
