import { loadAreas, loadInputSeries } from '../../src/db/inputs';
import { LocalDate } from '../../src/domain/dates';
import { storedMetrics } from '../../src/domain/inputs';
import { RuleSet } from '../../src/domain/rules/definition';
import { PRESETS } from '../../src/domain/rules/presets';
import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * The indicators a recomputation reads (db/inputs.ts loadIndicators), through the database:
 * a value of the span, a value from before the span (its last row there: too old, it makes
 * the value `stale` rather than `missing`), the newest row before the span rather than an
 * older one, and an indicator never reported (`missing`). Areas that report no indicator
 * inherit their district's value or staleness.
 */
const ctx = testContext();
afterAll(() => ctx.close());

const DAY = '2021-10-01' as LocalDate;
const RULES = PRESETS['vn-moh-4800-2021'] as RuleSet;
const ONE_DOSE = 'vaccination_18plus_1dose_pct';

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  const rows: [string, string, string, number][] = [
    ['D1', ONE_DOSE, '2021-05-01', 10], // older than D1's last row before the span: not the one read
    ['D1', ONE_DOSE, '2021-06-01', 40], // 122 days before DAY: too old (max_age_days 14)
    ['D2', ONE_DOSE, '2021-07-01', 20], // before the span; D2's newer row below decides
    ['D2', ONE_DOSE, '2021-09-28', 80], // 3 days before DAY, in the span (DAY - 14 … DAY)
    ['C22', ONE_DOSE, DAY, 65], // on the day itself (D2's own value decides for D2: it derives only without one)
  ];
  for (const [code, name, date, value] of rows) {
    await ctx.db.knex.raw('INSERT INTO metrics (area_id, name, date, value) SELECT id, ?, ?, ? FROM areas WHERE code = ?', [name, date, value, code]);
  }
});

test('values of the span, the last value before it, and none at all', async () => {
  const areas = await loadAreas(ctx.db.knex, DAY);
  const series = await loadInputSeries(ctx.db.knex, RULES, areas, DAY, DAY);
  const packed = series.packedOn(DAY);
  const names = storedMetrics(RULES).map(([n]) => n);
  const at = (code: string, name: string) => packed[areas.findIndex((a) => a.code === code)]?.[names.indexOf(name)];
  expect(at('D1', ONE_DOSE)).toEqual(['stale', 122]);
  expect(at('C11', ONE_DOSE)).toEqual(['stale', 122]); // inherits D1's staleness
  expect(at('C22', ONE_DOSE)).toBe(65); // its own, reported that day
  expect(at('D2', ONE_DOSE)).toEqual([80, 3]);
  expect(at('C21', ONE_DOSE)).toEqual([80, 3, 'D2']); // inherited from D2
  for (const code of ['D1', 'C11', 'D2', 'C21']) expect(at(code, 'vaccination_65plus_full_pct')).toBe('missing');
});
