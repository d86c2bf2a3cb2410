/**
 * How the browser uploader is bundled — one description for both places that bundle it: `npm run build`
 * (scripts/build.ts writes dist/client/) and the API's build-on-first-request fallback for a source
 * checkout (api/handlers/client.ts). Sharing the options is what makes the prebuilt bundle production
 * serves the same bundle the tests exercise in development.
 *
 * Only types come from esbuild here: a production install has no esbuild (it serves the prebuilt files).
 */
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';

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
