import { addDays, dayNumber, LocalDate } from '../../src/domain/dates';
import { FactTexts, inputSeriesOf, parseIndicators, parseReports, reportColumns } from '../../src/domain/factText';
import { parseRuleSet, RuleSet } from '../../src/domain/rules/definition';

/** The database's compact fact texts ("a,b,c;a,b,c…", see db/inputs.ts) and their parsing. */
const D0 = '2021-07-01' as LocalDate;
const day = (n: number) => addDays(D0, n);

test('empty report columns of a given length', () => {
  const c = reportColumns(3);
  expect(c.length).toBe(3);
  for (const col of [c.area_id, c.day, c.community_cases, c.quarantine_cases, c.deaths]) expect(col).toEqual(new Int32Array(3));
});

describe('parseReports', () => {
  test('rows of area, day offset, community, quarantine, deaths, across texts', () => {
    const c = parseReports({ from: day(0), n: 4, columns: ['community_cases', 'quarantine_cases', 'deaths'], texts: ['12,0,3,1,0;7,2,10,0,1', '7,31,0,4,2', '123456,40,1000,20,3'] });
    const base = dayNumber(day(0));
    expect(c.length).toBe(4);
    expect([...c.area_id]).toEqual([12, 7, 7, 123456]);
    expect([...c.day]).toEqual([base, base + 2, base + 31, base + 40]);
    expect([...c.community_cases]).toEqual([3, 10, 0, 1000]);
    expect([...c.quarantine_cases]).toEqual([1, 0, 4, 20]);
    expect([...c.deaths]).toEqual([0, 1, 2, 3]);
  });

  test('only the columns a rule set reads, in the order given; the others are 0', () => {
    const c = parseReports({ from: day(0), n: 3, columns: ['quarantine_cases', 'deaths'], texts: ['12,0,3,1;7,2,10,0', '7,31,0,4'] });
    expect([...c.area_id]).toEqual([12, 7, 7]);
    expect([...c.quarantine_cases]).toEqual([3, 10, 0]);
    expect([...c.deaths]).toEqual([1, 0, 4]);
    expect([...c.community_cases]).toEqual([0, 0, 0]);
    const one = parseReports({ from: day(0), n: 2, columns: ['community_cases'], texts: ['5,1,9;6,3,0'] });
    expect([...one.day]).toEqual([dayNumber(day(1)), dayNumber(day(3))]);
    expect([...one.community_cases]).toEqual([9, 0]);
  });

  test('no texts: no rows', () => {
    expect(parseReports({ from: day(0), n: 0, columns: ['community_cases'], texts: [] })).toEqual(reportColumns(0));
  });
});

describe('parseIndicators', () => {
  test('rows of area, name index (1-based), day offset, value', () => {
    expect(parseIndicators({ from: day(5), names: ['vacc', 'beds'], text: '3,1,0,55.5;4,2,-3,1;3,2,10,0' })).toEqual([
      { area_id: 3, name: 'vacc', date: day(5), value: 55.5 },
      { area_id: 4, name: 'beds', date: day(2), value: 1 }, // the last row before the span
      { area_id: 3, name: 'beds', date: day(15), value: 0 },
    ]);
  });

  test('no text: no rows', () => {
    expect(parseIndicators({ from: day(5), names: ['vacc'], text: null })).toEqual([]);
  });
});

describe('inputSeriesOf', () => {
  const parsed = parseRuleSet({
    name: 'fact-texts',
    metrics: {
      cases: { kind: 'sum', of: 'community_cases', window_days: 2 },
      vacc: { kind: 'indicator', name: 'vacc', max_age_days: 5 },
    },
    levels: [{ kinds: ['province'], steps: [{ type: 'bands', metric: 'cases', thresholds: [5], levels: ['green', 'red'] }] }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const rs: RuleSet = parsed.value;
  const areas = [{ id: 1, code: 'P', parent_id: null, population: 100 }];

  test('the series of the texts', () => {
    const facts: FactTexts = {
      from: day(1),
      to: day(2),
      reports: { from: day(0), n: 2, columns: ['community_cases'], texts: ['1,0,4;1,2,6'] },
      indicators: { from: day(1), names: ['vacc'], text: '1,1,0,80' },
    };
    const series = inputSeriesOf(rs, areas, facts);
    expect(series.inputsOn(day(1)).get(1)).toEqual({ cases: { value: 4 }, vacc: { value: 80, origin: { from: 'area', date: day(1) } } });
    expect(series.inputsOn(day(2)).get(1)).toEqual({ cases: { value: 6 }, vacc: { value: 80, detail: day(1), origin: { from: 'area', date: day(1) } } });
  });

  test('nothing loaded: every input missing', () => {
    const series = inputSeriesOf(rs, areas, { from: day(1), to: day(1), reports: null, indicators: null });
    expect(series.inputsOn(day(1)).get(1)).toEqual({
      cases: { missing: 'no_reports', detail: 'no report in the last 2 days' },
      vacc: { missing: 'missing_metric:vacc', detail: `no vacc reported on or before ${day(1)}` },
    });
  });
});
