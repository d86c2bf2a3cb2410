/**
 * GET /client/:file — the browser uploader bundle (`uploader.js`, an ES module) and the demo page's script;
 * GET /uploader — the demo page.
 *
 * The compiled server (dist/) serves the bundle `npm run build` wrote beside it (dist/client/): production
 * has neither esbuild nor the client's sources and libraries, and every process serves the same bytes.
 * Run from source (tsx, the dev checkout) there is no prebuilt bundle next to the code, so it is built
 * from client/ with esbuild's JS API on the first request and kept in memory (one build per process;
 * concurrent first requests share it; a failed build is retried by the next request) — always from the
 * sources being edited, never a stale dist/. Not at start-up: API processes that never serve the uploader
 * should not pay for it, and a broken client build must not stop the API. Both ways use the same options
 * (api/clientBundle.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Request, Response } from 'express';
import { AppError, Errors } from '../../core/errors';
import { DEMO_PAGE_NAME, clientBuildOptions, demoPageSource } from '../clientBundle';

/** From source: client/ (TypeScript). Compiled: dist/client/, holding the prebuilt bundle. */
const CLIENT_DIR = resolve(__dirname, '../../client');
const PREBUILT = existsSync(join(CLIENT_DIR, 'uploader.js'));

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

/** The files `npm run build` wrote: the bundles, their source maps and the demo page. */
async function readPrebuilt(): Promise<Map<string, Asset>> {
  const files = new Map<string, Asset>();
  for (const name of await readdir(CLIENT_DIR)) files.set(name, asset(name, await readFile(join(CLIENT_DIR, name))));
  return files;
}

async function buildClient(): Promise<Map<string, Asset>> {
  // Imported lazily: esbuild starts a helper process, which only processes serving the client need.
  const { build } = await import('esbuild');
  // Nothing is written (write: false); outdir only names the outputs.
  const result = await build({ ...clientBuildOptions(CLIENT_DIR, join(CLIENT_DIR, 'out')), write: false });
  const files = new Map<string, Asset>();
  for (const f of result.outputFiles) files.set(basename(f.path), asset(basename(f.path), Buffer.from(f.contents)));
  files.set(DEMO_PAGE_NAME, asset(DEMO_PAGE_NAME, await readFile(demoPageSource(CLIENT_DIR))));
  return files;
}

let built: Promise<Map<string, Asset>> | null = null;

/** The client's files: read from dist/client when prebuilt, else built once per process. */
export function clientFiles(): Promise<Map<string, Asset>> {
  built ??= (PREBUILT ? readPrebuilt() : buildClient()).catch((err: unknown) => {
    built = null;
    const detail = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors
      ?.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    // A compiled server reaches here only when dist/client is missing: say how to make it.
    const hint = __filename.endsWith('.js') ? ' (the compiled server serves dist/client/: run `npm run build`)' : '';
    throw new AppError(500, 'client_build_failed', `The browser uploader could not be built from client/${hint}; see details.`, detail ?? String(err));
  });
  return built;
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
    const a = (await clientFiles()).get(DEMO_PAGE_NAME)!;
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
