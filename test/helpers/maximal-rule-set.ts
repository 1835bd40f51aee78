import { REPORT_FIELDS, RULE_SET_LIMITS } from '../../src/domain/rules/definition';

/**
 * The largest rule set the limits allow, built to make the engine work as hard as it can
 * for every area: 50 metrics over the widest windows (366 days of reports), every band
 * lookup and condition allowed (all evaluated and explained for every area), all/any nested
 * as deep as allowed, 20 steps, the longest description. Valid: it previews.
 */
export function maximalRuleSet(name = 'maximal'): Record<string, unknown> {
  const L = RULE_SET_LIMITS;
  const metrics: Record<string, unknown> = {};
  const names: string[] = [];
  const add = (n: string, def: Record<string, unknown>) => {
    metrics[n] = def;
    names.push(n);
  };
  for (const f of REPORT_FIELDS) {
    add(`sum_${f}`, { kind: 'sum', of: f, window_days: 366 });
    add(`rate_${f}`, { kind: 'rate_per_100k', of: f, window_days: 366 });
    add(`quiet_${f}`, { kind: 'days_since_last', of: f, lookback_days: 366 });
  }
  add('pop', { kind: 'population' });
  for (const ind of ['vaccination_18plus_1dose_pct', 'vaccination_65plus_full_pct', 'treatment_capacity_ok', 'test_positivity_pct']) add(`ind_${ind}`, { kind: 'indicator', name: ind, max_age_days: 3660, inherit: true });
  for (let i = 0; names.length < L.metrics - 1; i++) add(`rate_${i}d`, { kind: 'rate_per_100k', of: REPORT_FIELDS[i % REPORT_FIELDS.length], window_days: 1 + ((i * 37) % 366) });
  const stored = [...names];
  let conditions = 0;
  const cmp = () => {
    const i = conditions++;
    return { metric: stored[i % stored.length], op: i % 2 ? '>=' : '<', value: i % 7 };
  };
  const comparisons = (n: number) => Array.from({ length: n }, cmp);
  // count_met: 10 conditions
  add('met', { kind: 'count_met', of: comparisons(10) });
  // one condition nested as deep as allowed: all → any → all … each level with two comparisons
  let deep: Record<string, unknown> = cmp();
  for (let d = 0; d < L.conditionDepth; d++) {
    conditions++;
    deep = { [d % 2 ? 'any' : 'all']: [deep, ...comparisons(2)] };
  }
  const levels11 = ['green', 'yellow', 'yellow', 'orange', 'orange', 'orange', 'red', 'red', 'red', 'red', 'red'];
  const banding = (i: number) => ({ metric: [...stored, 'met'][i % (stored.length + 1)], thresholds: [1, 2, 5, 10, 20, 50, 100, 150, 300, 600], inclusive: i % 2 ? 'upper' : 'lower', levels: levels11 });
  const steps: Record<string, unknown>[] = [];
  for (let b = 0; b < L.bandings; b += L.listItems) steps.push({ type: 'worst', of: Array.from({ length: Math.min(L.listItems, L.bandings - b) }, (_, i) => banding(b + i)) });
  const adjustments: Record<string, unknown>[] = [{ type: 'raise', by: 1, when: deep, if_missing: 'skip' }];
  // adjustments, each an `all` of up to 19 comparisons, until the condition limit
  const ops = ['raise', 'lower', 'cap'];
  for (let k = 0; conditions < L.conditions - 1; k++) {
    conditions++;
    const when = { all: comparisons(Math.min(L.listItems, L.conditions - conditions)) };
    const op = ops[k % 3] as string;
    adjustments.push(op === 'cap' ? { type: 'cap', level: 'red', when, if_missing: 'skip' } : { type: op, by: 1, when, if_missing: 'skip' });
  }
  // up to the step limit: rules steps without conditions between the lookups and the adjustments
  while (steps.length + adjustments.length < L.listItems) steps.push({ type: 'rules', rules: [{ level: 'yellow' }] });
  return {
    name,
    title: 'Giới hạn tối đa — maximal',
    description: 'x'.repeat(L.stringLength),
    metrics,
    levels: [{ kinds: ['province', 'district', 'commune', 'subcommune'], steps: [...steps, ...adjustments] }],
  };
}

/** JSON values in a value (as RULE_SET_LIMITS.values counts them). */
export function countValues(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((s: number, x) => s + countValues(x), 0);
  if (v && typeof v === 'object') return 1 + Object.values(v).reduce((s: number, x) => s + countValues(x), 0);
  return 1;
}

/** A rule set with one `any` of `n` comparisons (12.9 MB at 200,000: the reported freeze). */
export function hugeAnyRuleSet(n: number, name = 'huge-any'): Record<string, unknown> {
  return {
    name,
    metrics: { cases14: { kind: 'sum', of: 'community_cases', window_days: 14 } },
    levels: [{ kinds: ['commune'], steps: [{ type: 'rules', rules: [{ when: { any: Array.from({ length: n }, (_, i) => ({ metric: 'cases14', op: '>', value: i })) }, level: 'red' }, { level: 'green' }] }] }],
  };
}
