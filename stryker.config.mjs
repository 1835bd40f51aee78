// Mutation testing of the pure domain (issue 13): `npm run mutate`.
// Stryker changes src/domain one small edit at a time (a mutant) and runs the pure unit tests
// (jest.unit.config.js: no database, no build) against each; a mutant no test notices
// "survives". The run fails below a 90 % mutation score (killed + timed out over valid mutants).
// Scope a run to some files with `npx stryker run --mutate 'src/domain/rules/**/*.ts'`.
// Results and the equivalent mutants we accept: docs/MUTATION.md.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: 'npm',
  mutate: ['src/domain/**/*.ts'],
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'jest.unit.config.js',
    // Of the unit project, the tests of the domain itself. The pure tests of other layers
    // (geo, ingest) import a little of src/domain but take ~45 s together; a mutant they
    // alone would kill is a gap in the domain's own tests.
    config: { testMatch: ['<rootDir>/test/domain/**/*.test.ts', '<rootDir>/test/rules/**/*.test.ts'] },
    // run only the tests that import the mutated file (jest --findRelatedTests)
    enableFindRelatedTests: true,
  },
  // with per-test coverage, each mutant runs only the tests that execute its code
  coverageAnalysis: 'perTest',
  // this machine has 2 cores
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 95, low: 90, break: 90 },
  // the sandbox copy of the project needs sources and tests, not build output or local data
  ignorePatterns: ['dist', 'coverage', 'reports', '.zonerisk', 'test/artifacts', 'web'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};

export default config;
