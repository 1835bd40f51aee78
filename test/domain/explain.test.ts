import fc from 'fast-check';
import { Level, LEVELS } from '../../src/domain/levels';
import { Condition, parseRuleSet, Persistence, RuleSet } from '../../src/domain/rules/definition';
import { classify, Inputs } from '../../src/domain/rules/engine';
import { levelLabel, persistenceStep } from '../../src/domain/rules/explain';
import { Pending } from '../../src/domain/rules/persistence';
import { PRESETS } from '../../src/domain/rules/presets';
import { compareOp, Op, witness } from '../../src/domain/rules/wording';

/**
 * The explanation side of issue 14: level labels, the persistence step, and the bilingual
 * step texts the engine builds when asked (change reasons: change.test.ts).
 */

const P4800 = PRESETS['vn-moh-4800-2021'] as RuleSet;
const P218 = PRESETS['vn-moh-218-2022'] as RuleSet;
const P2686 = PRESETS['vn-2686-2021'] as RuleSet;
const vals = (o: Record<string, number | string>): Inputs =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? { value: v } : { missing: v }]));

describe('levelLabel', () => {
  test.each([
    ['green', 'Cấp 1 – Nguy cơ thấp (bình thường mới)', 'Level 1 – low risk (new normal)'],
    ['yellow', 'Cấp 2 – Nguy cơ trung bình', 'Level 2 – medium risk'],
    ['orange', 'Cấp 3 – Nguy cơ cao', 'Level 3 – high risk'],
    ['red', 'Cấp 4 – Nguy cơ rất cao', 'Level 4 – very high risk'],
    ['unknown', 'Chưa đủ dữ liệu', 'not enough data'],
  ] as const)('%s', (level, vi, en) => expect(levelLabel(level)).toEqual({ vi, en }));
});

describe('classify: texts only when asked for', () => {
  const inputs = vals({ community_incidence_7d: 19.996, vaccination_18plus_1dose_pct: 65.1, vaccination_65plus_full_pct: 85, treatment_capacity_ok: 1 });

  test('without the option: no text (the recomputation path)', () => {
    for (const s of classify(P4800, 'commune', inputs).explanation) expect(s).not.toHaveProperty('text');
    for (const s of classify(P4800, 'commune', inputs, [], {}).explanation) expect(s).not.toHaveProperty('text');
  });

  test('with { texts: true }: every step has vi and en', () => {
    const c = classify(P4800, 'commune', inputs, [], { texts: true });
    expect(c.explanation).toHaveLength(3);
    expect(c.explanation[0]?.text).toEqual({
      vi: 'Số ca mắc mới tại cộng đồng / 100.000 dân, 7 ngày = 19,996 (< 20); Tỷ lệ người từ 18 tuổi trở lên đã tiêm ít nhất 1 mũi vắc xin (%) = 65,10 (< 70) → Cấp 2',
      en: 'new community cases per 100,000, 7 days = 19.996 (< 20); share of people aged 18+ with at least one vaccine dose (%) = 65.10 (< 70) → level 2 (yellow)',
    });
    // the note no longer rounds 19.996 to 20.00 either
    expect(c.explanation[0]?.note).toBe('community_incidence_7d = 19.996 (< 20), vaccination_18plus_1dose_pct = 65.10 (< 70) → yellow');
  });

  test('the texts do not change the level or the trace', () => {
    const a = classify(P4800, 'commune', inputs);
    const b = classify(P4800, 'commune', inputs, [], { texts: true });
    expect(b.level).toBe(a.level);
    expect(b.reason).toBe(a.reason);
    expect(b.explanation.map(({ text: _t, ...rest }) => rest)).toEqual(a.explanation);
  });
});

/** Every "= number (op t and op t)" of an English text, with the number as printed. */
function printedComparisons(text: string): { printed: number; op: Op; t: number }[] {
  const out: { printed: number; op: Op; t: number }[] = [];
  const OPS: Record<string, Op> = { '<': '<', '≤': '<=', '>': '>', '≥': '>=', '=': '==', '≠': '!=' };
  for (const m of text.matchAll(/= (-?[\d,]+(?:\.\d+)?) \(([^)]*)\)/g)) {
    const printed = Number((m[1] as string).replace(/,/g, ''));
    for (const part of (m[2] as string).split(/; | and /)) {
      const c = /^([<≤>≥=≠]) (-?[\d,]+(?:\.\d+)?)$/.exec(part);
      if (c) out.push({ printed, op: OPS[c[1] as string] as Op, t: Number((c[2] as string).replace(/,/g, '')) });
    }
  }
  return out;
}

describe('a value near a threshold is printed so that the comparison reads true', () => {
  const near = (ts: number[]) => fc.tuple(fc.constantFrom(...ts), fc.double({ min: -0.02, max: 0.02, noNaN: true })).map(([t, d]) => Math.max(0, t + d));

  test('4800: incidence and coverages within 0.02 of every threshold', () => {
    fc.assert(
      fc.property(near([20, 50, 150]), near([70]), near([80]), fc.constantFrom(0, 1), (inc, dose, old, cap) => {
        const c = classify(P4800, 'commune', vals({ community_incidence_7d: inc, vaccination_18plus_1dose_pct: dose, vaccination_65plus_full_pct: old, treatment_capacity_ok: cap }), [], { texts: true });
        const seen = c.explanation.flatMap((s) => printedComparisons(s.text.en));
        expect(seen.length).toBeGreaterThanOrEqual(3);
        for (const x of seen) expect(compareOp(x.printed, { op: x.op, value: x.t })).toBe(true);
      }),
    );
  });

  test('218 and ECDC likewise', () => {
    fc.assert(
      fc.property(near([20, 150, 600]), near([75]), near([25, 50, 150, 500]), near([4]), near([300]), (inc, full, r, p, tests) => {
        const a = classify(P218, 'district', vals({ all_incidence_7d: inc, vaccination_18plus_full_pct: full, treatment_capacity_ok: 1 }), [], { texts: true });
        const b = classify(PRESETS['eu-ecdc-combined-2021'] as RuleSet, 'province', vals({ all_incidence_14d: r, test_positivity_pct: p, tests_per_100k_week: tests }), [], { texts: true });
        for (const s of [...a.explanation, ...b.explanation]) {
          for (const x of printedComparisons(s.text.en)) expect(compareOp(x.printed, { op: x.op, value: x.t })).toBe(true);
        }
      }),
    );
  });
});

describe('witness: the truth the engine gives', () => {
  const metric = fc.constantFrom('a', 'b', 'c');
  const leaf = fc.record({ metric, op: fc.constantFrom<Op>('<', '<=', '>', '>=', '==', '!='), value: fc.constantFrom(0, 1, 2) });
  const cond: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
    c: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.record({ all: fc.array(tie('c'), { minLength: 1, maxLength: 3 }) }), fc.record({ any: fc.array(tie('c'), { minLength: 1, maxLength: 3 }) })),
  })).c;
  const value = fc.oneof(fc.constantFrom(0, 1, 2), fc.constant('missing_metric:x'));

  test('property: same truth as a rules step, and every comparison of the witness holds', () => {
    fc.assert(
      fc.property(cond, value, value, value, (when, a, b, c) => {
        const r = parseRuleSet({
          name: 'w',
          metrics: { a: { kind: 'population' }, b: { kind: 'population' }, c: { kind: 'population' } },
          levels: [{ kinds: ['commune'], steps: [{ type: 'rules', rules: [{ when, level: 'red' }, { level: 'green' }] }] }],
        });
        if (!r.ok) return;
        const inputs = vals({ a, b, c });
        const engine = classify(r.value, 'commune', inputs);
        const w = witness(when, (m) => {
          const v = inputs[m];
          return v && 'value' in v ? v.value : { missing: 'missing_metric:x' };
        });
        const expected = engine.level === 'red' ? true : engine.level === 'green' ? false : { missing: 'missing_metric:x' };
        expect(w.truth).toEqual(expected);
        for (const atom of w.atoms) {
          if ('check' in atom) expect(compareOp((inputs[atom.metric] as { value: number }).value, atom.check)).toBe(true);
        }
      }),
    );
  });
});

describe('persistenceStep', () => {
  const p: Persistence = { escalate_after_days: 3, deescalate_after_days: 7, max_step_down: 1, min_stay_days: 7 };
  const pending = (direction: 'up' | 'down', target: Level, days: number, needed: number): Pending => ({ direction, target, days, needed });

  test('nothing held, nothing pending: no step', () => {
    expect(persistenceStep('orange', 'orange', null, p, 3)).toBeNull();
    expect(persistenceStep('unknown', 'unknown', null, p, 0)).toBeNull();
  });

  test('held while de-escalation builds up (the issue\'s example)', () => {
    const s = persistenceStep('yellow', 'orange', pending('down', 'yellow', 3, 7), { ...p, min_stay_days: 0 }, 1);
    expect(s).toEqual({
      step: 1,
      type: 'persistence',
      values: {},
      result: 'orange',
      note: 'held at level 3 (orange): de-escalation needs 7 days in a row, 3/7 so far',
      text: { vi: 'giữ Cấp 3: cần 7 ngày liên tiếp để hạ cấp, đã được 3/7', en: 'held at level 3 (orange): de-escalation needs 7 days in a row, 3/7 so far' },
    });
  });

  test('held on the way down to a level above the rules\' one (at most 1 level at a time)', () => {
    expect(persistenceStep('green', 'orange', pending('down', 'yellow', 2, 7), p, 1)?.text).toEqual({
      vi: 'giữ Cấp 3: cần 7 ngày liên tiếp để hạ cấp, đã được 2/7; khi đủ sẽ hạ xuống Cấp 2 (mỗi lần hạ tối đa 1 cấp)',
      en: 'held at level 3 (orange): de-escalation needs 7 days in a row, 2/7 so far; then down to level 2 (yellow) (at most 1 level down at a time)',
    });
  });

  test('held by the minimum stay once the days are there', () => {
    expect(persistenceStep('yellow', 'orange', pending('down', 'yellow', 7, 7), p, 1)?.text).toEqual({
      vi: 'giữ Cấp 3: phải ở mỗi cấp ít nhất 7 ngày trước khi hạ cấp (đã đủ 7/7 ngày liên tiếp ở mức thấp hơn)',
      en: 'held at level 3 (orange): a level is kept at least 7 days before de-escalating (7/7 days in a row below so far)',
    });
  });

  test('escalation pending', () => {
    expect(persistenceStep('red', 'yellow', pending('up', 'orange', 1, 3), p, 2)?.text).toEqual({
      vi: 'giữ Cấp 2: cần 3 ngày liên tiếp để nâng cấp, đã được 1/3',
      en: 'held at level 2 (yellow): escalation needs 3 days in a row, 1/3 so far',
    });
  });

  test('a change that went part of the way', () => {
    expect(persistenceStep('green', 'yellow', null, p, 1)?.text).toEqual({
      vi: 'hạ xuống Cấp 2: không thấp hơn mức cao nhất trong 7 ngày vừa qua, mỗi lần hạ tối đa 1 cấp',
      en: 'lowered to level 2 (yellow): no lower than the highest level of the last 7 days, at most 1 level down at a time',
    });
    expect(persistenceStep('red', 'orange', null, p, 1)?.text).toEqual({
      vi: 'nâng lên Cấp 3: mức thấp nhất trong 3 ngày liên tiếp vừa qua',
      en: 'raised to level 3 (orange): the lowest level of the last 3 days in a row',
    });
  });

  test('the note is the English text; the result is the level shown', () => {
    const s = persistenceStep('red', 'yellow', pending('up', 'red', 1, 2), { ...p, escalate_after_days: 2 }, 0);
    expect(s?.note).toBe(s?.text.en);
    expect(s?.result).toBe('yellow');
    expect(s?.text.en).toContain('needs 2 days in a row');
    // one day, one level: singular
    expect(persistenceStep('yellow', 'orange', pending('down', 'yellow', 1, 1), { ...p, min_stay_days: 1 }, 0)?.text.en).toContain('at least 1 day before');
  });
});
