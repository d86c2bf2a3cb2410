/**
 * GET /client/:file — the browser uploader bundle (`uploader.js`, an ES module) and the demo page's script;
 * GET /uploader — the demo page.
 *
 * The bundle is built from client/ with esbuild's JS API on the first request and kept in memory (one
 * build per process; concurrent first requests share it; a failed build is retried by the next request).
 * Why not a committed bundle: it could drift from the source it claims to be, and nobody would notice
 * until a browser did. Why not at start-up: API processes that never serve the uploader should not pay
 * for it, and a broken client build must not stop the API. esbuild is a runtime dependency already.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Request, Response } from 'express';
import { AppError, Errors } from '../../core/errors';

const CLIENT_DIR = resolve(__dirname, '../../client');

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

async function buildClient(): Promise<Map<string, Asset>> {
  // Imported lazily: esbuild starts a helper process, which only processes serving the client need.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { uploader: join(CLIENT_DIR, 'index.ts'), demo: join(CLIENT_DIR, 'demo/main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser', // picks tus-js-client's browser build (its package.json "browser" field)
    target: ['es2022'],
    tsconfig: join(CLIENT_DIR, 'tsconfig.json'),
    outdir: join(CLIENT_DIR, 'out'), // nothing is written (write: false); names the outputs
    write: false,
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    logLevel: 'silent',
  });
  const files = new Map<string, Asset>();
  for (const f of result.outputFiles) files.set(basename(f.path), asset(basename(f.path), Buffer.from(f.contents)));
  const html = await readFile(join(CLIENT_DIR, 'demo/index.html'));
  files.set('uploader.html', asset('uploader.html', html));
  return files;
}

let built: Promise<Map<string, Asset>> | null = null;

/** The built client, built once per process. */
export function clientFiles(): Promise<Map<string, Asset>> {
  built ??= buildClient().catch((err: unknown) => {
    built = null;
    const detail = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors
      ?.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    throw new AppError(500, 'client_build_failed', 'The browser uploader could not be built from client/; see details.', detail ?? String(err));
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
