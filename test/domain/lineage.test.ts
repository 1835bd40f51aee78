import { addDays, dayNumber, LocalDate } from '../../src/domain/dates';
import { InputSeries, ReportColumns, SeriesArea } from '../../src/domain/inputs';
import { areasOn, lineageEvent, MapHistory, mapEpochs, predecessorsLevel, seriesLineage } from '../../src/domain/lineage';
import { LevelOrUnknown } from '../../src/domain/levels';
import { parseRuleSet, RuleSet } from '../../src/domain/rules/definition';
import { lineageStep } from '../../src/domain/rules/explain';

/**
 * domain/lineage.ts and the lineage in InputSeries: the map of a day, its epochs, the events
 * and levels of a reorganisation, and where a predecessor's reports go.
 */
const d = (s: string) => s as LocalDate;
const next = (x: LocalDate) => addDays(x, 1);
const prev = (x: LocalDate) => addDays(x, -1);

// P ⊃ D1 ⊃ A, B; P ⊃ D2 ⊃ C. On 2025-07-01: A and B → M (under P, A whole, B half), B's other half → N;
// C re-parented to P; D1, D2 retired.
const H: MapHistory = {
  areas: [
    { id: 1, code: 'P', name: 'P', kind: 'province', parent_id: null, population: 60, valid_from: null, valid_to: null, attributes_from: null },
    { id: 2, code: 'D1', name: 'D1', kind: 'district', parent_id: 1, population: 40, valid_from: null, valid_to: d('2025-06-30'), attributes_from: null },
    { id: 3, code: 'D2', name: 'D2', kind: 'district', parent_id: 1, population: 20, valid_from: null, valid_to: d('2025-06-30'), attributes_from: null },
    { id: 4, code: 'A', name: 'A', kind: 'commune', parent_id: 2, population: 30, valid_from: null, valid_to: d('2025-06-30'), attributes_from: null },
    { id: 5, code: 'B', name: 'B', kind: 'commune', parent_id: 2, population: 20, valid_from: null, valid_to: d('2025-06-30'), attributes_from: null },
    { id: 6, code: 'C', name: 'C', kind: 'commune', parent_id: 1, population: 20, valid_from: null, valid_to: null, attributes_from: d('2025-07-01') },
    { id: 7, code: 'M', name: 'M', kind: 'commune', parent_id: 1, population: 30, valid_from: d('2025-07-01'), valid_to: null, attributes_from: null },
    { id: 8, code: 'N', name: 'N', kind: 'commune', parent_id: 1, population: 10, valid_from: d('2025-07-01'), valid_to: null, attributes_from: null },
  ],
  versions: [{ area_id: 6, valid_from: null, valid_to: d('2025-06-30'), parent_id: 3, population: 20 }],
  lineage: [
    { area_id: 7, predecessor_id: 4, share: null, date: d('2025-07-01') },
    { area_id: 7, predecessor_id: 5, share: 0.5, date: d('2025-07-01') },
    { area_id: 8, predecessor_id: 5, share: 0.5, date: d('2025-07-01') },
  ],
};

describe('the map of a day', () => {
  test.each([
    ['2025-06-30', ['P', 'D1', 'D2', 'A', 'B', 'C'], 3],
    ['2025-07-01', ['P', 'C', 'M', 'N'], 1],
    ['2030-01-01', ['P', 'C', 'M', 'N'], 1],
    ['1990-01-01', ['P', 'D1', 'D2', 'A', 'B', 'C'], 3],
  ])('%s: areas %j, C under area %i', (day, codes, parentOfC) => {
    const on = areasOn(H, d(day));
    expect(on.map((a) => a.code)).toEqual(codes);
    expect(on.find((a) => a.code === 'C')?.parent_id).toBe(parentOfC);
  });

  test.each([
    ['2025-06-01', '2025-07-31', [['2025-06-01', '2025-06-30'], ['2025-07-01', '2025-07-31']]],
    ['2025-07-01', '2025-07-31', [['2025-07-01', '2025-07-31']]],
    ['2025-06-01', '2025-06-30', [['2025-06-01', '2025-06-30']]],
    ['2025-06-30', '2025-07-01', [['2025-06-30', '2025-06-30'], ['2025-07-01', '2025-07-01']]],
  ])('epochs of %s..%s', (from, to, epochs) => {
    expect(mapEpochs(H, d(from), d(to), next, prev).map((e) => [e.from, e.to])).toEqual(epochs);
  });

  test('an area ending with nothing beginning the next day cuts an epoch too; the cuts come sorted whatever the order of the areas', () => {
    const h: MapHistory = {
      areas: [
        { id: 2, code: 'L', name: 'L', kind: 'commune', parent_id: null, population: 1, valid_from: d('2025-03-10'), valid_to: null, attributes_from: null },
        { id: 1, code: 'K', name: 'K', kind: 'commune', parent_id: null, population: 1, valid_from: null, valid_to: d('2025-02-14'), attributes_from: null },
      ],
      versions: [],
      lineage: [],
    };
    expect(mapEpochs(h, d('2025-01-01'), d('2025-12-31'), next, prev).map((e) => [e.from, e.to])).toEqual([
      ['2025-01-01', '2025-02-14'],
      ['2025-02-15', '2025-03-09'],
      ['2025-03-10', '2025-12-31'],
    ]);
    expect(areasOn(h, d('2025-02-20'))).toEqual([]);
    // a span starting on the day K ends: cut the day after; ending on it: no cut
    expect(mapEpochs(h, d('2025-02-14'), d('2025-02-20'), next, prev).map((e) => [e.from, e.to])).toEqual([
      ['2025-02-14', '2025-02-14'],
      ['2025-02-15', '2025-02-20'],
    ]);
    expect(mapEpochs(h, d('2025-02-10'), d('2025-02-14'), next, prev).map((e) => [e.from, e.to])).toEqual([['2025-02-10', '2025-02-14']]);
  });
});

describe('events and levels of a reorganisation', () => {
  test.each([
    [{ name: 'M', predecessors: [1, 2] }, null, 1, 'A', 'merge'],
    [{ name: 'M', predecessors: [1, 2] }, 0.5, 2, 'B', 'split'],
    [{ name: 'M', predecessors: [1] }, null, 2, 'B', 'split'],
    [{ name: 'M', predecessors: [1] }, 0.5, 1, 'B', 'split'],
    [{ name: 'M', predecessors: [1] }, 1, 1, 'B', 'rename'],
    [{ name: 'B', predecessors: [1] }, null, 1, 'B', 'recode'],
  ])('%j taking %s of a predecessor with %i successor(s) named %s: %s', (successor, share, successors, name, event) => {
    expect(lineageEvent(successor, { share }, successors, name)).toBe(event);
  });

  test.each([
    [['green', 'orange', 'yellow'], 'orange'],
    [['unknown', 'yellow'], 'yellow'],
    [['red', 'unknown', 'green'], 'red'],
    [['unknown'], 'unknown'],
    [[], 'unknown'],
  ])('the worst of %j is %s', (levels, worst) => {
    expect(predecessorsLevel(levels as LevelOrUnknown[])).toBe(worst);
  });

  test('the explanation says which figures come from predecessors, and which are estimated', () => {
    const whole = lineageStep({ date: '2025-07-01', from: [{ name: 'Xã A', share: null }, { name: 'Xã B', share: null }] }, 'red', 2);
    expect(whole).toMatchObject({ step: 2, type: 'lineage', result: 'red' });
    expect(whole.estimated).toBeUndefined();
    expect(whole.text?.vi).toBe('Thành lập ngày 01/07/2025 từ 2 đơn vị (Xã A, Xã B): các ngày trước đó trong khoảng thời gian tính lấy số liệu của các đơn vị này');
    const part = lineageStep({ date: '2025-07-01', from: [{ name: 'Xã A', share: null }, { name: 'Xã B', share: 0.5 }] }, 'red', 0);
    expect(part.estimated).toBe(true);
    expect(part.text?.vi).toMatch(/; phần của Xã B \(50 % dân số\) là ước tính$/);
    expect(part.text?.en).toMatch(/the part of Xã B \(50 % of its population\) is estimated$/);
  });
});

describe("a predecessor's reports, on the map of each epoch", () => {
  const rs: RuleSet = (() => {
    const p = parseRuleSet({
      name: 'lineage-sums',
      metrics: { cases_7d: { kind: 'sum', of: 'community_cases', window_days: 7 } },
      levels: [{ kinds: ['province', 'district', 'commune'], steps: [{ type: 'bands', metric: 'cases_7d', thresholds: [1], levels: ['green', 'red'] }] }],
    });
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    return p.value;
  })();
  // A reports 1 a day, B 10, C 100, from 2025-06-20; M 1000 and N 10000 from 2025-07-01
  const rows: [number, string, number][] = [];
  for (let i = 0; i < 20; i++) {
    const day = addDays(d('2025-06-20'), i);
    if (day < '2025-07-01') rows.push([4, day, 1], [5, day, 10], [6, day, 100]);
    else rows.push([7, day, 1000], [8, day, 10000], [6, day, 100]);
  }
  const reports: ReportColumns = {
    length: rows.length,
    area_id: Int32Array.from(rows.map((r) => r[0])),
    day: Int32Array.from(rows.map((r) => dayNumber(r[1] as LocalDate))),
    community_cases: Int32Array.from(rows.map((r) => r[2])),
    quarantine_cases: new Int32Array(rows.length),
    deaths: new Int32Array(rows.length),
  };
  const series = (from: string, to: string) => new InputSeries(rs, areasOn(H, d(from)) as SeriesArea[], d(from), d(to), reports, [], seriesLineage(H, dayNumber, prev));
  const cases = (s: InputSeries, code: string, id: number, day: string) => {
    const v = s.inputsOn(d(day)).get(id)?.cases_7d;
    if (!v || !('value' in v)) throw new Error(`no cases_7d for ${code} on ${day}`);
    return v.value;
  };

  test('after: a merged commune sums its whole predecessor and its share of the split one; the province is the same however it is cut', () => {
    const after = series('2025-07-01', '2025-07-07');
    // 1 Jul: 6 days before (24–30 Jun) + the day itself
    expect(cases(after, 'M', 7, '2025-07-01')).toBeCloseTo(6 * (1 + 0.5 * 10) + 1000, 9);
    expect(cases(after, 'N', 8, '2025-07-01')).toBeCloseTo(6 * (0.5 * 10) + 10000, 9);
    expect(cases(after, 'C', 6, '2025-07-01')).toBe(7 * 100);
    expect(cases(after, 'P', 1, '2025-07-01')).toBeCloseTo(6 * (1 + 10 + 100) + 1000 + 10000 + 100, 9);
    expect(cases(after, 'M', 7, '2025-07-07')).toBe(7 * 1000);
  });

  test('before: the old communes keep their own reports, the new ones are not on the map', () => {
    const before = series('2025-06-26', '2025-06-30');
    expect(cases(before, 'A', 4, '2025-06-30')).toBe(7);
    expect(cases(before, 'B', 5, '2025-06-30')).toBe(70);
    expect(cases(before, 'D1', 2, '2025-06-30')).toBe(77);
    expect(cases(before, 'D2', 3, '2025-06-30')).toBe(700);
    expect(cases(before, 'P', 1, '2025-06-30')).toBe(777);
    expect(before.inputsOn(d('2025-06-30')).has(7)).toBe(false);
  });

  test("indicators before a new area began: its predecessors' latest values (their own, else their district's), weighted by the population each brought", () => {
    const p = parseRuleSet({
      name: 'lineage-indicators',
      metrics: { vax: { kind: 'indicator', name: 'vax_pct', max_age_days: 14, inherit: true } },
      levels: [{ kinds: ['province', 'district', 'commune'], steps: [{ type: 'bands', metric: 'vax', thresholds: [60], levels: ['red', 'green'] }] }],
    });
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    const rows = [
      { area_id: 2, name: 'vax_pct', date: d('2025-06-24'), value: 50 }, // D1, A's and B's district
      { area_id: 4, name: 'vax_pct', date: d('2025-06-28'), value: 80 }, // A itself
      { area_id: 7, name: 'vax_pct', date: d('2025-07-05'), value: 90 }, // M's own, later
    ];
    const empty: ReportColumns = { length: 0, area_id: new Int32Array(0), day: new Int32Array(0), community_cases: new Int32Array(0), quarantine_cases: new Int32Array(0), deaths: new Int32Array(0) };
    const s = new InputSeries(p.value, areasOn(H, d('2025-07-01')) as SeriesArea[], d('2025-07-01'), d('2025-07-06'), empty, rows, seriesLineage(H, dayNumber, prev));
    const value = (id: number, day: string) => {
      const v = s.inputsOn(d(day)).get(id)?.vax;
      return v && 'value' in v ? v.value : null;
    };
    // M: A whole (30 people) at 80, B's half (10 people) at its district's 50
    expect(value(7, '2025-07-01')).toBeCloseTo((80 * 30 + 50 * 10) / 40, 9);
    // N: B's other half, its district's 50
    expect(value(8, '2025-07-01')).toBe(50);
    // from its own first value on, M's own
    expect(value(7, '2025-07-05')).toBe(90);
    // C was not reorganised: nothing of its own, none inherited (its parent P has none)
    expect(value(6, '2025-07-01')).toBeNull();
  });

  test('a commune split in 60 and merged back, six times over: its reports land once, whole, on the last map (every path is not walked)', () => {
    // X (id 1) → 60 parts → Y1 → 60 parts → Y2 … → Y6, a stage a day from 2025-07-01
    const areas: MapHistory['areas'] = [{ id: 1, code: 'X', name: 'X', kind: 'commune', parent_id: null, population: 600, valid_from: null, valid_to: d('2025-06-30'), attributes_from: null }];
    const lineage: MapHistory['lineage'] = [];
    let next = 2;
    let from = 1;
    let day = d('2025-07-01');
    for (let stage = 0; stage < 6; stage++) {
      const parts = Array.from({ length: 60 }, () => next++);
      for (const id of parts) {
        areas.push({ id, code: `S${id}`, name: `S${id}`, kind: 'commune', parent_id: null, population: 10, valid_from: day, valid_to: day, attributes_from: null });
        lineage.push({ area_id: id, predecessor_id: from, share: 1 / 60, date: day });
      }
      day = next1(day);
      const merged = next++;
      const last = stage === 5;
      areas.push({ id: merged, code: `Y${merged}`, name: `Y${merged}`, kind: 'commune', parent_id: null, population: 600, valid_from: day, valid_to: last ? null : day, attributes_from: null });
      for (const id of parts) lineage.push({ area_id: merged, predecessor_id: id, share: null, date: day });
      from = merged;
      day = next1(day);
    }
    const h: MapHistory = { areas, versions: [], lineage };
    const on = areasOn(h, day);
    expect(on.map((a) => a.id)).toEqual([from]);
    const reports: ReportColumns = {
      length: 7,
      area_id: Int32Array.from([1, 1, 1, 1, 1, 1, 1]),
      day: Int32Array.from(Array.from({ length: 7 }, (_, i) => dayNumber(addDays(d('2025-06-24'), i)))),
      community_cases: Int32Array.from([1, 2, 3, 4, 5, 6, 7]),
      quarantine_cases: new Int32Array(7),
      deaths: new Int32Array(7),
    };
    const wide = parseRuleSet({
      name: 'lineage-wide',
      metrics: { cases_30d: { kind: 'sum', of: 'community_cases', window_days: 30 } },
      levels: [{ kinds: ['commune'], steps: [{ type: 'bands', metric: 'cases_30d', thresholds: [1], levels: ['green', 'red'] }] }],
    });
    if (!wide.ok) throw new Error(JSON.stringify(wide.issues));
    const s = new InputSeries(wide.value, on as SeriesArea[], day, day, reports, [], seriesLineage(h, dayNumber, prev));
    const v = s.inputsOn(day).get(from)?.cases_30d;
    expect(v && 'value' in v ? v.value : null).toBeCloseTo(28, 9);
  });
});

const next1 = (x: LocalDate) => addDays(x, 1);

describe('indicators and reports of predecessors: the edges', () => {
  const vaxRules = () => {
    const p = parseRuleSet({
      name: 'lineage-vax',
      metrics: { vax: { kind: 'indicator', name: 'vax_pct', max_age_days: 60, inherit: false } },
      levels: [{ kinds: ['province', 'district', 'commune'], steps: [{ type: 'bands', metric: 'vax', thresholds: [60], levels: ['red', 'green'] }] }],
    });
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    return p.value;
  };
  const noReports: ReportColumns = { length: 0, area_id: new Int32Array(0), day: new Int32Array(0), community_cases: new Int32Array(0), quarantine_cases: new Int32Array(0), deaths: new Int32Array(0) };
  // P1 and P2 (populations 100 and 300, or none) merge into S on 2025-07-10; Q is a neighbour of no account
  const history = (pop1: number | null, pop2: number | null): MapHistory => ({
    areas: [
      { id: 1, code: 'P1', name: 'P1', kind: 'commune', parent_id: null, population: pop1, valid_from: null, valid_to: d('2025-07-09'), attributes_from: null },
      { id: 2, code: 'P2', name: 'P2', kind: 'commune', parent_id: null, population: pop2, valid_from: null, valid_to: d('2025-07-09'), attributes_from: null },
      { id: 3, code: 'S', name: 'S', kind: 'commune', parent_id: null, population: 400, valid_from: d('2025-07-10'), valid_to: null, attributes_from: null },
      { id: 9, code: 'Q', name: 'Q', kind: 'commune', parent_id: null, population: 50, valid_from: null, valid_to: null, attributes_from: null },
    ],
    versions: [],
    lineage: [
      { area_id: 3, predecessor_id: 1, share: null, date: d('2025-07-10') },
      { area_id: 3, predecessor_id: 2, share: null, date: d('2025-07-10') },
    ],
  });
  // out of order on purpose; P1's value on S's first day is not a predecessor's value of before
  const rows = [
    { area_id: 1, name: 'vax_pct', date: d('2025-07-03'), value: 30 },
    { area_id: 1, name: 'vax_pct', date: d('2025-07-01'), value: 10 },
    { area_id: 2, name: 'vax_pct', date: d('2025-07-02'), value: 20 },
    { area_id: 1, name: 'vax_pct', date: d('2025-07-10'), value: 99 },
    { area_id: 9, name: 'vax_pct', date: d('2025-07-02'), value: 1000 },
  ];
  const valueOf = (h: MapHistory, day: string) => {
    const s = new InputSeries(vaxRules(), areasOn(h, d('2025-07-10')) as SeriesArea[], d('2025-07-01'), d('2025-07-12'), noReports, rows, seriesLineage(h, dayNumber, prev));
    const v = s.inputsOn(d(day)).get(3)?.vax;
    return v && 'value' in v ? v.value : null;
  };

  test.each([
    // 1 Jul: only P1, a quarter of the people: none
    ['2025-07-01', 100, 300, null],
    // 2 Jul: P1's 10 (100 people) and P2's 20 (300)
    ['2025-07-02', 100, 300, (10 * 100 + 20 * 300) / 400],
    // 3 Jul: P1's newer 30
    ['2025-07-03', 100, 300, (30 * 100 + 20 * 300) / 400],
    // its first day: still the predecessors' of before (P1's 99 of that day is not one of them)
    ['2025-07-10', 100, 300, (30 * 100 + 20 * 300) / 400],
    // no populations: each predecessor counts the same
    ['2025-07-03', null, null, (30 + 20) / 2],
    // without P2's people, P1 alone is the half
    ['2025-07-01', 100, null, 10],
    // exactly half the people is enough
    ['2025-07-01', 100, 100, 10],
  ])('on %s with populations %s and %s: %s', (day, pop1, pop2, expected) => {
    const v = valueOf(history(pop1, pop2), day);
    if (expected === null) expect(v).toBeNull();
    else expect(v).toBeCloseTo(expected, 9);
  });

  test('no populations, three predecessors: one with a value is a third, under half: none', () => {
    const h = history(null, null);
    h.areas.push({ id: 4, code: 'P3', name: 'P3', kind: 'commune', parent_id: null, population: null, valid_from: null, valid_to: d('2025-07-09'), attributes_from: null });
    h.lineage.push({ area_id: 3, predecessor_id: 4, share: null, date: d('2025-07-10') });
    expect(valueOf(h, '2025-07-01')).toBeNull();
    expect(valueOf(h, '2025-07-02')).toBeCloseTo((10 + 20) / 2, 9);
  });

  test('an area that gave a quarter of itself and went on: its reports before are a quarter the new one’s, after all its own', () => {
    const h: MapHistory = {
      areas: [
        { id: 1, code: 'K', name: 'K', kind: 'commune', parent_id: null, population: 300, valid_from: null, valid_to: null, attributes_from: null },
        { id: 2, code: 'S', name: 'S', kind: 'commune', parent_id: null, population: 100, valid_from: d('2025-07-10'), valid_to: null, attributes_from: null },
      ],
      versions: [],
      lineage: [{ area_id: 2, predecessor_id: 1, share: 0.25, date: d('2025-07-10') }],
    };
    const rs = parseRuleSet({
      name: 'lineage-continuing',
      metrics: { cases_7d: { kind: 'sum', of: 'community_cases', window_days: 7 } },
      levels: [{ kinds: ['commune'], steps: [{ type: 'bands', metric: 'cases_7d', thresholds: [1], levels: ['green', 'red'] }] }],
    });
    if (!rs.ok) throw new Error(JSON.stringify(rs.issues));
    const reports: ReportColumns = {
      length: 2,
      area_id: Int32Array.from([1, 1]),
      day: Int32Array.from([dayNumber(d('2025-07-09')), dayNumber(d('2025-07-11'))]),
      community_cases: Int32Array.from([100, 100]),
      quarantine_cases: new Int32Array(2),
      deaths: new Int32Array(2),
    };
    const s = new InputSeries(rs.value, areasOn(h, d('2025-07-10')) as SeriesArea[], d('2025-07-10'), d('2025-07-11'), reports, [], seriesLineage(h, dayNumber, prev));
    const on = s.inputsOn(d('2025-07-11'));
    const k = on.get(1)?.cases_7d;
    const sv = on.get(2)?.cases_7d;
    expect(k && 'value' in k ? k.value : null).toBeCloseTo(75 + 100, 9);
    expect(sv && 'value' in sv ? sv.value : null).toBeCloseTo(25, 9);
  });
});
