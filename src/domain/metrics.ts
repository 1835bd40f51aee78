/**
 * Indicators the presets use, with the values that make sense for each. Any other name is
 * accepted (custom rule sets may use it) as long as it is a finite number.
 */
export type MetricSpec = { description: string; check: (value: number) => string | null };

const percent = (description: string): MetricSpec => ({
  description,
  check: (v) => (v >= 0 && v <= 100 ? null : 'must be a percentage between 0 and 100'),
});
const count = (description: string): MetricSpec => ({
  description,
  check: (v) => (Number.isInteger(v) && v >= 0 ? null : 'must be a whole number ≥ 0'),
});
const nonNegative = (description: string): MetricSpec => ({
  description,
  check: (v) => (v >= 0 ? null : 'must be ≥ 0'),
});

export const KNOWN_METRICS: Record<string, MetricSpec> = {
  vaccination_18plus_1dose_pct: percent('share of people aged 18+ with at least one dose, %'),
  vaccination_18plus_full_pct: percent('share of people aged 18+ fully vaccinated, %'),
  vaccination_65plus_full_pct: percent('share of people aged 65+ fully vaccinated, %'),
  treatment_capacity_ok: {
    description: 'treatment capacity (beds, oxygen, mobile health stations) met: 1, not met: 0',
    check: (v) => (v === 0 || v === 1 ? null : 'must be 1 (met) or 0 (not met)'),
  },
  test_positivity_pct: percent('share of tests positive over the last 7 days, %'),
  tests_per_100k_week: nonNegative('tests per 100,000 people over the last 7 days'),
  community_cases_unknown_source: count('community cases of unknown source (last 14 days)'),
  community_cases_high_contact: count('community cases in high-contact settings: schools, hospitals, markets (last 14 days)'),
};

/** The spec of a known indicator; a name like `valueOf` or `__proto__` is simply unknown. */
export function metricSpec(name: string): MetricSpec | undefined {
  return Object.hasOwn(KNOWN_METRICS, name) ? KNOWN_METRICS[name] : undefined;
}

export const METRIC_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
