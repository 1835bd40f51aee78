import fs from 'node:fs';
import path from 'node:path';
import { CaseFile, isSeries, persistenceAgrees, ruleSetOf, runAreaCase, runSeriesCase } from './fixture';
import { formatJson } from './json';

/**
 * The rule engine, pinned by fixtures: every test/rules/cases/*.json run through the real
 * engine (pure: no database), its results compared with what the file expects (see
 * fixture.ts for the format). With REGEN=1 the expected parts are rewritten from what the
 * engine produces now, and the file is written back: do that deliberately, then read the
 * diff.
 */
const DIR = path.join(__dirname, 'cases');
const REGEN = process.env.REGEN === '1';
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('there are fixtures', () => {
  expect(files.length).toBeGreaterThan(0);
});

describe.each(files)('%s', (name) => {
  const file = path.join(DIR, name);
  const fixture = JSON.parse(fs.readFileSync(file, 'utf8')) as CaseFile;
  const rs = ruleSetOf(fixture);
  const cases = fixture.cases ?? [];

  if (REGEN) {
    afterAll(() => {
      const out: CaseFile = rs.ok ? { ...fixture, refused: undefined } : { ...fixture, refused: rs.refused, cases: undefined };
      fs.writeFileSync(file, formatJson(out));
    });
  }

  if (!rs.ok) {
    test('the rule set is refused', () => {
      if (REGEN) return;
      expect(cases).toEqual([]);
      expect(rs.refused).toEqual(fixture.refused);
    });
    return;
  }

  test('the rule set is valid and has cases', () => {
    expect(fixture.refused).toBeUndefined();
    expect(cases.length).toBeGreaterThan(0);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (isSeries(c)) {
      const days = runSeriesCase(rs.value, c);
      expect(persistenceAgrees(rs.value, c, days)).toBe(true);
      if (REGEN) c.expected = days;
      else expect(days).toEqual(c.expected);
    } else {
      const result = runAreaCase(rs.value, c);
      if (REGEN) c.expected = result;
      else expect(result).toEqual(c.expected);
      // without notes (recomputation's way): the same level and reason, each step's bare result once
      const bare = runAreaCase(rs.value, c, { notes: false });
      expect(bare).toEqual({ level: result.level, reason: result.reason, explanation: result.explanation.map((e) => ({ step: e.step, type: e.type, result: e.result })) });
    }
  });
});
