import { LevelSession, RunStart, withLevelSession } from '../../src/db/levelWriter';
import { addDays, LocalDate } from '../../src/domain/dates';
import { Recomputations } from '../../src/jobs/recomputations';
import { recomputeIn, RunCarry } from '../../src/jobs/recompute/run';
import { testContext } from '../helpers/context';

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
async function runWith(carry: RunCarry, from: LocalDate, to: LocalDate): Promise<Pick<RunStart, 'map' | 'previous'>> {
  let seen: Pick<RunStart, 'map' | 'previous'> | null = null;
  await withLevelSession(ctx.db, (s) => {
    const watched: LevelSession = {
      ...s,
      writers: s.writers,
      start: async (...args) => {
        const r = await s.start(...args);
        seen = { map: r.map, previous: r.previous };
        return r;
      },
    };
    return recomputeIn(watched, { from, to, jobId: null, stopping: () => false, carry });
  });
  return seen as unknown as Pick<RunStart, 'map' | 'previous'>;
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
});
