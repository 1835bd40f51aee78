import type { FeatureCollection } from 'geojson';
import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * The week's community cases beside a level are read as of the same instant as the level:
 * a report corrected or added after `as_of` is not in the figures of a reading as of then
 * (the zones list with figures, the whole-day map and a map of a box — the kept day and the
 * read by box), and is in a reading of now.
 */
const ctx = testContext();
const http = () => ctx.http();
const DAY = '2021-10-01';
afterAll(() => ctx.close());

const send = (reports: { area: string; date: string; community_cases: number }[]) =>
  http().post('/v1/reports').set('Content-Type', 'application/json').send({ reports: reports.map((r) => ({ ...r, quarantine_cases: 0 })) }).expect(200);

let before = '';
beforeAll(async () => {
  await ctx.reset();
  await http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  await send([{ area: 'C11', date: DAY, community_cases: 5 }, { area: 'C21', date: '2021-09-28', community_cases: 2 }]);
  await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ date: DAY }).expect(200);
  before = (await ctx.db.knex.raw<{ rows: { t: Date }[] }>('SELECT clock_timestamp() AS t')).rows[0]!.t.toISOString();
  await new Promise((r) => setTimeout(r, 5));
  // after `before`: C11's report corrected, a report for C12, a late one for C21 earlier in the week
  await send([{ area: 'C11', date: DAY, community_cases: 50 }, { area: 'C12', date: DAY, community_cases: 7 }, { area: 'C21', date: '2021-09-29', community_cases: 3 }]);
});

const EXPECTED_THEN = { C11: 5, C12: null, C21: 2, D1: 5, D2: 2, P: 7 };
const EXPECTED_NOW = { C11: 50, C12: 7, C21: 5, D1: 57, D2: 5, P: 62 };

async function figures(asOf: string | null): Promise<Record<string, number | null>> {
  const res = await http().get(`/v1/zones?date=${DAY}&figures=true${asOf ? `&as_of=${encodeURIComponent(asOf)}` : ''}`).expect(200);
  const items = res.body.items as { code: string; community_cases_7d: number | null }[];
  return Object.fromEntries(items.filter((i) => i.code in EXPECTED_NOW).map((i) => [i.code, i.community_cases_7d]));
}

async function mapCases(query: string): Promise<Record<string, number | null>> {
  const res = await http().get(`/v1/zones.geojson?date=${DAY}&${query}`).expect(200);
  const fc = JSON.parse(res.text) as FeatureCollection<null, { code: string; community_cases_7d: number | null }>;
  return Object.fromEntries(fc.features.filter((f) => f.properties.code in EXPECTED_NOW).map((f) => [f.properties.code, f.properties.community_cases_7d]));
}

test('the zones list with figures: as of before the corrections, and now', async () => {
  expect(await figures(before)).toEqual(EXPECTED_THEN);
  expect(await figures(null)).toEqual(EXPECTED_NOW);
});

test('the whole-day map and a map of a box: as of before the corrections, and now', async () => {
  const at = `as_of=${encodeURIComponent(before)}`;
  expect(await mapCases(at)).toEqual(EXPECTED_THEN);
  expect(await mapCases('')).toEqual(EXPECTED_NOW);
  const box = 'bbox=105.9,9.9,106.5,10.5';
  expect(await mapCases(`${at}&${box}`)).toEqual(EXPECTED_THEN);
  expect(await mapCases(box)).toEqual(EXPECTED_NOW);
});

test('counts as large as a report may hold: the week of a district and a province of them is read (not an int), in every reading of it', async () => {
  const day = '2021-11-01';
  await send([{ area: 'C11', date: day, community_cases: 2_147_483_647 }, { area: 'C12', date: day, community_cases: 2_147_483_647 }]);
  await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ date: day }).expect(200);
  const list = (await http().get(`/v1/zones?date=${day}&figures=true`).expect(200)).body.items as { code: string; community_cases_7d: number | null }[];
  expect(list.find((i) => i.code === 'D1')?.community_cases_7d).toBe(2 * 2_147_483_647);
  const fc = JSON.parse((await http().get(`/v1/zones.geojson?date=${day}&kind=province`).expect(200)).text) as FeatureCollection<null, { code: string; community_cases_7d: number }>;
  expect(fc.features[0]?.properties.community_cases_7d).toBe(2 * 2_147_483_647);
  await http().get(`/v1/summary?date=${day}`).expect(200);
  await http().get(`/v1/briefing?date=${day}`).expect(200);
});

test('an instant with any offset is the same instant; one without an offset is refused, not read in the server time zone', async () => {
  // `before` (UTC) written in Indochina Time
  const t = new Date(before);
  const ict = new Date(t.getTime() + 7 * 3_600_000).toISOString().replace('Z', '+07:00');
  expect(await figures(ict)).toEqual(await figures(before));
  expect(await figures(ict)).toEqual(EXPECTED_THEN);
  const bare = before.replace('Z', '');
  const res = await http().get(`/v1/zones?date=${DAY}&as_of=${encodeURIComponent(bare)}`).expect(400);
  expect(res.body.error.details[0]).toMatchObject({ path: 'as_of', message: expect.stringContaining('with its offset') });
});
