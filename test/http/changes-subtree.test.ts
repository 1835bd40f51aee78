import { addDays, LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';

/**
 * The change feed of a subtree (`parent`) is the whole feed's changes of the areas in it,
 * now and as known at an instant — read day × area (zone_levels's index is by day first);
 * the feed names what it does not take.
 */
const ctx = testContext();
const END = '2021-10-31' as LocalDate;
const SINCE = addDays(END, -9);
const PROVINCE = 'VNM.17_1';
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.demo(END, 14);
});

type Item = { code: string; date: string; from: string; to: string; reason: string };
const feed = async (query: string) => (await ctx.http().get(`/v1/changes?since=${SINCE}&until=${END}${query}`).expect(200)).body as { items: Item[] };

test('a district\'s changes are the whole feed\'s changes of its areas, now and as of an instant', async () => {
  const districts = (await ctx.http().get(`/v1/areas?kind=district&parent=${PROVINCE}&date=${END}&limit=1000`).expect(200)).body.items as { code: string }[];
  const at = (await ctx.db.knex.raw<{ rows: { t: Date }[] }>('SELECT max(computed_at) AS t FROM zone_levels WHERE date = ?', [addDays(END, -3)])).rows[0]!.t.toISOString();
  let seen = 0;
  for (const query of ['', `&as_of=${encodeURIComponent(at)}`]) {
    const all = (await feed(query)).items;
    for (const d of districts.slice(0, 4)) {
      const inside = (await ctx.http().get(`/v1/zones?date=${END}&within=${d.code}`).expect(200)).body.items as { code: string }[];
      const codes = new Set([...inside.map((z) => z.code)]);
      const mine = (await feed(`&parent=${d.code}${query}`)).items;
      expect(mine).toEqual(all.filter((c) => codes.has(c.code)));
      seen += mine.length;
    }
  }
  expect(seen).toBeGreaterThan(0);
});

test('what the feed does not take is a 400 naming it', async () => {
  for (const field of ['level=red', 'date=2021-10-30', 'from=2021-10-01', 'to=2021-10-30']) {
    const res = await ctx.http().get(`/v1/changes?since=${SINCE}&until=${END}&${field}`).expect(400);
    expect(JSON.stringify(res.body.error)).toContain(field.split('=')[0]);
  }
});
