import { simplify as turfSimplify } from '@turf/turf';
import type { Feature, FeatureCollection, MultiPolygon, Position } from 'geojson';
import { addDays, LocalDate } from '../../src/domain/dates';
import { LEVEL_INFO } from '../../src/domain/levels';
import { pixelDegrees, zoomDecimals } from '../../src/geo/simplify';
import { signedArea } from '../../src/geo/validate';
import { seedDemo } from '../../seeds';
import { jaggedGrid } from '../helpers/fixtures';
import { testContext } from '../helpers/context';
import { warmMaps, zonesMap } from '../../src/services/maps';

/** GET /v1/zones.geojson on the Đồng Nai demo, and shared borders on a jagged grid. */
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
afterAll(() => ctx.close());

beforeAll(async () => {
  await ctx.reset();
  await seedDemo(ctx.db, END);
  await http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(jaggedGrid(5))).expect(200);
  await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ from: addDays(END, -6), to: END }).expect(200);
});

type Zones = FeatureCollection<MultiPolygon, Record<string, unknown>>;
const get = async (query: string) => {
  const res = await http().get(`/v1/zones.geojson?${query}`).expect(200);
  return { res, body: JSON.parse(res.text) as Zones };
};

/** RFC 7946: closed rings of ≥ 4 positions in lon/lat ranges, exteriors counter-clockwise, holes clockwise. */
function rfc7946Problems(fc: Zones): string[] {
  const problems: string[] = [];
  if (fc.type !== 'FeatureCollection') problems.push('not a FeatureCollection');
  for (const f of fc.features) {
    const where = String(f.id);
    if (f.type !== 'Feature' || f.geometry?.type !== 'MultiPolygon') {
      problems.push(`${where}: not a MultiPolygon feature`);
      continue;
    }
    f.geometry.coordinates.forEach((rings, p) =>
      rings.forEach((ring, r) => {
        const first = ring[0] as Position;
        const last = ring[ring.length - 1] as Position;
        if (ring.length < 4) problems.push(`${where} ${p}/${r}: fewer than 4 positions`);
        if (first[0] !== last[0] || first[1] !== last[1]) problems.push(`${where} ${p}/${r}: not closed`);
        if (ring.some(([x, y]) => !(Math.abs(x as number) <= 180 && Math.abs(y as number) <= 90))) problems.push(`${where} ${p}/${r}: outside lon/lat`);
        const ccw = signedArea(ring as [number, number][]) > 0;
        if (ccw !== (r === 0)) problems.push(`${where} ${p}/${r}: wrong winding`);
      }),
    );
  }
  return problems;
}

const vertices = (fc: Zones) => fc.features.reduce((n, f) => n + f.geometry.coordinates.flat(2).length, 0);

describe('GET /v1/zones.geojson', () => {
  test('the demo province as RFC 7946 features with the contract properties', async () => {
    const { res, body } = await get(`date=${END}&kind=commune&parent=VNM.17.1_1`);
    expect(res.headers['content-type']).toMatch(/^application\/geo\+json/);
    expect(body.features.length).toBeGreaterThan(5);
    expect(rfc7946Problems(body)).toEqual([]);
    for (const f of body.features) {
      const p = f.properties;
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['code', 'name', 'level', 'level_number', 'color', 'since', 'community_cases_7d', 'incidence_per_100k_7d']));
      expect(p.color).toBe(LEVEL_INFO[p.level as keyof typeof LEVEL_INFO].color);
      expect(f.id).toBe(p.code);
    }
    // the properties agree with the zones list of the same day
    const list = (await http().get(`/v1/zones?date=${END}&kind=commune&parent=VNM.17.1_1`).expect(200)).body.items as { code: string; level: string }[];
    expect(Object.fromEntries(body.features.map((f) => [f.id, f.properties.level]))).toEqual(Object.fromEntries(list.map((z) => [z.code, z.level])));
  });

  test('7-day community cases are summed from the reports, incidence per 100,000', async () => {
    const { body } = await get(`date=${END}&kind=commune`);
    const f = body.features.find((x) => (x.properties.community_cases_7d as number) > 0) as Feature<MultiPolygon, Record<string, number>>;
    const code = f.properties.code as unknown as string;
    const reports = (await http().get(`/v1/areas/${code}/reports?from=${addDays(END, -6)}&to=${END}`).expect(200)).body.items as { community_cases: number }[];
    expect(f.properties.community_cases_7d).toBe(reports.reduce((s, r) => s + r.community_cases, 0));
    expect(f.properties.incidence_per_100k_7d).toBeCloseTo((f.properties.community_cases_7d * 100_000) / f.properties.population, 2);
  });

  test('zoom simplifies and rounds; all of it stays valid', async () => {
    const full = (await get(`date=${END}&kind=commune`)).body;
    const z8 = (await get(`date=${END}&kind=commune&zoom=8`)).body;
    expect(z8.features.map((f) => f.id)).toEqual(full.features.map((f) => f.id));
    expect(vertices(z8)).toBeLessThan(vertices(full));
    expect(rfc7946Problems(z8)).toEqual([]);
    // the jagged grid's wiggles are below a pixel at zoom 8: most of them go
    const grid = (zoom: string) => get(`date=${END}&parent=GP${zoom}`).then((r) => vertices(r.body));
    expect(await grid('&zoom=8')).toBeLessThan((await grid('')) / 4);
    expect(await grid('&zoom=6')).toBeLessThanOrEqual(await grid('&zoom=8'));
    const decimals = zoomDecimals(8);
    const tooPrecise = z8.features.flatMap((f) => f.geometry.coordinates.flat(2)).filter(([x]) => Math.round((x as number) * 10 ** decimals) / 10 ** decimals !== x);
    expect(tooPrecise).toEqual([]);
  });

  test('bbox and level filters', async () => {
    const { body } = await get(`date=${END}&bbox=105.0,10.0,105.08,10.08`);
    expect(body.features.map((f) => f.id).sort()).toEqual(['G0_0', 'G0_1', 'G1_0', 'G1_1', 'GP']);
    const red = (await get(`date=${END}&level=red`)).body;
    expect(red.features.every((f) => f.properties.level === 'red')).toBe(true);
  });

  test('ETag and If-None-Match: 304 while nothing changed, a new tag when the levels change', async () => {
    const first = await http().get(`/v1/zones.geojson?date=${END}&kind=district`).expect(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/".+"$/);
    expect(first.headers['cache-control']).toMatch(/max-age=\d+/);
    const again = await http().get(`/v1/zones.geojson?date=${END}&kind=district`).set('If-None-Match', etag).expect(304);
    expect(again.text).toBe('');
    const otherZoom = await http().get(`/v1/zones.geojson?date=${END}&kind=district&zoom=6`).set('If-None-Match', etag).expect(200);
    expect(otherZoom.headers.etag).not.toBe(etag);
    await http()
      .post('/v1/zones/VNM.17.1_1/overrides')
      .set('Content-Type', 'application/json')
      .send({ level: 'red', reason: 'test: an override changes the map', from: END, author: 'map test' })
      .expect(201);
    const changed = await http().get(`/v1/zones.geojson?date=${END}&kind=district`).set('If-None-Match', etag).expect(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(JSON.parse(changed.text).features.find((f: Feature) => f.id === 'VNM.17.1_1').properties.level).toBe('red');
  });

  test('a simplified map is kept per tag: the same body in every encoding and for concurrent requests, a new one after a change', async () => {
    const url = `/v1/zones.geojson?date=${END}&kind=district&zoom=7`;
    const plain = await http().get(url).set('Accept-Encoding', 'identity').expect(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const [gz, gz2, br] = await Promise.all([
      http().get(url).set('Accept-Encoding', 'gzip').expect(200),
      http().get(url).set('Accept-Encoding', 'gzip, deflate').expect(200),
      http().get(url).set('Accept-Encoding', 'br').expect(200),
    ]);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(br.headers['content-encoding']).toBe('br');
    for (const r of [gz, gz2, br]) {
      expect(r.headers.etag).toBe(plain.headers.etag);
      expect(r.headers.vary).toMatch(/Accept-Encoding/i);
      expect(r.text).toBe(plain.text);
    }
    const level = (text: string) => (JSON.parse(text) as Zones).features.find((f) => f.id === 'VNM.17.2_1')?.properties.level;
    expect(level(plain.text)).not.toBe('orange');
    await http().post('/v1/zones/VNM.17.2_1/overrides').set('Content-Type', 'application/json').send({ level: 'orange', reason: 'test: the kept map changes', from: END, author: 'map test' }).expect(201);
    const after = await http().get(url).set('Accept-Encoding', 'gzip').expect(200);
    expect(after.headers.etag).not.toBe(plain.headers.etag);
    expect(level(after.text)).toBe('orange');
  });

  test('warmMaps builds the communes map at zoom 6 under the route\'s tag: the request after it finds it kept, a change makes a new one', async () => {
    const map = () => zonesMap(ctx.rt, { date: END, asOf: null, version: 'latest' }, { kind: 'commune', zoom: 6 });
    const unbuilt = () => Promise.reject(new Error('built again'));
    await expect(ctx.rt.maps.bodies.body((await map()).etag, false, unbuilt)).rejects.toThrow('built again');
    await warmMaps(ctx.rt, END);
    const kept = await ctx.rt.maps.bodies.body((await map()).etag, true, unbuilt);
    const res = await http().get(`/v1/zones.geojson?date=${END}&kind=commune&zoom=6`).set('Accept-Encoding', 'gzip').expect(200);
    expect(res.headers.etag).toBe((await map()).etag);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(Number(res.headers['content-length'])).toBe(kept.length);
    const body = JSON.parse(res.text) as Zones;
    expect(body.features.length).toBeGreaterThan(100);
    expect(body.features.every((f) => f.properties.kind === 'commune')).toBe(true);
    const code = body.features[0]?.id as string;
    await http().post(`/v1/zones/${code}/overrides`).set('Content-Type', 'application/json').send({ level: 'red', reason: 'test: a warm map is not served after a change', from: END, author: 'map test' }).expect(201);
    await expect(ctx.rt.maps.bodies.body((await map()).etag, false, unbuilt)).rejects.toThrow('built again');
    const after = JSON.parse((await http().get(`/v1/zones.geojson?date=${END}&kind=commune&zoom=6`).expect(200)).text) as Zones;
    expect(after.features.find((f) => f.id === code)?.properties.level).toBe('red');
  });

  test('compressed with gzip or brotli as the client accepts', async () => {
    for (const encoding of ['gzip', 'br']) {
      const res = await http().get(`/v1/zones.geojson?date=${END}&kind=commune`).set('Accept-Encoding', encoding).expect(200);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(rfc7946Problems(JSON.parse(res.text) as Zones)).toEqual([]); // supertest decodes both
    }
  });

  test('bad parameters are 400s naming the field', async () => {
    for (const [query, path] of [
      ['zoom=abc', 'zoom'],
      ['zoom=23', 'zoom'],
      ['bbox=1,2,3', 'bbox'],
      ['date=2021-02-30', 'date'],
      ['colour=red', ''],
    ]) {
      const res = await http().get(`/v1/zones.geojson?${query}`).expect(400);
      expect(JSON.stringify(res.body)).toContain(path);
      expect(res.body.error).toBeDefined();
    }
  });
});

/**
 * Shared borders stay shared: in the simplified grid every edge inside the grid belongs to
 * exactly two neighbours (one each way) and an edge that belongs to one area only lies on
 * the grid's straight outer frame. A gap or an overlap between neighbours breaks that.
 */
describe('simplification keeps shared borders shared', () => {
  const X0 = 105;
  const Y0 = 10;
  const SIDE = 5 * 0.05;
  const onFrame = (p: Position) => [X0, X0 + SIDE].some((x) => Math.abs((p[0] as number) - x) < 1e-9) || [Y0, Y0 + SIDE].some((y) => Math.abs((p[1] as number) - y) < 1e-9);

  function strayEdges(polygons: Position[][][][]): number {
    const count = new Map<string, number>();
    const edges: [Position, Position][] = [];
    for (const mp of polygons)
      for (const rings of mp)
        for (const ring of rings)
          for (let i = 0; i + 1 < ring.length; i++) {
            const a = ring[i] as Position;
            const b = ring[i + 1] as Position;
            const key = [`${a[0]},${a[1]}`, `${b[0]},${b[1]}`].sort().join(' ');
            count.set(key, (count.get(key) ?? 0) + 1);
            edges.push([a, b]);
          }
    let stray = 0;
    for (const [a, b] of edges) {
      const key = [`${a[0]},${a[1]}`, `${b[0]},${b[1]}`].sort().join(' ');
      const n = count.get(key) as number;
      if (n > 2 || (n === 1 && !(onFrame(a) && onFrame(b)))) stray++;
    }
    return stray;
  }

  test.each([6, 8, 10, 12])('zoom %i', async (zoom) => {
    const { body } = await get(`date=${END}&parent=GP&zoom=${zoom}`);
    expect(body.features).toHaveLength(25);
    expect(rfc7946Problems(body)).toEqual([]);
    expect(strayEdges(body.features.map((f) => f.geometry.coordinates))).toBe(0);
  });

  test('the check has teeth: simplifying each polygon on its own opens gaps', async () => {
    const { body } = await get(`date=${END}&parent=GP`);
    expect(strayEdges(body.features.map((f) => f.geometry.coordinates))).toBe(0); // full detail: shared exactly
    const alone = body.features.map((f) => (turfSimplify(f, { tolerance: pixelDegrees(8) }).geometry as MultiPolygon).coordinates);
    expect(strayEdges(alone)).toBeGreaterThan(0);
  });
});
