import { checkLimits, LIMITS_TEXT, parseRuleSet, RULE_SET_LIMITS, ruleSetSchema } from '../../../src/domain/rules/definition';

/**
 * What the rule-set fixtures (test/rules/cases) cannot say in JSON: the defaults a parsed
 * rule set gets, non-finite numbers, the schema used on its own (the OpenAPI document and
 * any caller that does not go through parseRuleSet), and the size limits exactly at their
 * edges. Pure.
 */
const L = RULE_SET_LIMITS;
const cmp = (value = 0, metric = 's') => ({ metric, op: '>', value });
const bands = (metric = 's') => ({ type: 'bands', metric, thresholds: [1], levels: ['green', 'red'] });
const ruleSet = (steps: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'schema',
  metrics: { s: { kind: 'sum', of: 'deaths', window_days: 3 } },
  levels: [{ kinds: ['commune'], steps }],
  ...extra,
});

describe('a parsed rule set', () => {
  test('gets every default filled in', () => {
    const r = parseRuleSet({
      name: 'defaults',
      effective_from: '2021-10-01',
      metrics: {
        s: { kind: 'sum', of: 'deaths', window_days: 3 },
        q: { kind: 'days_since_last', of: 'all_cases' },
        i: { kind: 'indicator', name: 'i' },
        j: { kind: 'indicator_sum', name: 'j', window_days: 2 },
        p: { kind: 'population' },
        c: { kind: 'count_met', of: [cmp()] },
      },
      levels: [
        {
          kinds: ['commune'],
          steps: [
            bands(),
            { type: 'matrix', rows: { metric: 's', thresholds: [1] }, cols: { metric: 'q', thresholds: [1] }, table: [['green', 'red'], ['red', 'red']] },
            { type: 'worst', of: [{ metric: 'i', thresholds: [1], levels: ['green', 'red'] }] },
            { type: 'raise', when: cmp() },
            { type: 'lower', when: cmp() },
            { type: 'cap', level: 'yellow', when: cmp() },
          ],
        },
        { kinds: ['district'], steps: [{ type: 'rollup', default: 'green' }] },
      ],
    });
    expect(r).toStrictEqual({
      ok: true,
      value: {
        name: 'defaults',
        effective_from: '2021-10-01',
        metrics: {
          s: { kind: 'sum', of: 'deaths', window_days: 3 },
          q: { kind: 'days_since_last', of: 'all_cases', lookback_days: 366 },
          i: { kind: 'indicator', name: 'i', max_age_days: 14, inherit: true },
          j: { kind: 'indicator_sum', name: 'j', window_days: 2, inherit: false },
          p: { kind: 'population' },
          c: { kind: 'count_met', of: [cmp()] },
        },
        levels: [
          {
            kinds: ['commune'],
            steps: [
              { ...bands(), inclusive: 'lower' },
              {
                type: 'matrix',
                rows: { metric: 's', thresholds: [1], inclusive: 'lower' },
                cols: { metric: 'q', thresholds: [1], inclusive: 'lower' },
                table: [['green', 'red'], ['red', 'red']],
              },
              { type: 'worst', of: [{ metric: 'i', thresholds: [1], inclusive: 'lower', levels: ['green', 'red'] }] },
              { type: 'raise', by: 1, when: cmp(), if_missing: 'skip' },
              { type: 'lower', by: 1, when: cmp(), if_missing: 'skip' },
              { type: 'cap', level: 'yellow', when: cmp(), if_missing: 'skip' },
            ],
          },
          { kinds: ['district'], steps: [{ type: 'rollup', rules: [], otherwise_worst_share: null, count: 'exactly', default: 'green' }] },
        ],
        persistence: { escalate_after_days: 1, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0 },
      },
    });
  });

  test('refuses numbers JSON cannot carry: an infinite threshold, an infinite value', () => {
    const r = parseRuleSet(ruleSet([{ ...bands(), thresholds: [Number.POSITIVE_INFINITY] }, { type: 'raise', when: cmp(Number.POSITIVE_INFINITY) }]));
    expect(r).toStrictEqual({
      ok: false,
      issues: [
        { path: 'levels[0].steps[0].thresholds[0]', message: 'phải là số — Invalid input: expected number, received Infinity' },
        { path: 'levels[0].steps[1].when', message: 'must be {metric, op, value}, {all: [...]} or {any: [...]}' },
      ],
    });
    const nan = parseRuleSet(ruleSet([{ ...bands(), thresholds: [Number.NaN] }]));
    expect(nan).toStrictEqual({ ok: false, issues: [{ path: 'levels[0].steps[0].thresholds[0]', message: 'phải là số — Invalid input: expected number, received NaN' }] });
  });
});

describe('the limits, in words', () => {
  test('as the API documents them', () => {
    expect(LIMITS_TEXT).toBe(
      'Limits: at most 20 items in any list (steps of a group, rules of a step, conditions of one all/any, bandings of a worst step…), ' +
        '50 metrics, 100 conditions and 40 band lookups in the whole rule set, all/any nested at most 8 deep, ' +
        '5,000 JSON values in all, strings of at most 4,000 characters and 100,000 in all; beyond them 422 (rule_set_too_large) naming the path and the limit.',
    );
    expect(ruleSetSchema.description).toBe(`A rule set: metrics and, per area kind, ordered steps that turn them into a level. ${LIMITS_TEXT}`);
  });
});

describe('the schema alone (without parseRuleSet) holds the limits too', () => {
  const issues = (input: unknown) => {
    const r = ruleSetSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => ({ code: i.code, path: i.path, message: i.message }));
  };
  const list = <T>(n: number, item: (i: number) => T) => Array.from({ length: n }, (_, i) => item(i));

  test.each([
    ['21 bandings in a worst step', ruleSet([{ type: 'worst', of: list(21, () => ({ metric: 's', thresholds: [1], levels: ['green', 'red'] })) }]), ['levels', 0, 'steps', 0, 'of'], 'at most 20 bandings (rule-set limit)'],
    ['21 rules', ruleSet([{ type: 'rules', rules: list(21, () => ({ level: 'red' })) }]), ['levels', 0, 'steps', 0, 'rules'], 'at most 20 rules (rule-set limit)'],
    ['21 roll-up rules', ruleSet([{ type: 'rollup', rules: list(21, () => ({ at_least: 'red', share: 0.5, level: 'red' })), default: 'green' }]), ['levels', 0, 'steps', 0, 'rules'], 'at most 20 rules (rule-set limit)'],
    ['21 steps', ruleSet(list(21, () => bands())), ['levels', 0, 'steps'], 'at most 20 steps (rule-set limit)'],
  ])('%s', (_name, input, path, message) => {
    expect(issues(input)).toStrictEqual([{ code: 'too_big', path, message }]);
  });

  test('21 conditions in one all: the condition is none of its forms, the limit named among the reasons', () => {
    const r = ruleSetSchema.safeParse(ruleSet([{ type: 'rules', rules: [{ when: { all: list(21, cmp) }, level: 'red' }] }]));
    expect(r.error?.issues).toHaveLength(1);
    expect(r.error?.issues[0]).toMatchObject({ code: 'invalid_union', path: ['levels', 0, 'steps', 0, 'rules', 0, 'when'] });
    expect(JSON.stringify(r.error?.issues)).toContain('"message":"at most 20 conditions in one all/any (rule-set limit)"');
  });

  test('51 metrics', () => {
    const metrics = Object.fromEntries(list(51, (i) => [i ? `m${i}` : 's', { kind: 'population' }]));
    expect(issues(ruleSet([bands()], { metrics }))).toStrictEqual([{ code: 'custom', path: ['metrics'], message: 'at most 50 metrics (rule-set limit)' }]);
  });

  test('101 conditions, counted in count_met metrics, rules and adjustments', () => {
    const metrics = {
      s: { kind: 'sum', of: 'deaths', window_days: 3 },
      c: { kind: 'count_met', of: list(10, cmp) }, // 10
    };
    const steps = [
      { type: 'rules', rules: [...list(4, () => ({ when: { any: list(19, cmp) }, level: 'red' })), { level: 'green' }] }, // 4 × 20 = 80
      { type: 'raise', when: { all: list(9, cmp) } }, // 10
      { type: 'unknown_if', when: cmp(), reason: 'x' }, // 1
    ];
    expect(issues(ruleSet(steps, { metrics }))).toStrictEqual([{ code: 'custom', path: [], message: '101 conditions: at most 100 conditions in the whole rule set (rule-set limit)' }]);
  });

  test('41 band lookups: bands count 1, a matrix 2, a worst step 1 for each of its bandings', () => {
    const matrix = { type: 'matrix', rows: { metric: 's', thresholds: [1] }, cols: { metric: 's', thresholds: [1] }, table: [['green', 'red'], ['red', 'red']] };
    const worst = { type: 'worst', of: [{ metric: 's', thresholds: [1], levels: ['green', 'red'] }] };
    const levels = [
      { kinds: ['commune'], steps: list(20, () => bands()) }, // 20
      { kinds: ['district'], steps: list(10, () => matrix) }, // 20
      { kinds: ['province'], steps: [worst] }, // 1
    ];
    expect(issues(ruleSet([], { levels }))).toStrictEqual([{ code: 'custom', path: [], message: '41 band lookups: at most 40 band lookups in the whole rule set (rule-set limit)' }]);
  });

  test('all/any nested 9 deep', () => {
    let when: unknown = cmp();
    for (let d = 0; d < 9; d++) when = { [d % 2 ? 'any' : 'all']: [when] };
    expect(issues(ruleSet([bands(), { type: 'raise', when }]))).toStrictEqual([{ code: 'custom', path: [], message: 'all/any nested 9 deep: at most 8 levels of all/any nesting (rule-set limit)' }]);
  });
});

describe('the size limits exactly at their edges (checkLimits)', () => {
  /**
   * A value of exactly `total` JSON values (the root included): 20 keys, each holding 20
   * containers (arrays or objects), holding the numbers that make up the rest — so the last
   * containers looked at are of the given sort.
   */
  function sized(total: number, sort: 'array' | 'object'): Record<string, unknown> {
    const rest = total - 1 - 20 - 400;
    const container = (n: number) => (sort === 'array' ? Array.from({ length: n }, () => 1) : Object.fromEntries(Array.from({ length: n }, (_, i) => [`n${i}`, 1])));
    let k = 0;
    const outer = Array.from({ length: 20 }, () => Array.from({ length: 20 }, () => container(Math.floor(rest / 400) + (k++ < rest % 400 ? 1 : 0))));
    return Object.fromEntries(outer.map((inner, i) => [`k${i}`, sort === 'array' ? inner : Object.fromEntries(inner.map((c, j) => [`c${j}`, c]))]));
  }
  const tooMany = { path: '(root)', message: 'more than 5,000 JSON values: at most 5000 JSON values in the whole rule set (rule-set limit)' };

  test.each(['array', 'object'] as const)('5,000 values, the last in %ss: accepted; 5,001: refused', (sort) => {
    expect(checkLimits(sized(L.values, sort))).toBeNull();
    expect(checkLimits(sized(L.values + 1, sort))).toStrictEqual(tooMany);
  });

  test('100,000 characters of text in all (keys included): accepted; one more: refused', () => {
    const strings = (total: number) => {
      // keys t0…t4 (10 characters), then strings of at most 4,000 characters
      let left = total - 10;
      return Object.fromEntries(
        Array.from({ length: 5 }, (_, i) => [
          `t${i}`,
          Array.from({ length: 5 }, () => {
            const n = Math.min(L.stringLength, left);
            left -= n;
            return 'x'.repeat(n);
          }),
        ]),
      );
    };
    expect(checkLimits(strings(L.characters))).toBeNull();
    expect(checkLimits(strings(L.characters + 1))).toStrictEqual({
      path: 't4[4]',
      message: 'more than 100,000 characters of text: at most 100000 characters in all strings together (rule-set limit)',
    });
  });

  test('a key longer than 4,000 characters is refused, naming the object it is in', () => {
    expect(checkLimits({ name: 'x', persistence: { ['k'.repeat(4001)]: 1 } })).toStrictEqual({ path: 'persistence', message: '4,001 characters: at most 4000 characters (rule-set limit)' });
  });

  test('inherited properties are not read', () => {
    const input = Object.assign(Object.create({ inherited: Array.from({ length: 21 }, () => 0) }) as object, { name: 'x' });
    expect(checkLimits(input)).toBeNull();
  });
});
