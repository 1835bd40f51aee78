import { KNOWN_METRICS, METRIC_NAME_RE, metricSpec } from '../../src/domain/metrics';

/** The indicators the presets use: what each means and which values it accepts. */
describe('known indicators', () => {
  test('each has its description (shown to people importing indicators)', () => {
    expect(Object.fromEntries(Object.entries(KNOWN_METRICS).map(([name, spec]) => [name, spec.description]))).toEqual({
      vaccination_18plus_1dose_pct: 'share of people aged 18+ with at least one dose, %',
      vaccination_18plus_full_pct: 'share of people aged 18+ fully vaccinated, %',
      vaccination_65plus_full_pct: 'share of people aged 65+ fully vaccinated, %',
      treatment_capacity_ok: 'treatment capacity (beds, oxygen, mobile health stations) met: 1, not met: 0',
      test_positivity_pct: 'share of tests positive over the last 7 days, %',
      tests_per_100k_week: 'tests per 100,000 people over the last 7 days',
      community_cases_unknown_source: 'community cases of unknown source (last 14 days)',
      community_cases_high_contact: 'community cases in high-contact settings: schools, hospitals, markets (last 14 days)',
    });
  });

  const PERCENT = 'must be a percentage between 0 and 100';
  const COUNT = 'must be a whole number ≥ 0';
  const NON_NEGATIVE = 'must be ≥ 0';
  const MET = 'must be 1 (met) or 0 (not met)';
  test.each([
    // a percentage: 0..100, both ends included
    ['vaccination_18plus_1dose_pct', 0, null],
    ['vaccination_18plus_1dose_pct', 100, null],
    ['vaccination_18plus_1dose_pct', 55.5, null],
    ['vaccination_18plus_1dose_pct', -0.01, PERCENT],
    ['vaccination_18plus_1dose_pct', 100.01, PERCENT],
    ['vaccination_18plus_full_pct', 101, PERCENT],
    ['vaccination_65plus_full_pct', -1, PERCENT],
    ['test_positivity_pct', 100, null],
    ['test_positivity_pct', 150, PERCENT],
    // met / not met
    ['treatment_capacity_ok', 0, null],
    ['treatment_capacity_ok', 1, null],
    ['treatment_capacity_ok', 0.5, MET],
    ['treatment_capacity_ok', 2, MET],
    ['treatment_capacity_ok', -1, MET],
    // non-negative
    ['tests_per_100k_week', 0, null],
    ['tests_per_100k_week', 1234.5, null],
    ['tests_per_100k_week', -0.5, NON_NEGATIVE],
    // whole numbers ≥ 0
    ['community_cases_unknown_source', 0, null],
    ['community_cases_unknown_source', 7, null],
    ['community_cases_unknown_source', 1.5, COUNT],
    ['community_cases_unknown_source', -1, COUNT],
    ['community_cases_high_contact', 3, null],
    ['community_cases_high_contact', -2, COUNT],
    ['community_cases_high_contact', 0.25, COUNT],
  ])('%s = %p → %p', (name, value, problem) => {
    expect(metricSpec(name)?.check(value)).toBe(problem);
  });

  test('any other name is unknown, including inherited object properties', () => {
    for (const name of ['cases_7d', 'valueOf', '__proto__', 'toString', 'constructor', 'hasOwnProperty']) expect(metricSpec(name)).toBeUndefined();
    expect(metricSpec('test_positivity_pct')).toBe(KNOWN_METRICS.test_positivity_pct);
  });
});

describe('metric names', () => {
  test.each([
    ['a', true],
    ['cases_7d', true],
    ['Vacc.Rate-2', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['two words', false],
    ['tỷ_lệ', false],
    [' cases', false],
    ['cases ', false],
    ['cases\n', false],
    ['a/b', false],
  ])('%j: %s', (name, ok) => expect(METRIC_NAME_RE.test(name)).toBe(ok));
});
