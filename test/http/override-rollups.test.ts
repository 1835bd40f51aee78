import { addDays, dateRange, LocalDate } from '../../src/domain/dates';
import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';
import { jobEnded } from '../helpers/jobs';
import { enqueueIn } from '../../src/db/jobs';

/**
 * A parent rolls up its children's levels as the command centre decided them: a commune
 * overridden to red counts as red in its district's roll-up (vn-2686-2021 rolls districts
 * and the province up from their children). Setting, ending and withdrawing the override
 * each queue the classified days from the first one they touch, and the district follows;
 * the commune's own stored level stays the rules' (the override is applied when read).
 */
const ctx = testContext();
const http = () => ctx.http();
const day = (n: number) => addDays('2021-11-01' as LocalDate, n - 1);
const LAST = day(10);

const finished = (job: number) => jobEnded(ctx, job);

/** The first letter of an area's level on each day 1–10. */
async function levels(code: string): Promise<string> {
  const h = (await http().get(`/v1/zones/${code}/history?from=${day(1)}&to=${LAST}`).expect(200)).body;
  return (h.days as { level: string }[]).map((d) => d.level[0]).join('');
}

const storedRaw = async (code: string, date: LocalDate) =>
  (
    await ctx.db.knex.raw<{ rows: { level: string; children: Record<string, number> | null }[] }>(
      `SELECT z.level, z.children FROM zone_levels z JOIN areas a ON a.id = z.area_id WHERE a.code = ? AND z.date = ? ORDER BY z.computed_at DESC LIMIT 1`,
      [code, date],
    )
  ).rows[0];

beforeAll(async () => {
  await ctx.reset();
  await http().post('/v1/areas').send(smallProvince()).expect(200);
  const reports = ['C11', 'C12', 'C21', 'C22'].flatMap((area) => dateRange(day(1), LAST).map((date) => ({ area, date, community_cases: 0, quarantine_cases: 0 })));
  await http().post('/v1/reports').send({ reports }).expect(200);
  await http().post('/v1/rule-sets').send({ preset: 'vn-2686-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-2686-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await http().post('/v1/recompute').send({ from: day(1), to: LAST }).expect(200);
});
afterAll(() => ctx.close());

test('an override of a commune moves its district and province roll-ups from its first day, and back when ended or withdrawn', async () => {
  expect([await levels('C11'), await levels('D1'), await levels('P')]).toEqual(['gggggggggg', 'gggggggggg', 'gggggggggg']);

  const set = await http().post('/v1/zones/C11/overrides').send({ level: 'red', reason: 'phong toả', from: day(5) }).expect(201);
  expect(set.body.recompute).toEqual({ job: expect.any(Number), from: day(5), to: LAST });
  expect(await finished(set.body.recompute.job)).toMatchObject({ status: 'succeeded' });
  // C11 reads red from day 5 (the override); 1 of D1's 2 communes red (≥ 30 %): D1 red; 1 of P's 2 districts red: P red
  expect([await levels('C11'), await levels('D1'), await levels('D2'), await levels('P')]).toEqual(['ggggrrrrrr', 'ggggrrrrrr', 'gggggggggg', 'ggggrrrrrr']);
  // the commune's stored level is still the rules'; the district's stored roll-up counts the override
  expect(await storedRaw('C11', day(5))).toMatchObject({ level: 'green' });
  expect(await storedRaw('D1', day(5))).toMatchObject({ level: 'red', children: { red: 1, green: 1 } });
  expect(await storedRaw('D1', day(4))).toMatchObject({ level: 'green', children: { green: 2 } });
  const d1 = (await http().get(`/v1/zones/D1?date=${day(6)}`).expect(200)).body;
  expect(d1).toMatchObject({ level: 'red', since: day(5), override: null });
  const feed = (await http().get(`/v1/changes?since=${day(5)}&until=${day(5)}`).expect(200)).body.items as { code: string; to: string }[];
  expect(feed.filter((c) => c.code === 'D1' || c.code === 'P').map((c) => [c.code, c.to]).sort()).toEqual([
    ['D1', 'red'],
    ['P', 'red'],
  ]);

  // ended from day 8: the district follows from day 8 on, days 5–7 keep it
  const ended = await http().delete(`/v1/zones/C11/overrides/${set.body.id}?from=${day(8)}`).expect(200);
  expect(ended.body.recompute).toEqual({ job: expect.any(Number), from: day(8), to: LAST });
  await finished(ended.body.recompute.job);
  expect([await levels('C11'), await levels('D1'), await levels('P')]).toEqual(['ggggrrrggg', 'ggggrrrggg', 'ggggrrrggg']);

  // withdrawn (entered by mistake): from its first day, as if it never was
  const withdrawn = await http().post(`/v1/zones/C11/overrides/${set.body.id}/withdraw`).send({ reason: 'nhập nhầm' }).expect(200);
  expect(withdrawn.body.recompute).toEqual({ job: expect.any(Number), from: day(5), to: LAST });
  await finished(withdrawn.body.recompute.job);
  expect([await levels('C11'), await levels('D1'), await levels('P')]).toEqual(['gggggggggg', 'gggggggggg', 'gggggggggg']);
});

test('no recomputation where no roll-up reads the area: the province (no parent), days never classified', async () => {
  const top = await http().post('/v1/zones/P/overrides').send({ level: 'orange', reason: 'tỉnh', from: day(2), until: day(3) }).expect(201);
  expect(top.body.recompute).toBeNull();
  // after the last classified day, and wholly before the first one: no classified day is touched
  const later = await http().post('/v1/zones/C21/overrides').send({ level: 'red', reason: 'sau này', from: addDays(LAST, 5) }).expect(201);
  expect(later.body.recompute).toBeNull();
  const earlier = await http().post('/v1/zones/C22/overrides').send({ level: 'red', reason: 'trước đó', from: addDays(day(1), -30), until: addDays(day(1), -20) }).expect(201);
  expect(earlier.body.recompute).toBeNull();
  // ended so that it covers nothing, then withdrawn: neither touches a day
  const brief = await http().post('/v1/zones/C12/overrides').send({ level: 'red', reason: 'một ngày', from: day(9), until: day(9) }).expect(201);
  await finished(brief.body.recompute.job);
  expect(await levels('D1')).toBe('ggggggggrg');
  const nothing = await http().delete(`/v1/zones/C12/overrides/${brief.body.id}?from=${day(9)}`).expect(200);
  expect(nothing.body).toMatchObject({ covers_nothing: true, recompute: { from: day(9), to: LAST } });
  await finished(nothing.body.recompute.job);
  expect(await levels('D1')).toBe('gggggggggg');
  expect((await http().post(`/v1/zones/C12/overrides/${brief.body.id}/withdraw`).send({ reason: 'nhập nhầm' }).expect(200)).body.recompute).toBeNull();
  // the audit row names the job an override's change queued
  const audit = await ctx.db.knex('audit_log').where({ action: 'override.end', target: `override:${brief.body.id}` }).first<{ after: { recompute_job: number | null } }>('after');
  expect(audit?.after.recompute_job).toBe(nothing.body.recompute.job);
  expect(await levels('D2')).toBe('gggggggggg');
});

test('a rule-set preview rolls an overridden child up as a recomputation does', async () => {
  const o = await http().post('/v1/zones/C11/overrides').send({ level: 'red', reason: 'phong toả', from: day(6), until: day(6) }).expect(201);
  await finished(o.body.recompute.job);
  const preview = (await http().post(`/v1/rule-sets/vn-2686-2021@1/preview?date=${day(6)}`).expect(200)).body;
  const items = new Map((preview.items as { code: string; level: string; changed: boolean }[]).map((i) => [i.code, i]));
  // the set in force, previewed: the district and province agree with what is stored (red, from the override)
  expect(items.get('D1')).toMatchObject({ level: 'red', changed: false });
  expect(items.get('P')).toMatchObject({ level: 'red', changed: false });
  expect(items.get('C11')).toMatchObject({ level: 'green', changed: true }); // the rules' level, against the decided one
  await http().post(`/v1/zones/C11/overrides/${o.body.id}/withdraw`).send({ reason: 'xong' }).expect(200);
});

test('a recomputation of changed overrides runs on to the last day classified when it starts, not only to the one when it was queued', async () => {
  // days 11–12 classified before the override existed (as a daily job that ran first would have)…
  const more = ['C11', 'C12', 'C21', 'C22'].flatMap((area) => [day(11), day(12)].map((date) => ({ area, date, community_cases: 0, quarantine_cases: 0 })));
  await http().post('/v1/reports').send({ reports: more }).expect(200);
  await http().post('/v1/recompute').send({ from: day(11), to: day(12) }).expect(200);
  // …then the override, with a job queued when day 10 was the last one (run here, by its owner)
  const area = (await ctx.db.knex('areas').where({ code: 'C11' }).first<{ id: number }>('id'))?.id as number;
  await ctx.db.knex.raw(
    `INSERT INTO overrides (id, override_id, area_id, level, reason, date_from) OVERRIDING SYSTEM VALUE
     SELECT n.id, n.id, ?, 'red', 'phong toả', ?::date FROM (SELECT nextval(pg_get_serial_sequence('overrides', 'id')) AS id) n`,
    [area, day(9)],
  );
  const job = await ctx.rt.recomputations.createJob(day(9), LAST, 'override');
  const ran = await ctx.rt.recomputations.runJob(job);
  expect(ran).toMatchObject({ status: 'succeeded', days: 4, days_done: 4, params: { from: day(9), to: day(12), trigger: 'override' } });
  const h = (await http().get(`/v1/zones/D1/history?from=${day(8)}&to=${day(12)}`).expect(200)).body;
  expect((h.days as { level: string }[]).map((d) => d.level[0]).join('')).toBe('grrrr');
  // an API recomputation is run as asked
  const asked = await ctx.rt.recomputations.runJob(await ctx.rt.recomputations.createJob(day(9), day(10), 'api'));
  expect(asked).toMatchObject({ days: 2, params: { to: day(10) } });
});

test('a changed override folds into a pending recomputation of changed facts, and the other way round', async () => {
  const trx = await ctx.db.knex.transaction();
  try {
    const late = await enqueueIn(trx, { from: day(3), to: LAST, trigger: 'late_data', coalesce: true });
    const override = await enqueueIn(trx, { from: day(2), to: LAST, trigger: 'override', coalesce: true });
    expect(override).toMatchObject({ merged: true, job: { id: late.job.id, params: { from: day(2), to: LAST, trigger: 'late_data' } } });
    const other = await enqueueIn(trx, { from: day(1), to: LAST, trigger: 'api', coalesce: true });
    expect(other.merged).toBe(false);
  } finally {
    await trx.rollback();
  }
});

test('under a rule set that rolls nothing up (vn-moh-4800-2021), an override queues nothing', async () => {
  await http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await http().post('/v1/recompute').send({ from: day(1), to: LAST }).expect(200);
  const res = await http().post('/v1/zones/C12/overrides').send({ level: 'red', reason: 'phong toả', from: day(3) }).expect(201);
  expect(res.body.recompute).toBeNull();
});
