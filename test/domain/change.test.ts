import { Level, LEVELS } from '../../src/domain/levels';
import { changeReason, changeText, changeTrigger, storedChangeText } from '../../src/domain/rules/change';
import { RuleSet } from '../../src/domain/rules/definition';
import { classify, Inputs } from '../../src/domain/rules/engine';
import { PRESETS } from '../../src/domain/rules/presets';

/**
 * Why a level changed (issue 14): what moved it, recorded as data at recomputation
 * (`changeTrigger`), and put in words when read (`changeText`).
 */

const P4800 = PRESETS['vn-moh-4800-2021'] as RuleSet;
const P218 = PRESETS['vn-moh-218-2022'] as RuleSet;
const P2686 = PRESETS['vn-2686-2021'] as RuleSet;
const vals = (o: Record<string, number | string>): Inputs =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? { value: v } : { missing: v }]));

describe('changeReason', () => {
  const side4800 = (level: Level | 'unknown', o: Record<string, number | string>, ruleSetId = 'vn-moh-4800-2021@1') => ({ level, inputs: vals(o), children: [], ruleSetId });
  const base = { community_incidence_7d: 42.1, vaccination_18plus_1dose_pct: 75, vaccination_65plus_full_pct: 85, treatment_capacity_ok: 1 };
  const now = side4800;

  test('no day before, or the same level: null', () => {
    expect(changeReason(P4800, 'commune', null, now('yellow', base))).toBeNull();
    expect(changeReason(P4800, 'commune', side4800('yellow', base), now('yellow', { ...base, community_incidence_7d: 45 }))).toBeNull();
  });

  test('a switch of rule set names both', () => {
    expect(changeReason(P218, 'commune', side4800('orange', base), now('green', base, 'vn-moh-218-2022@1'))).toEqual({
      code: 'rule_set_changed',
      vi: 'Đổi bộ tiêu chí: vn-moh-4800-2021@1 → vn-moh-218-2022@1',
      en: 'rule set changed: vn-moh-4800-2021@1 → vn-moh-218-2022@1',
    });
  });

  test('incidence crossed 50 per 100k: the metric, the threshold and the step', () => {
    const r = changeReason(P4800, 'commune', side4800('yellow', base), now('orange', { ...base, community_incidence_7d: 55.3 }));
    expect(r).toEqual({
      code: 'rules',
      vi: 'Số ca cộng đồng/100.000 dân 7 ngày vượt ngưỡng 50 (42,10 → 55,30) ở bước 1 (bảng tiêu chí)',
      en: 'community incidence 7d crossed 50/100k (42.10 → 55.30) at step 1 (table)',
    });
  });

  test('incidence fell below 20, printed so that it reads below', () => {
    const r = changeReason(P4800, 'commune', side4800('yellow', base), now('green', { ...base, community_incidence_7d: 19.996 }));
    expect(r?.vi).toBe('Số ca cộng đồng/100.000 dân 7 ngày xuống dưới ngưỡng 20 (42,10 → 19,996) ở bước 1 (bảng tiêu chí)');
    expect(r?.en).toBe('community incidence 7d fell below 20/100k (42.10 → 19.996) at step 1 (table)');
  });

  test('an adjustment that started to apply names its metric', () => {
    const r = changeReason(P4800, 'commune', side4800('yellow', base), now('orange', { ...base, vaccination_65plus_full_pct: 79.5 }));
    expect(r).toEqual({
      code: 'rules',
      vi: 'Tỷ lệ tiêm đủ liều (65 tuổi trở lên) xuống dưới ngưỡng 80% (85 → 79,50) ở bước 2 (nâng cấp)',
      en: '65+ full-dose coverage fell below 80% (85 → 79.50) at step 2 (raise)',
    });
    const back = changeReason(P4800, 'commune', side4800('orange', { ...base, treatment_capacity_ok: 0 }), now('yellow', base));
    expect(back).toEqual({
      code: 'rules',
      vi: 'Khả năng thu dung, điều trị: không đạt → đạt ở bước 3 (hết điều kiện nâng cấp)',
      en: 'treatment capacity: not met → met at step 3 (raise no longer applies)',
    });
  });

  test("218: the capacity by its meaning, and which of its conditions changed", () => {
    const b = { all_incidence_7d: 30, vaccination_18plus_full_pct: 80, treatment_capacity_ok: 1 };
    const r = changeReason(P218, 'district', { level: 'green', inputs: vals(b), children: [], ruleSetId: 'vn-moh-218-2022@1' }, { level: 'yellow', inputs: vals({ ...b, treatment_capacity_ok: 0 }), children: [], ruleSetId: 'vn-moh-218-2022@1' });
    expect(r).toEqual({
      code: 'rules',
      vi: 'Năng lực đáp ứng: cao → trung bình (Khả năng thu dung, điều trị: đạt → không đạt) ở bước 1 (bảng tiêu chí)',
      en: 'response capacity: high → medium (treatment capacity: met → not met) at step 1 (table)',
    });
  });

  test("2686: a rule that stopped matching is named from the day before's side", () => {
    const c = { community_cases_14d: 3, community_incidence_14d: 2.5, unknown_source_14d: 1, high_contact_14d: 0 };
    const r = changeReason(P2686, 'commune', { level: 'red', inputs: vals(c), children: [], ruleSetId: 's' }, { level: 'orange', inputs: vals({ ...c, unknown_source_14d: 0 }), children: [], ruleSetId: 's' });
    expect(r).toEqual({
      code: 'rules',
      vi: 'Số ca không rõ nguồn lây 14 ngày xuống dưới ngưỡng 1 (1 → 0) ở bước 1 (quy tắc)',
      en: 'unknown-source cases 14d fell below 1 (1 → 0) at step 1 (rules)',
    });
  });

  test("2686 roll-up: the children's counts", () => {
    const r = changeReason(P2686, 'district', { level: 'green', inputs: {}, children: ['red', 'orange', ...Array<Level>(8).fill('green')], ruleSetId: 's' }, { level: 'orange', inputs: {}, children: ['red', 'red', 'orange', 'orange', ...Array<Level>(6).fill('green')], ruleSetId: 's' });
    expect(r).toEqual({
      code: 'rules',
      vi: 'Cấp độ các xã, phường: 6 ở Cấp 1, 0 ở Cấp 2, 2 ở Cấp 3, 2 ở Cấp 4 (hôm trước: 8 ở Cấp 1, 0 ở Cấp 2, 1 ở Cấp 3, 1 ở Cấp 4) ở bước 1 (tổng hợp từ đơn vị con)',
      en: 'levels of the communes: green 6, yellow 0, orange 2, red 2 (the day before: green 8, yellow 0, orange 1, red 1) at step 1 (roll-up)',
    });
  });

  test('to unknown: why, never reported and too old told apart', () => {
    const never = changeReason(P4800, 'commune', side4800('yellow', base), now('unknown', { ...base, vaccination_18plus_1dose_pct: 'missing_metric:vaccination_18plus_1dose_pct' }));
    expect(never).toEqual({
      code: 'unknown',
      vi: 'Chưa đủ dữ liệu: Tỷ lệ người từ 18 tuổi trở lên đã tiêm ít nhất 1 mũi vắc xin (%): chưa từng có số liệu',
      en: 'not enough data: share of people aged 18+ with at least one vaccine dose (%): never reported',
    });
    const old = changeReason(P4800, 'commune', side4800('yellow', base), now('unknown', { ...base, vaccination_18plus_1dose_pct: 'stale_metric:vaccination_18plus_1dose_pct' }));
    expect(old?.en).toBe('not enough data: share of people aged 18+ with at least one vaccine dose (%): too old (older than 14 days)');
  });

  test('known again: what was missing the day before', () => {
    const r = changeReason(P4800, 'commune', side4800('unknown', { ...base, community_incidence_7d: 'no_population' }), now('yellow', base));
    expect(r).toEqual({ code: 'known_again', vi: 'Đủ dữ liệu trở lại (hôm trước: chưa có số dân)', en: 'enough data again (the day before: no population figure)' });
    const blind = changeReason(P4800, 'commune', { level: 'unknown', inputs: {}, children: [], ruleSetId: 'vn-moh-4800-2021@1' }, now('yellow', base));
    expect(blind?.code).toBe('known_again');
  });

  describe('persistence', () => {
    const held = { ...P4800, persistence: { escalate_after_days: 1, deescalate_after_days: 7, max_step_down: 1, min_stay_days: 0 } } as RuleSet;
    const low = { ...base, community_incidence_7d: 5 };

    test('released after the days in a row: persistence, naming the settings', () => {
      const r = changeReason(held, 'commune', side4800('yellow', low), now('green', low));
      expect(r).toEqual({
        code: 'persistence',
        vi: 'Hết thời gian giữ cấp (cần 7 ngày liên tiếp để hạ cấp, mỗi lần hạ tối đa 1 cấp): hạ từ Cấp 2 xuống Cấp 1',
        en: 'persistence released (de-escalation needs 7 days in a row, at most 1 level down at a time): de-escalated from level 2 (yellow) to level 1 (green)',
      });
    });

    test('escalation after days in a row', () => {
      const slow = { ...P4800, persistence: { escalate_after_days: 3, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0 } } as RuleSet;
      const high = { ...base, community_incidence_7d: 60 };
      const r = changeReason(slow, 'commune', side4800('yellow', high), now('orange', high));
      expect(r?.code).toBe('persistence');
      expect(r?.vi).toBe('Hết thời gian giữ cấp (cần 3 ngày liên tiếp để nâng cấp): nâng từ Cấp 2 lên Cấp 3');
    });

    test('without persistence settings the same days are the rules', () => {
      const r = changeReason(P4800, 'commune', side4800('yellow', low), now('green', low));
      expect(r?.code).toBe('rules');
    });

    test('the rules moved today (the day before agreed with its level): rules, not persistence', () => {
      const r = changeReason(held, 'commune', side4800('yellow', base), now('green', low));
      expect(r?.code).toBe('rules');
      expect(r?.en).toContain('fell below 20/100k');
    });
  });

  test('nothing to name: a generic reason with both levels', () => {
    const r = changeReason(P4800, 'commune', side4800('red', base), now('yellow', base));
    expect(r).toEqual({ code: 'rules', vi: 'Thay đổi theo tiêu chí: Cấp 4 → Cấp 2', en: 'changed under the rules: level 4 (red) → level 2 (yellow)' });
  });

  test.each(LEVELS)('every level to unknown is "unknown" (%s)', (from) => {
    const r = changeReason(P4800, 'commune', side4800(from, base), now('unknown', { ...base, community_incidence_7d: 'no_reports' }));
    expect(r?.code).toBe('unknown');
    expect(r?.vi).toBe('Chưa đủ dữ liệu: không có báo cáo nào trong khoảng thời gian tính');
  });
});

describe('the trigger is data; the words come when read', () => {
  const base = { community_incidence_7d: 42.1, vaccination_18plus_1dose_pct: 75, vaccination_65plus_full_pct: 85, treatment_capacity_ok: 1 };
  const side = (level: Level | 'unknown', o: Record<string, number | string>, ruleSetId = 'vn-moh-4800-2021@1') => ({ level, inputs: vals(o), children: [], ruleSetId });
  const b218 = { all_incidence_7d: 30, vaccination_18plus_full_pct: 80, treatment_capacity_ok: 1 };
  const cases: [string, RuleSet, 'commune' | 'district', ReturnType<typeof side>, ReturnType<typeof side>][] = [
    ['rules, a threshold crossed', P4800, 'commune', side('yellow', base), side('orange', { ...base, community_incidence_7d: 55.3 })],
    ['rules, a value went missing', P4800, 'commune', side('orange', { ...base, vaccination_65plus_full_pct: 70 }), side('yellow', { ...base, vaccination_65plus_full_pct: 'stale_metric:vaccination_65plus_full_pct' })],
    ['218, a count of conditions met', P218, 'district', side('green', b218, 's'), side('yellow', { ...b218, treatment_capacity_ok: 0 }, 's')],
    ['to unknown', P4800, 'commune', side('yellow', base), side('unknown', { ...base, community_incidence_7d: 'no_reports' })],
    ['known again', P4800, 'commune', side('unknown', { ...base, community_incidence_7d: 'no_population' }), side('yellow', base)],
    ['a switch of rule set', P218, 'commune', side('orange', base), side('green', base, 'vn-moh-218-2022@1')],
  ];

  test.each(cases)('%s: stored as JSON and read back, the same words', (_name, rs, kind, before, now) => {
    const t = changeTrigger(rs, kind, before, now);
    expect(t).not.toBeNull();
    const stored = JSON.parse(JSON.stringify(t));
    expect(changeText(rs, kind, stored, before.level, now.level)).toEqual(changeReason(rs, kind, before, now));
    expect(storedChangeText(rs, kind, stored, before.level, now.level)).toEqual(changeReason(rs, kind, before, now));
  });

  test.each(cases)('%s: the trigger holds no words', (_name, rs, kind, before, now) => {
    const json = JSON.stringify(changeTrigger(rs, kind, before, now));
    const words = changeReason(rs, kind, before, now);
    for (const w of [words?.vi, words?.en]) expect(json).not.toContain(w);
    expect(json).not.toMatch(/Cấp|level \d|crossed|vượt/);
  });

  test('the threshold crossed and both values are in the trigger', () => {
    expect(changeTrigger(P4800, 'commune', side('yellow', base), side('orange', { ...base, community_incidence_7d: 55.3 }))).toEqual({
      code: 'rules',
      step: 0,
      moved: [{ metric: 'community_incidence_7d', check: { op: '>=', value: 50 }, before: 42.1, now: 55.3 }],
    });
  });

  test("a classification the caller already has is used, and gives what classifying again would", () => {
    const before = side('yellow', base);
    const now = side('orange', { ...base, community_incidence_7d: 55.3 });
    const given = {
      ...before,
      rules: classify(P4800, 'commune', before.inputs, [], { notes: false }),
    };
    expect(changeTrigger(P4800, 'commune', given, { ...now, rules: classify(P4800, 'commune', now.inputs, [], { notes: false }) })).toEqual(changeTrigger(P4800, 'commune', before, now));
    // it is not classified again: a trace that says otherwise is believed
    const lying = { ...before, rules: { level: 'orange' as const, reason: null, explanation: [{ step: 0, type: 'matrix' as const, result: 'orange' as const }] } };
    const held = { ...P4800, persistence: { escalate_after_days: 3, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0 } } as RuleSet;
    expect(changeTrigger(held, 'commune', lying, now)?.code).toBe('persistence');
    expect(changeTrigger(held, 'commune', before, now)?.code).toBe('rules');
  });

  test('rows written before the trigger (words stored) read as they are; without the rule set only a switch can be told', () => {
    const words = { code: 'rules', vi: 'Thay đổi', en: 'changed' };
    expect(storedChangeText(null, 'commune', words, 'yellow', 'orange')).toEqual(words);
    expect(storedChangeText(null, 'commune', { code: 'rule_set_changed', from: 'a@1', to: 'b@1' }, 'yellow', 'orange')).toEqual({
      code: 'rule_set_changed',
      vi: 'Đổi bộ tiêu chí: a@1 → b@1',
      en: 'rule set changed: a@1 → b@1',
    });
    expect(storedChangeText(null, 'commune', { code: 'rules', step: 0 }, 'yellow', 'orange')).toBeNull();
  });

  test('a step the rule set does not have reads as the generic reason', () => {
    expect(changeText(P4800, 'commune', { code: 'rules', step: 99 }, 'yellow', 'orange')).toEqual({
      code: 'rules',
      vi: 'Thay đổi theo tiêu chí: Cấp 2 → Cấp 3',
      en: 'changed under the rules: level 2 (yellow) → level 3 (orange)',
    });
  });
});

describe('a step named by what it did to the level', () => {
  // vn-moh-4800-2021 with a lowering and a capping step after its two raises (steps 4 and 5)
  const base = P4800 as RuleSet;
  const group = base.levels[0] as RuleSet['levels'][number];
  const when = { metric: 'treatment_capacity_ok', op: '==', value: 1 } as const;
  const rs = {
    ...base,
    levels: [{ ...group, steps: [...group.steps, { type: 'lower', by: 1, when, if_missing: 'skip' }, { type: 'cap', level: 'orange', when, if_missing: 'skip' }] }],
  } as unknown as RuleSet;
  // [step, from, to, the step's name in the words]
  const table: [number, string, string, string, string][] = [
    [1, 'yellow', 'orange', 'nâng cấp', 'raise'],
    [1, 'orange', 'yellow', 'hết điều kiện nâng cấp', 'raise no longer applies'],
    [1, 'unknown', 'yellow', 'nâng cấp', 'raise'],
    [1, 'yellow', 'unknown', 'nâng cấp', 'raise'],
    [3, 'orange', 'yellow', 'hạ cấp', 'lower'],
    [3, 'yellow', 'orange', 'hết điều kiện hạ cấp', 'lower no longer applies'],
    [3, 'yellow', 'yellow', 'hạ cấp', 'lower'],
    [4, 'red', 'orange', 'giới hạn cấp', 'cap'],
    [4, 'orange', 'red', 'hết giới hạn cấp', 'cap no longer applies'],
    [4, 'unknown', 'red', 'giới hạn cấp', 'cap'],
    [0, 'orange', 'yellow', 'bảng tiêu chí', 'table'],
  ];
  test.each(table)('step %i, %s → %s: "%s"', (step, from, to, vi, en) => {
    const words = changeText(rs, 'commune', { code: 'rules', step }, from as Level, to as Level);
    expect(words).toEqual({ code: 'rules', vi: `Thay đổi ở bước ${step + 1} (${vi})`, en: `changed at step ${step + 1} (${en})` });
  });
});

describe('classify without notes', () => {
  const inputs = vals({ community_incidence_7d: 55.3, vaccination_18plus_1dose_pct: 75, vaccination_65plus_full_pct: 70, treatment_capacity_ok: 0 });
  test.each(Object.keys(PRESETS))('%s: the same level, reason and steps as with notes, and nothing else', (id) => {
    const rs = PRESETS[id] as RuleSet;
    for (const kind of ['commune', 'district', 'province'] as const) {
      const full = classify(rs, kind, inputs, ['red', 'green', 'orange']);
      const bare = classify(rs, kind, inputs, ['red', 'green', 'orange'], { notes: false });
      expect(bare.level).toBe(full.level);
      expect(bare.reason).toBe(full.reason);
      expect(bare.explanation).toEqual(full.explanation.map((e) => ({ step: e.step, type: e.type, result: e.result })));
    }
  });
});
