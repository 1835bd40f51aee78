import { AreaKind } from '../../../src/domain/areas';
import { classify, Inputs } from '../../../src/domain/rules/engine';
import { PRESETS } from '../../../src/domain/rules/presets';
import { LevelOrUnknown } from '../../../src/domain/levels';

/**
 * Golden tests: every preset against the official tables (docs/RULES.md, Presets), cell by cell and at
 * every band edge (just below, at, just above each threshold). The tables are written
 * below as the official tables print them, so a reader can check one against the other.
 */
type Values = Record<string, number | null>;

function inputs(values: Values): Inputs {
  const out: Inputs = {};
  for (const [k, v] of Object.entries(values)) out[k] = v === null ? { missing: `stale_metric:${k}` } : { value: v };
  return out;
}

function level(preset: string, values: Values, kind: AreaKind = 'commune', children: LevelOrUnknown[] = []) {
  const rs = PRESETS[preset];
  if (!rs) throw new Error(`no preset ${preset}`);
  return classify(rs, kind, inputs(values), children);
}

/** Values just below, at and just above each threshold, with the band each falls in. */
function edges(thresholds: number[], eps = 0.01): { value: number; band: number }[] {
  const out = [{ value: 0, band: 0 }];
  thresholds.forEach((t, i) => {
    out.push({ value: t - eps, band: i }, { value: t, band: i + 1 }, { value: t + eps, band: i + 1 });
  });
  out.push({ value: thresholds[thresholds.length - 1]! * 3, band: thresholds.length });
  return out;
}

describe('vn-moh-4800-2021', () => {
  // the official table: criterion 1 (rows) × coverage ≥ 70 % | < 70 %
  const TABLE: Record<number, [LevelOrUnknown, LevelOrUnknown]> = {
    0: ['green', 'yellow'], // < 20
    1: ['yellow', 'orange'], // 20 – < 50
    2: ['orange', 'red'], // 50 – < 150
    3: ['orange', 'red'], // ≥ 150
  };
  const incidence = edges([20, 50, 150]);
  const coverage = [
    { value: 0, high: false },
    { value: 69.99, high: false },
    { value: 70, high: true },
    { value: 70.01, high: true },
    { value: 100, high: true },
  ];
  const cells = incidence.flatMap((i) => coverage.map((c) => [i.value, c.value, TABLE[i.band]![c.high ? 0 : 1]] as const));

  test.each(cells)('incidence %p, one-dose coverage %p → %s', (inc, cov, expected) => {
    const r = level('vn-moh-4800-2021', { community_incidence_7d: inc, vaccination_18plus_1dose_pct: cov });
    expect(r.level).toBe(expected);
    expect(r.explanation.map((e) => e.note).join(' | ')).toMatch(/not assessed .*vaccination_65plus_full_pct < 80.*\| not assessed .*treatment_capacity_ok == 0/);
  });

  test.each([
    // base, 65+ full, capacity ok → expected: each adjustment raises one level, capped at red
    ['green', 79.99, 1, 'yellow'],
    ['green', 80, 1, 'green'],
    ['green', 80.01, 0, 'yellow'],
    ['green', 50, 0, 'orange'],
    ['yellow', 79.99, 0, 'red'],
    ['orange', 10, 0, 'red'],
    ['red', 10, 0, 'red'],
  ] as const)('%s base, 65+ fully vaccinated %p %%, capacity ok %p → %s', (base, elderly, capacity, expected) => {
    const baseInputs: Record<string, Values> = {
      green: { community_incidence_7d: 5, vaccination_18plus_1dose_pct: 90 },
      yellow: { community_incidence_7d: 30, vaccination_18plus_1dose_pct: 90 },
      orange: { community_incidence_7d: 100, vaccination_18plus_1dose_pct: 90 },
      red: { community_incidence_7d: 200, vaccination_18plus_1dose_pct: 40 },
    };
    const r = level('vn-moh-4800-2021', { ...baseInputs[base], vaccination_65plus_full_pct: elderly, treatment_capacity_ok: capacity });
    expect(r.explanation[0]?.result).toBe(base);
    expect(r.level).toBe(expected);
  });

  test('criterion 2 is required: missing or stale coverage → unknown with the reason', () => {
    const r = level('vn-moh-4800-2021', { community_incidence_7d: 5, vaccination_18plus_1dose_pct: null });
    expect(r).toMatchObject({ level: 'unknown', reason: 'stale_metric:vaccination_18plus_1dose_pct' });
    const noPop = classify(PRESETS['vn-moh-4800-2021']!, 'commune', { community_incidence_7d: { missing: 'no_population' }, vaccination_18plus_1dose_pct: { value: 90 } });
    expect(noPop).toMatchObject({ level: 'unknown', reason: 'no_population' });
  });

  test.each([
    ['Ba Đình', 259],
    ['Đống Đa', 228],
    ['Hai Bà Trưng', 273],
  ])('Hà Nội 24 Dec 2021: %s at %p per 100k with ~98%% coverage was Cấp 3 (orange)', (_district, incidence) => {
    const r = level('vn-moh-4800-2021', { community_incidence_7d: incidence, vaccination_18plus_1dose_pct: 98 }, 'district');
    expect(r.level).toBe('orange');
  });

  test('Long An 23 Oct 2021: no red communes, but the province stayed Cấp 2 on 51.59% of 65+ fully vaccinated', () => {
    const r = level('vn-moh-4800-2021', { community_incidence_7d: 12.4, vaccination_18plus_1dose_pct: 86, vaccination_65plus_full_pct: 51.59, treatment_capacity_ok: 1 }, 'province');
    expect(r.level).toBe('yellow');
    expect(r.explanation[1]?.note).toMatch(/vaccination_65plus_full_pct < 80: raise by 1, green → yellow/);
  });

  test('explanations carry the margins to the neighbouring bands', () => {
    const r = level('vn-moh-4800-2021', { community_incidence_7d: 42, vaccination_18plus_1dose_pct: 65 });
    expect(r.explanation[0]?.margins).toEqual([
      { metric: 'community_incidence_7d', value: 42, next_up: 50, next_down: 20 },
      { metric: 'vaccination_18plus_1dose_pct', value: 65, next_up: 70, next_down: null },
    ]);
  });
});

describe('vn-moh-218-2022', () => {
  // the official table: transmission (rows) × capacity high | medium | low
  const TABLE: Record<number, [LevelOrUnknown, LevelOrUnknown, LevelOrUnknown]> = {
    0: ['green', 'green', 'yellow'], // transmission 1: < 20
    1: ['green', 'yellow', 'orange'], // 2: 20 – < 150
    2: ['yellow', 'orange', 'red'], // 3: 150 – < 600
    3: ['orange', 'red', 'red'], // 4: ≥ 600
  };
  const capacities = [
    { full: 75, ok: 1, col: 0 }, // high: both met (75 is met)
    { full: 90, ok: 0, col: 1 }, // medium: coverage only
    { full: 74.99, ok: 1, col: 1 }, // medium: capacity only
    { full: 74.99, ok: 0, col: 2 }, // low: none
  ];
  const cells = edges([20, 150, 600]).flatMap((t) => capacities.map((c) => [t.value, c.full, c.ok, TABLE[t.band]![c.col]] as const));

  test.each(cells)('all cases %p per 100k, full-dose %p %%, capacity ok %p → %s', (inc, full, ok, expected) => {
    expect(level('vn-moh-218-2022', { all_incidence_7d: inc, vaccination_18plus_full_pct: full, treatment_capacity_ok: ok }).level).toBe(expected);
  });

  test('a missing capacity input makes the level unknown', () => {
    expect(level('vn-moh-218-2022', { all_incidence_7d: 10, vaccination_18plus_full_pct: 80, treatment_capacity_ok: null })).toMatchObject({
      level: 'unknown',
      reason: 'stale_metric:treatment_capacity_ok',
    });
  });
});

describe('vn-2686-2021', () => {
  const commune = (cases: number, incidence: number | null, unknownSource = 0, highContact = 0) =>
    level('vn-2686-2021', { community_cases_14d: cases, community_incidence_14d: incidence, unknown_source_14d: unknownSource, high_contact_14d: highContact }).level;

  test.each([
    ['no community case', 0, 0, 0, 0, 'green'],
    ['one case, 0.5 per 100k', 1, 0.5, 0, 0, 'yellow'],
    ['one case, exactly 1 per 100k (not above 1)', 1, 1, 0, 0, 'yellow'],
    ['cases just above 1 per 100k', 2, 1.01, 0, 0, 'orange'],
    ['many cases', 40, 35, 0, 0, 'orange'],
    ['a case of unknown source', 1, 0.5, 1, 0, 'red'],
    ['a case in a high-contact setting', 1, 0.5, 0, 1, 'red'],
    ['both', 3, 2, 2, 1, 'red'],
  ] as const)('commune: %s → %s', (_name, cases, inc, us, hc, expected) => {
    expect(commune(cases, inc, us, hc)).toBe(expected);
  });

  const n = (red: number, orange: number, yellow: number, green: number): LevelOrUnknown[] => [
    ...Array<LevelOrUnknown>(red).fill('red'),
    ...Array<LevelOrUnknown>(orange).fill('orange'),
    ...Array<LevelOrUnknown>(yellow).fill('yellow'),
    ...Array<LevelOrUnknown>(green).fill('green'),
  ];
  test.each([
    ['30% of children red', n(3, 0, 0, 7), 'red'],
    ['29% red (just below 30%; green is held by ≥ 30%)', n(29, 0, 0, 71), 'green'],
    ['50% orange or red', n(2, 3, 0, 5), 'red'],
    ['49% orange or red', n(0, 49, 0, 51), 'orange'],
    ['30% yellow is the worst held by ≥ 30%', n(1, 1, 3, 5), 'yellow'],
    ['20% orange, 20% yellow: 40% are yellow or worse', n(0, 2, 2, 6), 'yellow'],
    ['2 red, 2 orange, 6 green (DOMAIN.md): 40% are orange or worse', n(2, 2, 0, 6), 'orange'],
    ['20% red, 20% yellow: 20% orange or worse, 40% yellow or worse', n(2, 0, 2, 6), 'yellow'],
    ['10% each of red, orange, yellow: 30% yellow or worse', n(1, 1, 1, 7), 'yellow'],
    ['10% red, 10% orange, 80% green: nothing but green held by 30% at or worse', n(1, 1, 0, 8), 'green'],
    ['all green', n(0, 0, 0, 8), 'green'],
  ] as const)('district roll-up: %s → %s', (_name, children, expected) => {
    expect(level('vn-2686-2021', {}, 'district', [...children]).level).toBe(expected);
  });

  test('unknown children are not counted; all unknown → unknown', () => {
    expect(level('vn-2686-2021', {}, 'province', ['red', 'red', 'green', 'green', 'unknown', 'unknown']).level).toBe('red');
    expect(level('vn-2686-2021', {}, 'district', ['unknown', 'unknown'])).toMatchObject({ level: 'unknown', reason: 'no_children_levels' });
  });

  test('a commune without population is unknown once the incidence rule is reached', () => {
    expect(level('vn-2686-2021', { community_cases_14d: 2, community_incidence_14d: null, unknown_source_14d: 0, high_contact_14d: 0 }).level).toBe('unknown');
    // …but a case of unknown source decides red before the rate is needed
    expect(level('vn-2686-2021', { community_cases_14d: 2, community_incidence_14d: null, unknown_source_14d: 1, high_contact_14d: 0 }).level).toBe('red');
  });
});

describe('us-cdc-transmission-2021', () => {
  const LEVEL = ['green', 'yellow', 'orange', 'red'] as const; // low, moderate, substantial, high
  const cases = edges([10, 50, 100]);
  const positivity = edges([5, 8, 10]);
  const cells = cases.flatMap((c) => positivity.map((p) => [c.value, p.value, LEVEL[Math.max(c.band, p.band)]] as const));

  test.each(cells)('cases %p per 100k, positivity %p %% → %s (the higher)', (c, p, expected) => {
    expect(level('us-cdc-transmission-2021', { all_incidence_7d: c, test_positivity_pct: p }).level).toBe(expected);
  });

  test.each(cases.map((c) => [c.value, LEVEL[c.band]] as const))('positivity missing: cases %p alone → %s', (c, expected) => {
    expect(level('us-cdc-transmission-2021', { all_incidence_7d: c, test_positivity_pct: null }).level).toBe(expected);
  });

  test.each(positivity.map((p) => [p.value, LEVEL[p.band]] as const))('cases missing: positivity %p alone → %s', (p, expected) => {
    expect(level('us-cdc-transmission-2021', { all_incidence_7d: null, test_positivity_pct: p }).level).toBe(expected);
  });

  test('both missing → unknown', () => {
    expect(level('us-cdc-transmission-2021', { all_incidence_7d: null, test_positivity_pct: null }).level).toBe('unknown');
  });
});

describe('eu-ecdc-combined-2021', () => {
  // the official table: green if R < 25 and P < 4; yellow if R < 50 and P ≥ 4, or 25 ≤ R < 150 and
  // P < 4; orange if R ≥ 50 and P ≥ 4, or 150 ≤ R < 500; red if R ≥ 500.
  const expected = (r: number, p: number): LevelOrUnknown => {
    if (r >= 500) return 'red';
    if ((r >= 50 && p >= 4) || (r >= 150 && r < 500)) return 'orange';
    if ((r < 50 && p >= 4) || (r >= 25 && r < 150 && p < 4)) return 'yellow';
    return 'green';
  };
  const rates = edges([25, 50, 150, 500]).map((e) => e.value);
  const positivity = edges([4]).map((e) => e.value);
  const cells = rates.flatMap((r) => positivity.map((p) => [r, p, expected(r, p)] as const));

  test.each(cells)('R %p per 100k over 14 days, P %p %% → %s', (r, p, want) => {
    expect(level('eu-ecdc-combined-2021', { all_incidence_14d: r, test_positivity_pct: p, tests_per_100k_week: 1000 }).level).toBe(want);
  });

  test.each([
    [300, 'unknown'],
    [299.99, 'unknown'],
    [300.01, 'green'],
  ] as const)('weekly tests %p per 100k → %s', (tests, want) => {
    const r = level('eu-ecdc-combined-2021', { all_incidence_14d: 10, test_positivity_pct: 1, tests_per_100k_week: tests });
    expect(r.level).toBe(want);
    if (want === 'unknown') expect(r.reason).toBe('insufficient_testing');
  });

  test('missing positivity or rate → unknown (ECDC grey)', () => {
    expect(level('eu-ecdc-combined-2021', { all_incidence_14d: 10, test_positivity_pct: null, tests_per_100k_week: 1000 }).level).toBe('unknown');
    expect(level('eu-ecdc-combined-2021', { all_incidence_14d: null, test_positivity_pct: 1, tests_per_100k_week: 1000 }).level).toBe('unknown');
    expect(level('eu-ecdc-combined-2021', { all_incidence_14d: 10, test_positivity_pct: 1, tests_per_100k_week: null }).level).toBe('unknown');
  });
});
