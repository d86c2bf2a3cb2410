#!/usr/bin/env node
// The `bsm` command (package.json "bin"): runs the TypeScript CLI through tsx's CommonJS loader.
require('tsx/cjs');
require('../cli/main.ts');
