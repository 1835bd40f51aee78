import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';

/** OGC API – Features at /ogc, checked by hand and by GDAL's OAPIF driver (a client no one here wrote). */
const run = promisify(execFile);
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
let server: Server;
let root: string;
let areaCount: number;

beforeAll(async () => {
  await ctx.demo(END, 2);
  areaCount = Number((await ctx.db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c);
  server = ctx.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  root = `http://127.0.0.1:${(server.address() as { port: number }).port}/ogc`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await ctx.close();
});

describe('OGC API – Features', () => {
  test('landing page, conformance, collections', async () => {
    const landing = (await http().get('/ogc').expect(200)).body;
    expect(landing.links.map((l: { rel: string }) => l.rel)).toEqual(expect.arrayContaining(['self', 'service-desc', 'conformance', 'data']));
    const api = await http().get('/ogc/api').expect(200);
    expect(JSON.parse(api.text).paths['/collections/{collectionId}/items']).toBeDefined();
    const conf = (await http().get('/ogc/conformance').expect(200)).body;
    expect(conf.conformsTo).toEqual(
      expect.arrayContaining([
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
        'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables',
        'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter',
        'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
        'http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas',
      ]),
    );
    const cols = (await http().get('/ogc/collections').expect(200)).body;
    expect(cols.collections.map((c: { id: string }) => c.id)).toEqual(['zones', 'provinces', 'districts', 'communes', 'subcommunes']);
    const zones = (await http().get('/ogc/collections/zones').expect(200)).body;
    const [x1, y1, x2, y2] = zones.extent.spatial.bbox[0];
    expect(x1).toBeGreaterThan(106);
    expect(x2).toBeLessThan(108);
    expect(y1).toBeGreaterThan(10);
    expect(y2).toBeLessThan(12);
    expect(zones.extent.temporal.interval[0][1]).toBe(`${END}T23:59:59Z`);
  });

  test('items page with numberMatched, next and prev links; a day by datetime', async () => {
    const first = await http().get(`/ogc/collections/zones/items?limit=50&datetime=${END}`).expect(200);
    expect(first.headers['content-type']).toMatch(/^application\/geo\+json/);
    expect(first.body).toMatchObject({ type: 'FeatureCollection', numberMatched: areaCount, numberReturned: 50 });
    const next = first.body.links.find((l: { rel: string }) => l.rel === 'next');
    expect(first.body.links.find((l: { rel: string }) => l.rel === 'prev')).toBeUndefined();
    const second = await http().get(next.href.replace(/^http:\/\/[^/]+/, '')).expect(200);
    expect(second.body.numberReturned).toBe(50);
    expect(second.body.links.find((l: { rel: string }) => l.rel === 'prev')).toBeDefined();
    const ids = [...first.body.features, ...second.body.features].map((f: { id: string }) => f.id);
    expect(new Set(ids).size).toBe(100);
    // the levels are those of the day asked for
    const list = (await http().get(`/v1/zones?date=${END}`).expect(200)).body.items as { code: string; level: string }[];
    const levels = Object.fromEntries(list.map((z) => [z.code, z.level]));
    for (const f of first.body.features as { id: string; properties: { level: string } }[]) expect(f.properties.level).toBe(levels[f.id]);
    const last = (await http().get(`/ogc/collections/zones/items?limit=50&offset=${areaCount - 10}&datetime=${END}`).expect(200)).body;
    expect(last.numberReturned).toBe(10);
    expect(last.links.find((l: { rel: string }) => l.rel === 'next')).toBeUndefined();
  });

  test('bbox, one item, and the errors', async () => {
    const boxed = (await http().get(`/ogc/collections/zones/items?bbox=106.8,10.9,106.9,11.0&datetime=${END}&limit=1000`).expect(200)).body;
    expect(boxed.numberMatched).toBeGreaterThan(0);
    expect(boxed.numberMatched).toBeLessThan(areaCount);
    const one = (await http().get(`/ogc/collections/zones/items/VNM.17.1_1?datetime=${END}`).expect(200)).body;
    expect(one).toMatchObject({ type: 'Feature', id: 'VNM.17.1_1', properties: { code: 'VNM.17.1_1', kind: 'district' } });
    await http().get('/ogc/collections/zones/items/NOPE').expect(404);
    await http().get('/ogc/collections/roads/items').expect(404);
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=1.5', 'limit'],
      ['offset=-1', 'offset'],
      ['datetime=2021-10-31/2021-10-01', 'datetime'],
      ['datetime=2021-02-30', 'datetime'],
      ['datetime=yesterday', 'datetime'],
      ['datetime=2021-10-01/2021-10-02/2021-10-03', 'datetime'],
      ['datetime=/', 'datetime'],
      ['datetime=2021-10-01T25:00:00Z', 'datetime'],
      ['bbox=1,2', 'bbox'],
      ['bbox=1,2,3,4,5', 'bbox'],
      ['bbox-crs=EPSG:4326', 'bbox-crs'],
    ]) {
      const res = await http().get(`/ogc/collections/zones/items?${query}`).expect(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
    }
  });
});

type Feature = { id: string; properties: Record<string, string | number | null>; links?: { rel: string; href: string }[] };
type Page = { numberMatched: number; numberReturned: number; features: Feature[]; links: { rel: string; href: string }[] };
const items = async (collection: string, query: string): Promise<Page> => {
  const res = await http().get(`/ogc/collections/${collection}/items?${query}`);
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};
const DAY_BEFORE = '2021-10-30' as LocalDate;
/** A link's path and query (supertest's requests arrive on an origin of their own). */
const local = (href: string | undefined) => (href ?? '').replace(/^http:\/\/[^/]+/, '');

describe('one collection per kind of area', () => {
  test('each kind its own collection; together they are the zones', async () => {
    const all = await items('zones', `limit=10000&datetime=${END}`);
    let sum = 0;
    for (const [id, kind] of [['provinces', 'province'], ['districts', 'district'], ['communes', 'commune'], ['subcommunes', 'subcommune']] as const) {
      const page = await items(id, `limit=10000&datetime=${END}`);
      expect(page.features.every((f) => f.properties.kind === kind)).toBe(true);
      expect(page.numberMatched).toBe(all.features.filter((f) => f.properties.kind === kind).length);
      sum += page.numberMatched;
    }
    expect(sum).toBe(areaCount);
    expect((await items('communes', `limit=1&datetime=${END}`)).numberMatched).toBeGreaterThan(100);
  });

  test('items/{featureId} has self, collection and alternate links; code@day names a day; another kind is 404', async () => {
    const one = (await http().get(`/ogc/collections/districts/items/VNM.17.1_1?datetime=${END}`).expect(200)).body as Feature;
    expect(one).toMatchObject({ type: 'Feature', id: 'VNM.17.1_1', properties: { kind: 'district', date: END } });
    const rels = Object.fromEntries((one.links ?? []).map((l) => [l.rel, l.href]));
    expect(local(rels.self)).toBe(`/ogc/collections/districts/items/VNM.17.1_1?datetime=${END}`);
    expect(local(rels.collection)).toBe('/ogc/collections/districts');
    expect(local(rels.alternate)).toBe(`/ogc/collections/zones/items/VNM.17.1_1?datetime=${END}`);
    // every link answers (on the test's origin)
    for (const href of Object.values(rels)) await http().get(href.replace(/^http:\/\/[^/]+/, '')).expect(200);
    const dated = (await http().get(`/ogc/collections/zones/items/VNM.17.1_1@${DAY_BEFORE}`).expect(200)).body as Feature;
    expect(dated).toMatchObject({ id: `VNM.17.1_1@${DAY_BEFORE}`, properties: { date: DAY_BEFORE } });
    const list = (await http().get(`/v1/zones?date=${DAY_BEFORE}&kind=district`).expect(200)).body.items as { code: string; level: string }[];
    expect(dated.properties.level).toBe(list.find((z) => z.code === 'VNM.17.1_1')?.level);
    await http().get(`/ogc/collections/communes/items/VNM.17.1_1?datetime=${END}`).expect(404);
    await http().get('/ogc/collections/zones/items/VNM.17.1_1@2021-02-30').expect(404);
    await http().get('/ogc/collections/zones/items/VNM.17.1_1@yesterday').expect(404);
    // a day the service cannot hold (years 1900–2999) is no feature, and no datetime (not a 422 from the database)
    await http().get('/ogc/collections/zones/items/VNM.17.1_1@0000-01-01').expect(404);
    for (const datetime of ['0000-01-01', `0000-01-01/${END}`]) {
      const res = await http().get(`/ogc/collections/zones/items?datetime=${encodeURIComponent(datetime)}`).expect(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('datetime');
    }
    const mixed = await http().get(`/ogc/collections/zones/items/VNM.17.1_1@${DAY_BEFORE}?datetime=${END}`).expect(400);
    expect(JSON.stringify(mixed.body.error)).toContain('datetime');
    const interval = await http().get(`/ogc/collections/zones/items/VNM.17.1_1?datetime=${DAY_BEFORE}/${END}`).expect(400);
    expect(JSON.stringify(interval.body.error)).toContain('datetime');
  });

  test('a 6-number bbox is the 4-number one; a limit above the maximum is capped', async () => {
    const four = await items('zones', `bbox=106.8,10.9,106.9,11.0&datetime=${END}&limit=1000`);
    const six = await items('zones', `bbox=106.8,10.9,-100,106.9,11.0,9000&bbox-crs=${encodeURIComponent('http://www.opengis.net/def/crs/OGC/1.3/CRS84')}&datetime=${END}&limit=1000`);
    expect(six.features.map((f) => f.id)).toEqual(four.features.map((f) => f.id));
    const capped = await items('zones', `limit=100001&offset=5&datetime=${END}`);
    expect(capped.numberReturned).toBe(areaCount - 5);
    const self = new URL(capped.links.find((l) => l.rel === 'self')?.href ?? '');
    expect(self.searchParams.get('limit')).toBe('10000');
    expect(new URL(capped.links.find((l) => l.rel === 'prev')?.href ?? '').searchParams.get('offset')).toBe('0');
  });
});

describe('datetime: a day, or an interval of days with levels', () => {
  test('an interval answers one feature per area per day with levels, by day then code, each with that day\'s level', async () => {
    const districts = (await items('districts', `limit=1000&datetime=${END}`)).numberMatched;
    for (const datetime of [`${DAY_BEFORE}/${END}`, `../${END}`, `${DAY_BEFORE}/..`, `${DAY_BEFORE}/`, '../..', `2021-10-01T00:00:00Z/${END}T23:59:59Z`]) {
      const page = await items('districts', `limit=1000&datetime=${encodeURIComponent(datetime)}`);
      expect([datetime, page.numberMatched]).toEqual([datetime, 2 * districts]);
      expect(page.features.map((f) => f.properties.date)).toEqual([...Array(districts).fill(DAY_BEFORE), ...Array(districts).fill(END)]);
      expect(new URL(page.links.find((l) => l.rel === 'self')?.href ?? '').searchParams.get('datetime')).toBe(datetime);
    }
    const page = await items('districts', `limit=1000&datetime=${DAY_BEFORE}/${END}`);
    for (const day of [DAY_BEFORE, END]) {
      const list = (await http().get(`/v1/zones?date=${day}&kind=district`).expect(200)).body.items as { code: string; level: string }[];
      const mine = page.features.filter((f) => f.properties.date === day);
      expect(mine.map((f) => f.id)).toEqual(list.map((z) => `${z.code}@${day}`));
      expect(mine.map((f) => f.properties.level)).toEqual(list.map((z) => z.level));
    }
    // a page across the two days, and its next link
    const across = await items('districts', `limit=${districts}&offset=${districts - 1}&datetime=${DAY_BEFORE}/${END}`);
    expect(across.features.map((f) => f.properties.date)).toEqual([DAY_BEFORE, ...Array(districts - 1).fill(END)]);
    const next = new URL(across.links.find((l) => l.rel === 'next')?.href ?? '');
    expect(next.searchParams.get('offset')).toBe(String(2 * districts - 1));
    expect((await items('districts', `limit=10&datetime=${END}/`)).numberMatched).toBe(districts);
    expect((await items('districts', 'datetime=2000-01-01/2000-12-31')).numberMatched).toBe(0);
    expect((await items('districts', 'datetime=2030-01-01/..')).numberMatched).toBe(0);
  });

  test('an interval over more than 31 days with levels is refused naming datetime; a narrower one answers', async () => {
    // levels of a day 41 days before the last (zone_levels is append-only: the day stays, later tests read single days)
    await http().post('/v1/recompute').send({ date: '2021-09-20' }).expect(200);
    {
      for (const datetime of [`../${END}`, `2021-09-01/${END}`, '../..']) {
        const res = await http().get(`/ogc/collections/provinces/items?datetime=${encodeURIComponent(datetime)}`).expect(400);
        expect(JSON.stringify(res.body.error)).toMatch(/datetime.*at most 31 days/);
      }
      const provinces = (await items('provinces', `datetime=${END}`)).numberMatched;
      expect((await items('provinces', 'datetime=../2021-10-15')).numberMatched).toBe(provinces);
      expect((await items('provinces', `datetime=2021-10-01/${END}`)).numberMatched).toBe(2 * provinces);
    }
  });
});

describe('queryables, schema and filter', () => {
  test('queryables (Part 3) and schema (Part 5) as JSON Schema, linked from the collection', async () => {
    const col = (await http().get('/ogc/collections/communes').expect(200)).body as { links: { rel: string; href: string; type: string }[] };
    const rel = (r: string) => col.links.find((l) => l.rel === r)?.href.replace(/^http:\/\/[^/]+/, '') ?? '';
    const q = await http().get(rel('http://www.opengis.net/def/rel/ogc/1.0/queryables')).set('Accept', 'application/schema+json').expect(200);
    expect(q.headers['content-type']).toMatch(/^application\/schema\+json/);
    const queryables = JSON.parse(q.text);
    expect(queryables).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' });
    expect(local(queryables.$id)).toBe('/ogc/collections/communes/queryables');
    expect(queryables.properties).toMatchObject({
      incidence_per_100k_7d: { type: 'number' },
      community_cases_7d: { type: 'integer' },
      population: { type: 'integer' },
      level: { type: 'string', enum: ['green', 'yellow', 'orange', 'red', 'unknown'] },
      kind: { type: 'string', enum: ['commune'] },
      since: { type: 'string', format: 'date' },
    });
    const schema = JSON.parse((await http().get(rel('http://www.opengis.net/def/rel/ogc/1.0/schema')).expect(200)).text);
    expect(schema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' });
    expect(local(schema.$id)).toBe('/ogc/collections/communes/schema');
    expect(schema.properties.id['x-ogc-role']).toBe('id');
    expect(schema.properties.geometry['x-ogc-role']).toBe('primary-geometry');
    expect(schema.properties.date['x-ogc-role']).toBe('primary-instant');
    expect(schema.properties.incidence_per_100k_7d.type).toEqual(['number', 'null']);
    // every property a feature has is in the schema, and nothing else
    const f = (await items('communes', `limit=1&datetime=${END}`)).features[0] as Feature;
    expect(Object.keys(f.properties).sort()).toEqual(Object.keys(schema.properties).filter((k) => k !== 'id' && k !== 'geometry').sort());
    const geojson = JSON.parse((await http().get(rel('describedBy')).expect(200)).text);
    expect(geojson.properties.properties.properties.incidence_per_100k_7d.type).toBe('number');
    await http().get('/ogc/collections/roads/queryables').expect(404);
  });

  test('a CQL2-text filter narrows the items to those whose properties pass it', async () => {
    const all = (await items('communes', `limit=10000&datetime=${END}`)).features;
    const p = <T = string,>(f: Feature, k: string) => f.properties[k] as T;
    // thresholds from the day's own figures, so that each case selects some and not all
    const levels = all.map((f) => p(f, 'level'));
    const lv = [...new Set(levels)].sort((a, b) => levels.filter((l) => l === b).length - levels.filter((l) => l === a).length)[0] as string;
    const incidences = all.map((f) => p<number | null>(f, 'incidence_per_100k_7d')).filter((v): v is number => v !== null).sort((a, b) => a - b);
    const mid = incidences[Math.floor(incidences.length / 2)] as number;
    const num = (f: Feature, k: string) => p<number | null>(f, k);
    const cases: [string, (f: Feature) => boolean][] = [
      [`level = '${lv}'`, (f) => p(f, 'level') === lv],
      [`level <> '${lv}'`, (f) => p(f, 'level') !== lv],
      [`incidence_per_100k_7d > ${mid}`, (f) => (num(f, 'incidence_per_100k_7d') ?? -Infinity) > mid],
      [`level = '${lv}' AND incidence_per_100k_7d > ${mid}`, (f) => p(f, 'level') === lv && (num(f, 'incidence_per_100k_7d') ?? -Infinity) > mid],
      [`level = 'red' or incidence_per_100k_7d <= ${mid}`, (f) => p(f, 'level') === 'red' || (num(f, 'incidence_per_100k_7d') ?? Infinity) <= mid],
      [`NOT (level = 'red' OR level = 'orange') AND population >= 10000`, (f) => !['red', 'orange'].includes(p(f, 'level')) && (num(f, 'population') ?? -Infinity) >= 10000],
      ["parent = 'VNM.17.1_1'", (f) => p(f, 'parent') === 'VNM.17.1_1'],
      [`since < DATE('${END}')`, (f) => f.properties.since !== null && p(f, 'since') < END],
      ['community_cases_7d IS NULL', (f) => f.properties.community_cases_7d === null],
      [`date = '${END}' AND level_number >= 2`, (f) => (num(f, 'level_number') ?? -Infinity) >= 2],
    ];
    let some = 0;
    for (const [filter, pass] of cases) {
      const page = await items('communes', `limit=10000&datetime=${END}&filter=${encodeURIComponent(filter)}`);
      expect([filter, page.features.map((f) => f.id)]).toEqual([filter, all.filter(pass).map((f) => f.id)]);
      if (page.numberMatched > 0 && page.numberMatched < all.length) some++;
    }
    expect(some).toBeGreaterThan(3); // the cases do select
    // filter-lang cql-text (what GDAL sends) is the same language; the next link keeps the filter
    const others = all.filter((f) => f.properties.level !== lv).length;
    const first = await items('communes', `limit=5&datetime=${END}&filter-lang=cql-text&filter=${encodeURIComponent(`level <> '${lv}'`)}`);
    expect(first.numberMatched).toBe(others);
    const next = new URL(first.links.find((l) => l.rel === 'next')?.href ?? '');
    expect(next.searchParams.get('filter')).toBe(`level <> '${lv}'`);
    expect(next.searchParams.get('filter-lang')).toBe('cql-text');
  });

  test('a bad filter is a 400 naming filter and why', async () => {
    for (const [query, reason] of [
      [`filter=${encodeURIComponent("level = 'red")}`, 'not closed'],
      [`filter=${encodeURIComponent("colour = 'red'")}`, 'unknown property colour'],
      [`filter=${encodeURIComponent('level > 5')}`, 'level is a string'],
      [`filter=${encodeURIComponent("level = 'red'; DROP TABLE areas")}`, "unexpected ';'"],
      [`filter=${'x'.repeat(5000)}`, 'at most 4096 characters'],
      [`filter=${encodeURIComponent(Array.from({ length: 70 }, () => "level = 'red'").join(' OR '))}`, 'more than 64 comparisons'],
      [`filter=${encodeURIComponent("level = 'red'")}&filter-lang=cql2-json`, 'filter-lang'],
    ]) {
      const res = await http().get(`/ogc/collections/communes/items?${query}`).expect(400);
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.stringMatching(/^filter/) })]));
      expect(JSON.stringify(res.body.error)).toContain(reason);
    }
  });
});

/** GDAL's OAPIF driver must list the layer with the right count and export it to a GeoPackage. */
describe('GDAL reads /ogc', () => {
  const hasGdal = fs.existsSync('/usr/bin/ogrinfo');
  if (!hasGdal) {
    test.skip('GDAL is not installed here: apt-get install -y gdal-bin', () => undefined);
    return;
  }
  const env = { ...process.env, GDAL_HTTP_TIMEOUT: '30', CPL_DEBUG: 'OFF' };

  test('ogrinfo lists zones with the right feature count', async () => {
    const { stdout } = await run('ogrinfo', ['-ro', '-so', `OAPIF:${root}`, 'zones'], { env, timeout: 60_000 });
    expect(stdout).toMatch(/Layer name: zones/);
    expect(stdout).toMatch(new RegExp(`Feature Count: ${areaCount}\\b`));
  });

  test('ogr2ogr writes a GeoPackage of every zone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-ogc-'));
    try {
      const gpkg = path.join(dir, 'zones.gpkg');
      await run('ogr2ogr', ['-f', 'GPKG', gpkg, `OAPIF:${root}`, 'zones'], { env, timeout: 120_000 });
      const { stdout } = await run('ogrinfo', ['-ro', '-so', gpkg, 'zones'], { env, timeout: 60_000 });
      expect(stdout).toMatch(new RegExp(`Feature Count: ${areaCount}\\b`));
      expect(stdout).toMatch(/Geometry: Multi Polygon/);
      expect(stdout).toMatch(/level: String/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
