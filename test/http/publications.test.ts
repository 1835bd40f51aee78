import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * POST /v1/publications is idempotent per day: the same day again, with nothing of its
 * levels changed since, answers the publication already made (200); a re-publication after
 * a correction (a recomputation that changed the day, an override set or ended over it) is a
 * new publication (201). Concurrent identical requests make one row.
 */
const ctx = testContext();
const DAY = '2021-10-05';
const OTHER = '2021-10-06';
const publish = (date: string, note?: string) => ctx.http().post('/v1/publications').send({ date, ...(note ? { note } : {}) });
const rows = async (date: string) => Number((await ctx.db.knex('publications').where({ date }).count<{ c: number }[]>('* as c'))[0]?.c);
const audits = async () => Number((await ctx.db.knex('audit_log').where({ action: 'publication.create' }).count<{ c: number }[]>('* as c'))[0]?.c);

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').send(smallProvince()).expect(200);
  await ctx.http().post('/v1/reports').send({ reports: ['C11', 'C12', 'C21'].flatMap((area) => [DAY, OTHER].map((date) => ({ area, date, community_cases: 2, quarantine_cases: 0 }))) }).expect(200);
  await ctx.http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await ctx.http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2021-01-01' }).expect(200);
});
afterAll(() => ctx.close());

test('the same day twice: one publication, 201 then 200 with the same body; a correction makes a new one', async () => {
  const first = await publish(DAY, 'Thông báo số 1').expect(201);
  expect(first.body).toMatchObject({ date: DAY, note: 'Thông báo số 1' });
  const again = await publish(DAY, 'Thông báo số 1').expect(200);
  expect(again.body).toEqual(first.body);
  // a different note alone is no new publication: the one made stands, note and all
  expect((await publish(DAY, 'ghi chú khác').expect(200)).body).toEqual(first.body);
  expect(await rows(DAY)).toBe(1);
  expect(await audits()).toBe(1);

  // the day is classified (level rows appended): what a reading of it shows has changed
  await ctx.http().post('/v1/recompute').send({ date: DAY }).expect(200);
  const second = await publish(DAY).expect(201);
  expect(second.body.id).not.toBe(first.body.id);
  await publish(DAY).expect(200);
  // recomputing with nothing changed appends nothing: still the same publication
  await ctx.http().post('/v1/recompute').send({ date: DAY }).expect(200);
  expect((await publish(DAY).expect(200)).body.id).toBe(second.body.id);

  // an override over another day changes nothing of this one; one over this day does
  const elsewhere = await ctx.http().post('/v1/zones/C11/overrides').send({ level: 'red', reason: 'khác ngày', from: OTHER, until: OTHER }).expect(201);
  await publish(DAY).expect(200);
  const over = await ctx.http().post('/v1/zones/C12/overrides').send({ level: 'red', reason: 'phong tỏa', from: '2021-10-01', until: DAY }).expect(201);
  const third = await publish(DAY).expect(201);
  await publish(DAY).expect(200);
  // ending that override from this day changes the day again (issue 14: an end keeps the days before, so it ends from DAY)
  await ctx.http().delete(`/v1/zones/C12/overrides/${over.body.id}?from=${DAY}`).expect(200);
  const fourth = await publish(DAY).expect(201);
  expect(new Set([first.body.id, second.body.id, third.body.id, fourth.body.id]).size).toBe(4);
  // withdrawing the one over another day changes nothing of this one
  await ctx.http().post(`/v1/zones/C11/overrides/${elsewhere.body.id}/withdraw`).send({ reason: 'nhập nhầm ngày' }).expect(200);
  await publish(DAY).expect(200);
  expect(await rows(DAY)).toBe(4);
  expect(await audits()).toBe(4);

  // the published reading is the latest publication
  const published = await ctx.http().get(`/v1/zones/C12?date=${DAY}&version=published`).expect(200);
  expect(published.body.override).toBeNull();
});

test('10 concurrent identical requests: one row, one 201 and nine 200 naming it', async () => {
  const before = await audits();
  const answers = await Promise.all(Array.from({ length: 10 }, () => publish(OTHER, 'Thông báo đồng thời')));
  const statuses = answers.map((a) => a.status).sort();
  expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
  expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
  expect(await rows(OTHER)).toBe(1);
  expect(await audits()).toBe(before + 1);
  const listed = (await ctx.http().get('/v1/publications').expect(200)).body.items as { date: string }[];
  expect(listed.filter((p) => p.date === OTHER)).toHaveLength(1);
});
