import { classifiedDaysIn, levelsBefore } from '../../src/db/levels';
import { LocalDate } from '../../src/domain/dates';
import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * Whether an area had a level on an earlier day (the change feed's "first level"), read by
 * day (zone_levels has no index by area): by the classified day before when the area has a
 * level on it, else by its first day — as known at an instant.
 */
const ctx = testContext();
afterAll(() => ctx.close());

const AT = { d1: '2021-10-05T00:00:00Z', d2: '2021-10-06T00:00:00Z', d3: '2021-10-07T00:00:00Z' };

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  await ctx.http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'vn-2686-2021' }).expect(201);
  // 1 October: C11, C12, C21; 2 October: C11 and C21 (not C12); 3 October: C11, C12, C21 — each day computed at its own instant; C22 never
  const days: [string, string, string[]][] = [
    ['2021-10-01', AT.d1, ['C11', 'C12', 'C21']],
    ['2021-10-02', AT.d2, ['C11', 'C21']],
    ['2021-10-03', AT.d3, ['C11', 'C12', 'C21']],
  ];
  for (const [date, at, codes] of days) {
    await ctx.db.knex.raw(
      `INSERT INTO zone_levels (area_id, date, level, raw_level, rule_set_id, inputs, computed_at)
       SELECT id, ?::date, 'green', 'green', 'vn-2686-2021@1', '[]'::json, ?::timestamptz FROM areas WHERE code = ANY(?::text[])`,
      [date, at, codes],
    );
  }
});

const pair = (code: string, date: string) => ({ code, date: date as LocalDate });

test('by the day before, by an earlier day, or none', async () => {
  const pairs = [
    pair('C11', '2021-10-02'), // the day before has it
    pair('C12', '2021-10-03'), // not the day before: its first day, 1 October, is earlier
    pair('C12', '2021-10-01'), // its first day
    pair('C21', '2021-10-01'),
    pair('C22', '2021-10-03'), // never classified
    pair('NOPE', '2021-10-03'), // no such area
    pair('C11', '2021-12-01'), // days later: the classified day before is 3 October
  ];
  expect([...(await levelsBefore(ctx.db.knex, pairs, null))].sort()).toEqual(['C11|2021-10-02', 'C11|2021-12-01', 'C12|2021-10-03']);
});

test('as known at an instant: a day computed later is not seen', async () => {
  const before3 = new Date('2021-10-06T12:00:00Z');
  const pairs = [pair('C12', '2021-10-04'), pair('C11', '2021-10-04'), pair('C12', '2021-10-02'), pair('C22', '2021-10-04')];
  // on 4 October the classified day before is the 3rd, computed after the instant: C11 is found on the 2nd, C12 on the 1st
  expect([...(await levelsBefore(ctx.db.knex, pairs, before3))].sort()).toEqual(['C11|2021-10-04', 'C12|2021-10-02', 'C12|2021-10-04']);
  // before anything was computed: nothing
  expect((await levelsBefore(ctx.db.knex, pairs, new Date('2021-10-04T00:00:00Z'))).size).toBe(0);
});

test('the classified days of a span, by a skip scan: none, the edges included, any width', async () => {
  const days = async (from: string, to: string) => [...(await classifiedDaysIn(ctx.db.knex, from as LocalDate, to as LocalDate))].sort();
  expect(await days('2021-10-01', '2021-10-03')).toEqual(['2021-10-01', '2021-10-02', '2021-10-03']);
  expect(await days('2021-10-02', '2021-10-02')).toEqual(['2021-10-02']);
  expect(await days('2021-10-02', '2021-10-09')).toEqual(['2021-10-02', '2021-10-03']);
  expect(await days('2021-09-01', '2021-10-01')).toEqual(['2021-10-01']);
  expect(await days('0001-01-01', '9999-12-31')).toEqual(['2021-10-01', '2021-10-02', '2021-10-03']);
  expect(await days('2021-10-04', '2021-12-31')).toEqual([]);
  expect(await days('2021-09-01', '2021-09-30')).toEqual([]);
  expect(await days('2021-10-03', '2021-10-01')).toEqual([]);
});
