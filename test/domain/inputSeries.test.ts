import fc from 'fast-check';
import { addDays, dayNumber, LocalDate } from '../../src/domain/dates';
import { factNeeds, IndicatorRow, InputSeries, readInputs, ReportColumns, SeriesArea } from '../../src/domain/inputs';
import { MetricDef, parseRuleSet, REPORT_FIELDS, ReportField, RuleSet } from '../../src/domain/rules/definition';
import { Inputs, MetricValue } from '../../src/domain/rules/engine';

/**
 * The input series against a model written from its specification (domain/inputs.ts):
 * for random hierarchies (areas in any order), reports (some outside the span or for
 * unknown areas), indicators (in any order) and rule sets, every area's inputs on every day
 * are what a direct count over the rows gives. Then the edges the model does not reach:
 * what must be loaded (factNeeds), the loaded span, reading packed inputs.
 */

const D0 = '2021-07-01' as LocalDate;
const day = (n: number) => addDays(D0, n);

function ruleSet(metrics: Record<string, unknown>): RuleSet {
  const first = Object.keys(metrics)[0] as string;
  const parsed = parseRuleSet({
    name: 'inputs-model',
    metrics,
    levels: [{ kinds: ['province', 'district', 'commune', 'subcommune'], steps: [{ type: 'bands', metric: first, thresholds: [1], levels: ['green', 'red'] }] }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** [area id, day, community, quarantine, deaths] with days as dates. */
type Report = [number, LocalDate, number, number, number];

function columns(rows: readonly Report[]): ReportColumns {
  const col = (i: 0 | 2 | 3 | 4) => Int32Array.from(rows.map((r) => r[i]));
  return { length: rows.length, area_id: col(0), day: Int32Array.from(rows.map((r) => dayNumber(r[1]))), community_cases: col(2), quarantine_cases: col(3), deaths: col(4) };
}

// ---------------------------------------------------------------------------------------
// The model: the specification, computed the slow way over the rows.

function fieldOf(r: Report, f: ReportField): number {
  return { community_cases: r[2], quarantine_cases: r[3], all_cases: r[2] + r[3], deaths: r[4] }[f];
}

function modelInputs(rs: RuleSet, areas: readonly SeriesArea[], reports: readonly Report[], indicators: readonly IndicatorRow[], date: LocalDate, a: SeriesArea): Inputs {
  const byId = new Map(areas.map((x) => [x.id, x]));
  const parentOf = (x: SeriesArea) => (x.parent_id === null ? undefined : byId.get(x.parent_id));
  const ancestry = (x: SeriesArea) => {
    const out: SeriesArea[] = [];
    for (let y: SeriesArea | undefined = x; y; y = parentOf(y)) out.push(y);
    return out;
  };
  const inSubtree = (id: number) => {
    const x = byId.get(id);
    return x !== undefined && ancestry(x).includes(a);
  };
  const D = dayNumber(date);
  const inWindow = (d: LocalDate, w: number) => dayNumber(d) > D - w && dayNumber(d) <= D;
  const out: Inputs = {};
  for (const [name, m] of Object.entries(rs.metrics) as [string, MetricDef][]) {
    let v: MetricValue;
    switch (m.kind) {
      case 'sum':
      case 'rate_per_100k':
      case 'days_since_last': {
        const w = m.kind === 'days_since_last' ? m.lookback_days : m.window_days;
        const rows = reports.filter((r) => inSubtree(r[0]) && inWindow(r[1], w));
        if (rows.length === 0) {
          v = { missing: 'no_reports', detail: `no report in the last ${w} days` };
        } else if (m.kind === 'days_since_last') {
          const positive = rows.map((r) => r[1]).filter((d) => rows.filter((r) => r[1] === d).reduce((s, r) => s + fieldOf(r, m.of), 0) > 0);
          v = { value: positive.length ? D - Math.max(...positive.map(dayNumber)) : w };
        } else {
          const sum = rows.reduce((s, r) => s + fieldOf(r, m.of), 0);
          if (m.kind === 'sum') v = { value: sum };
          else v = a.population ? { value: (sum * 100_000) / a.population } : { missing: 'no_population', detail: `${a.code} has no population` };
        }
        break;
      }
      case 'indicator': {
        v = { missing: `missing_metric:${m.name}`, detail: `no ${m.name} reported on or before ${date}` };
        for (const x of ancestry(a)) {
          const own = indicators.filter((r) => r.area_id === x.id && r.name === m.name && r.date <= date);
          if (own.length === 0) continue;
          if (!m.inherit && x !== a) break;
          const latest = own.reduce((p, r) => (r.date > p.date ? r : p));
          const back = D - dayNumber(latest.date);
          if (back > m.max_age_days) v = { missing: `stale_metric:${m.name}`, detail: `latest ${m.name} is from ${latest.date}, older than ${m.max_age_days} days` };
          else if (x !== a) v = { value: latest.value, detail: `${latest.date} from ${x.code}`, origin: { from: 'ancestor', code: x.code, date: latest.date } };
          else v = back === 0 ? { value: latest.value, origin: { from: 'area', date } } : { value: latest.value, detail: latest.date, origin: { from: 'area', date: latest.date } };
          break;
        }
        break;
      }
      case 'indicator_sum': {
        const from = m.inherit ? ancestry(a) : [a];
        v = { value: indicators.filter((r) => r.name === m.name && from.some((x) => x.id === r.area_id) && inWindow(r.date, m.window_days)).reduce((s, r) => s + r.value, 0) };
        break;
      }
      case 'population':
        v = a.population ? { value: a.population } : { missing: 'no_population' };
        break;
      case 'count_met':
        continue; // derived when classifying, never an input
    }
    out[name] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Random worlds.

const metricDef: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ kind: fc.constantFrom('sum', 'rate_per_100k'), of: fc.constantFrom(...REPORT_FIELDS), window_days: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('days_since_last'), of: fc.constantFrom(...REPORT_FIELDS), lookback_days: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('indicator'), name: fc.constantFrom('x', 'y'), max_age_days: fc.integer({ min: 0, max: 5 }), inherit: fc.boolean() }),
  fc.record({ kind: fc.constant('indicator_sum'), name: fc.constantFrom('x', 'y'), window_days: fc.integer({ min: 1, max: 6 }), inherit: fc.boolean() }),
  fc.constant({ kind: 'population' }),
);

type World = { rs: RuleSet; areas: SeriesArea[]; from: LocalDate; to: LocalDate; reports: Report[]; indicators: IndicatorRow[] };

const UNKNOWN_AREA = 99;

const world: fc.Arbitrary<World> = fc
  .record({
    metrics: fc.array(metricDef, { minLength: 1, maxLength: 5 }),
    // area k's parent is one of the areas before it (or none, or an area that is not loaded)
    parents: fc.array(fc.nat({ max: 8 }), { minLength: 1, maxLength: 6 }),
    populations: fc.array(fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 200_000 })), { minLength: 6, maxLength: 6 }),
    order: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
    start: fc.integer({ min: 0, max: 3 }),
    days: fc.integer({ min: 0, max: 4 }),
    reports: fc.array(fc.tuple(fc.nat({ max: 6 }), fc.integer({ min: -9, max: 10 }), fc.nat({ max: 5 }), fc.nat({ max: 3 }), fc.nat({ max: 2 })), { maxLength: 25 }),
    indicators: fc.uniqueArray(fc.record({ area: fc.nat({ max: 6 }), name: fc.constantFrom('x', 'y'), day: fc.integer({ min: -9, max: 8 }), value: fc.nat({ max: 9 }) }), {
      maxLength: 14,
      selector: (r) => `${r.area} ${r.name} ${r.day}`,
    }),
  })
  .map(({ metrics, parents, populations, order, start, days, reports, indicators }) => {
    const n = parents.length;
    const id = (k: number) => (k < n ? 10 + k : UNKNOWN_AREA); // ids ≠ indexes
    const areas: SeriesArea[] = parents.map((p, k) => ({
      id: id(k),
      code: `A${k}`,
      parent_id: k === 0 || p >= 7 ? null : p === 6 ? 55 : id(p % k),
      population: populations[k] ?? null,
    }));
    // any order: a child may come before its parent
    const shuffled = areas.map((x, k) => [order[k] ?? 0, k, x] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]).map(([, , x]) => x);
    const from = day(start);
    return {
      rs: ruleSet({ ...Object.fromEntries(metrics.map((m, k) => [`m${k}`, m])), derived: { kind: 'count_met', of: [{ metric: 'm0', op: '>', value: 0 }] } }),
      areas: shuffled,
      from,
      to: addDays(from, days),
      reports: reports.map(([k, d, c, q, x]): Report => [id(k), day(d), c, q, x]),
      indicators: indicators.map((r) => ({ area_id: id(r.area), name: r.name, date: day(r.day), value: r.value })),
    };
  });

describe('the input series agrees with the model', () => {
  test('every area, every day of the span, every metric', () => {
    fc.assert(
      fc.property(world, ({ rs, areas, from, to, reports, indicators }) => {
        // the loaded report rows are those of the days needed (the data layer loads no others)
        const needs = factNeeds(rs, from);
        const loaded = reports.filter((r) => needs.reportsFrom !== null && r[1] >= needs.reportsFrom && r[1] <= to);
        const series = new InputSeries(rs, areas, from, to, columns(loaded), indicators);
        for (let d = from; d <= to; d = addDays(d, 1)) {
          const got = series.inputsOn(d);
          expect([...got.keys()]).toEqual(areas.map((a) => a.id));
          for (const a of areas) expect({ area: a.code, date: d, inputs: got.get(a.id) }).toEqual({ area: a.code, date: d, inputs: modelInputs(rs, areas, loaded, indicators, d, a) });
        }
      }),
      { numRuns: 120 },
    );
  });

  test('days read in any order, and again, read as they do in date order (what a day keeps for the next is only a shortcut)', () => {
    fc.assert(
      fc.property(world, fc.array(fc.nat(40), { minLength: 1, maxLength: 30 }), ({ rs, areas, from, to, reports, indicators }, picks) => {
        const days: LocalDate[] = [];
        for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
        const inOrder = new InputSeries(rs, areas, from, to, columns(reports), indicators);
        const expected = new Map(days.map((d) => [d, inOrder.inputsOn(d)]));
        const any = new InputSeries(rs, areas, from, to, columns(reports), indicators);
        // backwards, a day again, the next day, a jump ahead
        for (const k of picks) {
          const d = days[k % days.length] as LocalDate;
          expect({ date: d, inputs: any.inputsOn(d) }).toEqual({ date: d, inputs: expected.get(d) });
        }
      }),
      { numRuns: 60 },
    );
  });

  test('report rows outside the loaded days, or of areas not loaded, are ignored', () => {
    fc.assert(
      fc.property(world, ({ rs, areas, from, to, reports, indicators }) => {
        const needs = factNeeds(rs, from);
        const inside = (r: Report) => needs.reportsFrom !== null && r[1] >= needs.reportsFrom && r[1] <= to && r[0] !== UNKNOWN_AREA;
        const all = new InputSeries(rs, areas, from, to, columns(reports), indicators);
        const loaded = new InputSeries(rs, areas, from, to, columns(reports.filter(inside)), indicators);
        for (let d = from; d <= to; d = addDays(d, 1)) expect(all.inputsOn(d)).toEqual(loaded.inputsOn(d));
      }),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Examples at the edges.

describe('factNeeds: what must be loaded for days from `from` on', () => {
  const from = day(10);
  test('reports from the widest window back, indicators by name, each from its oldest day', () => {
    const rs = ruleSet({
      a: { kind: 'sum', of: 'deaths', window_days: 7 },
      b: { kind: 'days_since_last', of: 'community_cases', lookback_days: 10 },
      c: { kind: 'rate_per_100k', of: 'all_cases', window_days: 3 },
      v1: { kind: 'indicator', name: 'vacc', max_age_days: 5 },
      v2: { kind: 'indicator', name: 'vacc', max_age_days: 9, inherit: false },
      beds: { kind: 'indicator', name: 'beds', max_age_days: 2 },
      s1: { kind: 'indicator_sum', name: 'unknown', window_days: 4 },
      s2: { kind: 'indicator_sum', name: 'unknown', window_days: 6 },
      s3: { kind: 'indicator_sum', name: 'contact', window_days: 2 },
      p: { kind: 'population' },
      n: { kind: 'count_met', of: [{ metric: 'a', op: '>', value: 1 }] },
    });
    expect(factNeeds(rs, from)).toEqual({
      reportsFrom: day(1), // 10 days ending on the 10th
      reportColumns: ['community_cases', 'quarantine_cases', 'deaths'], // all_cases reads the first two
      indicators: ['vacc', 'beds'],
      indicatorsFrom: day(1), // 9 days back
      sums: ['unknown', 'contact'],
      sumsFrom: day(5), // 6 days ending on the 10th
    });
  });

  test('a one-day window needs that day only; no metric of a kind needs nothing of it', () => {
    expect(factNeeds(ruleSet({ a: { kind: 'sum', of: 'deaths', window_days: 1 } }), from)).toEqual({ reportsFrom: from, reportColumns: ['deaths'], indicators: [], indicatorsFrom: from, sums: [], sumsFrom: from });
    expect(factNeeds(ruleSet({ p: { kind: 'population' } }), from)).toEqual({ reportsFrom: null, reportColumns: [], indicators: [], indicatorsFrom: from, sums: [], sumsFrom: from });
    expect(factNeeds(ruleSet({ v: { kind: 'indicator', name: 'vacc', max_age_days: 0 } }), from)).toEqual({ reportsFrom: null, reportColumns: [], indicators: ['vacc'], indicatorsFrom: from, sums: [], sumsFrom: from });
    expect(factNeeds(ruleSet({ s: { kind: 'indicator_sum', name: 'u', window_days: 3 } }), from)).toEqual({ reportsFrom: null, reportColumns: [], indicators: [], indicatorsFrom: from, sums: ['u'], sumsFrom: day(8) });
    expect(factNeeds(ruleSet({ q: { kind: 'days_since_last', of: 'deaths', lookback_days: 4 } }), from).reportsFrom).toBe(day(7));
    expect(factNeeds(ruleSet({ a: { kind: 'rate_per_100k', of: 'all_cases', window_days: 7 } }), from).reportColumns).toEqual(['community_cases', 'quarantine_cases']);
    expect(factNeeds(ruleSet({ a: { kind: 'sum', of: 'quarantine_cases', window_days: 7 } }), from).reportColumns).toEqual(['quarantine_cases']);
  });
});

describe('the loaded span', () => {
  const areas: SeriesArea[] = [{ id: 1, code: 'P', parent_id: null, population: 1000 }];
  test('the first and the last day can be read, the days around them cannot', () => {
    const rs = ruleSet({ v: { kind: 'indicator', name: 'vacc', max_age_days: 3 } }); // no reports: the span starts at `from`
    const series = new InputSeries(rs, areas, day(2), day(4), columns([]), [{ area_id: 1, name: 'vacc', date: day(2), value: 7 }]);
    expect(series.inputsOn(day(2)).get(1)).toEqual({ v: { value: 7, origin: { from: 'area', date: day(2) } } });
    expect(series.inputsOn(day(4)).get(1)).toEqual({ v: { value: 7, detail: day(2), origin: { from: 'area', date: day(2) } } });
    expect(() => series.inputsOn(day(1))).toThrow(`${day(1)} is outside the loaded span`);
    expect(() => series.inputsOn(day(5))).toThrow(`${day(5)} is outside the loaded span`);
    expect(() => series.packedOn(day(5))).toThrow(/outside the loaded span/);
  });

  test('with reports, the span starts at the widest window back', () => {
    const rs = ruleSet({ s: { kind: 'sum', of: 'community_cases', window_days: 3 } });
    const series = new InputSeries(rs, areas, day(2), day(2), columns([[1, day(0), 4, 0, 0]]), []);
    expect(series.inputsOn(day(2)).get(1)).toEqual({ s: { value: 4 } });
    expect(series.inputsOn(day(0)).get(1)).toEqual({ s: { value: 4 } }); // loaded, though before `from`
    expect(() => series.inputsOn(day(-1))).toThrow(/outside the loaded span/);
  });
});

describe('days since the last case', () => {
  const areas: SeriesArea[] = [{ id: 1, code: 'P', parent_id: null, population: 1000 }];
  test('a case on the first day of the window counts; one before it does not', () => {
    const rs = ruleSet({ q: { kind: 'days_since_last', of: 'deaths', lookback_days: 4 }, s: { kind: 'sum', of: 'deaths', window_days: 9 } });
    const reports: Report[] = [
      [1, day(0), 0, 0, 1], // loaded for s, long before q's window
      [1, day(5), 0, 0, 1], // the first day of q's window on day 8
      [1, day(7), 0, 0, 0],
      [1, day(11), 0, 0, 0],
    ];
    const series = new InputSeries(rs, areas, day(8), day(12), columns(reports), []);
    expect(series.inputsOn(day(8)).get(1)?.q).toEqual({ value: 3 });
    expect(series.inputsOn(day(9)).get(1)?.q).toEqual({ value: 4 }); // none within 4 days: the lookback
    expect(series.inputsOn(day(12)).get(1)?.q).toEqual({ value: 4 }); // reports, but the last case is older
  });

  test('a field read only by days_since_last', () => {
    const rs = ruleSet({ q: { kind: 'days_since_last', of: 'quarantine_cases', lookback_days: 3 } });
    const series = new InputSeries(rs, areas, day(2), day(2), columns([[1, day(0), 0, 2, 0], [1, day(1), 5, 0, 0]]), []);
    expect(series.inputsOn(day(2)).get(1)?.q).toEqual({ value: 2 });
  });
});

describe('indicators', () => {
  const areas: SeriesArea[] = [
    { id: 7, code: 'C', parent_id: 8, population: null },
    { id: 8, code: 'P', parent_id: null, population: 500 },
  ];
  test('a value exactly max_age_days old is still current; one day more is stale', () => {
    const rs = ruleSet({ v: { kind: 'indicator', name: 'vacc', max_age_days: 3 } });
    const series = new InputSeries(rs, areas, day(3), day(4), columns([]), [{ area_id: 7, name: 'vacc', date: day(0), value: 60 }]);
    expect(series.inputsOn(day(3)).get(7)?.v).toEqual({ value: 60, detail: day(0), origin: { from: 'area', date: day(0) } });
    expect(series.inputsOn(day(4)).get(7)?.v).toEqual({ missing: 'stale_metric:vacc', detail: `latest vacc is from ${day(0)}, older than 3 days` });
  });

  test('rows in any order: the latest is the latest date, and sums count each row once', () => {
    const rs = ruleSet({ v: { kind: 'indicator', name: 'u', max_age_days: 9 }, s: { kind: 'indicator_sum', name: 'u', window_days: 3 } });
    const rows: IndicatorRow[] = [
      { area_id: 8, name: 'u', date: day(5), value: 1 },
      { area_id: 8, name: 'u', date: day(1), value: 20 },
      { area_id: 8, name: 'u', date: day(4), value: 300 },
      { area_id: 8, name: 'u', date: day(2), value: 4000 },
    ];
    const series = new InputSeries(rs, areas, day(5), day(6), columns([]), rows);
    expect(series.inputsOn(day(5)).get(8)).toEqual({ v: { value: 1, origin: { from: 'area', date: day(5) } }, s: { value: 301 } });
    expect(series.inputsOn(day(6)).get(8)).toEqual({ v: { value: 1, detail: day(5), origin: { from: 'area', date: day(5) } }, s: { value: 301 } });
  });

  test('an inherited sum includes the top area (the first loaded)', () => {
    const rs = ruleSet({ s: { kind: 'indicator_sum', name: 'u', window_days: 2, inherit: true } });
    const top: SeriesArea[] = [areas[1] as SeriesArea, areas[0] as SeriesArea];
    const series = new InputSeries(rs, top, day(1), day(1), columns([]), [{ area_id: 8, name: 'u', date: day(1), value: 5 }, { area_id: 7, name: 'u', date: day(0), value: 2 }]);
    expect(series.inputsOn(day(1))).toEqual(new Map([[8, { s: { value: 5 } }], [7, { s: { value: 7 } }]]));
  });
});

describe('hierarchies', () => {
  const rs = ruleSet({ s: { kind: 'sum', of: 'community_cases', window_days: 2 } });
  test('a child listed before its parent, and a grandparent listed last, still add up', () => {
    const areas: SeriesArea[] = [
      { id: 2, code: 'D', parent_id: 3, population: null },
      { id: 1, code: 'C', parent_id: 2, population: null },
      { id: 3, code: 'P', parent_id: null, population: null },
    ];
    const series = new InputSeries(rs, areas, day(1), day(1), columns([[1, day(0), 5, 0, 0], [2, day(1), 1, 0, 0]]), []);
    expect(series.inputsOn(day(1))).toEqual(new Map([[2, { s: { value: 6 } }], [1, { s: { value: 5 } }], [3, { s: { value: 6 } }]]));
  });

  test('a parent that is not loaded makes an area a top area', () => {
    const areas: SeriesArea[] = [
      { id: 1, code: 'A', parent_id: null, population: null },
      { id: 2, code: 'B', parent_id: 1, population: null },
      { id: 3, code: 'C', parent_id: 42, population: null },
    ];
    const series = new InputSeries(rs, areas, day(1), day(1), columns([[3, day(1), 4, 0, 0], [2, day(1), 1, 0, 0]]), []);
    expect(series.inputsOn(day(1))).toEqual(new Map([[1, { s: { value: 1 } }], [2, { s: { value: 1 } }], [3, { s: { value: 4 } }]]));
  });

  test('a cycle in the parents (never stored) does not hang the computation', () => {
    const areas: SeriesArea[] = [
      { id: 1, code: 'A', parent_id: 2, population: null },
      { id: 2, code: 'B', parent_id: 1, population: null },
    ];
    const series = new InputSeries(rs, areas, day(1), day(1), columns([[1, day(1), 1, 0, 0]]), []);
    expect(series.inputsOn(day(1)).size).toBe(2);
  });
});

describe('packed inputs, read back', () => {
  const rs = ruleSet({
    q: { kind: 'days_since_last', of: 'deaths', lookback_days: 5 },
    s: { kind: 'sum', of: 'community_cases', window_days: 2 },
    v: { kind: 'indicator', name: 'vacc', max_age_days: 1 },
    p: { kind: 'population' },
    n: { kind: 'count_met', of: [{ metric: 's', op: '>', value: 1 }] },
  });
  const areas: SeriesArea[] = [
    { id: 1, code: 'P', parent_id: null, population: null },
    { id: 2, code: 'C', parent_id: null, population: 900 },
  ];
  const rows: IndicatorRow[] = [
    { area_id: 1, name: 'vacc', date: day(5), value: 70 },
    { area_id: 2, name: 'vacc', date: day(2), value: 10 },
  ];
  // built inside each test (not when the file loads), so that mutation testing sees which tests run it
  const series = () => new InputSeries(rs, areas, day(6), day(6), columns([[2, day(6), 3, 0, 0]]), rows);

  test('one value per stored metric, in name order; count_met is derived, never stored', () => {
    expect(series().packedOn(day(6))).toEqual([
      ['no_population', 'no_reports', 'no_reports', [70, 1]],
      [900, 5, 3, ['stale', 4]],
    ]);
  });

  test('with details: the reasons and dates people read', () => {
    expect(series().inputsOn(day(6)).get(1)).toEqual({
      q: { missing: 'no_reports', detail: 'no report in the last 5 days' },
      s: { missing: 'no_reports', detail: 'no report in the last 2 days' },
      v: { value: 70, detail: day(5), origin: { from: 'area', date: day(5) } },
      p: { missing: 'no_population' },
    });
    expect(series().inputsOn(day(6)).get(2)).toEqual({
      q: { value: 5 },
      s: { value: 3 },
      v: { missing: 'stale_metric:vacc', detail: `latest vacc is from ${day(2)}, older than 1 days` },
      p: { value: 900 },
    });
  });

  test('without details: values and reasons only', () => {
    const [top, commune] = series().packedOn(day(6)) as [never, never];
    expect(readInputs(rs, day(6), 'P', top, false)).toEqual({ q: { missing: 'no_reports' }, s: { missing: 'no_reports' }, v: { value: 70 }, p: { missing: 'no_population' } });
    expect(readInputs(rs, day(6), 'C', commune, false)).toEqual({ q: { value: 5 }, s: { value: 3 }, v: { missing: 'stale_metric:vacc' }, p: { value: 900 } });
  });

  test('an inherited value names the area it comes from; a shorter packed list reads what it has', () => {
    expect(readInputs(rs, day(6), 'C', [900, 0, 3, [12, 2, 'P']])).toEqual({ p: { value: 900 }, q: { value: 0 }, s: { value: 3 }, v: { value: 12, detail: `${day(4)} from P`, origin: { from: 'ancestor', code: 'P', date: day(4) } } });
    expect(readInputs(rs, day(6), 'C', [900, 0, 3, [12, 2, 'P']], false)).toEqual({ p: { value: 900 }, q: { value: 0 }, s: { value: 3 }, v: { value: 12 } });
    expect(readInputs(rs, day(6), 'C', [900, 0])).toEqual({ p: { value: 900 }, q: { value: 0 } });
    expect(readInputs(rs, day(6), 'C', [])).toEqual({});
  });
});
