import type { Bilingual } from './levels';

/**
 * Indicators the presets use, with the values that make sense for each. Any other name is
 * accepted (custom rule sets may use it) as long as it is a finite number.
 */
export type MetricSpec = {
  description: string;
  check: (value: number) => string | null;
  /**
   * How a district's or province's value is derived from its children when neither it nor an
   * ancestor has one (DOMAIN.md): the population-weighted mean for coverage percentages and
   * rates, the minimum (every child met) for 0/1 flags; 'none' for counts.
   */
  aggregate: Aggregate;
};
export const AGGREGATES = ['population_weighted_mean', 'min', 'max', 'none'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

const percent = (description: string): MetricSpec => ({
  description,
  aggregate: 'population_weighted_mean',
  check: (v) => (v >= 0 && v <= 100 ? null : 'must be a percentage between 0 and 100'),
});
const count = (description: string): MetricSpec => ({
  description,
  aggregate: 'none',
  check: (v) => (Number.isInteger(v) && v >= 0 ? null : 'must be a whole number ≥ 0'),
});
const nonNegative = (description: string): MetricSpec => ({
  description,
  aggregate: 'population_weighted_mean',
  check: (v) => (v >= 0 ? null : 'must be ≥ 0'),
});

export const KNOWN_METRICS: Record<string, MetricSpec> = {
  vaccination_18plus_1dose_pct: percent('share of people aged 18+ with at least one dose, %'),
  vaccination_18plus_full_pct: percent('share of people aged 18+ fully vaccinated, %'),
  vaccination_65plus_full_pct: percent('share of people aged 65+ fully vaccinated, %'),
  treatment_capacity_ok: {
    description: 'treatment capacity (beds, oxygen, mobile health stations) met: 1, not met: 0',
    aggregate: 'min',
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

/** Text in Vietnamese and English. */
type Words = Bilingual;

/**
 * How an explanation names a metric (issue 14):
 * - `label`: the full name with its unit, as a step prints it before the value
 *   ("Số ca mắc mới tại cộng đồng / 100.000 dân, 7 ngày = 19,996 (< 20) → Cấp 1");
 * - `short`: the name a change reason uses ("Số ca cộng đồng/100.000 dân 7 ngày vượt ngưỡng 50");
 * - `unit`: what follows a threshold or value in a change reason ("50/100k", "80%"; empty
 *   where the short name says it);
 * - `values`: values that mean something of their own, printed by that meaning instead of
 *   the number (218's response capacity 0/1/2 → thấp/trung bình/cao; a 0/1 flag → không đạt/đạt).
 */
export type MetricLabel = { label: Words; short: Words; unit: Words; values?: Readonly<Record<number, Words>> };

/** The report fields of the rule language (definition.ts REPORT_FIELDS) in words: many, one, and short. */
const FIELD_WORDS: Record<string, { many: Words; one: Words; short: Words; rate: string }> = {
  community_cases: {
    many: { vi: 'ca mắc mới tại cộng đồng', en: 'new community cases' },
    one: { vi: 'ca mắc mới tại cộng đồng', en: 'new community case' },
    short: { vi: 'ca cộng đồng', en: 'community cases' },
    rate: 'community incidence',
  },
  quarantine_cases: {
    many: { vi: 'ca mắc mới trong khu cách ly, phong tỏa', en: 'new cases in quarantine or lockdown' },
    one: { vi: 'ca mắc mới trong khu cách ly, phong tỏa', en: 'new case in quarantine or lockdown' },
    short: { vi: 'ca trong khu cách ly', en: 'quarantine cases' },
    rate: 'quarantine incidence',
  },
  all_cases: {
    many: { vi: 'ca mắc mới (tại cộng đồng và trong khu cách ly)', en: 'new cases (community and quarantine)' },
    one: { vi: 'ca mắc mới', en: 'new case' },
    short: { vi: 'ca mắc', en: 'cases' },
    rate: 'incidence',
  },
  deaths: {
    many: { vi: 'ca tử vong', en: 'deaths' },
    one: { vi: 'ca tử vong', en: 'death' },
    short: { vi: 'ca tử vong', en: 'deaths' },
    rate: 'death rate',
  },
};
const fieldWords = (field: string) => (Object.hasOwn(FIELD_WORDS, field) ? FIELD_WORDS[field] : undefined);
const NO_UNIT: Words = { vi: '', en: '' };
const PERCENT: Words = { vi: '%', en: '%' };
const same = (name: string): Words => ({ vi: name, en: name });

/** A metric known by its name only (a custom one): its name everywhere, no unit. */
export function fallbackLabel(name: string): MetricLabel {
  return { label: same(name), short: same(name), unit: NO_UNIT };
}

/**
 * The label of a metric counted from the reports: `rate_per_100k` (cases per 100,000 over
 * the window), `sum` (cases over the window), `days_since_last` (days since the last case)
 * or `population`. An unknown field falls back to its name.
 */
export function reportMetricLabel(kind: 'sum' | 'rate_per_100k' | 'days_since_last' | 'population', field: string, days: number): MetricLabel {
  if (kind === 'population') return { label: { vi: 'Dân số', en: 'population' }, short: { vi: 'Dân số', en: 'population' }, unit: NO_UNIT };
  const w = fieldWords(field) ?? { many: same(field), one: same(field), short: same(field), rate: field };
  if (kind === 'rate_per_100k') {
    return {
      label: { vi: `Số ${w.many.vi} / 100.000 dân, ${days} ngày`, en: `${w.many.en} per 100,000, ${days} days` },
      short: { vi: `Số ${w.short.vi}/100.000 dân ${days} ngày`, en: `${w.rate} ${days}d` },
      unit: { vi: '', en: '/100k' },
    };
  }
  if (kind === 'sum') {
    return {
      label: { vi: `Số ${w.many.vi}, ${days} ngày`, en: `${w.many.en}, ${days} days` },
      short: { vi: `Số ${w.short.vi} ${days} ngày`, en: `${w.short.en} ${days}d` },
      unit: NO_UNIT,
    };
  }
  return {
    label: { vi: `Số ngày kể từ ${w.one.vi} gần nhất`, en: `days since the last ${w.one.en}` },
    short: { vi: `Số ngày kể từ ${w.one.vi} gần nhất`, en: `days since the last ${w.one.en}` },
    unit: { vi: ' ngày', en: ' days' },
  };
}

/** The indicators of KNOWN_METRICS in words. */
const INDICATOR_LABELS: Record<string, MetricLabel> = {
  vaccination_18plus_1dose_pct: {
    label: { vi: 'Tỷ lệ người từ 18 tuổi trở lên đã tiêm ít nhất 1 mũi vắc xin (%)', en: 'share of people aged 18+ with at least one vaccine dose (%)' },
    short: { vi: 'Tỷ lệ tiêm ít nhất 1 mũi (18 tuổi trở lên)', en: '18+ one-dose coverage' },
    unit: PERCENT,
  },
  vaccination_18plus_full_pct: {
    label: { vi: 'Tỷ lệ người từ 18 tuổi trở lên đã tiêm đủ liều vắc xin (%)', en: 'share of people aged 18+ fully vaccinated (%)' },
    short: { vi: 'Tỷ lệ tiêm đủ liều (18 tuổi trở lên)', en: '18+ full-dose coverage' },
    unit: PERCENT,
  },
  vaccination_65plus_full_pct: {
    label: { vi: 'Tỷ lệ người từ 65 tuổi trở lên đã tiêm đủ liều vắc xin (%)', en: 'share of people aged 65+ fully vaccinated (%)' },
    short: { vi: 'Tỷ lệ tiêm đủ liều (65 tuổi trở lên)', en: '65+ full-dose coverage' },
    unit: PERCENT,
  },
  treatment_capacity_ok: {
    label: { vi: 'Khả năng thu dung, điều trị (giường bệnh, oxy, trạm y tế lưu động)', en: 'treatment capacity (beds, oxygen, mobile health stations)' },
    short: { vi: 'Khả năng thu dung, điều trị', en: 'treatment capacity' },
    unit: NO_UNIT,
    values: { 0: { vi: 'không đạt', en: 'not met' }, 1: { vi: 'đạt', en: 'met' } },
  },
  test_positivity_pct: {
    label: { vi: 'Tỷ lệ xét nghiệm dương tính, 7 ngày (%)', en: 'test positivity, 7 days (%)' },
    short: { vi: 'Tỷ lệ xét nghiệm dương tính', en: 'test positivity' },
    unit: PERCENT,
  },
  tests_per_100k_week: {
    label: { vi: 'Số xét nghiệm / 100.000 dân, 7 ngày', en: 'tests per 100,000, 7 days' },
    short: { vi: 'Số xét nghiệm/100.000 dân 7 ngày', en: 'tests per 100k a week' },
    unit: { vi: '', en: '/100k' },
  },
  community_cases_unknown_source: {
    label: { vi: 'Số ca cộng đồng không rõ nguồn lây', en: 'community cases of unknown source' },
    short: { vi: 'Số ca không rõ nguồn lây', en: 'unknown-source cases' },
    unit: NO_UNIT,
  },
  community_cases_high_contact: {
    label: {
      vi: 'Số ca cộng đồng tại nơi tiếp xúc đông người (trường học, bệnh viện, chợ)',
      en: 'community cases in high-contact settings (schools, hospitals, markets)',
    },
    short: { vi: 'Số ca tại nơi đông người', en: 'high-contact cases' },
    unit: NO_UNIT,
  },
};

/** The label of an indicator by its name (`indicator` metrics); a custom one: its name. */
export function indicatorLabel(name: string): MetricLabel {
  return Object.hasOwn(INDICATOR_LABELS, name) ? (INDICATOR_LABELS[name] as MetricLabel) : fallbackLabel(name);
}

/** The label of an indicator summed over a window (`indicator_sum`): its label and the window. */
export function indicatorSumLabel(name: string, days: number): MetricLabel {
  const base = indicatorLabel(name);
  return {
    label: { vi: `${base.label.vi}, ${days} ngày`, en: `${base.label.en}, ${days} days` },
    short: { vi: `${base.short.vi} ${days} ngày`, en: `${base.short.en} ${days}d` },
    unit: base.unit,
  };
}

/**
 * The metric catalogue: every indicator of KNOWN_METRICS and every metric name the five
 * presets define, with its label, short name and unit (and the meaning of its values where
 * they have one). A rule set's metric is named by its definition where the definition says
 * what it counts (explain: `metricLabelOf`); this catalogue is the lookup by name.
 */
export const METRIC_CATALOGUE: Readonly<Record<string, MetricLabel>> = {
  ...INDICATOR_LABELS,
  community_incidence_7d: reportMetricLabel('rate_per_100k', 'community_cases', 7),
  community_incidence_14d: reportMetricLabel('rate_per_100k', 'community_cases', 14),
  all_incidence_7d: reportMetricLabel('rate_per_100k', 'all_cases', 7),
  all_incidence_14d: reportMetricLabel('rate_per_100k', 'all_cases', 14),
  community_cases_14d: reportMetricLabel('sum', 'community_cases', 14),
  unknown_source_14d: indicatorSumLabel('community_cases_unknown_source', 14),
  high_contact_14d: indicatorSumLabel('community_cases_high_contact', 14),
  // vn-moh-218-2022: how many of the two capacity conditions are met
  response_capacity: {
    label: { vi: 'Năng lực đáp ứng', en: 'response capacity' },
    short: { vi: 'Năng lực đáp ứng', en: 'response capacity' },
    unit: NO_UNIT,
    values: { 0: { vi: 'thấp', en: 'low' }, 1: { vi: 'trung bình', en: 'medium' }, 2: { vi: 'cao', en: 'high' } },
  },
};

/** The catalogue's entry for a metric name; an unknown (custom) name: the name itself. */
export function metricLabel(name: string): MetricLabel {
  return Object.hasOwn(METRIC_CATALOGUE, name) ? (METRIC_CATALOGUE[name] as MetricLabel) : fallbackLabel(name);
}

/**
 * Cases per 100,000 people, rounded to 2 decimals, as the map, the list and the briefing show
 * it (null: no count, or no population to divide by).
 */
export function incidencePer100k(cases: number | null | undefined, population: number | null): number | null {
  return cases !== null && cases !== undefined && population ? Math.round(((cases * 100_000) / population) * 100) / 100 : null;
}
