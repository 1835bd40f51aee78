/**
 * Pure unit tests: no database, no build, no child processes. `npm run test:unit` runs them
 * in about 20 s (the geometry and ingest property tests take most of it; the domain's own run
 * in a few), and Stryker (`npm run mutate`, see stryker.config.mjs) runs the domain's own
 * (test/domain, test/rules) for every mutant. Unlike the main jest configuration in
 * package.json there is no globalSetup (which starts the embedded engine or creates a
 * PostgreSQL database). `npm test` still runs all of these tests too. A test added here
 * must import nothing that opens a connection, spawns a process or reads dist/.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/domain/**/*.test.ts',
    '<rootDir>/test/rules/**/*.test.ts',
    '<rootDir>/test/seeds/**/*.test.ts',
    '<rootDir>/test/ingest/csv.test.ts',
    '<rootDir>/test/ingest/utf8.test.ts',
    '<rootDir>/test/ingest/lane.test.ts',
    '<rootDir>/test/ingest/copy-text.test.ts',
    '<rootDir>/test/ingest/table.test.ts',
    '<rootDir>/test/geo/kinks.test.ts',
    '<rootDir>/test/geo/validate.test.ts',
    '<rootDir>/test/http/sized-cache.test.ts',
  ],
  transform: {
    '^.+\\.ts$': 'ts-jest',
  },
  testTimeout: 30000,
};
