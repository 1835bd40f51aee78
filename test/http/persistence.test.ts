import { addDays, dateRange, LocalDate } from '../../src/domain/dates';
import { ingestReports } from '../../src/ingest/ingest';
import { PRESET_INPUTS } from '../../src/domain/rules/presets';
import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/** Persistence through recomputation: a de-escalation waits, goes one step at a time, and shows as pending. */
const ctx = testContext();
const http = () => ctx.http();
const day = (n: number) => addDays('2021-11-01' as LocalDate, n - 1);
afterAll(() => ctx.close());

beforeAll(async () => {
  await ctx.reset();
  await http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  const metrics = [1, 8, 15].flatMap((n) =>
    ['D1', 'D2'].flatMap((area) => [
      { area, date: day(n), name: 'vaccination_18plus_1dose_pct', value: 90 },
      { area, date: day(n), name: 'vaccination_65plus_full_pct', value: 90 },
      { area, date: day(n), name: 'treatment_capacity_ok', value: 1 },
    ]),
  );
  await http().post('/v1/metrics').set('Content-Type', 'application/json').send({ metrics }).expect(200);
  // C11 (10,000 people): 10 community cases a day for a week, then none
  const reports = Array.from({ length: 20 }, (_, i) => ({ area: 'C11', date: day(i + 1), community_cases: i < 7 ? 10 : 0, quarantine_cases: 0 }));
  await http().post('/v1/reports').set('Content-Type', 'application/json').send({ reports }).expect(200);
  const def = { ...JSON.parse(JSON.stringify(PRESET_INPUTS['vn-moh-4800-2021'])), name: 'persist-test', persistence: { deescalate_after_days: 3, max_step_down: 1 } };
  await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send(def).expect(201);
  await http().post('/v1/rule-sets/persist-test@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ from: day(1), to: day(20) }).expect(200);
});

test('de-escalation waits three days, steps down one level at a time', async () => {
  const h = (await http().get(`/v1/zones/C11/history?from=${day(1)}&to=${day(20)}`).expect(200)).body;
  const levels = h.days.map((d: { level: string }) => d.level[0]).join('');
  // raw: orange while the 7-day window holds cases (days 1–13), green from day 14
  expect(levels).toBe('ooooooooooooooo' + 'yyy' + 'gg');
  expect(h.changes.map((c: { date: string; from: string; to: string }) => [c.date, c.from, c.to])).toEqual([
    [day(1), 'unknown', 'orange'], // nothing was computed for the day before
    [day(16), 'orange', 'yellow'],
    [day(19), 'yellow', 'green'],
  ]);
  const pending = (await http().get(`/v1/zones/C11?date=${day(15)}`).expect(200)).body;
  expect(pending).toMatchObject({ level: 'orange', pending: { direction: 'down', target: 'yellow', days: 2, needed: 3 } });
  expect(pending.explanation[0].result).toBe('green'); // the rules alone say green
});

/**
 * A range run keeps each day's state in memory and loads facts in blocks of 92 days; a run of
 * one day reads the day before from the store. Both must store exactly the same rows,
 * across block boundaries, and a second run must write nothing.
 */
test('a 100-day range run (across a block of 92 days) stores what 100 one-day runs store, and again writes nothing', async () => {
  // a second wave in C12 (days 90–96) so that levels and persistence move across the block boundary at day 93
  const reports = Array.from({ length: 15 }, (_, i) => ({ area: 'C12', date: day(i + 86), community_cases: i >= 4 && i < 11 ? 25 : 0, quarantine_cases: 0 }));
  await ingestReports(ctx.db, { json: reports }, '2100-01-01' as LocalDate);
  const snapshot = async () =>
    (
      await ctx.db.knex.raw<{ rows: unknown[] }>(
        `SELECT area_id, date::text, level, raw_level, reason, since::text, rule_set_id, inputs, children, pending, persistence
         FROM zone_levels ORDER BY date, area_id`,
      )
    ).rows;

  await ctx.db.knex.raw('TRUNCATE level_chunks');
  const ranged = await ctx.rt.recomputations.range(day(1), day(100), null);
  expect(ranged.map((r) => r.date)).toEqual(dateRange(day(1), day(100)));
  const byRange = await snapshot();

  await ctx.db.knex.raw('TRUNCATE level_chunks');
  for (const d of dateRange(day(1), day(100))) await ctx.rt.recomputations.day(d);
  const byDay = await snapshot();

  expect(byRange).toHaveLength(100 * (await ctx.db.knex('areas').count<{ c: number }[]>('* as c'))[0]!.c);
  expect(byDay).toEqual(byRange);
  const levels = new Set(byRange.map((r) => (r as { level: string }).level));
  expect(levels.size).toBeGreaterThanOrEqual(3); // the days are not all alike

  const again = await ctx.rt.recomputations.range(day(1), day(100), null);
  expect(again.reduce((n, r) => n + r.written, 0)).toBe(0);
});
