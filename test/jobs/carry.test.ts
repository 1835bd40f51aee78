import { LevelSession, RunStart, withLevelSession } from '../../src/db/levelWriter';
import { addDays, LocalDate } from '../../src/domain/dates';
import { Recomputations } from '../../src/jobs/recomputations';
import { recomputeIn, RunCarry } from '../../src/jobs/recompute/run';
import { testContext } from '../helpers/context';
import { getRuleSet } from '../../src/db/rulesets';
import { firstIndicatorDay } from '../../src/db/inputs';
import { factNeeds as needsOf } from '../../src/domain/inputs';

/** The first days of the reports and indicators a cold read of `from`'s facts starts on. */
async function factNeeds(first: RunStart['first'], from: LocalDate): Promise<{ reports: LocalDate | null; indicators: LocalDate }> {
  const rs = (await getRuleSet(ctx.db.knex, first.ruleSetId)).definition;
  const n = needsOf(rs, from);
  return { reports: n.reportsFrom, indicators: firstIndicatorDay(n) };
}

/**
 * What a run keeps for the next one in the same process (run.ts `RunCarry`): the daily job
 * starts from the day before as the last run left it, and from the map it had, only while
 * their stamps show them to be what is stored. Each case ends with another process's run
 * of the same day (a new Recomputations, nothing kept), which writes a row only where it
 * computes something else: it writes nothing when the kept run stored what a cold one would.
 */
const ctx = testContext();
afterAll(() => ctx.close());

const END = '2021-10-31' as LocalDate;
const FROM = addDays(END, -20);

beforeEach(() => ctx.demo(END));

/** Runs [from, to] with `carry`, answering what the run's start read. */
async function runWith(carry: RunCarry, from: LocalDate, to: LocalDate): Promise<Pick<RunStart, 'map' | 'previous' | 'first'>> {
  let seen: Pick<RunStart, 'map' | 'previous' | 'first'> | null = null;
  await withLevelSession(ctx.db, (s) => {
    const watched: LevelSession = {
      ...s,
      writers: s.writers,
      start: async (...args) => {
        const r = await s.start(...args);
        seen = { map: r.map, previous: r.previous, first: r.first };
        return r;
      },
    };
    return recomputeIn(watched, { from, to, jobId: null, stopping: () => false, carry });
  });
  return seen as unknown as Pick<RunStart, 'map' | 'previous' | 'first'>;
}

/** What another process's run of `date` writes (0: what is stored is what it computes). */
const writtenByAnother = async (date: LocalDate) => (await new Recomputations(ctx.db).day(date)).written;

test('the next day starts from the kept day and map, and stores what a cold run would', async () => {
  const carry: RunCarry = { map: null, day: null };
  const first = await runWith(carry, FROM, addDays(END, -1));
  expect(first.map).not.toBeNull();
  expect(first.previous).not.toBeNull();
  expect(carry.day?.date).toBe(addDays(END, -1));
  const next = await runWith(carry, END, END);
  // neither the map nor the day before was read again
  expect(next.map).toBeNull();
  expect(next.previous).toBeNull();
  expect(carry.day?.date).toBe(END);
  expect(await writtenByAnother(END)).toBe(0);
});

test('a kept day is not taken for a day that is not the day before', async () => {
  const carry: RunCarry = { map: null, day: null };
  await runWith(carry, FROM, addDays(END, -2));
  const next = await runWith(carry, END, END);
  expect(next.map).toBeNull();
  expect(next.previous).not.toBeNull();
  expect(await writtenByAnother(END)).toBe(0);
});

test('a day written again since by another process is read as stored', async () => {
  const carry: RunCarry = { map: null, day: null };
  const before = addDays(END, -1);
  await runWith(carry, FROM, before);
  // another rule set from the day before, and that day recomputed by another process
  await ctx.http().post('/v1/rule-sets').send({ preset: 'vn-2686-2021' }).expect(201);
  await ctx.http().post('/v1/rule-sets/vn-2686-2021@1/activate').send({ effective_from: before }).expect(200);
  expect((await new Recomputations(ctx.db).day(before)).written).toBeGreaterThan(0);
  const next = await runWith(carry, END, END);
  expect(next.previous).not.toBeNull();
  expect(await writtenByAnother(END)).toBe(0);
  // what the stale day would have made: levels judged against the other rule set's day (a switch)
  const switched = await ctx.db.knex.raw<{ rows: { n: number }[] }>(
    `SELECT count(*)::int AS n FROM zone_levels WHERE date = ? AND change->>'code' = 'rule_set_changed'`,
    [END],
  );
  expect(switched.rows[0]?.n).toBe(0);
});

test('a changed map is read again', async () => {
  const carry: RunCarry = { map: null, day: null };
  await runWith(carry, FROM, addDays(END, -1));
  // a new census: every commune's population halved (incidence doubles)
  await ctx.db.knex.raw(`UPDATE areas SET population = population / 2, updated_at = now() WHERE kind = 'commune'`);
  const next = await runWith(carry, END, END);
  expect(next.map).not.toBeNull();
  expect(await writtenByAnother(END)).toBe(0);
});

test('a run that did not finish leaves nothing kept', async () => {
  const carry: RunCarry = { map: null, day: null };
  await runWith(carry, FROM, addDays(END, -3));
  expect(carry.day).not.toBeNull();
  let days = 0;
  await expect(
    withLevelSession(ctx.db, (s) => recomputeIn(s, { from: addDays(END, -2), to: END, jobId: null, stopping: () => days++ > 0, carry })),
  ).rejects.toMatchObject({ code: 'shutting_down' });
  expect(carry.day).toBeNull();
  expect(carry.facts).toBeNull();
});

// ─── The facts kept (db/inputs.ts `loadReportTexts`, migration 23) ───────────────────────

/** The first day of the reports a run's first block holds: the kept ones' when they were taken. */
const reportsBase = (r: Pick<RunStart, 'first'>) => r.first.texts.reports?.from;
/** The first day of the indicators it holds. */
const indicatorsBase = (r: Pick<RunStart, 'first'>) => r.first.texts.indicators?.from;

/** Commune C's id (the demo map's first commune). */
const aCommune = async () => (await ctx.db.knex.raw<{ rows: { id: number }[] }>(`SELECT min(id) AS id FROM areas WHERE kind = 'commune'`)).rows[0]?.id as number;

/** The first day of the runs whose facts are kept: facts older than a week are read again (KEPT_FACTS_DAYS). */
const RECENT = addDays(END, -4);

/**
 * The demo's last days have hardly a case: every commune gets a few on each of the last four
 * weeks' days (different per commune and day), so that facts read on the wrong days, twice or
 * not at all give other levels and inputs than a cold run's.
 */
const busyDays = () =>
  ctx.db.knex.raw(`UPDATE reports SET community_cases = (area_id * 7 + (date - DATE '2021-01-01') * 3) % 40 WHERE date > ?::date`, [addDays(END, -28)]);

test('the next day reads only its own facts, and stores what a cold run would', async () => {
  await busyDays();
  const carry: RunCarry = { map: null, day: null };
  const first = await runWith(carry, RECENT, addDays(END, -1));
  expect(carry.facts?.to).toBe(addDays(END, -1));
  const next = await runWith(carry, END, END);
  // the kept texts, from the first run's first day of reports, with END's added
  expect(reportsBase(next)).toBe(reportsBase(first));
  expect(indicatorsBase(next)).toBe(indicatorsBase(first));
  expect(next.first.texts.reports?.texts.length).toBe((first.first.texts.reports?.texts.length ?? 0) + 1);
  expect(await writtenByAnother(END)).toBe(0);
  // and again the day after that, from what this one kept
  const after = await runWith(carry, addDays(END, 1), addDays(END, 1));
  expect(reportsBase(after)).toBe(reportsBase(first));
  expect(await writtenByAnother(addDays(END, 1))).toBe(0);
});

test.each<[string, 'reports' | 'indicators', (id: number) => string, ((id: number) => string) | null]>([
  [
    'a new late report for a kept day',
    'reports',
    (id: number) => `INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (${id}, '${addDays(END, -3)}', 5000, 0)`,
    // the day had no report of that commune when the kept facts were read
    (id: number) => `DELETE FROM reports WHERE area_id = ${id} AND date = '${addDays(END, -3)}'`,
  ],
  ['a late report for a kept day (an upsert)', 'reports', (id: number) =>
    `INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (${id}, '${addDays(END, -3)}', 5000, 0)
     ON CONFLICT (date, area_id) DO UPDATE SET community_cases = excluded.community_cases, revision = reports.revision + 1`, null],
  ['a report of a kept day deleted', 'reports', () => `DELETE FROM reports WHERE date = '${addDays(END, -2)}' AND community_cases > 0`, null],
  ['every report truncated', 'reports', () => 'TRUNCATE reports', null],
  // the districts report weekly, the last time on END - 7 before the day run: its latest values
  ['a kept indicator changed', 'indicators', () => `UPDATE metrics SET value = CASE WHEN name = 'treatment_capacity_ok' THEN 1 - value ELSE value / 3 END WHERE date = '${addDays(END, -7)}'`, null],
])('%s: those facts are read again (the others are kept), and the day stored is what a cold run stores', async (_what, part, change, before) => {
  await busyDays();
  const id = await aCommune();
  if (before) await ctx.db.knex.raw(before(id));
  const carry: RunCarry = { map: null, day: null };
  const day = addDays(END, -1);
  const first = await runWith(carry, RECENT, addDays(day, -1));
  await ctx.db.knex.raw(change(id));
  const next = await runWith(carry, day, day);
  const needs = await factNeeds(next.first, day);
  const cold = { reports: needs.reports, indicators: needs.indicators };
  const kept = { reports: reportsBase(first), indicators: indicatorsBase(first) };
  expect({ reports: reportsBase(next), indicators: indicatorsBase(next) }).toEqual({ ...kept, [part]: cold[part] });
  expect(await writtenByAnother(day)).toBe(0);
});

test('facts kept from over a week before are not taken', async () => {
  const carry: RunCarry = { map: null, day: null };
  await runWith(carry, addDays(END, -12), addDays(END, -1));
  const next = await runWith(carry, END, END);
  const needs = await factNeeds(next.first, END);
  expect([reportsBase(next), indicatorsBase(next)]).toEqual([needs.reports, needs.indicators]);
});
