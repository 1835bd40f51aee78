import path from 'node:path';
import { cruise, describeViolations, ROOT } from './cruise';

/**
 * The layer rules (.dependency-cruiser.cjs, run by `npm run lint:deps`) bite: a fixture tree
 * that breaks each rule is reported rule by rule, a tree using only allowed imports passes,
 * and the real src, bench and seeds break none.
 */
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'layers');

describe('layer rules (dependency-cruiser)', () => {
  test('a tree breaking every rule is reported, each import by its rule', () => {
    const found = cruise(path.join(FIXTURES, 'violating'));
    expect(found).toEqual(
      expect.arrayContaining([
        { rule: 'domain-is-pure', from: 'src/domain/a.ts', to: '../db/b' },
        { rule: 'domain-is-pure', from: 'src/domain/npm.ts', to: 'knex' },
        { rule: 'geo-below-data', from: 'src/geo/g.ts', to: '../ingest/c1' },
        { rule: 'db-below-its-callers', from: 'src/db/b.ts', to: '../jobs/j' },
        { rule: 'sql-only-in-db', from: 'src/http/h.ts', to: 'knex' },
        { rule: 'sql-only-in-db', from: 'src/jobs/j.ts', to: 'pg' },
        { rule: 'sql-only-in-db', from: 'src/services/s.ts', to: 'knex' },
        { rule: 'handlers-call-services', from: 'src/http/v.ts', to: '../db/b' },
        { rule: 'no-migrations-at-run-time', from: 'bench/m.ts', to: '../migrations/001_first' },
        { rule: 'no-unresolvable', from: 'src/ingest/u.ts', to: './missing' },
      ]),
    );
    const cycle = found.filter((v) => v.rule === 'no-cycles');
    expect(cycle.length).toBeGreaterThan(0);
    expect(cycle.every((v) => v.from.startsWith('src/ingest/c'))).toBe(true);
    // nothing else: zod, node builtins and the domain's own files are allowed in src/domain
    expect(found.filter((v) => v.from === 'src/domain/ok.ts')).toEqual([]);
  });

  test('a src/domain → src/db import alone fails the rules', () => {
    const found = cruise(path.join(FIXTURES, 'violating'), ['src/domain']);
    expect(found).toContainEqual({ rule: 'domain-is-pure', from: 'src/domain/a.ts', to: '../db/b' });
  });

  test('a tree using only allowed imports passes', () => {
    const found = cruise(path.join(FIXTURES, 'clean'));
    expect(describeViolations(found)).toBe('');
  });

  test('the repository itself (src, bench, seeds) breaks no rule', () => {
    const found = cruise(ROOT);
    expect(describeViolations(found)).toBe('');
  });
});
