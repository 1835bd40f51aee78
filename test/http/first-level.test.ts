import { addDays, LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';

/**
 * The change feed names a new commune's first level as such ("Cấp độ đầu tiên: Cấp N" /
 * "first level: …"), not as a change under the rules; a commune that had a level before and
 * comes back from unknown keeps the generic words.
 */
const ctx = testContext();
const END = '2021-10-31' as LocalDate;

beforeAll(async () => {
  await ctx.demo(END, 3);
});
afterAll(() => ctx.close());

test("a new commune's first level is named so in the feed, and the Vietnamese reason begins with a capital", async () => {
  const square = [[[106.0, 10.0], [106.01, 10.0], [106.01, 10.01], [106.0, 10.01], [106.0, 10.0]]];
  await ctx
    .http()
    .post('/v1/areas')
    .send({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: square }, properties: { code: 'NEW.1', name: 'Xã Mới', kind: 'commune', parent: 'VNM.17.1_1', population: 10000 } }] })
    .expect(200);
  const days = Array.from({ length: 10 }, (_, i) => addDays(END, -i));
  await ctx.http().post('/v1/reports').send({ reports: days.map((date) => ({ area: 'NEW.1', date, community_cases: 1, quarantine_cases: 0 })) }).expect(200);
  // (the reports' own late-data recomputation classifies the days already classified: END-2 … END)
  await ctx.http().post('/v1/recompute').send({ from: addDays(END, -2), to: END }).expect(200);
  const feed = (await ctx.http().get(`/v1/changes?since=${addDays(END, -2)}&until=${END}&kind=commune`).expect(200)).body as { items: { code: string; date: string; from: string; to: string; reason: string; reason_text: { vi: string; en: string } }[] };
  const mine = feed.items.filter((c) => c.code === 'NEW.1');
  expect(mine.length).toBe(1);
  const first = mine[0] as (typeof mine)[number];
  expect(first).toMatchObject({ date: addDays(END, -2), from: 'unknown' });
  expect(first.reason_text.vi).toMatch(/^Cấp độ đầu tiên: Cấp \d$/);
  expect(first.reason).toMatch(/^first level: level \d \(\w+\)$/);
  for (const c of feed.items) expect(c.reason_text.vi.charAt(0)).toBe(c.reason_text.vi.charAt(0).toLocaleUpperCase('vi'));
});
