import fc from 'fast-check';
import type { AreaNode } from '../../src/db/inputs';
import type { PreviousLevel } from '../../src/db/levels';
import type { StoredRuleSet } from '../../src/db/rulesets';
import { addDays, LocalDate } from '../../src/domain/dates';
import type { PackedValue } from '../../src/domain/inputs';
import { storedMetrics } from '../../src/domain/inputs';
import { RuleSet } from '../../src/domain/rules/definition';
import { PRESETS } from '../../src/domain/rules/presets';
import { treeOrder } from '../../src/domain/rules/tree';
import { beforeById, classifyDay, DayBefore, DayMemo, valueKey } from '../../src/jobs/recompute/assemble';
import { overriddenOn } from '../../src/jobs/recompute/run';

/**
 * A run of days classified with the memo of the day before's classifications (DayMemo)
 * gives every row and every carried state exactly as classifying each day afresh does —
 * under a rule set that rolls districts and provinces up from their communes (with the
 * default settings, and with hysteresis), and under one with indicators (matrix, raise) —
 * while the memo
 * does answer for the areas whose values did not change.
 */
const AREAS: AreaNode[] = treeOrder([
  { id: 100, code: 'P', kind: 'province', parent_id: null, population: 60000 },
  { id: 10, code: 'D1', kind: 'district', parent_id: 100, population: 30000 },
  { id: 11, code: 'D2', kind: 'district', parent_id: 100, population: 30000 },
  ...[1, 2, 3, 4, 5, 6].map((id) => ({ id, code: `C${id}`, kind: 'commune' as const, parent_id: id <= 3 ? 10 : 11, population: 10000 })),
]);

const stored = (id: string, definition: RuleSet): StoredRuleSet => ({ id, name: id, version: 1, active: true, effective_from: null, preset: null, created_at: '2021-01-01T00:00:00Z', definition });
const SETS: StoredRuleSet[] = [
  stored('vn-2686-2021@1', PRESETS['vn-2686-2021'] as RuleSet),
  stored('vn-2686-2021@2', { ...(PRESETS['vn-2686-2021'] as RuleSet), persistence: { escalate_after_days: 2, deescalate_after_days: 3, max_step_down: 1, min_stay_days: 2 } }),
  stored('vn-moh-4800-2021@1', PRESETS['vn-moh-4800-2021'] as RuleSet),
];

/** A packed value: a value as found (its days back free), or a reason it is missing. */
const packedValue = (back: number): fc.Arbitrary<PackedValue> =>
  fc.oneof(
    fc.constantFrom(0, 3, 12, 19.9, 20, 55.5, 150, 160, 80, 96),
    fc.constantFrom(17.8, 50, 70, 96).map((v): PackedValue => [v, back]),
    fc.constantFrom(0, 1, 50, 96).map((v): PackedValue => [v, back, 'P']),
    fc.constantFrom<PackedValue>('no_reports', 'no_population', 'missing', ['stale', back + 15], ['partial', 1, 3, 0.2], [60, 2, 3, 0.6, 'mean']),
  );

/** Each day, each area keeps its values of the day before (reported a day further back) or takes new ones. */
function days(metrics: number): fc.Arbitrary<PackedValue[][][]> {
  const fresh = fc.array(fc.array(packedValue(0), { minLength: metrics, maxLength: metrics }), { minLength: AREAS.length, maxLength: AREAS.length });
  const keep = fc.array(fc.boolean(), { minLength: AREAS.length, maxLength: AREAS.length });
  return fc.tuple(fresh, fc.array(fc.tuple(fresh, keep), { minLength: 4, maxLength: 12 })).map(([first, rest]) => {
    const out = [first];
    for (const [next, keeps] of rest) {
      const before = out[out.length - 1] as PackedValue[][];
      out.push(next.map((values, i) => (keeps[i] ? (before[i] as PackedValue[]).map((p) => (Array.isArray(p) && typeof p[1] === 'number' && p.length <= 3 ? ([p[0], p[1] + 1, ...p.slice(2)] as PackedValue) : p)) : values)));
    }
    return out;
  });
}

test.each(SETS)('$id: the same rows and carried states with the memo as without, and from the day before by index as by id', (rs) => {
  const metrics = storedMetrics(rs.definition).length;
  let answered = 0;
  fc.assert(
    fc.property(days(metrics), (series) => {
      // without the memo, from the day before by id (a Map); with it, from the day before's rows by index
      let plain: DayBefore = new Map<number, PreviousLevel>();
      let memoed: DayBefore = new Map<number, PreviousLevel>();
      const memo = DayMemo.for(null, AREAS, rs.id);
      const get = memo.get.bind(memo);
      memo.get = (i, packed, kids) => {
        const c = get(i, packed, kids);
        if (c) answered++;
        return c;
      };
      series.forEach((packed, k) => {
        const date = addDays('2021-10-01' as LocalDate, k);
        const a = classifyDay(rs, date, AREAS, packed, plain);
        const b = classifyDay(rs, date, AREAS, packed, memoed, memo);
        expect(b.rows).toEqual(a.rows);
        expect([...beforeById(b.next)]).toEqual([...beforeById(a.next)]);
        plain = beforeById(a.next);
        memoed = b.next;
      });
    }),
    { numRuns: 60, seed: 19 },
  );
  expect(answered).toBeGreaterThan(100);
});

test('a district whose own values did not change is rolled up again when its communes\' levels did', () => {
  const rs = SETS[0] as StoredRuleSet;
  const memo = DayMemo.for(null, AREAS, rs.id);
  let prev: DayBefore = new Map<number, PreviousLevel>();
  const quiet: PackedValue[] = [0, 0, 0, 0];
  const surge: PackedValue[] = [160, 160, 160, 160];
  const levelsOf = (k: number, communes: PackedValue[]) => {
    const packed = AREAS.map((a) => (a.kind === 'commune' ? communes : quiet));
    const day = classifyDay(rs, addDays('2021-10-01' as LocalDate, k), AREAS, packed, prev, memo);
    prev = day.next;
    return day.rows.filter((r) => r.area_id >= 10).map((r) => r.level);
  };
  expect(levelsOf(0, quiet)).toEqual(['green', 'green', 'green']);
  expect(levelsOf(1, surge)).toEqual(['red', 'red', 'red']);
});

test('what the rules read of a packed value: the value however found, or the missing reason', () => {
  expect([valueKey(17.8), valueKey([17.8, 3]), valueKey([17.8, 0, 'P']), valueKey([17.8, 2, 3, 0.6, 'mean'])]).toEqual([17.8, 17.8, 17.8, 17.8]);
  expect([valueKey('missing'), valueKey(['stale', 20]), valueKey(['stale', 21]), valueKey(['partial', 1, 3, 0.2])]).toEqual(['missing', '[stale]', '[stale]', '[partial]']);
});

test('a memo is for one list of areas and one rule set', () => {
  const memo = DayMemo.for(null, AREAS, 'a@1');
  expect(DayMemo.for(memo, AREAS, 'a@1')).toBe(memo);
  expect(DayMemo.for(memo, AREAS, 'b@1')).not.toBe(memo);
  expect(DayMemo.for(memo, [...AREAS], 'a@1')).not.toBe(memo);
});

test('a parent rolls up the level an override sets for a child; the child\'s row keeps the rules\' level', () => {
  const rs = SETS[0] as StoredRuleSet;
  const quiet: PackedValue[] = [0, 0, 0, 0];
  const packed = AREAS.map(() => quiet);
  const date = '2021-10-01' as LocalDate;
  const plain = classifyDay(rs, date, AREAS, packed, new Map());
  const overridden = classifyDay(rs, date, AREAS, packed, new Map(), undefined, new Map([[1, 'red' as const]]));
  const byId = (rows: { area_id: number; level: string; children: Record<string, number> | null }[]) => new Map(rows.map((r) => [r.area_id, [r.level, r.children]]));
  expect(byId(plain.rows).get(10)).toEqual(['green', { green: 3 }]);
  // one of D1's three communes red (33 % ≥ 30 %): D1 red; one of P's two districts red: P red
  expect(byId(overridden.rows).get(10)).toEqual(['red', { red: 1, green: 2 }]);
  expect(byId(overridden.rows).get(100)).toEqual(['red', { red: 1, green: 1 }]);
  expect(byId(overridden.rows).get(1)).toEqual(['green', null]);
  expect(byId(overridden.rows).get(11)).toEqual(['green', { green: 3 }]);
});

test('the levels overrides set on a day: inclusive periods, open-ended ones, none', () => {
  const spans = [
    { area_id: 1, level: 'red' as const, from: '2021-10-05' as LocalDate, until: '2021-10-07' as LocalDate },
    { area_id: 2, level: 'orange' as const, from: '2021-10-06' as LocalDate, until: null },
  ];
  const on = (d: string) => [...(overriddenOn(spans, d as LocalDate) ?? new Map())];
  expect(on('2021-10-04')).toEqual([]);
  expect(overriddenOn(spans, '2021-10-04' as LocalDate)).toBeNull();
  expect(on('2021-10-05')).toEqual([[1, 'red']]);
  expect(on('2021-10-07')).toEqual([[1, 'red'], [2, 'orange']]);
  expect(on('2021-10-08')).toEqual([[2, 'orange']]);
  expect(on('2031-01-01')).toEqual([[2, 'orange']]);
});
