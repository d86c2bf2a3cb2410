/**
 * GET /client/:file — the browser uploader bundle (`uploader.js`, an ES module) and the demo page's script;
 * GET /uploader — the demo page.
 *
 * Served as `npm run build` / `npm run build:client` wrote them to dist/client/ (scripts/clientBundle.ts),
 * read once per process: the API never bundles, so a production install has neither esbuild nor the
 * client's libraries, and every process serves the same bytes. `npm start`, `npm run api` and the test
 * suite build the bundle first in a source checkout. Not found: a clear 500 saying how to build it (the
 * rest of the API works without it).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Request, Response } from 'express';
import { AppError, Errors } from '../../core/errors';

/** dist/client/ from the compiled server (dist/api/handlers) and from the sources (api/handlers) alike. */
const CLIENT_DIR = resolve(__dirname, __filename.endsWith('.js') ? '../../client' : '../../dist/client');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

function asset(name: string, body: Buffer): Asset {
  const ext = name.slice(name.lastIndexOf('.'));
  return { body, type: TYPES[ext] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** The bundles, their source maps and the demo page. */
async function readBundle(): Promise<Map<string, Asset>> {
  const files = new Map<string, Asset>();
  for (const name of await readdir(CLIENT_DIR)) files.set(name, asset(name, await readFile(join(CLIENT_DIR, name))));
  if (!files.has('uploader.js')) throw new Error(`no uploader.js in ${CLIENT_DIR}`);
  return files;
}

let loaded: Promise<Map<string, Asset>> | null = null;

/** The client's files, read once per process (a failed read is retried by the next request). */
export function clientFiles(): Promise<Map<string, Asset>> {
  loaded ??= readBundle().catch((err: unknown) => {
    loaded = null;
    throw new AppError(500, 'client_not_built', 'The browser uploader bundle is missing: run `npm run build` (production) or `npm run build:client` (a source checkout; npm start does it).', String((err as Error).message ?? err));
  });
  return loaded;
}

function send(req: Request, res: Response, a: Asset, extra: Record<string, string> = {}): void {
  // Revalidate every time: the bundle changes with every deploy, and a 304 costs next to nothing.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('ETag', a.etag);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  if (req.headers['if-none-match'] === a.etag) {
    res.status(304).end();
    return;
  }
  res.type(a.type).send(a.body);
}

export function getClientFile() {
  return async (req: Request, res: Response) => {
    const name = String(req.params.file);
    const a = name.endsWith('.html') ? undefined : (await clientFiles()).get(name);
    if (!a) throw Errors.notFound(`/client/${name}`);
    // A page on another origin may import the module (it then needs CORS on /v1 too).
    send(req, res, a, { 'Access-Control-Allow-Origin': '*' });
  };
}

export function getUploaderPage() {
  return async (req: Request, res: Response) => {
    const a = (await clientFiles()).get('uploader.html')!;
    send(req, res, a, {
      // The page's only script is our module; styles are inline in the page.
      'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer',
    });
  };
}

/**
 * CORS for the calls the uploader makes after the upload (batch status and report). The uploader runs on
 * the APP's origin — only there can it read the app's storage — so these are cross-origin requests.
 * Any origin may call: the API authenticates by bearer token, which a page must hold and send itself,
 * never by cookie, and `*` without Allow-Credentials keeps cookies out of it. (/v1/uploads answers CORS
 * through tus.)
 */
export function uploaderCors() {
  return (req: Request, res: Response, next: () => void) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    // Retry-After: the uploader waits it out on a 429 while following its batch (client/follow.ts).
    res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset');
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST'); // POST: deltas (docs/cutover.md)
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Accept, Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
