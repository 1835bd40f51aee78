/**
 * The layer rules of zonerisk, checked by dependency-cruiser (`npm run lint:deps`, part of
 * `npm test`). Every rule is an error: a violation fails the build.
 *
 *   src/domain   pure: imports only src/domain, node builtins and zod
 *   src/geo      geometry: never src/db, src/http, src/jobs, src/ingest
 *   src/db       repositories: never src/http, src/jobs, src/services
 *   src/http, src/jobs   no database driver (knex, pg, pg-copy-streams): SQL lives in src/db
 *   src          no import cycles (type-only imports included)
 *   src, bench, seeds    never migrations/ (only the migration list, src/db/migrate.ts)
 *
 * Paths are relative to the directory depcruise runs in (the repository root, or a test
 * fixture's root in test/layers), so the same rules judge both. docs/ARCHITECTURE.md prints
 * this rule set (`npm run docs:deps` regenerates it from here).
 */
const path = require('node:path');

/** An error-severity rule: every rule of this file fails the build. */
const rule = (name, comment, from, to) => ({ name, severity: 'error', comment, from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    rule(
      'domain-is-pure',
      'src/domain is the pure core: it imports only src/domain, node builtins and zod. ' + 'Anything with I/O or a framework belongs in a layer above it.',
      { path: '^src/domain/' },
      { pathNot: ['^src/domain/', '(^|/)node_modules/zod/'], dependencyTypesNot: ['core'], },
    ),
    rule(
      'geo-below-data',
      'src/geo is geometry over plain values: it never imports src/db, src/http, src/jobs or src/ingest.',
      { path: '^src/geo/' },
      { path: '^src/(db|http|jobs|ingest)/' },
    ),
    rule(
      'db-below-its-callers',
      'src/db (the repositories) is called by services, handlers and jobs, never the other way: ' + 'it imports nothing from src/http, src/jobs or src/services.',
      { path: '^src/db/' },
      { path: '^src/(http|jobs|services)/' },
    ),
    rule(
      'sql-only-in-db',
      'Handlers (src/http), services (src/services) and orchestration (src/jobs) hold no SQL: they never import the ' + 'database driver (knex, pg, pg-copy-streams), not even for a type. Call a repository in src/db.',
      { path: '^src/(http|jobs|services)/' },
      { path: '(^|/)node_modules/(@types/)?(knex|pg|pg-copy-streams)/' },
    ),
    rule(
      'handlers-call-services',
      'Handlers (src/http) parse, call a service (src/services) and serialize: they take types from ' + 'the repositories (src/db) but never call them.',
      { path: '^src/http/' },
      { path: '^src/db/', dependencyTypesNot: ['type-only'] },
    ),
    rule(
      'no-cycles',
      'No import cycles in src (type-only imports count too).',
      { path: '^src/' },
      { circular: true },
    ),
    rule(
      'no-migrations-at-run-time',
      'Migrations are history, not a library: nothing in src, bench or seeds imports migrations/ ' + 'except the migration list the migrator runs (src/db/migrate.ts). SQL a repository needs lives in src/db.',
      { path: '^(src|bench|seeds)/', pathNot: '^src/db/migrate\\.ts$' },
      { path: '^migrations/' },
    ),
    rule(
      'no-unresolvable',
      'Every import resolves to a file or an installed package (an import nothing can find would escape the rules above).',
      { path: '^(src|bench|seeds)/' },
      { couldNotResolve: true },
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a layer may not even name another's types.
    tsPreCompilationDeps: true,
    // The repository's tsconfig, wherever depcruise runs (the fixtures in test/layers use it too).
    tsConfig: { fileName: path.join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.cjs', '.mjs', '.json'],
      mainFields: ['types', 'typings', 'main'],
    },
    reporterOptions: {
      mermaid: { minify: false },
    },
  },
};
