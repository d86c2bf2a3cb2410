/**
 * `npm run build`: everything production runs, in dist/, so a production install needs runtime
 * dependencies only (no tsx, TypeScript, esbuild, nor the browser client's libraries):
 *   1. the server (API, workers, scripts, CLI) compiled by tsc (tsconfig.build.json) into dist/, mirroring
 *      the source tree, decorator metadata included (TypeORM needs it);
 *   2. beside it, every non-TypeScript file of those directories — the dashboard's pages and assets, the
 *      /docs page — because the server finds them relative to its own files (__dirname). Copying all of
 *      them rather than a list means a new page cannot be forgotten;
 *   3. the browser bundle (uploader.js, demo.js, their maps, the demo page) in dist/client/, with the
 *      options of scripts/clientBundle.ts (as `npm run build:client`).
 * dist/ is emptied first: a file whose source was deleted must not live on in the build.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { buildClient } from './clientBundle';

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');
const TSCONFIG = join(ROOT, 'tsconfig.build.json');

/** Files next to the code that are not code: copied, and never sources, docs or tests. */
const isAsset = (name: string) => !/\.(ts|md)$/.test(name);

function step<T>(what: string, run: () => T): T {
  const t0 = performance.now();
  const out = run();
  process.stdout.write(`build: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  return out;
}

function copyAssets(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const from = join(dir, e.name);
    if (e.isDirectory()) n += copyAssets(from);
    else if (e.isFile() && isAsset(e.name)) {
      cpSync(from, join(DIST, relative(ROOT, from)));
      n++;
    }
  }
  return n;
}

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });

  step('server compiled (tsc -p tsconfig.build.json)', () => {
    // A child process, not the compiler API: tsc prints its diagnostics the way everyone reads them.
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', TSCONFIG], { stdio: 'inherit' });
    if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status})`);
  });

  const n = step('assets copied', () => {
    const { config, error } = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
    if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
    return (config.include as string[]).reduce((sum, dir) => sum + copyAssets(join(ROOT, dir)), 0);
  });
  process.stdout.write(`build:   ${n} files\n`);

  const t0 = performance.now();
  await buildClient(join(DIST, 'client'));
  process.stdout.write(`build: browser bundle in dist/client (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}

main().catch((err) => {
  process.stderr.write(`build failed: ${(err as Error).message}\n`);
  process.exit(1);
});
