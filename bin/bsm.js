#!/usr/bin/env node
// The `bsm` command (package.json "bin"): the compiled CLI `npm run build` writes to dist/, which is what
// a production install has. In a source checkout without a build, run `npm run bsm -- <command>` (the
// TypeScript CLI through tsx, a devDependency, which production never needs).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const compiled = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(compiled)) {
  process.stderr.write('bsm: no compiled CLI (dist/cli/main.js). Run `npm run build` first, or `npm run bsm -- <command>` in a source checkout.\n');
  process.exit(2);
}
require(compiled);
