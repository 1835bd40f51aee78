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
    expect(JSON.parse(api.text).paths['/collections/zones/items']).toBeDefined();
    const conf = (await http().get('/ogc/conformance').expect(200)).body;
    expect(conf.conformsTo).toEqual(expect.arrayContaining(['http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core', 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson']));
    const cols = (await http().get('/ogc/collections').expect(200)).body;
    expect(cols.collections.map((c: { id: string }) => c.id)).toEqual(['zones']);
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
      ['limit=100001', 'limit'],
      ['offset=-1', 'offset'],
      ['datetime=2021-10-01/2021-10-31', 'datetime'],
      ['bbox=1,2', 'bbox'],
    ]) {
      const res = await http().get(`/ogc/collections/zones/items?${query}`).expect(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
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
