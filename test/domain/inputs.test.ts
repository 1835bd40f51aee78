import { addDays, dayNumber, LocalDate } from '../../src/domain/dates';
import { IndicatorRow, InputSeries, readInputs, ReportColumns, SeriesArea } from '../../src/domain/inputs';
import { readStoredInputs } from '../../src/db/storedInputs';
import { parseRuleSet, RuleSet } from '../../src/domain/rules/definition';

/**
 * The input series, fixture by fixture: a small hierarchy, a few reports and indicators,
 * and the inputs each area must get on given days — values, reasons and the details a
 * person reads. Pure: no database.
 */
const parsed = parseRuleSet({
  name: 'inputs-fixture',
  metrics: {
    inc7: { kind: 'rate_per_100k', of: 'community_cases', window_days: 7 },
    all3: { kind: 'sum', of: 'all_cases', window_days: 3 },
    deaths3: { kind: 'sum', of: 'deaths', window_days: 3 },
    quiet: { kind: 'days_since_last', of: 'community_cases', lookback_days: 10 },
    vacc: { kind: 'indicator', name: 'vacc', max_age_days: 7, inherit: true },
    beds: { kind: 'indicator', name: 'beds', max_age_days: 7, inherit: false },
    unknown7: { kind: 'indicator_sum', name: 'unknown_source', window_days: 7 },
    unknown7_up: { kind: 'indicator_sum', name: 'unknown_source', window_days: 7, inherit: true },
    people: { kind: 'population' },
    met: { kind: 'count_met', of: [{ metric: 'vacc', op: '>=', value: 50 }] },
  },
  levels: [{ kinds: ['province', 'district', 'commune'], steps: [{ type: 'bands', metric: 'inc7', thresholds: [20, 50, 150], levels: ['green', 'yellow', 'orange', 'red'] }] }],
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
const RS: RuleSet = parsed.value;

const AREAS: SeriesArea[] = [
  { id: 1, code: 'P', parent_id: null, population: 100_000 },
  { id: 2, code: 'D', parent_id: 1, population: 60_000 },
  { id: 3, code: 'C1', parent_id: 2, population: 10_000 },
  { id: 4, code: 'C2', parent_id: 2, population: 50_000 },
  { id: 5, code: 'C3', parent_id: 1, population: null },
];

const D0 = '2021-07-01' as LocalDate;
const day = (n: number) => addDays(D0, n);

/** [area id, day offset, community, quarantine, deaths] */
const REPORTS: [number, number, number, number, number][] = [
  [3, 0, 5, 1, 0],
  [3, 2, 3, 0, 1],
  [3, 9, 0, 2, 0],
  [4, 1, 10, 0, 0],
  [4, 9, 0, 0, 0],
  [2, 9, 4, 0, 0], // a report filed for the district itself counts for it, not its communes
];

function columns(rows: [number, number, number, number, number][]): ReportColumns {
  const col = (i: number) => Int32Array.from(rows.map((r) => r[i] as number));
  return { length: rows.length, area_id: col(0), day: Int32Array.from(rows.map((r) => dayNumber(day(r[1])))), community_cases: col(2), quarantine_cases: col(3), deaths: col(4) };
}

const INDICATORS: IndicatorRow[] = [
  { area_id: 2, name: 'vacc', date: day(0), value: 40 },
  { area_id: 2, name: 'vacc', date: day(7), value: 55 },
  { area_id: 3, name: 'vacc', date: day(8), value: 80 },
  { area_id: 1, name: 'beds', date: day(0), value: 1 },
  { area_id: 2, name: 'beds', date: day(-30), value: 0 }, // long before the span: still the nearest
  { area_id: 3, name: 'unknown_source', date: day(4), value: 2 },
  { area_id: 3, name: 'unknown_source', date: day(9), value: 3 },
  { area_id: 2, name: 'unknown_source', date: day(8), value: 7 },
];

// built inside each test (not when the file loads), so that mutation testing sees which tests run it
const series = () => new InputSeries(RS, AREAS, day(0), day(10), columns(REPORTS), INDICATORS);
const on = (n: number, code: string) => {
  const id = AREAS.find((a) => a.code === code)?.id as number;
  return series().inputsOn(day(n)).get(id);
};

test.each([
  // day, area, metric, expected
  [0, 'C1', 'inc7', { value: 50 }], // 5 cases / 10,000 people
  [2, 'C1', 'inc7', { value: 80 }],
  [2, 'C1', 'all3', { value: 9 }], // 5+1 on day 0, 3 on day 2
  [3, 'C1', 'all3', { value: 3 }], // day 0 has left the 3-day window
  [2, 'C1', 'deaths3', { value: 1 }],
  [6, 'C1', 'all3', { missing: 'no_reports', detail: 'no report in the last 3 days' }],
  [2, 'D', 'inc7', { value: 30 }], // its communes' 18 cases / 60,000
  [9, 'D', 'inc7', { value: (4 * 100_000) / 60_000 }], // days 3–9: only its own report of day 9 has cases
  [1, 'P', 'inc7', { value: 15 }], // all 15 cases below it / 100,000
  [2, 'C3', 'inc7', { missing: 'no_reports', detail: 'no report in the last 7 days' }],
  [2, 'C1', 'quiet', { value: 0 }],
  [8, 'C1', 'quiet', { value: 6 }],
  [9, 'C1', 'quiet', { value: 7 }], // a report without community cases does not reset it
  [9, 'C2', 'quiet', { value: 8 }],
  [1, 'D', 'quiet', { value: 0 }],
  [0, 'C1', 'vacc', { value: 40, detail: `${day(0)} from D`, origin: { from: 'ancestor', code: 'D', date: day(0) } }], // inherited from the district
  [6, 'C2', 'vacc', { value: 40, detail: `${day(0)} from D`, origin: { from: 'ancestor', code: 'D', date: day(0) } }],
  [7, 'C1', 'vacc', { value: 55, detail: `${day(7)} from D`, origin: { from: 'ancestor', code: 'D', date: day(7) } }],
  [8, 'C1', 'vacc', { value: 80, origin: { from: 'area', date: day(8) } }], // its own, of the day
  [10, 'C1', 'vacc', { value: 80, detail: day(8), origin: { from: 'area', date: day(8) } }], // its own, two days old
  [3, 'P', 'vacc', { missing: 'missing_metric:vacc', detail: `no vacc reported on or before ${day(3)}` }], // never inherited downwards (and P has no kind: no derivation)
  [0, 'P', 'beds', { value: 1, origin: { from: 'area', date: day(0) } }],
  [8, 'P', 'beds', { missing: 'stale_metric:beds', detail: `latest beds is from ${day(0)}, older than 7 days` }],
  [0, 'D', 'beds', { missing: 'stale_metric:beds', detail: `latest beds is from ${day(-30)}, older than 7 days` }],
  [0, 'C1', 'beds', { missing: 'missing_metric:beds', detail: `no beds reported on or before ${day(0)}` }], // not inherited: never reported for C1
  [9, 'C1', 'unknown7', { value: 5 }],
  [10, 'C1', 'unknown7', { value: 5 }],
  [10, 'C1', 'unknown7_up', { value: 12 }], // with the district's 7
  [3, 'C1', 'unknown7', { value: 0 }], // absent days count as zero
  [2, 'C3', 'people', { missing: 'no_population' }],
  [2, 'C1', 'people', { value: 10_000 }],
  [2, 'C3', 'unknown7_up', { value: 0 }],
])('day %i, %s: %s', (n, code, metric, expected) => {
  expect(on(n, code)?.[metric]).toEqual(expected);
});

test('a rate for an area without population is missing, with the reason', () => {
  const s = new InputSeries(RS, AREAS, day(0), day(0), columns([[5, 0, 3, 0, 0]]), []);
  expect(s.inputsOn(day(0)).get(5)?.inc7).toEqual({ missing: 'no_population', detail: 'C3 has no population' });
});

test('derived metrics are not stored; every stored metric is, in name order', () => {
  const packed = series().packedOn(day(7));
  expect(packed).toHaveLength(AREAS.length);
  expect(packed[2]).toHaveLength(Object.keys(RS.metrics).length - 1);
  const read = readInputs(RS, day(7), 'C1', packed[2] as never);
  expect(Object.keys(read)).toEqual(['all3', 'beds', 'deaths3', 'inc7', 'people', 'quiet', 'unknown7', 'unknown7_up', 'vacc']);
});

test('stored inputs read without details carry values and reasons only', () => {
  const packed = series().packedOn(day(8))[2] as never;
  const bare = readInputs(RS, day(8), 'C1', packed, false);
  const full = readInputs(RS, day(8), 'C1', packed);
  for (const [name, v] of Object.entries(full)) {
    expect(bare[name]).toEqual('value' in v ? { value: v.value } : { missing: v.missing });
  }
});

test('inputs stored before the compact form are read as they are', () => {
  const old = { inc7: { value: 12 }, vacc: { missing: 'stale_metric:vacc', detail: 'anything' } };
  expect(readStoredInputs(RS, day(0), 'C1', old)).toBe(old);
});

test('a date outside the loaded span is refused', () => {
  expect(() => series().inputsOn(day(11))).toThrow(/outside the loaded span/);
});
