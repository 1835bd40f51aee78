import fc from 'fast-check';
import { LevelOrUnknown } from '../../../src/domain/levels';
import { RuleSet } from '../../../src/domain/rules/definition';
import { Inputs } from '../../../src/domain/rules/engine';
import { PRESETS } from '../../../src/domain/rules/presets';
import { classifyTree, TreeArea, treeOrder } from '../../../src/domain/rules/tree';

/**
 * classifyTree: children before parents, whatever order the areas come in; `finish` is told
 * each area's index in the list given; a list already in visiting order is visited as it is.
 */

const R2686 = PRESETS['vn-2686-2021'] as RuleSet; // districts and provinces roll up
type Area = TreeArea & { code: string };

// a province, two districts, five communes (ids deliberately not in tree order)
const AREAS: Area[] = [
  { id: 5, code: 'P', kind: 'province', parent_id: null },
  { id: 3, code: 'D1', kind: 'district', parent_id: 5 },
  { id: 9, code: 'D2', kind: 'district', parent_id: 5 },
  { id: 1, code: 'C1', kind: 'commune', parent_id: 3 },
  { id: 7, code: 'C2', kind: 'commune', parent_id: 3 },
  { id: 2, code: 'C3', kind: 'commune', parent_id: 3 },
  { id: 8, code: 'C4', kind: 'commune', parent_id: 9 },
  { id: 4, code: 'C5', kind: 'commune', parent_id: 9 },
];
const cases = (n: number) => ({ community_cases_14d: { value: n }, community_incidence_14d: { value: n * 2 }, unknown_source_14d: { value: n > 5 ? 1 : 0 }, high_contact_14d: { value: 0 } });
const INPUTS: Record<string, Inputs> = { C1: cases(0), C2: cases(12), C3: cases(3), C4: cases(40), C5: cases(0) };

function run(areas: readonly Area[]) {
  const seen: { code: string; index: number; inputsIndex: number }[] = [];
  const levels = classifyTree(
    R2686,
    areas,
    (a, i) => {
      seen.push({ code: a.code, index: -1, inputsIndex: i });
      return INPUTS[a.code] ?? {};
    },
    (a, rules, kids, _inputs, i) => {
      const s = seen[seen.length - 1] as (typeof seen)[number];
      s.index = i;
      return { level: rules.level, result: { code: a.code, level: rules.level as LevelOrUnknown, kids: kids.length } };
    },
  );
  return { levels, seen };
}

test('the visiting order: communes, then districts, then the province, each by id', () => {
  expect(treeOrder(AREAS).map((a) => a.code)).toEqual(['C1', 'C3', 'C5', 'C2', 'C4', 'D1', 'D2', 'P']);
  expect(run(AREAS).levels.map((r) => r.code)).toEqual(['C1', 'C3', 'C5', 'C2', 'C4', 'D1', 'D2', 'P']);
});

test('parents see every child; the index given is the area’s own in the list', () => {
  const { levels, seen } = run(AREAS);
  expect(Object.fromEntries(levels.map((r) => [r.code, r.kids]))).toMatchObject({ D1: 3, D2: 2, P: 2 });
  for (const s of seen) {
    expect(AREAS[s.index]?.code).toBe(s.code);
    expect(s.inputsIndex).toBe(s.index);
  }
});

test('any order of the areas gives the same levels, each area told its own index', () => {
  const expected = run(AREAS).levels;
  fc.assert(
    fc.property(fc.shuffledSubarray(AREAS, { minLength: AREAS.length, maxLength: AREAS.length }), (shuffled) => {
      const { levels, seen } = run(shuffled);
      expect(levels).toEqual(expected);
      for (const s of seen) expect(shuffled[s.index]?.code).toBe(s.code);
    }),
    { numRuns: 200 },
  );
});

test('a roll-up that needs its children: wrong order would show', () => {
  // the districts roll up their communes: D2 holds C4 (40 cases, red-ish) and C5 (none)
  const byCode = Object.fromEntries(run(AREAS).levels.map((r) => [r.code, r.level]));
  expect(byCode.D2).not.toBe('unknown');
  expect(byCode.P).not.toBe('unknown');
});

test('`again`: an area it answers for is not classified and its inputs are not read unless finish asks (then once); its level reaches the parent; the others are classified', () => {
  const read: string[] = [];
  const asked: { code: string; kids: number }[] = [];
  const green = { level: 'green' as const, reason: null, explanation: [{ step: 0, type: 'rules' as const, result: 'green' as const }] };
  const out = classifyTree(
    R2686,
    AREAS,
    (a) => {
      read.push(a.code);
      return INPUTS[a.code] ?? {};
    },
    (a, rules, _kids, inputs) => {
      // finish asks for C2's inputs only: read then, once
      if (a.code === 'C2') {
        inputs();
        inputs();
      }
      return { level: rules.level, result: { code: a.code, level: rules.level, explanation: rules.explanation } };
    },
    {
      again: (a, _i, kids) => {
        asked.push({ code: a.code, kids: kids.length });
        return ['C1', 'C2', 'C3'].includes(a.code) ? green : undefined;
      },
    },
  );
  const byCode = Object.fromEntries(out.map((r) => [r.code, r]));
  expect(byCode.C1).toEqual({ code: 'C1', level: 'green', explanation: green.explanation });
  expect(byCode.C2?.level).toBe('green');
  expect(read.sort()).toEqual(['C2', 'C4', 'C5', 'D1', 'D2', 'P']);
  // asked for every area, with its children's levels (D1: C1, C2, C3)
  expect(asked.find((x) => x.code === 'D1')).toEqual({ code: 'D1', kids: 3 });
  expect(asked).toHaveLength(AREAS.length);
  // D1 rolls up its communes as answered (all green), not as their own inputs would classify them
  expect(byCode.D1?.level).toBe('green');
  expect(run(AREAS).levels.find((r) => r.code === 'D1')?.level).not.toBe('green');
});

test('the trace holds each step\'s number, type and result only, unless notes are asked for', () => {
  const keys = (notes: boolean) => {
    const out = notes
      ? classifyTree(R2686, AREAS, (a) => INPUTS[a.code] ?? {}, (_a, rules) => ({ level: rules.level, result: rules.explanation }), { notes: true })
      : classifyTree(R2686, AREAS, (a) => INPUTS[a.code] ?? {}, (_a, rules) => ({ level: rules.level, result: rules.explanation }));
    return [...new Set(out.flat().flatMap((s) => Object.keys(s)))].sort();
  };
  expect(keys(false)).toEqual(['result', 'step', 'type']);
  expect(keys(true)).toEqual(expect.arrayContaining(['note', 'result', 'step', 'type', 'values']));
});

test('an area with no parent in the list is nobody\'s child: two provinces, and a district whose province is not listed', () => {
  // P1 first and P2 second in the list: P1 (no parent) must not reach P2's children, nor D9 (its
  // parent P7 not listed) anyone's; P2 has no children listed, so its roll-up has none
  const areas: Area[] = [
    { id: 20, code: 'P1', kind: 'province', parent_id: null },
    { id: 21, code: 'P2', kind: 'province', parent_id: null },
    { id: 30, code: 'D9', kind: 'district', parent_id: 27 },
    { id: 31, code: 'D1', kind: 'district', parent_id: 20 },
    { id: 32, code: 'C4', kind: 'commune', parent_id: 31 },
  ];
  for (const list of [areas, treeOrder(areas)]) {
    const out = classifyTree(R2686, list, (a) => INPUTS[a.code] ?? {}, (a, rules, kids) => ({ level: rules.level, result: { code: a.code, kids: kids.length, level: rules.level } }));
    expect(Object.fromEntries(out.map((r) => [r.code, r.kids]))).toEqual({ P1: 1, P2: 0, D9: 0, D1: 1, C4: 0 });
    expect(out.find((r) => r.code === 'P2')?.level).toBe('unknown');
  }
});
