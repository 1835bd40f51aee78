import { LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';

/**
 * OGC API items paged from the kept days: pages walked with next links are the one big page
 * cut up (order, ids, properties), over a day or an interval, in a box or through a filter;
 * numberMatched follows a change (an override) at once.
 */
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
const DAY_BEFORE = '2021-10-30' as LocalDate;
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.demo(END, 2);
});

type Feature = { id: string; properties: Record<string, string | number | null> };
type Page = { numberMatched: number; numberReturned: number; features: Feature[]; links: { rel: string; href: string }[] };
const items = async (collection: string, query: string): Promise<Page> => {
  const res = await http().get(`/ogc/collections/${collection}/items?${query}`);
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Page;
};

/** Every page from `query` on, following next links: the features and each page's numberMatched. */
async function walk(collection: string, query: string): Promise<{ features: Feature[]; matched: number[] }> {
  const features: Feature[] = [];
  const matched: number[] = [];
  let page = await items(collection, query);
  for (;;) {
    features.push(...page.features);
    matched.push(page.numberMatched);
    expect(page.numberReturned).toBe(page.features.length);
    const next = page.links.find((l) => l.rel === 'next')?.href;
    if (!next) return { features, matched };
    page = await items(collection, new URL(next).search.slice(1));
  }
}

describe('OGC API pages from the kept days', () => {
  test.each([
    ['a day', `datetime=${END}`],
    ['a day in a box', `datetime=${END}&bbox=106.8,10.9,107.0,11.1`],
    ['a day through a filter', `datetime=${END}&filter=${encodeURIComponent("level <> 'red' AND population > 1000")}`],
    ['an interval', `datetime=${DAY_BEFORE}/${END}`],
    ['an interval in a box', `datetime=${DAY_BEFORE}/${END}&bbox=106.8,10.9,107.0,11.1`],
    ['an interval through a filter', `datetime=${DAY_BEFORE}/${END}&filter=${encodeURIComponent("level <> 'green'")}`],
  ])('%s: the pages walked are the one big page cut up', async (_, query) => {
    const all = await items('communes', `${query}&limit=10000`);
    expect(all.numberMatched).toBe(all.features.length);
    expect(all.numberMatched).toBeGreaterThan(3);
    const walked = await walk('communes', `${query}&limit=7`);
    expect(walked.matched.every((n) => n === all.numberMatched)).toBe(true);
    expect(walked.features).toEqual(all.features);
    const last = await items('communes', `${query}&limit=1&offset=${all.numberMatched - 1}`);
    expect(last.features).toEqual(all.features.slice(-1));
    expect(last.links.find((l) => l.rel === 'next')).toBeUndefined();
    expect((await items('communes', `${query}&limit=5&offset=${all.numberMatched}`)).numberReturned).toBe(0);
  });

  test('an interval matches the sum of its days, each day as its own request answers it', async () => {
    const box = 'bbox=106.8,10.9,107.0,11.1';
    const days = await Promise.all([DAY_BEFORE, END].map((d) => items('zones', `datetime=${d}&${box}&limit=10000`)));
    const both = await items('zones', `datetime=${DAY_BEFORE}/${END}&${box}&limit=10000`);
    expect(both.numberMatched).toBe((days[0] as Page).numberMatched + (days[1] as Page).numberMatched);
    expect(both.features.map((f) => [f.id, f.properties.level])).toEqual(
      days.flatMap((p, i) => p.features.map((f) => [`${f.id}@${[DAY_BEFORE, END][i]}`, f.properties.level])),
    );
  });

  test('numberMatched of a filter follows an override at once', async () => {
    const filter = `filter=${encodeURIComponent("level = 'red'")}`;
    const before = await items('communes', `datetime=${END}&${filter}&limit=1`);
    const interval = await items('communes', `datetime=${DAY_BEFORE}/${END}&${filter}&limit=1`);
    const other = (await items('communes', `datetime=${END}&filter=${encodeURIComponent("level <> 'red'")}&limit=1`)).features[0] as Feature;
    await http().post(`/v1/zones/${other.id}/overrides`).set('Content-Type', 'application/json').send({ level: 'red', reason: 'test: pages follow overrides', from: END }).expect(201);
    const after = await items('communes', `datetime=${END}&${filter}&limit=1000`);
    expect(after.numberMatched).toBe(before.numberMatched + 1);
    expect(after.features.map((f) => f.id)).toContain(other.id);
    expect((await items('communes', `datetime=${DAY_BEFORE}/${END}&${filter}&limit=1`)).numberMatched).toBe(interval.numberMatched + 1);
  });
});
