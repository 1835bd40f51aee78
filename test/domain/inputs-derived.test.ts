import fc from 'fast-check';
import { AreaKind } from '../../src/domain/areas';
import { addDays, dayNumber, LocalDate } from '../../src/domain/dates';
import { DERIVATION_MIN_SHARE, IndicatorRow, indicatorAggregate, InputSeries, PackedValue, readInputs, ReportColumns, SeriesArea } from '../../src/domain/inputs';
import { readStoredInputs } from '../../src/db/storedInputs';
import { MetricDef, parseRuleSet, RuleSet } from '../../src/domain/rules/definition';
import { PRESETS } from '../../src/domain/rules/presets';
import { MetricValue } from '../../src/domain/rules/engine';

/**
 * Indicators derived up the hierarchy (docs/RULES.md, Indicators): a district or province
 * with no current value of its own nor from an ancestor takes the population-weighted mean,
 * the minimum or the maximum of its children's own or derived values; a derivation covering
 * under half of the children's population is `partial_metric:<name>`; never reported is
 * `missing_metric:<name>`, reported but too old `stale_metric:<name>`. Pure: no database.
 */

const D0 = '2021-07-01' as LocalDate;
const day = (n: number) => addDays(D0, n);
const NO_REPORTS: ReportColumns = { length: 0, area_id: new Int32Array(0), day: new Int32Array(0), community_cases: new Int32Array(0), quarantine_cases: new Int32Array(0), deaths: new Int32Array(0) };

function ruleSet(metrics: Record<string, unknown>): RuleSet {
  const parsed = parseRuleSet({
    name: 'derived-fixture',
    metrics,
    levels: [{ kinds: ['province', 'district', 'commune', 'subcommune'], steps: [{ type: 'bands', metric: Object.keys(metrics)[0], thresholds: [1], levels: ['green', 'red'] }] }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/**
 * P (province, 1,000 people)
 * ├─ D1 (district, 600) ─ C1 (commune, 400) ─ S1 (subcommune, 100), S2 (subcommune, 300)
 * │                     └ C2 (commune, 200)
 * ├─ D2 (district, 300) ─ C3 (commune, 300)
 * └─ D3 (district, 100)
 */
const AREAS: SeriesArea[] = [
  { id: 1, code: 'P', parent_id: null, population: 1000, kind: 'province' },
  { id: 2, code: 'D1', parent_id: 1, population: 600, kind: 'district' },
  { id: 3, code: 'D2', parent_id: 1, population: 300, kind: 'district' },
  { id: 4, code: 'D3', parent_id: 1, population: 100, kind: 'district' },
  { id: 5, code: 'C1', parent_id: 2, population: 400, kind: 'commune' },
  { id: 6, code: 'C2', parent_id: 2, population: 200, kind: 'commune' },
  { id: 7, code: 'C3', parent_id: 3, population: 300, kind: 'commune' },
  { id: 8, code: 'S1', parent_id: 5, population: 100, kind: 'subcommune' },
  { id: 9, code: 'S2', parent_id: 5, population: 300, kind: 'subcommune' },
];
const ID = new Map(AREAS.map((a) => [a.code, a.id]));

const VACC = { kind: 'indicator', name: 'vaccination_18plus_1dose_pct', max_age_days: 7 };
const CAP = { kind: 'indicator', name: 'treatment_capacity_ok', max_age_days: 7 };

/** Rows of `name` on `date`: area code → value. */
const rows = (name: string, n: number, values: Record<string, number>): IndicatorRow[] =>
  Object.entries(values).map(([code, value]) => ({ area_id: ID.get(code) as number, name, date: day(n), value }));

/** The inputs of one area on day n. */
function inputsOf(rs: RuleSet, indicators: IndicatorRow[], n: number, code: string, areas = AREAS) {
  return new InputSeries(rs, areas, day(n), day(n), NO_REPORTS, indicators).inputsOn(day(n)).get(ID.get(code) as number);
}

describe('the aggregate of an indicator metric', () => {
  test('defaults to the catalogue: weighted mean for percentages, minimum for flags, none for counts and unknown names', () => {
    const rs = ruleSet({ a: VACC, b: CAP, c: { kind: 'indicator', name: 'community_cases_high_contact' }, d: { kind: 'indicator', name: 'beds_free' } });
    const agg = (k: string) => indicatorAggregate(rs.metrics[k] as Extract<MetricDef, { kind: 'indicator' }>);
    expect([agg('a'), agg('b'), agg('c'), agg('d')]).toEqual(['population_weighted_mean', 'min', 'none', 'none']);
  });

  test('is stated explicitly by the presets, as DOMAIN.md says', () => {
    const stated: Record<string, string> = {};
    for (const id of ['vn-moh-4800-2021', 'vn-moh-218-2022', 'us-cdc-transmission-2021', 'eu-ecdc-combined-2021']) {
      for (const m of Object.values((PRESETS[id] as RuleSet).metrics)) if (m.kind === 'indicator') stated[`${id} ${m.name}`] = m.aggregate as string;
    }
    expect(stated).toEqual({
      'vn-moh-4800-2021 vaccination_18plus_1dose_pct': 'population_weighted_mean',
      'vn-moh-4800-2021 vaccination_65plus_full_pct': 'population_weighted_mean',
      'vn-moh-4800-2021 treatment_capacity_ok': 'min',
      'vn-moh-218-2022 vaccination_18plus_full_pct': 'population_weighted_mean',
      'vn-moh-218-2022 treatment_capacity_ok': 'min',
      'us-cdc-transmission-2021 test_positivity_pct': 'population_weighted_mean',
      'eu-ecdc-combined-2021 test_positivity_pct': 'population_weighted_mean',
      'eu-ecdc-combined-2021 tests_per_100k_week': 'population_weighted_mean',
    });
  });

  test('an unknown aggregate or a non-boolean aggregate_from_subcommunes is refused with its path', () => {
    const bad = parseRuleSet({ name: 'x', metrics: { v: { ...VACC, aggregate: 'median' } }, levels: [{ kinds: ['commune'], steps: [{ type: 'bands', metric: 'v', thresholds: [1], levels: ['green', 'red'] }] }] });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues[0]?.path).toBe('metrics.v.aggregate');
    const worse = parseRuleSet({ name: 'x', metrics: { v: { ...VACC, aggregate_from_subcommunes: 'yes' } }, levels: [{ kinds: ['commune'], steps: [{ type: 'bands', metric: 'v', thresholds: [1], levels: ['green', 'red'] }] }] });
    expect(!worse.ok && worse.issues[0]?.path).toBe('metrics.v.aggregate_from_subcommunes');
  });
});

describe('derivation from the children', () => {
  const rs = ruleSet({ v: VACC, cap: CAP, top: { ...CAP, aggregate: 'max' }, off: { ...VACC, aggregate: 'none' } });

  test('a province takes the population-weighted mean of its districts, saying from how many and how much of the population', () => {
    const ind = rows('vaccination_18plus_1dose_pct', 0, { D1: 80, D2: 50, D3: 20 });
    expect(inputsOf(rs, ind, 2, 'P')?.v).toEqual({
      value: (80 * 600 + 50 * 300 + 20 * 100) / 1000,
      detail: 'derived from 3 of 3 children (100.0% of their population), population-weighted mean',
      origin: { from: 'children', children: 3, of: 3, population_share: 1, method: 'population_weighted_mean' },
    });
    // a metric that says "none" is never derived
    expect(inputsOf(rs, ind, 2, 'P')?.off).toEqual({ missing: 'missing_metric:vaccination_18plus_1dose_pct', detail: `no vaccination_18plus_1dose_pct reported on or before ${day(2)}` });
  });

  test('children without population are left out of a weighted mean, and of the share', () => {
    const areas = AREAS.map((a) => (a.code === 'D3' ? { ...a, population: null } : a));
    const ind = rows('vaccination_18plus_1dose_pct', 0, { D1: 80, D3: 0 });
    expect(inputsOf(rs, ind, 0, 'P', areas)?.v).toMatchObject({ value: 80, origin: { children: 1, of: 3, population_share: 0.666, method: 'population_weighted_mean' } });
  });

  test('a flag takes the minimum (every child met) or, when the metric says so, the maximum', () => {
    const ind = rows('treatment_capacity_ok', 0, { D1: 1, D2: 0, D3: 1 });
    expect(inputsOf(rs, ind, 0, 'P')?.cap).toMatchObject({ value: 0, origin: { children: 3, of: 3, method: 'min' } });
    expect(inputsOf(rs, ind, 0, 'P')?.top).toMatchObject({ value: 1, origin: { children: 3, of: 3, method: 'max' }, detail: 'derived from 3 of 3 children (100.0% of their population), maximum' });
    const met = rows('treatment_capacity_ok', 0, { D1: 1, D2: 1 });
    expect(inputsOf(rs, met, 0, 'P')?.cap).toMatchObject({ value: 1, origin: { children: 2, of: 3, population_share: 0.9 } });
  });

  test('children covering under half of the population give no value, with the reason partial_metric', () => {
    const ind = rows('vaccination_18plus_1dose_pct', 0, { D2: 90, D3: 90 }); // 400 of 1,000
    expect(inputsOf(rs, ind, 0, 'P')?.v).toEqual({
      missing: 'partial_metric:vaccination_18plus_1dose_pct',
      detail: '2 of 3 children have a current vaccination_18plus_1dose_pct, covering 40.0% of their population (under half): not derived',
    });
    // exactly half is enough
    expect(DERIVATION_MIN_SHARE).toBe(0.5);
    const halves: SeriesArea[] = [
      { id: 1, code: 'P', parent_id: null, population: 100, kind: 'province' },
      { id: 2, code: 'D1', parent_id: 1, population: 50, kind: 'district' },
      { id: 3, code: 'D2', parent_id: 1, population: 50, kind: 'district' },
    ];
    expect(inputsOf(rs, rows('vaccination_18plus_1dose_pct', 0, { D1: 70 }), 0, 'P', halves)?.v).toMatchObject({ value: 70, origin: { children: 1, of: 2, population_share: 0.5 } });
  });

  test('children older than max_age_days are left out; when all are, the reason is stale_metric with the newest date', () => {
    const ind = [...rows('vaccination_18plus_1dose_pct', 0, { D1: 80, D2: 50 }), ...rows('vaccination_18plus_1dose_pct', 5, { D2: 60, D3: 40 })];
    // day 8: D1 (day 0) is 8 days old, past 7: only D2 and D3 (400 of 1,000) — partial
    expect(inputsOf(rs, ind, 8, 'P')?.v).toMatchObject({ missing: 'partial_metric:vaccination_18plus_1dose_pct' });
    // day 7: all three current
    expect(inputsOf(rs, ind, 7, 'P')?.v).toMatchObject({ value: (80 * 600 + 60 * 300 + 40 * 100) / 1000 });
    // day 13: all too old
    expect(inputsOf(rs, ind, 13, 'P')?.v).toEqual({ missing: 'stale_metric:vaccination_18plus_1dose_pct', detail: `latest vaccination_18plus_1dose_pct is from ${day(5)}, older than 7 days` });
  });

  test('a value of the area itself or of an ancestor wins over a derivation', () => {
    const ind = [...rows('vaccination_18plus_1dose_pct', 0, { P: 33, C1: 90, C2: 90 }), ...rows('vaccination_18plus_1dose_pct', 1, { D1: 44 })];
    expect(inputsOf(rs, ind, 0, 'D1')?.v).toMatchObject({ value: 33, origin: { from: 'ancestor', code: 'P' } });
    expect(inputsOf(rs, ind, 1, 'D1')?.v).toMatchObject({ value: 44, origin: { from: 'area' } });
    expect(inputsOf(rs, ind, 1, 'P')?.v).toMatchObject({ value: 33, origin: { from: 'area', date: day(0) } });
  });

  test('a stale value of the area or an ancestor gives way to a derivation', () => {
    const ind = [...rows('vaccination_18plus_1dose_pct', -30, { P: 33, D1: 10 }), ...rows('vaccination_18plus_1dose_pct', 0, { C1: 90, C2: 60, D2: 50 })];
    expect(inputsOf(rs, ind, 0, 'D1')?.v).toMatchObject({ value: 80, origin: { from: 'children', children: 2, of: 2 } });
    // P from D1's derived value and D2's own; never from its own stale 33
    expect(inputsOf(rs, ind, 0, 'P')?.v).toMatchObject({ value: (80 * 600 + 50 * 300) / 900, origin: { children: 2, of: 3, population_share: 0.9 } });
  });

  test('derivation runs bottom-up: a province from its districts derived from their communes', () => {
    const ind = rows('vaccination_18plus_1dose_pct', 0, { C1: 90, C2: 60, C3: 30 });
    expect(inputsOf(rs, ind, 0, 'D1')?.v).toMatchObject({ value: 80 });
    expect(inputsOf(rs, ind, 0, 'D2')?.v).toMatchObject({ value: 30, origin: { children: 1, of: 1 } });
    expect(inputsOf(rs, ind, 0, 'P')?.v).toMatchObject({ value: (80 * 600 + 30 * 300) / 900, origin: { children: 2, of: 3, population_share: 0.9 } });
    // a commune keeps its own value
    expect(inputsOf(rs, ind, 0, 'C1')?.v).toMatchObject({ value: 90 });
  });

  test('a commune never derives from its subcommunes unless the metric says so', () => {
    const ind = rows('vaccination_18plus_1dose_pct', 0, { S1: 20, S2: 60 });
    expect(inputsOf(rs, ind, 0, 'C1')?.v).toEqual({ missing: 'missing_metric:vaccination_18plus_1dose_pct', detail: `no vaccination_18plus_1dose_pct reported on or before ${day(0)}` });
    // nor does the district above it get anything from them
    expect(inputsOf(rs, ind, 0, 'D1')?.v).toMatchObject({ missing: 'missing_metric:vaccination_18plus_1dose_pct' });
    const sub = ruleSet({ v: { ...VACC, aggregate_from_subcommunes: true } });
    expect(inputsOf(sub, ind, 0, 'C1')?.v).toMatchObject({ value: 50, origin: { from: 'children', children: 2, of: 2, population_share: 1 } });
    expect(inputsOf(sub, ind, 0, 'D1')?.v).toMatchObject({ value: 50, origin: { children: 1, of: 2, population_share: 0.666 } });
  });

  test('a subcommune never derives, and an area without a kind neither', () => {
    const sub = ruleSet({ v: { ...VACC, aggregate_from_subcommunes: true } });
    const areas: SeriesArea[] = [
      { id: 1, code: 'X', parent_id: null, population: 10 },
      { id: 2, code: 'Y', parent_id: 1, population: 10, kind: 'district' },
    ];
    expect(new InputSeries(sub, areas, day(0), day(0), NO_REPORTS, [{ area_id: 2, name: 'vaccination_18plus_1dose_pct', date: day(0), value: 5 }]).inputsOn(day(0)).get(1)?.v).toMatchObject({
      missing: 'missing_metric:vaccination_18plus_1dose_pct',
    });
  });
});

describe('missing or stale', () => {
  const rs = ruleSet({ v: VACC });
  test('never reported for the area, its ancestors or its children: missing_metric', () => {
    expect(inputsOf(rs, [], 0, 'P')?.v).toEqual({ missing: 'missing_metric:vaccination_18plus_1dose_pct', detail: `no vaccination_18plus_1dose_pct reported on or before ${day(0)}` });
    expect(inputsOf(rs, [], 0, 'C2')?.v).toMatchObject({ missing: 'missing_metric:vaccination_18plus_1dose_pct' });
    // a value dated after the day does not count
    expect(inputsOf(rs, rows('vaccination_18plus_1dose_pct', 3, { P: 1 }), 0, 'C2')?.v).toMatchObject({ missing: 'missing_metric:vaccination_18plus_1dose_pct' });
  });

  test('reported, but too old (its own, an ancestor’s, or its children’s): stale_metric', () => {
    const old = rows('vaccination_18plus_1dose_pct', -20, { P: 1 });
    expect(inputsOf(rs, old, 0, 'C2')?.v).toEqual({ missing: 'stale_metric:vaccination_18plus_1dose_pct', detail: `latest vaccination_18plus_1dose_pct is from ${day(-20)}, older than 7 days` });
    const below = [...rows('vaccination_18plus_1dose_pct', -20, { P: 1 }), ...rows('vaccination_18plus_1dose_pct', -10, { C3: 1 })];
    expect(inputsOf(rs, below, 0, 'P')?.v).toMatchObject({ missing: 'stale_metric:vaccination_18plus_1dose_pct', detail: `latest vaccination_18plus_1dose_pct is from ${day(-10)}, older than 7 days` });
    // a commune does not look at its subcommunes, old or not
    expect(inputsOf(rs, rows('vaccination_18plus_1dose_pct', -10, { S1: 1 }), 0, 'C1')?.v).toMatchObject({ missing: 'missing_metric:vaccination_18plus_1dose_pct' });
  });

  test('a current value deep below that cannot be used makes the derivation partial, not stale', () => {
    // C3's value is current but C3 has no population: no weight in D2's mean, so D2 has nothing, and P neither
    const areas = AREAS.map((a) => (a.code === 'C3' ? { ...a, population: null } : a));
    const ind = rows('vaccination_18plus_1dose_pct', 0, { C3: 30 });
    expect(inputsOf(rs, ind, 0, 'D2', areas)?.v).toMatchObject({ missing: 'partial_metric:vaccination_18plus_1dose_pct', detail: expect.stringContaining('0 of 1 children') });
    expect(inputsOf(rs, ind, 0, 'P', areas)?.v).toMatchObject({ missing: 'partial_metric:vaccination_18plus_1dose_pct' });
  });
});

describe('the packed form', () => {
  const rs = ruleSet({ v: VACC, cap: CAP });

  test('is compact: derived values carry value, children used, children, share and method; reasons are short', () => {
    const ind = [...rows('vaccination_18plus_1dose_pct', 0, { D1: 80, D2: 50, D3: 20 }), ...rows('treatment_capacity_ok', -20, { D1: 1 })];
    const packed = new InputSeries(rs, AREAS, day(2), day(2), NO_REPORTS, ind).packedOn(day(2));
    // name order: cap, v
    expect(packed[0]).toEqual([['stale', 22], [65, 3, 3, 1, 'mean']]);
    expect(packed[4]).toEqual([['stale', 22], [80, 2, 'D1']]);
    expect(packed[8]).toEqual([['stale', 22], [80, 2, 'D1']]); // inherited down from D1
    expect(new InputSeries(rs, AREAS, day(2), day(2), NO_REPORTS, []).packedOn(day(2))[8]).toEqual(['missing', 'missing']);
    const few = new InputSeries(rs, AREAS, day(2), day(2), NO_REPORTS, rows('vaccination_18plus_1dose_pct', 0, { D3: 90 })).packedOn(day(2));
    expect(few[0]).toEqual(['missing', ['partial', 1, 3, 0.1]]);
    expect(JSON.stringify(packed[0])).toBe('[["stale",22],[65,3,3,1,"mean"]]');
  });

  test('is read back without details as values and reasons only', () => {
    expect(readInputs(rs, day(2), 'P', [['partial', 1, 3, 0.4], [59, 3, 3, 1, 'mean']], false)).toEqual({ cap: { missing: 'partial_metric:treatment_capacity_ok' }, v: { value: 59 } });
    expect(readInputs(rs, day(2), 'P', ['missing', 'stale'], false)).toEqual({ cap: { missing: 'missing_metric:treatment_capacity_ok' }, v: { missing: 'stale_metric:vaccination_18plus_1dose_pct' } });
  });

  test('rows stored before derivation existed still read as they did (a bare "stale" is stale), with their origin', () => {
    const old: PackedValue[] = ['stale', [80, 2, 'D1']];
    expect(readStoredInputs(rs, day(2), 'C1', old)).toEqual({
      cap: { missing: 'stale_metric:treatment_capacity_ok', detail: `no treatment_capacity_ok on or before ${day(2)}` },
      v: { value: 80, detail: `${day(0)} from D1`, origin: { from: 'ancestor', code: 'D1', date: day(0) } },
    });
    expect(readStoredInputs(rs, day(2), 'C1', [['stale', 9], [75, 1]])).toEqual({
      cap: { missing: 'stale_metric:treatment_capacity_ok', detail: `latest treatment_capacity_ok is from ${day(-7)}, older than 7 days` },
      v: { value: 75, detail: day(1), origin: { from: 'area', date: day(1) } },
    });
    expect(readStoredInputs(rs, day(2), 'C1', [1, 75])).toEqual({ cap: { value: 1, origin: { from: 'area', date: day(2) } }, v: { value: 75, origin: { from: 'area', date: day(2) } } });
  });

  test('a derived value read back names its method', () => {
    expect(readInputs(rs, day(2), 'P', [[0, 2, 5, 0.512, 'min'], [61.5, 4, 5, 0.999, 'max']])).toEqual({
      cap: { value: 0, detail: 'derived from 2 of 5 children (51.2% of their population), minimum', origin: { from: 'children', children: 2, of: 5, population_share: 0.512, method: 'min' } },
      v: { value: 61.5, detail: 'derived from 4 of 5 children (99.9% of their population), maximum', origin: { from: 'children', children: 4, of: 5, population_share: 0.999, method: 'max' } },
    });
  });

  test('the stored share is floored, so that a derivation never looks better covered than it was', () => {
    const areas: SeriesArea[] = [
      { id: 1, code: 'P', parent_id: null, population: null, kind: 'province' },
      { id: 2, code: 'A', parent_id: 1, population: 2, kind: 'district' },
      { id: 3, code: 'B', parent_id: 1, population: 1, kind: 'district' },
    ];
    const packed = new InputSeries(rs, areas, day(0), day(0), NO_REPORTS, [{ area_id: 2, name: 'vaccination_18plus_1dose_pct', date: day(0), value: 9 }]).packedOn(day(0));
    expect(packed[0]?.[1]).toEqual([9, 1, 2, 0.666, 'mean']);
  });
});

// ---------------------------------------------------------------------------------------
// Against a model: random trees with kinds, random indicators, every area and day.

type Tree = { areas: SeriesArea[]; rows: IndicatorRow[]; metric: Record<string, unknown>; from: LocalDate; to: LocalDate };

/** The specification, the slow way: recursive, over the rows. */
function model(t: Tree, m: Extract<MetricDef, { kind: 'indicator' }>, a: SeriesArea, date: LocalDate): MetricValue {
  const D = dayNumber(date);
  const byId = new Map(t.areas.map((x) => [x.id, x]));
  const latest = (x: SeriesArea) => t.rows.filter((r) => r.area_id === x.id && r.date <= date).sort((p, q) => (p.date < q.date ? 1 : -1))[0];
  const agg = indicatorAggregate(m);
  const derives = (x: SeriesArea) => agg !== 'none' && (x.kind === 'province' || x.kind === 'district' || (x.kind === 'commune' && m.aggregate_from_subcommunes === true));
  const children = (x: SeriesArea) => t.areas.filter((c) => c.parent_id === x.id);
  const pop = (x: SeriesArea) => x.population ?? 0;
  type Own = { value: number | null; newest: number | null; used: number; valued: number; of: number; share: number };
  const ownOrDerived = (x: SeriesArea): Own => {
    const r = latest(x);
    let newest = r ? dayNumber(r.date) : null;
    const fresh = r && D - dayNumber(r.date) <= m.max_age_days ? r.value : null;
    const kids = children(x);
    const got = derives(x) ? kids.map(ownOrDerived) : [];
    for (const g of got) if (g.newest !== null && (newest === null || g.newest > newest)) newest = g.newest;
    const out: Own = { value: fresh, newest, used: 0, valued: 0, of: kids.length, share: 0 };
    if (!derives(x) || fresh !== null) return out;
    const valued = kids.filter((_, k) => got[k]?.value !== null);
    const used = agg === 'population_weighted_mean' ? valued.filter((c) => pop(c) > 0) : valued;
    const valueOf = (c: SeriesArea) => got[kids.indexOf(c)]?.value as number;
    out.valued = valued.length;
    out.used = used.length;
    if (used.length === 0) return out;
    const all = kids.reduce((s, c) => s + pop(c), 0);
    out.share = all > 0 ? Math.min(1, used.reduce((s, c) => s + pop(c), 0) / all) : used.length / kids.length;
    if (out.share < 0.5) return out;
    if (agg === 'min') out.value = Math.min(...used.map(valueOf));
    else if (agg === 'max') out.value = Math.max(...used.map(valueOf));
    else out.value = used.reduce((s, c) => s + pop(c) * valueOf(c), 0) / used.reduce((s, c) => s + pop(c), 0);
    return out;
  };
  // the chain: the nearest area with any value decides, then its age
  let stale: number | null = null;
  let depth = 0;
  for (let x: SeriesArea | undefined = a; x; x = x.parent_id === null ? undefined : byId.get(x.parent_id), depth++) {
    const r = latest(x);
    if (!r) continue;
    if (!m.inherit && depth > 0) break;
    if (D - dayNumber(r.date) > m.max_age_days) {
      stale = dayNumber(r.date);
      break;
    }
    return { value: r.value };
  }
  if (derives(a)) {
    const o = ownOrDerived(a);
    if (o.value !== null) return { value: o.value, origin: { from: 'children', children: o.used, of: o.of, population_share: Math.floor(o.share * 1000) / 1000, method: agg as 'min' } };
    if (o.valued > 0 || (o.newest !== null && D - o.newest <= m.max_age_days)) return { missing: `partial_metric:${m.name}` };
    if (o.newest !== null && (stale === null || o.newest > stale)) stale = o.newest;
  }
  return { missing: `${stale === null ? 'missing' : 'stale'}_metric:${m.name}` };
}

const KINDS: AreaKind[] = ['province', 'district', 'commune', 'subcommune'];

const tree: fc.Arbitrary<Tree> = fc
  .record({
    parents: fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 12 }),
    populations: fc.array(fc.oneof(fc.constant(null), fc.constant(0), fc.integer({ min: 1, max: 1000 })), { minLength: 12, maxLength: 12 }),
    rows: fc.uniqueArray(fc.record({ area: fc.nat({ max: 11 }), day: fc.integer({ min: -10, max: 6 }), value: fc.integer({ min: 0, max: 100 }) }), { maxLength: 40, selector: (r) => `${r.area} ${r.day}` }),
    aggregate: fc.constantFrom('population_weighted_mean', 'min', 'max', 'none', undefined),
    sub: fc.boolean(),
    inherit: fc.boolean(),
    maxAge: fc.integer({ min: 0, max: 6 }),
    start: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ parents, populations, rows, aggregate, sub, inherit, maxAge, start }) => {
    // area k's parent is an earlier area (kinds go down by one) or none
    const depth: number[] = [];
    const areas = parents.map((p, k): SeriesArea => {
      const parent = k === 0 || p >= 15 ? null : p % k;
      depth[k] = parent === null ? Math.min(3, p % 4) : Math.min(3, (depth[parent] as number) + 1);
      return { id: 10 + k, code: `A${k}`, parent_id: parent === null ? null : 10 + parent, population: populations[k] ?? null, kind: KINDS[depth[k] as number] as AreaKind };
    });
    const from = day(start);
    return {
      areas,
      rows: rows.filter((r) => r.area < areas.length).map((r) => ({ area_id: 10 + r.area, name: 'vaccination_18plus_1dose_pct', date: day(r.day), value: r.value })),
      metric: { kind: 'indicator', name: 'vaccination_18plus_1dose_pct', max_age_days: maxAge, inherit, aggregate_from_subcommunes: sub, ...(aggregate ? { aggregate } : {}) },
      from,
      to: addDays(from, 3),
    };
  });

test('every area, every day: the derivation agrees with the model', () => {
  fc.assert(
    fc.property(tree, (t) => {
      const rs = ruleSet({ v: t.metric });
      const m = rs.metrics.v as Extract<MetricDef, { kind: 'indicator' }>;
      const series = new InputSeries(rs, t.areas, t.from, t.to, NO_REPORTS, t.rows);
      for (let d = t.from; d <= t.to; d = addDays(d, 1)) {
        const got = series.inputsOn(d);
        for (const a of t.areas) {
          const v = got.get(a.id)?.v as MetricValue;
          const want = model(t, m, a, d);
          const seen: MetricValue = 'missing' in v ? { missing: v.missing } : v.origin?.from === 'children' ? { value: v.value, origin: v.origin } : { value: v.value };
          if ('value' in want && 'value' in seen) {
            expect(seen.value).toBeCloseTo(want.value, 9);
            expect({ ...seen, value: 0 }).toEqual({ ...want, value: 0 });
          } else expect([d, a.code, seen]).toEqual([d, a.code, want]);
        }
      }
    }),
    { numRuns: 300 },
  );
});
