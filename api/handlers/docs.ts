/**
 * GET /v1/openapi.json — the OpenAPI 3.1 document of every /v1 route (the data routes and CORE_ROUTES);
 * GET /docs — an interactive reference (Swagger UI) drawn from it; GET /docs/assets/:file — Swagger UI's
 * files from node_modules (swagger-ui-dist) and the page's init script. All public: the document holds
 * no data, and nothing is loaded from another origin.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { Errors } from '../../core/errors';
import { PAGE_HEADERS } from '../../dashboard/assets';
import type { ApiDeps } from '../context';
import { DATA_ROUTES, buildOpenApi } from '../data';
import { CUTOVER_ROUTES } from '../cutover/routes';
import { CORE_ROUTES } from '../data/coreRoutes';

const PAGE_DIR = join(__dirname, '..', 'docs');
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
/** Only what the page uses: the package also holds a demo page pointing at an outside document. */
const SWAGGER_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'index.css', 'favicon-32x32.png', 'favicon-16x16.png']);
const OWN_FILES = new Set(['docs-init.js']);

/**
 * The dashboard's strict policy (scripts and styles from this origin only, nothing inline) fits Swagger
 * UI as it is: React sets its inline styles through the CSSOM, which style-src does not govern, and its
 * icons are data: images, which img-src allows.
 */
const DOCS_HEADERS = PAGE_HEADERS;

/** Every /v1 route, in the order the document lists them. */
export const DOCUMENTED_ROUTES = [...DATA_ROUTES, ...CUTOVER_ROUTES, ...CORE_ROUTES];

/**
 * The version in the nearest package.json above this file: the repository's both from source
 * (api/handlers/) and from the build (dist/api/handlers/, whose package.json is the one beside dist/).
 */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

let cached: { serverUrl: string | undefined; json: string } | null = null;

/** The document is the same for every request of a process (the routes are fixed): built on first use. */
export function openApiDocument(serverUrl: string | undefined): string {
  if (!cached || cached.serverUrl !== serverUrl) {
    cached = { serverUrl, json: JSON.stringify(buildOpenApi(DOCUMENTED_ROUTES, { version: packageVersion(), serverUrl })) };
  }
  return cached.json;
}

export function getOpenApi(deps: ApiDeps) {
  const serverUrl = deps.config.PUBLIC_URL?.replace(/\/+$/, '');
  return (_req: Request, res: Response) => {
    // Any origin may read it (code generators, API tools): it is public and carries no credentials.
    res.set({ 'Content-Type': 'application/json; charset=utf-8', 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache' }).send(openApiDocument(serverUrl));
  };
}

export function docsPage(_req: Request, res: Response) {
  res.set(DOCS_HEADERS).sendFile(join(PAGE_DIR, 'docs.html'));
}

export function docsAsset(req: Request, res: Response, next: NextFunction) {
  const file = String(req.params.file);
  const dir = OWN_FILES.has(file) ? PAGE_DIR : SWAGGER_FILES.has(file) ? SWAGGER_DIR : null;
  if (!dir) return next(Errors.notFound(`The file ${file}`));
  res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' }).sendFile(join(dir, file));
}
