import { feature, smallProvince, square } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * No report is not no case (issue 14): the summary's `no_new_community_cases_24h` counts only
 * areas that reported for the day with zero community cases (quarantine-only cases are no
 * community case); `not_reported_24h` counts the areas that did not report. A commune
 * reported when it or an area below it has a report row; a district or province when it has
 * one of its own or every commune below it reported. Reports are read as known at the
 * reading point (`as_of`, `version=published`).
 */
const ctx = testContext();
const http = () => ctx.http();
const DAY = '2021-10-05';
const get = async (url: string) => (await http().get(url).expect(200)).body;
type Counts = { areas: number; no_new_community_cases_24h: number; not_reported_24h: number };
/** The counts summed over every level, and the level of each area. */
async function totals(query: string): Promise<Counts & { byLevel: Record<string, Counts> }> {
  const s = await get(`/v1/summary?date=${DAY}&${query}`);
  const byLevel = s.by_level as Record<string, Counts>;
  const sum = (k: keyof Counts) => Object.values(byLevel).reduce((n, c) => n + c[k], 0);
  return { areas: sum('areas'), no_new_community_cases_24h: sum('no_new_community_cases_24h'), not_reported_24h: sum('not_reported_24h'), byLevel };
}
const report = (area: string, community_cases: number, quarantine_cases = 0) => ({ area, date: DAY, community_cases, quarantine_cases });

beforeAll(async () => {
  await ctx.reset();
  await http().post('/v1/areas').send(smallProvince()).expect(200);
  // C11 reported no case; C12 only cases found in quarantine; C21 community cases; C22 nothing at all
  await http().post('/v1/reports').send({ reports: [report('C11', 0), report('C12', 0, 3), report('C21', 2)] }).expect(200);
  await http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2021-01-01' }).expect(200);
  await http().post('/v1/recompute').send({ date: DAY }).expect(200);
});
afterAll(() => ctx.close());

test('a commune that sent nothing for the day is in not_reported_24h, not in no_new_community_cases_24h', async () => {
  const communes = await totals('parent=P');
  expect(communes).toMatchObject({ areas: 4, no_new_community_cases_24h: 2, not_reported_24h: 1 });
  // per level: C22 (no population: unknown) is counted where it stands, as not reported
  const c22 = (await get(`/v1/zones/C22?date=${DAY}`)).level as string;
  expect(communes.byLevel[c22]?.not_reported_24h).toBe(1);
  for (const counts of Object.values(communes.byLevel)) expect(counts.no_new_community_cases_24h + counts.not_reported_24h).toBeLessThanOrEqual(counts.areas);

  // districts: D1 (both communes reported, no community case) is quiet; D2 is not reported (C22 silent)
  expect(await totals('parent=P&kind=district')).toMatchObject({ areas: 2, no_new_community_cases_24h: 1, not_reported_24h: 1 });
  expect(await totals('kind=province')).toMatchObject({ areas: 1, no_new_community_cases_24h: 0, not_reported_24h: 1 });
});

test('a report below a commune is its report; a province reported when every commune did; reports read as known at the reading point', async () => {
  await http().post('/v1/publications').send({ date: DAY }).expect(201);
  const published = await get(`/v1/publications`);
  const at = encodeURIComponent(published.items[0].published_at);
  // later: a village of C22 reports no case, and C11's report is corrected to two community cases
  await http()
    .post('/v1/areas')
    .send({ type: 'FeatureCollection', features: [feature({ code: 'S221', name: 'Ấp Một', kind: 'subcommune', parent: 'C22', population: 800 }, square(106.3, 10, 0.05))] })
    .expect(200);
  await http().post('/v1/reports').send({ reports: [report('S221', 0), report('C11', 2)] }).expect(200);

  expect(await totals('parent=P')).toMatchObject({ no_new_community_cases_24h: 2, not_reported_24h: 0 }); // C12, C22
  expect(await totals('parent=P&kind=district')).toMatchObject({ no_new_community_cases_24h: 0, not_reported_24h: 0 });
  expect(await totals('kind=province')).toMatchObject({ no_new_community_cases_24h: 0, not_reported_24h: 0 });

  // as published, and as known at that instant: C22 silent, C11 quiet
  for (const q of ['parent=P&version=published', `parent=P&as_of=${at}`]) expect(await totals(q)).toMatchObject({ no_new_community_cases_24h: 2, not_reported_24h: 1 });
  expect(await totals(`parent=P&kind=district&version=published`)).toMatchObject({ no_new_community_cases_24h: 1, not_reported_24h: 1 });
});

test('a district with a report of its own counts as reported', async () => {
  await http().post('/v1/reports').send({ reports: [{ area: 'D2', date: '2021-10-06', community_cases: 0, quarantine_cases: 0 }] }).expect(200);
  const s = await get('/v1/summary?date=2021-10-06&parent=P&kind=district');
  const sum = (k: keyof Counts) => Object.values(s.by_level as Record<string, Counts>).reduce((n, c) => n + c[k], 0);
  expect([sum('no_new_community_cases_24h'), sum('not_reported_24h')]).toEqual([1, 1]); // D2 quiet, D1 silent
});
