// typescript-eslint's recommended rules (syntax only: the type-aware set doubles `npm run lint`'s time for
// little here, and tsc --noEmit already type-checks). Module boundaries are dependency-cruiser's job
// (.dependency-cruiser.cjs).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'monitoring/', 'dashboard/static/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
    rules: {
      // `_`-prefixed names are deliberately unused (positional parameters, destructured-away fields).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Node's CommonJS files: bin/bsm.js, jest.config.js, .dependency-cruiser.cjs.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Plain browser scripts served as they are (dashboard pages, Swagger UI start-up); they share globals
    // through the page, not modules.
    files: ['dashboard/public/**/*.js', 'api/docs/**/*.js'],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },
  {
    // The browser client: DOM, no Node (client/tsconfig.json).
    files: ['client/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
);
