import Protobuf from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';
import type { Polygon } from 'geojson';
import { testContext } from '../helpers/context';
import { fc, feature, square } from '../helpers/fixtures';
import { addDays, dateRange, LocalDate } from '../../src/domain/dates';

/**
 * Issue 17's acceptance: a reorganisation merging three communes of a district into one and
 * moving a commune from its (abolished) district to the province, read before and after the
 * day — areas, zones, history, the change feed, GeoJSON, OGC items, tiles — and the
 * refusals around it.
 *
 * P ⊃ D1 ⊃ C11, C12, C13 (0.1° squares along latitude 10 from 106) and D2 ⊃ C21 (at 106.3).
 * On 1 Oct 2021: C11, C12, C13 → M1 (parent P); D1 and D2 abolished; C21 re-parented to P.
 */
const ctx = testContext();
const http = () => ctx.http();
const E = '2021-10-01' as LocalDate;
const BEFORE = '2021-09-30' as LocalDate;

const rect = (x: number, y: number, w: number, h: number): Polygon => ({
  type: 'Polygon',
  coordinates: [[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]],
});

const oldMap = fc([
  feature({ code: 'P', name: 'Tỉnh Thử Nghiệm', kind: 'province', parent: null, population: 45000 }, square(106, 10, 0.4)),
  feature({ code: 'D1', name: 'Huyện Một', kind: 'district', parent: 'P', population: 30000 }, rect(106, 10, 0.3, 0.1)),
  feature({ code: 'D2', name: 'Huyện Hai', kind: 'district', parent: 'P', population: 15000 }, square(106.3, 10, 0.1)),
  feature({ code: 'C11', name: 'Xã Một', kind: 'commune', parent: 'D1', population: 10000 }, square(106, 10, 0.1)),
  feature({ code: 'C12', name: 'Xã Hai', kind: 'commune', parent: 'D1', population: 10000 }, square(106.1, 10, 0.1)),
  feature({ code: 'C13', name: 'Xã Ba', kind: 'commune', parent: 'D1', population: 10000 }, square(106.2, 10, 0.1)),
  feature({ code: 'C21', name: 'Xã Bốn', kind: 'commune', parent: 'D2', population: 15000 }, square(106.3, 10, 0.1)),
]);

/** Community cases per day: C11 2, C12 1, C13 0, C21 1 before; M1 3, C21 1 after. */
const CASES: Record<string, number> = { C11: 2, C12: 1, C13: 0, C21: 1, M1: 3 };
const reportsFor = (codes: string[], from: LocalDate, to: LocalDate) =>
  dateRange(from, to).flatMap((date) => codes.map((area) => ({ area, date, community_cases: CASES[area] as number, quarantine_cases: 0 })));

const RULES = {
  name: 'incidence-only',
  metrics: { incidence_7d: { kind: 'rate_per_100k', of: 'community_cases', window_days: 7 } },
  levels: [{ kinds: ['province', 'district', 'commune'], steps: [{ type: 'bands', metric: 'incidence_7d', thresholds: [5, 20, 50], levels: ['green', 'yellow', 'orange', 'red'] }] }],
};

const plan = (extra: Record<string, unknown> = {}) => ({
  effective_date: E,
  retire: ['C11', 'C12', 'C13', 'D1', 'D2'],
  areas: fc([
    feature(
      { code: 'M1', name: 'Xã Hợp Nhất', kind: 'commune', parent: 'P', population: 30000, predecessors: ['C11', 'C12', 'C13'] } as Parameters<typeof feature>[0],
      rect(106, 10, 0.3, 0.1),
    ),
  ]),
  reparent: [{ code: 'C21', parent: 'P' }],
  ...extra,
});

function collect(res: NodeJS.ReadableStream, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

async function tileCodes(date: LocalDate): Promise<string[]> {
  const res = await http()
    .get(`/tiles/zones/8/203/120.mvt?date=${date}&kind=commune`)
    .buffer(true)
    .parse(collect as unknown as (res: unknown, cb: (err: Error | null, body: unknown) => void) => void)
    .expect(200);
  const layer = new VectorTile(new Protobuf(res.body as Buffer)).layers.zones;
  return layer ? Array.from({ length: layer.length }, (_, i) => String(layer.feature(i).properties.code)).sort() : [];
}

const codesOf = (items: { code: string }[]) => items.map((i) => i.code).sort();

beforeAll(async () => {
  await ctx.reset();
  await http().post('/v1/areas').send(oldMap).expect(200);
  await http().post('/v1/reports').send({ reports: reportsFor(['C11', 'C12', 'C13', 'C21'], '2021-09-01' as LocalDate, BEFORE) }).expect(200);
  await http().post('/v1/rule-sets').send(RULES).expect(201);
  await http().post('/v1/rule-sets/incidence-only@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
}, 60_000);
afterAll(() => ctx.close());

describe('refused reorganisations write nothing', () => {
  test.each([
    ['a retired commune with no successor', { retire: ['C11', 'C12', 'C13', 'D1', 'D2', 'C21'], reparent: [] }, /C21 is retired with no successor/],
    ['a new area with no predecessors', { areas: fc([feature({ code: 'M1', name: 'Xã Hợp Nhất', kind: 'commune', parent: 'P', population: 30000 }, rect(106, 10, 0.3, 0.1))]) }, /M1 has no predecessors/],
    ['a commune left under an abolished district', { reparent: [] }, /C21.*left under it/],
    ['shares that leave part of a commune', { areas: fc([feature({ code: 'M1', name: 'X', kind: 'commune', parent: 'P', population: 1, predecessors: ['C11:0.5', 'C12', 'C13'] } as Parameters<typeof feature>[0], rect(106, 10, 0.3, 0.1))]) }, /take only 0.5/],
    ['an unknown area', { retire: ['C11', 'C12', 'C13', 'D1', 'D2', 'NOPE'] }, /no area has code NOPE/],
    ['an area re-parented twice', { reparent: [{ code: 'C21', parent: 'P' }, { code: 'C21', parent: 'P' }] }, /C21 is re-parented twice/],
    ['a share of 0 written as text', { areas: fc([feature({ code: 'M1', name: 'X', kind: 'commune', parent: 'P', population: 1, predecessors: ['C11:0', 'C12', 'C13'] } as Parameters<typeof feature>[0], rect(106, 10, 0.3, 0.1))]) }, /a share must be above 0/],
    ['nothing to do', { retire: [], areas: fc([]), reparent: [] }, /nothing to do/],
    ['a new area that is a point', { areas: fc([feature({ code: 'M1', name: 'X', kind: 'commune', parent: 'P', population: 1, predecessors: ['C11', 'C12', 'C13'] } as Parameters<typeof feature>[0], { type: 'Point', coordinates: [106, 10] })]) }, /"path":"areas\.features\[0\]\.geometry/],
    [
      'a new area coded like an object property, its predecessors in the map',
      { areas: fc([feature({ code: '__proto__', name: 'X', kind: 'commune', parent: 'P', population: 30000 }, rect(106, 10, 0.3, 0.1))]), predecessors: {} },
      /__proto__ has no predecessors/,
    ],
  ])('%s → 422', async (_name, extra, message) => {
    const before = (await http().get('/v1/areas?kind=commune&date=2021-10-02').expect(200)).body.items;
    const res = await http().post('/v1/reorganisations').send(plan(extra)).expect(422);
    expect(JSON.stringify(res.body.error)).toMatch(message);
    expect((await http().get('/v1/areas?kind=commune&date=2021-10-02').expect(200)).body.items).toEqual(before);
  });
});

describe('a reorganisation merging three communes and moving one to the province', () => {
  beforeAll(async () => {
    await http().post('/v1/recompute').send({ from: '2021-09-20', to: BEFORE }).expect(200);
    // levels exist before the date only: no recompute needed
    const res = await http().post('/v1/reorganisations').send(plan()).expect(201);
    expect(res.body).toMatchObject({ effective_date: E, created: ['M1'], reparented: ['C21'], lineage: 3, recompute: null });
    await http().post('/v1/reports').send({ reports: reportsFor(['M1', 'C21'], E, '2021-10-07' as LocalDate) }).expect(200);
    await http().post('/v1/recompute').send({ from: BEFORE, to: '2021-10-07' }).expect(200);
  }, 60_000);

  test('areas of each day: the old communes until the day before, the merged one from the day', async () => {
    expect(codesOf((await http().get(`/v1/areas?kind=commune&date=${BEFORE}`).expect(200)).body.items)).toEqual(['C11', 'C12', 'C13', 'C21']);
    expect(codesOf((await http().get(`/v1/areas?kind=commune&date=${E}`).expect(200)).body.items)).toEqual(['C21', 'M1']);
    expect((await http().get(`/v1/areas?kind=district&date=${E}`).expect(200)).body.items).toEqual([]);
    const after = (await http().get(`/v1/areas?date=${E}&parent=P`).expect(200)).body.items;
    expect(codesOf(after)).toEqual(['C21', 'M1']);
    const c21 = (await http().get('/v1/areas/C21').expect(200)).body.properties;
    expect(c21).toMatchObject({ parent: 'P', valid_from: null, valid_to: null });
    expect((await http().get('/v1/areas/C11').expect(200)).body.properties).toMatchObject({ valid_to: BEFORE });
    // an area as it was on a day: C21's parent then; an area that did not exist that day is a 404
    expect((await http().get(`/v1/areas/C21?date=${BEFORE}`).expect(200)).body.properties).toMatchObject({ parent: 'D2' });
    expect((await http().get(`/v1/areas/M1?date=${BEFORE}`).expect(404)).body.error.message).toMatch(/M1 did not exist on 2021-09-30/);
    await http().get('/v1/areas/C21?date=garbage').expect(400);
  });

  test('zones of each day, with the hierarchy of that day', async () => {
    const before = (await http().get(`/v1/zones?date=${BEFORE}`).expect(200)).body.items as { code: string; parent: string }[];
    expect(codesOf(before)).toEqual(['C11', 'C12', 'C13', 'C21', 'D1', 'D2', 'P']);
    expect(before.find((z) => z.code === 'C21')?.parent).toBe('D2');
    const after = (await http().get(`/v1/zones?date=${E}`).expect(200)).body.items as { code: string; parent: string; level: string }[];
    expect(codesOf(after)).toEqual(['C21', 'M1', 'P']);
    expect(after.find((z) => z.code === 'C21')?.parent).toBe('P');
    expect(codesOf((await http().get(`/v1/zones?date=${E}&parent=P`).expect(200)).body.items)).toEqual(['C21', 'M1']);
    // a zone of the other map: 404 saying when it existed and where its territory is
    expect((await http().get(`/v1/zones/C11?date=${E}`).expect(404)).body.error.message).toMatch(/C11 ended on 2021-09-30.*successor M1/);
    expect((await http().get(`/v1/zones/M1?date=${BEFORE}`).expect(404)).body.error.message).toMatch(/M1 begins on 2021-10-01.*predecessors C11, C12, C13/);
    const h = (await http().get(`/v1/zones/C11/history?from=${BEFORE}&to=${E}`).expect(200)).body;
    expect(h.days.map((d: { level: string; ended?: boolean }) => [d.level, d.ended ?? false])).toEqual([['red', false], ['unknown', true]]);
  });

  test("the merged commune's first 7-day incidence reads its predecessors' reports", async () => {
    const z = (await http().get(`/v1/zones/M1?date=${E}`).expect(200)).body;
    // 25–30 Sep: 6 days × (2 + 1 + 0) from C11, C12, C13; 1 Oct: 3 of its own → 21 / 30,000
    const value = z.inputs.incidence_7d?.value ?? z.inputs.incidence_7d;
    expect(value).toBeCloseTo((21 * 100_000) / 30_000, 6);
    expect(z.level).toBe('red');
    // the explanation says so: its last step names the predecessors, none of them estimated
    const last = z.explanation[z.explanation.length - 1];
    expect(last).toMatchObject({ type: 'lineage', result: 'red' });
    expect(last.estimated).toBeUndefined();
    expect(last.text.vi).toBe('Thành lập ngày 01/10/2021 từ 3 đơn vị (Xã Một, Xã Hai, Xã Ba): các ngày trước đó trong khoảng thời gian tính lấy số liệu của các đơn vị này');
    // a week on, the window is its own: no such step
    const later = (await http().get('/v1/zones/M1?date=2021-10-07').expect(200)).body;
    expect(later.explanation.map((s: { type: string }) => s.type)).not.toContain('lineage');
    // the province's figure is the same sum however the map is cut
    const p = (await http().get(`/v1/zones/P?date=${E}`).expect(200)).body;
    expect(p.inputs.incidence_7d?.value ?? p.inputs.incidence_7d).toBeCloseTo(((6 * 4 + 4) * 100_000) / 45_000, 6);
  });

  test("a rule-set preview of the day reads the predecessors' reports too", async () => {
    const res = await http().post(`/v1/rule-sets/incidence-only@1/preview?date=${E}`).expect(200);
    const items = res.body.items as { code: string; level: string; changed: boolean }[];
    expect(items.map((i) => i.code).sort()).toEqual(['C21', 'M1', 'P']);
    expect(items.find((i) => i.code === 'M1')).toMatchObject({ level: 'red', changed: false });
  });

  test('no spurious change events: the old areas do not turn unknown, the new one starts at its predecessors’ worst level', async () => {
    const feed = (await http().get(`/v1/changes?since=2021-09-28&until=2021-10-05`).expect(200)).body.items as { code: string; date: string }[];
    expect(feed.filter((c) => ['C11', 'C12', 'C13', 'D1', 'D2', 'M1'].includes(c.code))).toEqual([]);
  });

  test('history of the merged commune runs back through its predecessors', async () => {
    const h = (await http().get(`/v1/zones/M1/history?from=2021-09-28&to=2021-10-03`).expect(200)).body;
    const days = h.days as { date: string; level: string; via?: { code: string }[] }[];
    expect(days.map((d) => d.level)).toEqual(['red', 'red', 'red', 'red', 'red', 'red']);
    expect(days[0]?.via?.map((v) => v.code).sort()).toEqual(['C11', 'C12', 'C13']);
    expect(days[4]?.via).toBeUndefined();
    // red through its predecessors, red on its own: no change; nor does C11 turn unknown when it ends
    expect(h.changes).toEqual([]);
    expect((await http().get(`/v1/zones/C11/history?from=2021-09-28&to=2021-10-03`).expect(200)).body.changes).toEqual([]);
  });

  test('GeoJSON, OGC items and tiles draw the map of each day', async () => {
    const geo = async (date: LocalDate) => ((await http().get(`/v1/zones.geojson?date=${date}&kind=commune`).expect(200)).body.features as { id: string }[]).map((f) => f.id).sort();
    expect(await geo(BEFORE)).toEqual(['C11', 'C12', 'C13', 'C21']);
    expect(await geo(E)).toEqual(['C21', 'M1']);
    const simplified = ((await http().get(`/v1/zones.geojson?date=${E}&kind=commune&zoom=9`).expect(200)).body.features as { id: string; geometry: unknown }[]).map((f) => f.id).sort();
    expect(simplified).toEqual(['C21', 'M1']);
    const ogc = async (date: LocalDate) => ((await http().get(`/ogc/collections/zones/items?datetime=${date}`).expect(200)).body.features as { id: string }[]).map((f) => f.id).sort();
    expect(await ogc(BEFORE)).toEqual(['C11', 'C12', 'C13', 'C21', 'D1', 'D2', 'P']);
    expect(await ogc(E)).toEqual(['C21', 'M1', 'P']);
    expect(await tileCodes(BEFORE)).toEqual(['C11', 'C12', 'C13', 'C21']);
    expect(await tileCodes(E)).toEqual(['C21', 'M1']);
  });

  test("the week's briefing says the map changed, and has no district where there is none", async () => {
    const b = (await http().get('/v1/briefing?date=2021-10-03&parent=P').expect(200)).body;
    expect(b.map_changes).toEqual([
      { date: E, text: { vi: 'Bản đồ hành chính thay đổi ngày 01/10/2021: 4 xã, phường → 2; số liệu tuần trước là của bản đồ cũ', en: 'the administrative map changed on 2021-10-01: 4 → 2 communes; the week-before figures are of the old map' } },
    ]);
    expect(b.communes.map((c: { code: string; district: unknown }) => [c.code, c.district])).toEqual([
      ['C21', null],
      ['M1', null],
    ]);
    const before = (await http().get('/v1/briefing?date=2021-09-30&parent=P').expect(200)).body;
    expect(before.map_changes).toEqual([]);
    expect(before.communes.find((c: { code: string }) => c.code === 'C21').district).toEqual({ code: 'D2', name: 'Huyện Hai' });
    const page = await http().get('/briefing?date=2021-10-03&parent=P').expect(200);
    expect(page.text).toContain('Bản đồ hành chính thay đổi ngày 01/10/2021');
  });

  test('lineage both ways', async () => {
    const m1 = (await http().get('/v1/areas/M1/lineage').expect(200)).body;
    expect(m1.predecessors.map((p: { code: string; event: string; date: string }) => [p.code, p.event, p.date])).toEqual([
      ['C11', 'merge', E],
      ['C12', 'merge', E],
      ['C13', 'merge', E],
    ]);
    expect((await http().get('/v1/areas/C12/lineage').expect(200)).body.successors.map((s: { code: string }) => s.code)).toEqual(['M1']);
    expect((await http().get('/v1/areas/C21/lineage').expect(200)).body.parents).toEqual([{ date: E, from: 'D2', to: 'P' }]);
  });

  test('a report for a retired commune after the date is refused naming its successor; one for the new commune before it, naming its predecessors', async () => {
    const late = await http().post('/v1/reports').send({ reports: [{ area: 'C11', date: addDays(E, 1), community_cases: 1, quarantine_cases: 0 }] }).expect(422);
    expect(JSON.stringify(late.body.error.details)).toMatch(/C11 ended on 2021-09-30.*successor is M1/);
    const early = await http().post('/v1/reports').send({ reports: [{ area: 'M1', date: BEFORE, community_cases: 1, quarantine_cases: 0 }] }).expect(422);
    expect(JSON.stringify(early.body.error.details)).toMatch(/M1 begins on 2021-10-01.*predecessors C11, C12, C13/);
  });

  test('a reporter key of the old district reports C21 only for the days C21 was in it', async () => {
    const key = (await http().post('/v1/keys').send({ role: 'reporter', scope: ['D2'], name: 'Huyện Hai' }).expect(201)).body.key as string;
    const as = () => http().set('Authorization', `Bearer ${key}`);
    await as().post('/v1/reports').send({ reports: [{ area: 'C21', date: '2021-09-15', community_cases: 1, quarantine_cases: 0 }] }).expect(200);
    const after = await as().post('/v1/reports').send({ reports: [{ area: 'C21', date: '2021-10-02', community_cases: 1, quarantine_cases: 0 }] }).expect(403);
    expect(after.body.error.details).toEqual([{ path: 'reports[0].area', message: "area C21 is outside this key's scope on that day" }]);
  });

  test('reorganisations are written in the order of their days', async () => {
    const res = await http()
      .post('/v1/reorganisations')
      .send({ effective_date: '2021-09-20', retire: [], areas: fc([feature({ code: 'N9', name: 'X', kind: 'commune', parent: 'P', population: 0, new_territory: true } as Parameters<typeof feature>[0], square(107, 10, 0.1))]), reparent: [] })
      .expect(422);
    expect(JSON.stringify(res.body.error.details)).toMatch(/a reorganisation on 2021-10-01 is recorded already/);
  });

  test('a second reorganisation over classified days needs recompute', async () => {
    const res = await http()
      .post('/v1/reorganisations')
      .send({ effective_date: '2021-10-05', retire: [], areas: fc([feature({ code: 'N8', name: 'X', kind: 'commune', parent: 'P', population: 0, new_territory: true } as Parameters<typeof feature>[0], square(107, 10, 0.1))]), reparent: [] })
      .expect(422);
    expect(JSON.stringify(res.body.error.details)).toMatch(/levels are already stored from 2021-10-05 to 2021-10-07/);
  });
});
