import { Condition, RuleSet, RuleSetInput, ruleSetSchema } from './definition';

/**
 * The shipped presets: each official table of DOMAIN.md written as plain data in the
 * rule-set language. [V] verified / [R] reconstructed marks follow DOMAIN.md; reconstructed
 * limits are ordinary numbers here, so a province can change them in a custom rule set.
 */
const all = ['province', 'district', 'commune', 'subcommune'] as const;
const lt = (metric: string, value: number): Condition => ({ metric, op: '<', value });
const ge = (metric: string, value: number): Condition => ({ metric, op: '>=', value });

const moh4800: RuleSetInput = {
  name: 'vn-moh-4800-2021',
  description:
    'MOH Decision 4800/QĐ-BYT (12 Oct 2021, implements Resolution 128/NQ-CP): community cases per 100,000 over 7 days × share of adults with one dose; then +1 level if people 65+ fully vaccinated < 80%, +1 if treatment capacity is not met.',
  source: 'Quyết định 4800/QĐ-BYT ngày 12/10/2021',
  effective_from: '2021-10-12',
  metrics: {
    community_incidence_7d: { kind: 'rate_per_100k', of: 'community_cases', window_days: 7 },
    vaccination_18plus_1dose_pct: { kind: 'indicator', name: 'vaccination_18plus_1dose_pct', max_age_days: 14, inherit: true },
    vaccination_65plus_full_pct: { kind: 'indicator', name: 'vaccination_65plus_full_pct', max_age_days: 14, inherit: true },
    treatment_capacity_ok: { kind: 'indicator', name: 'treatment_capacity_ok', max_age_days: 14, inherit: true },
  },
  levels: [
    {
      kinds: [...all],
      steps: [
        {
          type: 'matrix',
          rows: { metric: 'community_incidence_7d', thresholds: [20, 50, 150], inclusive: 'lower' },
          cols: { metric: 'vaccination_18plus_1dose_pct', thresholds: [70], inclusive: 'lower' },
          // columns: coverage < 70 %, ≥ 70 %
          table: [
            ['yellow', 'green'],
            ['orange', 'yellow'],
            ['red', 'orange'],
            ['red', 'orange'],
          ],
        },
        { type: 'raise', by: 1, when: lt('vaccination_65plus_full_pct', 80), if_missing: 'skip' },
        { type: 'raise', by: 1, when: { metric: 'treatment_capacity_ok', op: '==', value: 0 }, if_missing: 'skip' },
      ],
    },
  ],
};

const fullDose75 = ge('vaccination_18plus_full_pct', 75);
const capacityMet: Condition = { metric: 'treatment_capacity_ok', op: '==', value: 1 };

const moh218: RuleSetInput = {
  name: 'vn-moh-218-2022',
  description:
    'MOH Decision 218/QĐ-BYT (27 Jan 2022, replaced 4800): transmission from all new cases per 100,000 over 7 days × response capacity (full-dose coverage ≥ 75 % and treatment capacity met: high = both, medium = one, low = none).',
  source: 'Quyết định 218/QĐ-BYT ngày 27/01/2022',
  effective_from: '2022-01-27',
  metrics: {
    all_incidence_7d: { kind: 'rate_per_100k', of: 'all_cases', window_days: 7 },
    vaccination_18plus_full_pct: { kind: 'indicator', name: 'vaccination_18plus_full_pct', max_age_days: 14, inherit: true },
    treatment_capacity_ok: { kind: 'indicator', name: 'treatment_capacity_ok', max_age_days: 14, inherit: true },
    // 0 = low, 1 = medium, 2 = high response capacity
    response_capacity: { kind: 'count_met', of: [fullDose75, capacityMet] },
  },
  levels: [
    {
      kinds: [...all],
      steps: [
        {
          type: 'matrix',
          rows: { metric: 'all_incidence_7d', thresholds: [20, 150, 600], inclusive: 'lower' },
          cols: { metric: 'response_capacity', thresholds: [1, 2], inclusive: 'lower' },
          // rows: transmission 1–4; columns: capacity low, medium, high
          table: [
            ['yellow', 'green', 'green'],
            ['orange', 'yellow', 'green'],
            ['red', 'orange', 'yellow'],
            ['red', 'red', 'orange'],
          ],
        },
      ],
    },
  ],
};

const steering2686: RuleSetInput = {
  name: 'vn-2686-2021',
  description:
    'National Steering Committee Decision 2686/QĐ-BCĐQG (31 May 2021): communes by community cases in the last 14 days (red on any case of unknown source or in a high-contact setting); districts and provinces rolled up from their children.',
  source: 'Quyết định 2686/QĐ-BCĐQG ngày 31/5/2021',
  effective_from: '2021-05-31',
  metrics: {
    community_cases_14d: { kind: 'sum', of: 'community_cases', window_days: 14 },
    community_incidence_14d: { kind: 'rate_per_100k', of: 'community_cases', window_days: 14 },
    unknown_source_14d: { kind: 'indicator_sum', name: 'community_cases_unknown_source', window_days: 14, inherit: false },
    high_contact_14d: { kind: 'indicator_sum', name: 'community_cases_high_contact', window_days: 14, inherit: false },
  },
  levels: [
    {
      kinds: ['commune', 'subcommune'],
      steps: [
        {
          type: 'rules',
          rules: [
            { when: { any: [ge('unknown_source_14d', 1), ge('high_contact_14d', 1)] }, level: 'red' },
            { when: { metric: 'community_incidence_14d', op: '>', value: 1 }, level: 'orange' },
            { when: ge('community_cases_14d', 1), level: 'yellow' },
            { level: 'green' },
          ],
        },
      ],
    },
    {
      kinds: ['district', 'province'],
      steps: [
        {
          type: 'rollup',
          rules: [
            { at_least: 'red', share: 0.3, level: 'red' },
            { at_least: 'orange', share: 0.5, level: 'red' },
          ],
          otherwise_worst_share: 0.3,
          default: 'green',
        },
      ],
    },
  ],
};

const cdc: RuleSetInput = {
  name: 'us-cdc-transmission-2021',
  description:
    'US CDC community transmission (county): new cases per 100,000 over 7 days and 7-day test positivity; the higher applies; one alone if the other is missing. low/moderate/substantial/high → green/yellow/orange/red.',
  source: 'CDC COVID Data Tracker, community transmission levels (2021)',
  effective_from: '2021-02-12',
  metrics: {
    all_incidence_7d: { kind: 'rate_per_100k', of: 'all_cases', window_days: 7 },
    test_positivity_pct: { kind: 'indicator', name: 'test_positivity_pct', max_age_days: 14, inherit: true },
  },
  levels: [
    {
      kinds: [...all],
      steps: [
        {
          type: 'worst',
          of: [
            { metric: 'all_incidence_7d', thresholds: [10, 50, 100], inclusive: 'lower', levels: ['green', 'yellow', 'orange', 'red'] },
            { metric: 'test_positivity_pct', thresholds: [5, 8, 10], inclusive: 'lower', levels: ['green', 'yellow', 'orange', 'red'] },
          ],
        },
      ],
    },
  ],
};

const ecdc: RuleSetInput = {
  name: 'eu-ecdc-combined-2021',
  description:
    'ECDC combined indicator (Council Recommendation (EU) 2020/1475 as amended by 2021/119): 14-day notification rate R and test positivity P; grey (unknown) when data are missing or testing is ≤ 300 per 100,000 a week. ECDC green/orange/red/dark red → green/yellow/orange/red.',
  source: 'Council Recommendation (EU) 2021/119',
  effective_from: '2021-02-01',
  metrics: {
    all_incidence_14d: { kind: 'rate_per_100k', of: 'all_cases', window_days: 14 },
    test_positivity_pct: { kind: 'indicator', name: 'test_positivity_pct', max_age_days: 14, inherit: true },
    tests_per_100k_week: { kind: 'indicator', name: 'tests_per_100k_week', max_age_days: 14, inherit: true },
  },
  levels: [
    {
      kinds: [...all],
      steps: [
        { type: 'unknown_if', when: { metric: 'tests_per_100k_week', op: '<=', value: 300 }, reason: 'insufficient_testing' },
        {
          type: 'rules',
          rules: [
            { when: ge('all_incidence_14d', 500), level: 'red' },
            { when: { any: [{ all: [ge('all_incidence_14d', 50), ge('test_positivity_pct', 4)] }, { all: [ge('all_incidence_14d', 150), lt('all_incidence_14d', 500)] }] }, level: 'orange' },
            { when: { any: [{ all: [lt('all_incidence_14d', 50), ge('test_positivity_pct', 4)] }, { all: [ge('all_incidence_14d', 25), lt('all_incidence_14d', 150), lt('test_positivity_pct', 4)] }] }, level: 'yellow' },
            { when: { all: [lt('all_incidence_14d', 25), lt('test_positivity_pct', 4)] }, level: 'green' },
          ],
        },
      ],
    },
  ],
};

export const PRESET_INPUTS: Record<string, RuleSetInput> = {
  'vn-moh-4800-2021': moh4800,
  'vn-moh-218-2022': moh218,
  'vn-2686-2021': steering2686,
  'us-cdc-transmission-2021': cdc,
  'eu-ecdc-combined-2021': ecdc,
};

/** The presets, parsed (and so validated) once. */
export const PRESETS: Record<string, RuleSet> = Object.fromEntries(
  Object.entries(PRESET_INPUTS).map(([id, input]) => [id, ruleSetSchema.parse(input)]),
);
