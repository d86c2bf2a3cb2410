#!/usr/bin/env node
// The `bsm` command (package.json "bin"). A dev checkout runs the TypeScript CLI through tsx, so what is
// edited is what runs; a production install has no tsx (a devDependency) and runs the compiled CLI that
// `npm run build` wrote to dist/.
let tsx = true;
try {
  require.resolve('tsx/cjs');
} catch {
  tsx = false;
}
if (tsx) {
  require('tsx/cjs');
  require('../cli/main.ts');
} else {
  require('../dist/cli/main.js');
}
