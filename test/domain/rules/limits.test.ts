import { checkLimits, parseRuleSet, RULE_SET_LIMITS } from '../../../src/domain/rules/definition';
import { PRESET_INPUTS } from '../../../src/domain/rules/presets';
import { countValues, hugeAnyRuleSet, maximalRuleSet } from '../../helpers/maximal-rule-set';

/**
 * The size limits of a rule set: refusals name the path and the limit, the largest allowed
 * set is valid, and the check's work is bounded by the limits, not by the input.
 */
const L = RULE_SET_LIMITS;
const cmp = (i = 0) => ({ metric: 'cases14', op: '>', value: i });
const withWhen = (when: unknown, extra: Record<string, unknown> = {}) => ({
  name: 'limits',
  metrics: { cases14: { kind: 'sum', of: 'community_cases', window_days: 14 } },
  levels: [{ kinds: ['commune'], steps: [{ type: 'rules', rules: [{ when, level: 'red' }, { level: 'green' }] }] }],
  ...extra,
});
const nested = (depth: number) => {
  let c: unknown = cmp();
  for (let d = 0; d < depth; d++) c = { [d % 2 ? 'any' : 'all']: [c] };
  return c;
};
const refusal = (input: unknown) => {
  const r = parseRuleSet(input);
  if (r.ok) throw new Error('accepted');
  return r;
};

describe('rule-set size limits', () => {
  test('the presets are far inside the limits', () => {
    for (const [id, input] of Object.entries(PRESET_INPUTS)) expect([id, checkLimits(input)]).toEqual([id, null]);
  });

  test('the maximal rule set is valid and at the limits', () => {
    const def = maximalRuleSet();
    const r = parseRuleSet(def);
    expect(r.ok ? 'ok' : r.issues).toBe('ok');
    const values = countValues(def);
    console.log(`maximal rule set: ${values} JSON values, ${JSON.stringify(def).length} bytes`);
    expect(values).toBeLessThanOrEqual(L.values);
    expect(Object.keys(def.metrics as object)).toHaveLength(L.metrics);
    // at every limit that costs the engine work
    const steps = ((def.levels as Record<string, unknown>[])[0]?.steps ?? []) as Record<string, unknown>[];
    expect(steps).toHaveLength(L.listItems);
    expect(JSON.stringify(def).match(/"thresholds"/g)).toHaveLength(L.bandings);
    expect(JSON.stringify(def).match(/"op"|"all"|"any"/g)).toHaveLength(L.conditions);
    expect(checkLimits(JSON.parse(JSON.stringify(def).replace('"value":0', '"value":0},{"metric":"pop","op":">","value":0')))?.message).toMatch(/more than 100 conditions/);
  });

  test('a 200,000-item any is refused naming the path and the limit, without reading its items', () => {
    const def = hugeAnyRuleSet(200_000);
    const rules = (((def.levels as Record<string, unknown>[])[0]?.steps as Record<string, unknown>[])[0]?.rules as Record<string, unknown>[])[0] as { when: { any: unknown[] } };
    let reads = 0;
    rules.when.any = new Proxy(rules.when.any, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const r = refusal(def);
    expect(r.tooLarge).toBe(true);
    expect(r.issues).toEqual([{ path: 'levels[0].steps[0].rules[0].when.any', message: '200,000 items: at most 20 conditions in one any (rule-set limit)' }]);
    expect(reads).toBe(0);
  });

  test.each([
    ['21 conditions in one all', withWhen({ all: Array.from({ length: 21 }, (_, i) => cmp(i)) }), 'levels[0].steps[0].rules[0].when.all', /at most 20 conditions in one all/],
    ['21 rules', { ...withWhen(cmp()), levels: [{ kinds: ['commune'], steps: [{ type: 'rules', rules: Array.from({ length: 21 }, () => ({ level: 'red' })) }] }] }, 'levels[0].steps[0].rules', /at most 20 items/],
    [
      '41 band lookups',
      { ...withWhen(cmp()), levels: [{ kinds: ['commune'], steps: [0, 1, 2].map((k) => ({ type: 'worst', of: Array.from({ length: k < 2 ? 20 : 1 }, () => ({ metric: 'cases14', thresholds: [1], levels: ['green', 'red'] })) })) }] },
      'levels[0].steps[2].of[0]',
      /more than 40 band lookups: at most 40 band lookups in the whole rule set/,
    ],
    ['all/any nested 9 deep', withWhen(nested(9)), 'levels[0].steps[0].rules[0].when.all[0].any[0].all[0].any[0].all[0].any[0].all[0].any[0]', /nested 9 deep: at most 8 levels/],
    ['51 metrics', withWhen(cmp(), { metrics: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [i ? `m${i}` : 'cases14', { kind: 'population' }])) }), 'metrics', /at most 50 metrics/],
    ['a 4,001-character string', withWhen(cmp(), { description: 'x'.repeat(4001) }), 'description', /at most 4000 characters/],
    ['41 strings of 4,000 characters (164,000 in all)', withWhen(cmp(), { title: Array.from({ length: 20 }, () => 'y'.repeat(4000)), source: Array.from({ length: 20 }, () => 'z'.repeat(4000)), description: 'x'.repeat(4000) }), 'source[3]', /more than 100,000 characters of text: at most 100000 characters in all strings together/],
    ['a 100,000-character metric name', withWhen({ metric: 'a'.repeat(100_000), op: '>', value: 0 }), 'levels[0].steps[0].rules[0].when.metric', /at most 4000 characters/],
    [
      '101 conditions',
      { ...withWhen(cmp()), levels: [{ kinds: ['commune'], steps: [{ type: 'rules', rules: [...Array.from({ length: 6 }, (_, k) => ({ when: { any: Array.from({ length: 17 }, (_, i) => cmp(k * 17 + i)) }, level: 'red' })), { level: 'green' }] }] }] },
      'levels[0].steps[0].rules[5].when.any[9]',
      /more than 100 conditions: at most 100 conditions in the whole rule set/,
    ],
  ])('%s → 422 (%#)', (_name, input, path, message) => {
    const r = refusal(input);
    expect(r.tooLarge).toBe(true);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]?.path).toBe(path);
    expect(r.issues[0]?.message).toMatch(message);
  });

  test('at the limits: 20 conditions in one list, nesting 8 deep, 100 conditions, 40 band lookups — accepted', () => {
    expect(parseRuleSet(withWhen({ any: Array.from({ length: 20 }, (_, i) => cmp(i)) })).ok).toBe(true);
    expect(parseRuleSet(withWhen(nested(8))).ok).toBe(true);
    // 5 rules × (any + 19 comparisons) = 100
    const hundred = { ...withWhen(cmp()), levels: [{ kinds: ['commune'], steps: [{ type: 'rules', rules: [...Array.from({ length: 5 }, (_, k) => ({ when: { any: Array.from({ length: 19 }, (_, i) => cmp(k * 19 + i)) }, level: 'red' })), { level: 'green' }] }] }] };
    expect(checkLimits(hundred)).toBeNull();
    expect(parseRuleSet(hundred).ok).toBe(true);
    const forty = { ...withWhen(cmp()), levels: [{ kinds: ['commune'], steps: [0, 1].map(() => ({ type: 'worst', of: Array.from({ length: 20 }, () => ({ metric: 'cases14', thresholds: [1], levels: ['green', 'red'] })) })) }] };
    expect(parseRuleSet(forty).ok).toBe(true);
  });

  test('more JSON values than the limit: refused after looking at no more than the limit', () => {
    // 20 × 20 × 20 would be 8,421 values; the check stops at 5,000
    const wide = withWhen(cmp(), { title: Array.from({ length: 20 }, () => Array.from({ length: 20 }, () => Array.from({ length: 20 }, () => 1))) });
    let reads = 0;
    const counted = (v: unknown): unknown =>
      Array.isArray(v)
        ? new Proxy(v.map(counted), {
            get(t, k, r) {
              if (typeof k === 'string' && /^\d+$/.test(k)) reads++;
              return Reflect.get(t, k, r);
            },
          })
        : v;
    (wide as Record<string, unknown>).title = counted((wide as Record<string, unknown>).title);
    const r = refusal(wide);
    expect(r.issues[0]).toEqual({ path: '(root)', message: 'more than 5,000 JSON values: at most 5000 JSON values in the whole rule set (rule-set limit)' });
    expect(reads).toBeLessThanOrEqual(L.values + L.listItems);
  });

  test('the schema alone (without parseRuleSet) holds the condition limits too', () => {
    const { ruleSetSchema } = jest.requireActual('../../../src/domain/rules/definition') as typeof import('../../../src/domain/rules/definition');
    const deep = ruleSetSchema.safeParse(withWhen(nested(9)));
    expect(deep.success).toBe(false);
    expect(JSON.stringify(deep.error?.issues)).toMatch(/nested 9 deep/);
  });
});
