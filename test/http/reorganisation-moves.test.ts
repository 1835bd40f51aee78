import { testContext } from '../helpers/context';
import { fc, feature, provinceOfCommunes, square } from '../helpers/fixtures';

/**
 * Reports that kept coming for old communes after the day of a reorganisation: refused
 * unless moved ("move_reports": true) to the one successor that took the commune whole —
 * summed by day, the replaced rows kept as revisions — and never moved for a split commune.
 */
const ctx = testContext();
const http = () => ctx.http();
const E = '2025-08-01';

const plan = (extra: Record<string, unknown> = {}) => ({
  effective_date: E,
  retire: ['A', 'B', 'C'],
  areas: fc([
    feature({ code: 'M', name: 'Xã Mới', kind: 'commune', parent: 'P', population: 20000, predecessors: ['A', 'B'] } as Parameters<typeof feature>[0], {
      type: 'Polygon',
      coordinates: [[[106, 10], [106.2, 10], [106.2, 10.1], [106, 10.1], [106, 10]]],
    }),
    feature({ code: 'N1', name: 'Xã N1', kind: 'commune', parent: 'P', population: 5000, predecessors: ['C:0.5'] } as Parameters<typeof feature>[0], square(106.2, 10, 0.05)),
    feature({ code: 'N2', name: 'Xã N2', kind: 'commune', parent: 'P', population: 5000, predecessors: ['C:0.5'] } as Parameters<typeof feature>[0], square(106.25, 10, 0.05)),
  ]),
  reparent: [],
  ...extra,
});

beforeAll(async () => {
  await ctx.reset();
  await http()
    .post('/v1/areas')
    .send(provinceOfCommunes(['A', 'B', 'C']))
    .expect(200);
  const rows = ['2025-07-31', '2025-08-01', '2025-08-02'].flatMap((date, i) => [
    { area: 'A', date, community_cases: 1 + i, quarantine_cases: 0 },
    { area: 'B', date, community_cases: 10, quarantine_cases: 1, deaths: 1 },
  ]);
  await http().post('/v1/reports').send({ reports: rows }).expect(200);
}, 60_000);
afterAll(() => ctx.close());

test('without move_reports: refused, naming the commune and the way out; nothing written', async () => {
  const res = await http().post('/v1/reorganisations').send(plan()).expect(422);
  expect(res.body.error.details[0]).toEqual({ path: "retire[0]", message: expect.stringMatching(/^A has 2 report\(s\) on or after 2025-08-01 .*"move_reports": true/) });
  expect((await http().get('/v1/reorganisations').expect(200)).body.items).toEqual([]);
});

test('a split commune with reports after the day: not moved, whatever is asked', async () => {
  await http().post('/v1/reports').send({ reports: [{ area: 'C', date: '2025-08-02', community_cases: 4, quarantine_cases: 0 }] }).expect(200);
  const res = await http().post('/v1/reorganisations').send(plan({ move_reports: true })).expect(422);
  expect(JSON.stringify(res.body.error.details)).toMatch(/C has 1 report\(s\) on or after 2025-08-01 .* and 2 successors: reports move only to one successor that takes it whole/);
  expect((await http().get('/v1/areas/A/reports?from=2025-08-01&to=2025-08-02').expect(200)).body.items).toHaveLength(2);
});

test("with move_reports: the merged commune's days are the sums of its parts', the old rows kept as revisions", async () => {
  // C stays as it is this time (its report after the day is its own)
  const merge = plan({ move_reports: true, retire: ['A', 'B'] });
  merge.areas.features = merge.areas.features.slice(0, 1);
  const res = await http().post('/v1/reorganisations').send(merge).expect(201);
  expect(res.body).toMatchObject({ created: ['M'], moved_reports: 4 });
  const m = (await http().get('/v1/areas/M/reports?from=2025-07-01&to=2025-08-31').expect(200)).body.items as { date: string; community_cases: number; quarantine_cases: number; deaths: number | null; source: string }[];
  expect(m.map((r) => [r.date, r.community_cases, r.quarantine_cases, r.deaths])).toEqual([
    ['2025-08-01', 2 + 10, 1, 1],
    ['2025-08-02', 3 + 10, 1, 1],
  ]);
  expect(m[0]?.source).toBe('chuyển từ — moved from A, B');
  // A keeps its day before; its rows after are revisions now
  expect((await http().get('/v1/areas/A/reports?from=2025-07-01&to=2025-08-31').expect(200)).body.items.map((r: { date: string }) => r.date)).toEqual(['2025-07-31']);
  const revisions = await ctx.db.knex.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM report_revisions WHERE area_id = (SELECT id FROM areas WHERE code = 'A') AND date >= ?", [E]);
  expect(revisions.rows[0]?.n).toBe(2);
  const listed = (await http().get('/v1/reorganisations').expect(200)).body.items;
  expect(listed).toEqual([expect.objectContaining({ effective_date: E, retired: 2, created: 1, reparented: 0, lineage: 2 })]);
});
