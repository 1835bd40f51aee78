import { addDays, dateRange, LocalDate } from '../../src/domain/dates';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';
import { jobEnded } from '../helpers/jobs';

/**
 * The rule-set timeline (issue 14): 4800 in force from 12 Oct 2021, 218 from 27 Jan 2022.
 * Each day is classified under the set in force on it — by a range across the switch, and
 * by a late report's recomputation — and the switch is a reason for a change of level.
 *
 * C11 and C12 (10,000 people each) report no community case and one case in quarantine
 * every day, so 4800 (community cases only; 80 % one dose, 90 % of 65+, capacity met) says
 * green, while 218 (all cases: 70 per 100,000 a week, transmission 2; 50 % full doses, so
 * capacity medium) says yellow. The level moves on the switch day, and only because of it.
 */
const ctx = testContext();
const http = () => ctx.http();
afterAll(() => ctx.close());

const FROM = '2021-12-01' as LocalDate;
const TO = '2022-02-15' as LocalDate;
const SWITCH = '2022-01-27' as LocalDate;
const json = (method: 'post' | 'delete', path: string) => http()[method](path).set('Content-Type', 'application/json');

const waitForJob = (id: number) => jobEnded(ctx, id);

beforeAll(async () => {
  await ctx.reset();
  await http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  const weekly = dateRange(addDays(FROM, -14), TO).filter((_, i) => i % 7 === 0);
  const metrics = weekly.flatMap((date) =>
    ['D1', 'D2'].flatMap((area) => [
      { area, date, name: 'vaccination_18plus_1dose_pct', value: 80 },
      { area, date, name: 'vaccination_65plus_full_pct', value: 90 },
      { area, date, name: 'vaccination_18plus_full_pct', value: 50 },
      { area, date, name: 'treatment_capacity_ok', value: 1 },
    ]),
  );
  await json('post', '/v1/metrics').send({ metrics }).expect(200);
  const reports = dateRange(addDays(FROM, -14), TO).flatMap((date) => ['C11', 'C12'].map((area) => ({ area, date, community_cases: 0, quarantine_cases: 1 })));
  await json('post', '/v1/reports').send({ reports }).expect(200);
  for (const preset of ['vn-moh-4800-2021', 'vn-moh-218-2022']) await json('post', '/v1/rule-sets').send({ preset }).expect(201);
});

test('activation takes effective_from; days before any set in force are refused; the timeline lists the periods', async () => {
  const a = await json('post', '/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2021-10-12' }).expect(200);
  expect(a.body).toMatchObject({ id: 'vn-moh-4800-2021@1', activation: { effective_from: '2021-10-12' }, job: null, unchanged: false });
  await json('post', '/v1/rule-sets/vn-moh-218-2022@1/activate').send({ effective_from: SWITCH }).expect(200);
  const bad = await json('post', '/v1/rule-sets/vn-moh-218-2022@1/activate').send({ effective_from: '2022-13-01' }).expect(422);
  expect(bad.body.error.details[0].path).toBe('effective_from');

  const refused = await json('post', '/v1/recompute').send({ from: '2021-10-01', to: '2021-10-20' }).expect(409);
  expect(refused.body.error).toMatchObject({ code: 'no_rule_set_in_force', details: [{ path: 'from' }] });
  expect(await rowCounts(ctx.rt.db)).toMatchObject({ zone_levels: 0 });

  const t = (await http().get('/v1/rule-sets/timeline').expect(200)).body;
  expect(t.items).toEqual([
    expect.objectContaining({ rule_set: { id: 'vn-moh-4800-2021@1', name: 'vn-moh-4800-2021', version: 1 }, effective_from: '2021-10-12', effective_to: '2022-01-26' }),
    expect.objectContaining({ rule_set: { id: 'vn-moh-218-2022@1', name: 'vn-moh-218-2022', version: 1 }, effective_from: SWITCH, effective_to: null }),
  ]);
  // as recorded before the second activation: 4800 open-ended
  const before = (await http().get(`/v1/rule-sets/timeline?as_of=${encodeURIComponent(t.items[0].activated_at)}`).expect(200)).body;
  expect(before.items).toEqual([expect.objectContaining({ effective_from: '2021-10-12', effective_to: null })]);
});

test('a range across the switch uses each set on its own days; the switch day names both sets', async () => {
  const res = await json('post', '/v1/recompute').send({ from: FROM, to: TO }).expect(202);
  expect(await waitForJob(res.body.job.id)).toMatchObject({ status: 'succeeded', days: 77 });
  const dec = (await http().get('/v1/zones/C11?date=2021-12-20').expect(200)).body;
  expect(dec).toMatchObject({ level: 'green', rule_set: { id: 'vn-moh-4800-2021@1' } });
  const feb = (await http().get('/v1/zones/C11?date=2022-02-01').expect(200)).body;
  expect(feb).toMatchObject({ level: 'yellow', rule_set: { id: 'vn-moh-218-2022@1' } });

  const h = (await http().get(`/v1/zones/C11/history?from=2022-01-20&to=2022-02-03`).expect(200)).body;
  const sets = h.days.map((d: { date: string; rule_set: string | null }) => [d.date, d.rule_set]);
  expect(sets.filter(([d]: [string]) => d < SWITCH).every(([, s]: [string, string]) => s === 'vn-moh-4800-2021@1')).toBe(true);
  expect(sets.filter(([d]: [string]) => d >= SWITCH).every(([, s]: [string, string]) => s === 'vn-moh-218-2022@1')).toBe(true);
  const change = h.changes.find((c: { date: string }) => c.date === SWITCH);
  expect(change).toMatchObject({ from: 'green', to: 'yellow' });
  expect(change.reason).toContain('vn-moh-4800-2021@1');
  expect(change.reason).toContain('vn-moh-218-2022@1');
  const feed = (await http().get(`/v1/changes?since=${SWITCH}&until=${SWITCH}`).expect(200)).body.items;
  expect(feed.filter((c: { code: string }) => c.code === 'C11')).toEqual([expect.objectContaining({ from: 'green', to: 'yellow', reason: change.reason })]);
});

test('a late report for 2021-12-20 re-judges December by 4800 and February by 218: no spurious change', async () => {
  const feedBefore = (await http().get(`/v1/changes?since=${FROM}&until=${TO}`).expect(200)).body.items;
  // C12 corrects a day to one community case: 10 per 100,000 over 7 days, still < 20 (green under 4800)
  const late = await json('post', '/v1/reports').send({ reports: [{ area: 'C12', date: '2021-12-20', community_cases: 1, quarantine_cases: 1 }] }).expect(200);
  expect(late.body.recompute).toMatchObject({ from: '2021-12-20', to: TO });
  expect(await waitForJob(late.body.recompute.job)).toMatchObject({ status: 'succeeded' });
  const feedAfter = (await http().get(`/v1/changes?since=${FROM}&until=${TO}`).expect(200)).body.items;
  expect(feedAfter).toEqual(feedBefore);
  const dec = (await http().get('/v1/zones/C12?date=2021-12-20').expect(200)).body;
  expect(dec).toMatchObject({ level: 'green', rule_set: { id: 'vn-moh-4800-2021@1' }, inputs: { community_incidence_7d: 10 } });
  const mar = (await http().get('/v1/zones/C12?date=2022-02-15').expect(200)).body;
  expect(mar).toMatchObject({ level: 'yellow', rule_set: { id: 'vn-moh-218-2022@1' } });
  expect(mar.reason).toBeNull();
});

test('activating a set on a day it is in force already records nothing: the activation in force, no job (a retried request changes the timeline once)', async () => {
  const timelineBefore = (await http().get('/v1/rule-sets/timeline').expect(200)).body.items;
  const counts = await rowCounts(ctx.rt.db);
  expect(counts.zone_levels).toBeGreaterThan(0); // days are classified: an activation that changed them would queue a job
  const held218 = timelineBefore[1].activated_at;
  const held4800 = timelineBefore[0].activated_at;
  for (const [id, from, since, at] of [
    ['vn-moh-218-2022@1', SWITCH, SWITCH, held218], // the same request again
    ['vn-moh-218-2022@1', '2022-02-05', SWITCH, held218], // a later day of its period
    ['vn-moh-4800-2021@1', '2021-12-10', '2021-10-12', held4800], // a day of the earlier period
  ]) {
    const again = await json('post', `/v1/rule-sets/${id}/activate`).send({ effective_from: from }).expect(200);
    expect(again.body).toMatchObject({ id, unchanged: true, job: null, activation: { effective_from: since, activated_at: at } });
  }
  expect(await rowCounts(ctx.rt.db)).toEqual(counts); // no activation, audit entry or job
  expect((await http().get('/v1/rule-sets/timeline').expect(200)).body.items).toEqual(timelineBefore);
});

test('an activation in the past recomputes the classified days from then in the background, and names the job', async () => {
  // 4800 again from 1 Feb 2022: February goes back to green
  const a = await json('post', '/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2022-02-01' }).expect(200);
  expect(a.body.job).toMatchObject({ params: { from: '2022-02-01', to: TO, trigger: 'rule_set_activation' } });
  expect(await waitForJob(a.body.job.id)).toMatchObject({ status: 'succeeded', days: 15 });
  expect((await http().get('/v1/zones/C11?date=2022-02-01').expect(200)).body).toMatchObject({ level: 'green', rule_set: { id: 'vn-moh-4800-2021@1' } });
  expect((await http().get('/v1/zones/C11?date=2022-01-31').expect(200)).body).toMatchObject({ level: 'yellow', rule_set: { id: 'vn-moh-218-2022@1' } });
  const h = (await http().get('/v1/zones/C11/history?from=2022-01-25&to=2022-02-03').expect(200)).body;
  expect(h.changes.map((c: { date: string; from: string; to: string }) => [c.date, c.from, c.to])).toEqual([
    [SWITCH, 'green', 'yellow'],
    ['2022-02-01', 'yellow', 'green'],
  ]);
  const audit = (await http().get('/v1/audit?action=rule_set.activate').expect(200)).body.items;
  expect(audit[0]).toMatchObject({ target: 'vn-moh-4800-2021@1', after: { effective_from: '2022-02-01', recompute_job: a.body.job.id } });
});

test('an activation from long ago recomputes only the classified days (from the first of them)', async () => {
  const a = await json('post', '/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '1900-01-01' }).expect(200);
  expect(a.body.job).toMatchObject({ params: { from: FROM, to: TO, trigger: 'rule_set_activation' }, days: 77 });
  expect(await waitForJob(a.body.job.id)).toMatchObject({ status: 'succeeded' });
  // still: the later activations keep their periods
  const t = (await http().get('/v1/rule-sets/timeline').expect(200)).body.items;
  expect(t.map((p: { rule_set: { id: string }; effective_from: string }) => [p.rule_set.id, p.effective_from])).toEqual([
    ['vn-moh-4800-2021@1', '1900-01-01'],
    ['vn-moh-4800-2021@1', '2021-10-12'],
    ['vn-moh-218-2022@1', SWITCH],
    ['vn-moh-4800-2021@1', '2022-02-01'],
  ]);
});
