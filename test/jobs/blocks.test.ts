import { connectDatabase } from '../../src/db/database';
import { withLevelSession } from '../../src/db/levelWriter';
import { addDays, LocalDate } from '../../src/domain/dates';
import { Recomputations } from '../../src/jobs/recomputations';
import { FIRST_BLOCK_DAYS, recomputeIn } from '../../src/jobs/recompute/run';
import { embedded, testContext } from '../helpers/context';

/**
 * A run of many blocks of days — the first block's facts read on the other connection with
 * the start, each next block's in a transaction of the pool while the block before is
 * computed and written, a block cut where the rule
 * set in force changes, the day before carried in memory — stores exactly what the same
 * days recomputed one at a time (each from the stored day before) store.
 */
const ctx = testContext();
afterAll(() => ctx.close());

const END = '2021-10-31' as LocalDate;
// 200 days: vn-moh-4800-2021 until 31 August (139 days: blocks of 12, 24, 48 and 55), vn-2686-2021 after (61: one block)
const FROM = addDays(END, -199);
const SWITCH = '2021-09-01';

beforeAll(async () => {
  await ctx.demo(END);
  await ctx.http().post('/v1/rule-sets').send({ preset: 'vn-2686-2021' }).expect(201);
  await ctx.http().post('/v1/rule-sets/vn-2686-2021@1/activate').send({ effective_from: SWITCH }).expect(200);
});

/** Every stored row but when and by which job it was written. */
async function stored(): Promise<unknown[]> {
  const res = await ctx.db.knex.raw<{ rows: unknown[] }>(
    `SELECT area_id, date::text AS date, level, raw_level, reason, since::text AS since, rule_set_id, inputs::jsonb AS inputs, children, pending, persistence, change
     FROM zone_levels ORDER BY date, area_id`,
  );
  return res.rows;
}

test('a range of 200 days across a switch of rule set stores what its days one at a time store', async () => {
  // on a server the session has two writer connections: the first facts are read on the second
  if (!embedded()) expect(await withLevelSession(ctx.db, async (s) => s.writers)).toBe(2);
  const recomputations = new Recomputations(ctx.db);
  const days = await recomputations.range(FROM, END);
  expect(days.map((d) => d.date)).toHaveLength(200);
  const whole = await stored();
  const sets = await ctx.db.knex.raw<{ rows: { rule_set_id: string; first: string; last: string }[] }>(
    `SELECT rule_set_id, min(date)::text AS first, max(date)::text AS last FROM zone_levels GROUP BY rule_set_id ORDER BY first`,
  );
  expect(sets.rows).toEqual([
    { rule_set_id: 'vn-moh-4800-2021@1', first: FROM, last: '2021-08-31' },
    { rule_set_id: 'vn-2686-2021@1', first: SWITCH, last: END },
  ]);
  // the demo's reports move levels: the rows are not all alike
  expect(new Set(whole.map((r) => (r as { level: string }).level)).size).toBeGreaterThan(2);

  await ctx.db.knex.raw('TRUNCATE level_chunks, level_events');
  for (let d = FROM; d <= END; d = addDays(d, 1)) await recomputations.day(d);
  expect(await stored()).toEqual(whole);

  // a pool too small for a second writer: one connection reads the start, then the first facts, then writes
  const small = connectDatabase(process.env.ZONERISK_TEST_DATABASE_URL as string, 2, embedded());
  try {
    expect(await withLevelSession(small, async (s) => s.writers)).toBe(1);
    await ctx.db.knex.raw('TRUNCATE level_chunks, level_events');
    await new Recomputations(small).range(FROM, END);
    expect(await stored()).toEqual(whole);
  } finally {
    await small.close();
  }
}, 180_000);

test('a block whose facts cannot be read stops the run: the days before it stored whole, the read error answered, nothing left reading', async () => {
  await ctx.db.knex.raw('TRUNCATE level_chunks, level_events');
  const failure = new Error('facts unreadable');
  const asked: string[] = [];
  const run = withLevelSession(ctx.db, (s) =>
    recomputeIn(
      {
        ...s,
        // the second block's facts (read while the first is computed) fail
        facts: async (rs, from, to) => {
          asked.push(from);
          if (asked.length === 1) throw failure;
          return s.facts(rs, from, to);
        },
      },
      { from: FROM, to: END, jobId: null, stopping: () => false },
    ),
  );
  await expect(run).rejects.toBe(failure);
  // read once, ahead: the block after the first (FIRST_BLOCK_DAYS)
  expect(asked).toEqual([addDays(FROM, FIRST_BLOCK_DAYS)]);
  const days = await ctx.db.knex.raw<{ rows: { n: number; first: string; last: string; per_day: number }[] }>(
    `SELECT count(DISTINCT date)::int AS n, min(date)::text AS first, max(date)::text AS last,
            (count(*) / count(DISTINCT date))::int AS per_day FROM zone_levels`,
  );
  // every day of the first block and none after; every day whole
  expect(days.rows[0]).toMatchObject({ n: FIRST_BLOCK_DAYS, first: FROM, last: addDays(FROM, FIRST_BLOCK_DAYS - 1) });
  const areas = Number((await ctx.db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c);
  expect(await ctx.db.knex.raw(`SELECT count(*)::int AS c FROM zone_levels GROUP BY date HAVING count(*) <> ?`, [areas]).then((r: { rows: unknown[] }) => r.rows)).toEqual([]);
});

test('a run stopped while the next block is read ahead answers once that read has settled', async () => {
  await ctx.db.knex.raw('TRUNCATE level_chunks, level_events');
  const order: string[] = [];
  let stop = false;
  const run = withLevelSession(ctx.db, (s) =>
    recomputeIn(
      {
        ...s,
        facts: async (rs, from, to) => {
          stop = true; // asked to stop while the read ahead is under way
          await new Promise((r) => setTimeout(r, 300));
          const f = await s.facts(rs, from, to);
          order.push('read settled');
          return f;
        },
      },
      { from: FROM, to: END, jobId: null, stopping: () => stop },
    ),
  ).finally(() => order.push('run settled'));
  await expect(run).rejects.toMatchObject({ status: 503, code: 'shutting_down' });
  expect(order).toEqual(['read settled', 'run settled']);
});

test('a block read ahead is read again when its days changed meanwhile: the run classifies what is stored', async () => {
  if (embedded()) return; // the embedded engine reads no block ahead
  await ctx.db.knex.raw('TRUNCATE level_chunks, level_events');
  // a commune's reports on the second block's first days, raised while that block is read ahead
  const changed = addDays(FROM, FIRST_BLOCK_DAYS);
  const commune = (await ctx.db.knex.raw<{ rows: { id: number }[] }>(`SELECT id FROM areas WHERE kind = 'commune' ORDER BY id LIMIT 1`)).rows[0]?.id as number;
  const asked: string[] = [];
  await withLevelSession(ctx.db, (s) =>
    recomputeIn(
      {
        ...s,
        facts: async (rs, from, to) => {
          asked.push(from);
          const f = await s.facts(rs, from, to);
          if (asked.length === 1) {
            await ctx.db.knex.raw(
              `INSERT INTO reports (area_id, date, community_cases, quarantine_cases)
               SELECT ?, d::date, 500, 0 FROM generate_series(?::date, ?::date + 6, '1 day') d
               ON CONFLICT (date, area_id) DO UPDATE SET community_cases = 500`,
              [commune, changed, changed],
            );
          }
          return f;
        },
      },
      { from: FROM, to: END, jobId: null, stopping: () => false },
    ),
  );
  // the second block read ahead, found stale, read again; each next one read ahead (each at most twice the one before)
  const n = FIRST_BLOCK_DAYS;
  expect(asked).toEqual([changed, changed, addDays(FROM, n + 2 * n), addDays(FROM, n + 2 * n + 4 * n), '2021-09-01']);
  const once = await stored();
  // what the same days recomputed from the stored facts store (the commune's inputs on those days count its 500 cases a day)
  await ctx.db.knex.raw('TRUNCATE level_chunks, level_events');
  await new Recomputations(ctx.db).range(FROM, END);
  expect(await stored()).toEqual(once);
});
