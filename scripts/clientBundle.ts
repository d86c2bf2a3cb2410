/**
 * Bundles the browser client (uploader + hybrid client, and the demo page's script) into dist/client/,
 * which every API process serves as it is (api/handlers/client.ts): `npm run build` for production, and
 * `npm run build:client` before `npm start` / `npm run api` and the test suite (its globalSetup) in a
 * source checkout, so the bundle always comes from the sources at hand. Build tooling only: the API never
 * bundles, so a production install needs neither esbuild nor the client's libraries.
 */
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

/** The demo page, served at /uploader; the build copies it to dist/client under this name. */
export const DEMO_PAGE_NAME = 'uploader.html';

/** esbuild options bundling `<clientDir>/index.ts` (→ uploader.js) and the demo page's script (→ demo.js). */
export function clientBuildOptions(clientDir: string, outdir: string): BuildOptions {
  return {
    entryPoints: { uploader: join(clientDir, 'index.ts'), demo: join(clientDir, 'demo/main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser', // picks tus-js-client's browser build (its package.json "browser" field)
    target: ['es2022'],
    tsconfig: join(clientDir, 'tsconfig.json'),
    outdir,
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    logLevel: 'silent',
  };
}

/** The demo page's source, relative to the client directory. */
export const demoPageSource = (clientDir: string) => join(clientDir, 'demo/index.html');

export const ROOT = join(__dirname, '..');
/** Where the API looks for the bundle, from source and from dist alike (api/handlers/client.ts). */
export const CLIENT_OUT = join(ROOT, 'dist', 'client');

/**
 * Writes the bundles, their source maps and the demo page to `outdir`. Built beside it first, then moved in
 * file by file (a rename replaces a file atomically): a running API that reads the bundle meanwhile (a
 * second `npm start`, the tests) sees the old files or the new ones, never a half-written one.
 */
export async function buildClient(outdir = CLIENT_OUT): Promise<void> {
  const clientDir = join(ROOT, 'client');
  const tmp = `${outdir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await build({ ...clientBuildOptions(clientDir, tmp), write: true });
    cpSync(demoPageSource(clientDir), join(tmp, DEMO_PAGE_NAME));
    mkdirSync(outdir, { recursive: true });
    for (const name of readdirSync(tmp)) renameSync(join(tmp, name), join(outdir, name));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
