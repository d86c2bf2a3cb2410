// The "Modules and who may call whom" table of docs/ARCHITECTURE.md, as rules: each module may import
// only the modules its row names (plus itself). Change the table and this file together.
const OURS = '^(format|core|entities|jobs|worker|api|dashboard|cli|client|bench|scripts|test)/';

/** A module (from) may import nothing of ours but its own files and `allowed` (path regexes). */
function mayImport(name, from, allowed, fromNot) {
  return {
    name,
    severity: 'error',
    comment: `docs/ARCHITECTURE.md: ${name} may import only ${allowed.join(', ') || 'nothing of ours'}`,
    from: fromNot ? { path: from, pathNot: fromNot } : { path: from },
    to: { path: OURS, pathNot: [from, ...allowed] },
  };
}

const jobsTop = '^jobs/[^/]+$';
const JOBS_LEAVES = '^jobs/(names|errors|dumpObjects|lifecycle)\\.ts$';
const JOBS_NOT_PHASES = '^jobs/(?!phases/)';
const API_SHARED = '^api/(context|dumpIntake|checkedBody|storableText|uploads/checkThread)\\.ts$';
const jobsBelowTop = ['^jobs/transforms/', '^jobs/write/', '^jobs/phases/'];
/** A layout's own code: its pure transforms and its custom phases (registered in jobs/layouts.ts). */
const LAYOUT_CODE = '^jobs/(transforms|phases)/(catalyst|generic)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a cycle makes load order and ownership unclear', from: {}, to: { circular: true } },
    mayImport('format', '^format/', []),
    mayImport('core', '^core/', ['^entities/']),
    mayImport('entities', '^entities/', []),
    // Pure transforms: the only things of ours they may see are format/ (pure: the §1c codec) and core/crypto's types (next rule).
    mayImport('jobs-transforms', '^jobs/transforms/', ['^core/crypto\\.ts$', '^format/']),
    {
      name: 'jobs-transforms-crypto-types-only',
      severity: 'error',
      comment: 'docs/ARCHITECTURE.md: transforms never do I/O; they may import core/crypto types only',
      from: { path: '^jobs/transforms/' },
      to: { path: '^core/crypto\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    // The write path writes the rows the transforms describe: their types (Row, TableName) are its input.
    mayImport('jobs-write', '^jobs/write/', ['^jobs/transforms/types\\.ts$', '^entities/', '^format/', '^core/']),
    // jobs/ top's leaves (names, errors, dumpObjects, lifecycle import nothing of jobs/) are shared with the phases.
    mayImport('jobs-phases', '^jobs/phases/', ['^jobs/write/', '^jobs/transforms/', '^format/', '^core/', '^entities/', JOBS_LEAVES]),
    mayImport('jobs-top', jobsTop, [...jobsBelowTop, '^format/', '^core/', '^entities/']),
    mayImport('jobs-maintenance', '^jobs/maintenance/', ['^jobs/', '^core/']),
    mayImport('worker', '^worker/', ['^jobs/', '^core/']),
    // `api/` never runs phases (docs/ARCHITECTURE.md): all of jobs/ but jobs/phases/.
    mayImport('api', '^api/', [JOBS_NOT_PHASES, '^core/', '^format/', '^entities/', '^dashboard/'], '^api/(data|cutover)/'),
    // coreSchemas.ts describes the other /v1 routes (dumps, batches), so it needs their shapes and names.
    mayImport('api-data', '^api/data/', ['^jobs/transforms/', '^jobs/write/', '^core/', '^api/middleware/', '^api/context\\.ts$',
      '^dashboard/session\\.ts$', '^format/', '^entities/', '^jobs/names\\.ts$', '^jobs/layouts\\.ts$']),
    mayImport('api-cutover', '^api/cutover/', [JOBS_NOT_PHASES, '^format/', '^core/', '^entities/', '^api/data/', API_SHARED]),
    {
      name: 'api-handlers-are-endpoints',
      severity: 'error',
      comment: 'a handler is an endpoint, not a library: shared code lives in api/dumpIntake.ts, api/context.ts, …',
      from: { path: '^api/', pathNot: '^api/(handlers/|routes\\.ts$|app\\.ts$)' },
      to: { path: '^api/handlers/' },
    },
    // The pipeline is app-agnostic: a layout's code is reached through the registry (jobs/layouts.ts) only.
    // Its own files may import each other (jobs/phases/catalyst/ → jobs/transforms/catalyst/); the Catalyst
    // data API (api/data/resources/) builds rows with Catalyst's pure transforms, as a migration would.
    {
      name: 'only-the-registry-imports-layouts',
      severity: 'error',
      comment: 'docs/ARCHITECTURE.md: only jobs/layouts.ts imports a layout (jobs/transforms/<layout>/, jobs/phases/<layout>/)',
      from: { path: '^(format|core|entities|jobs|worker|api|dashboard|cli|client)/', pathNot: [LAYOUT_CODE, '^jobs/layouts\\.ts$', '^api/data/resources/'] },
      to: { path: LAYOUT_CODE },
    },
    {
      name: 'layouts-import-only-themselves',
      severity: 'error',
      comment: 'a layout never imports another layout',
      from: { path: '^jobs/(?:transforms|phases)/(catalyst|generic)/' },
      to: { path: LAYOUT_CODE, pathNot: '^jobs/(?:transforms|phases)/$1/' },
    },
    {
      name: 'data-api-uses-catalyst-transforms-only',
      severity: 'error',
      comment: 'the data API may build rows with Catalyst\'s pure transforms, never run a layout\'s phase',
      from: { path: '^api/data/resources/' },
      to: { path: LAYOUT_CODE, pathNot: '^jobs/transforms/catalyst/' },
    },
    mayImport('dashboard', '^dashboard/', ['^core/']),
    mayImport('cli', '^cli/', []),
    mayImport('client', '^client/', []),
    {
      name: 'no-test-or-tooling-imports',
      severity: 'error',
      comment: 'production code never imports tests, benchmarks or scripts',
      from: { pathNot: '^(test|bench|scripts)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'an import that resolves to nothing',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
