/**
 * Jest runs TypeScript through SWC (no type-check: `npm run typecheck` does that).
 * Two projects: `unit` — pure tests, no Postgres, Redis, S3 or browser (`npm run test:unit`, seconds) —
 * and `services`, everything else. `jest` alone (npm test) runs both.
 */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    }],
    // stream-json 3, stream-chain, @tus/*, srvx and @noble/hashes 2 ship ES modules only; Jest's loader
    // needs them as CommonJS.
    '^.+/node_modules/(stream-json|stream-chain|@tus/[^/]+|srvx|@noble/hashes)/.+\\.m?js$': ['@swc/jest', { module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(stream-json|stream-chain|@tus/[^/]+|srvx|@noble/hashes)/)'],
  setupFiles: ['reflect-metadata'],
};

/** The unit tests, as path patterns: the one list both projects read, so a file is in exactly one. */
const UNIT = [
  '/test/format/.+\\.test\\.ts$',
  '/test/transforms/.+\\.test\\.ts$',
  '/test/client/(encode|ndjsonBlob|sha256|hybridDelta)\\.test\\.ts$',
  '/test/core/(config|sealedStream|inflate|ids|crypto)\\.test\\.ts$',
  '/test/jobs/(sliceKeyHash|recentlyStaged)\\.test\\.ts$',
];

module.exports = {
  projects: [
    // A unit test that opens a network connection fails (test/helpers/noServices.ts).
    { ...base, displayName: 'unit', testRegex: UNIT, setupFilesAfterEnv: ['<rootDir>/test/helpers/noServices.ts'] },
    { ...base, displayName: 'services', testMatch: ['**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', ...UNIT] },
  ],
  maxWorkers: 2,
  // Jest's order, with the two files that must not overlap (test/helpers/exclusive.ts) placed apart.
  testSequencer: '<rootDir>/test/helpers/sequencer.js',
  // A global option: inside a project's config Jest ignores it (and falls back to 5 s).
  testTimeout: 30000,
  // The browser bundle the API serves, built once from the sources (test/helpers/globalSetup.ts).
  globalSetup: '<rootDir>/test/helpers/globalSetup.ts',
};
