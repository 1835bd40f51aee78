import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { VectorTile } from '@mapbox/vector-tile';
import Protobuf from 'pbf';
import { LocalDate } from '../../src/domain/dates';
import { tileBounds } from '../../src/db/maps';
import { testContext } from '../helpers/context';

/** Vector tiles of the Đồng Nai demo, decoded by @mapbox/vector-tile and by GDAL's MVT driver. */
const run = promisify(execFile);
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
afterAll(() => ctx.close());

beforeAll(async () => {
  await ctx.demo(END, 2);
});

/** The z/x/y of the tile holding a point. */
function tileOf(lon: number, lat: number, z: number): [number, number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [z, Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

const [Z, X, Y] = tileOf(107.0, 11.0, 8);
const TILE = `/tiles/zones/${Z}/${X}/${Y}.mvt?date=${END}&kind=commune`;

/** A tile's raw bytes (supertest would otherwise try to parse the protobuf). */
function collect(res: NodeJS.ReadableStream, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

async function fetchTile(url: string, headers: Record<string, string> = {}) {
  return http()
    .get(url)
    .set(headers)
    .buffer(true)
    .parse(collect as unknown as (res: unknown, cb: (err: Error | null, body: unknown) => void) => void);
}

function decode(body: Buffer) {
  const layer = new VectorTile(new Protobuf(body)).layers.zones;
  if (!layer) throw new Error('no zones layer');
  return Array.from({ length: layer.length }, (_, i) => layer.feature(i));
}

describe('vector tiles', () => {
  test('a zoom-8 tile over Đồng Nai: layer zones, the GeoJSON properties, levels of the day', async () => {
    const res = await fetchTile(TILE);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/vnd\.mapbox-vector-tile/);
    const features = decode(res.body as Buffer);
    expect(features.length).toBeGreaterThan(20);
    const list = (await http().get(`/v1/zones?date=${END}&kind=commune`).expect(200)).body.items as { code: string; level: string }[];
    const levels = Object.fromEntries(list.map((z) => [z.code, z.level]));
    const [x1, y1, x2, y2] = tileBounds(Z, X, Y, 0.1);
    for (const f of features) {
      const p = f.properties as Record<string, string | number>;
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['code', 'name', 'level', 'color', 'kind']));
      expect(p.level).toBe(levels[p.code as string]);
      expect(f.type).toBe(3); // polygon
      const gj = f.toGeoJSON(X, Y, Z);
      const g = gj.geometry as { type: string; coordinates: number[][][] | number[][][][] };
      const coords = (g.type === 'Polygon' ? [g.coordinates as number[][][]] : (g.coordinates as number[][][][])).flat(2);
      for (const [lon, lat] of coords) {
        expect(lon).toBeGreaterThanOrEqual(x1 as number);
        expect(lon).toBeLessThanOrEqual(x2 as number);
        expect(lat).toBeGreaterThanOrEqual(y1 as number);
        expect(lat).toBeLessThanOrEqual(y2 as number);
      }
    }
  });

  test('cached under an ETag that changes when the levels change; 304 meanwhile', async () => {
    const first = await fetchTile(TILE);
    const etag = first.headers.etag as string;
    expect((await fetchTile(TILE, { 'If-None-Match': etag })).status).toBe(304);
    const code = (decode(first.body as Buffer)[0]?.properties.code as string) ?? '';
    await http().post(`/v1/zones/${code}/overrides`).set('Content-Type', 'application/json').send({ level: 'red', reason: 'test: tiles follow overrides', from: END }).expect(201);
    const after = await fetchTile(TILE, { 'If-None-Match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(decode(after.body as Buffer).find((f) => f.properties.code === code)?.properties.level).toBe('red');
  });

  test('every feature carries what the zones list (with figures) shows for it that day — a property without a value left out', async () => {
    const features = decode((await fetchTile(TILE)).body as Buffer);
    const list = (await http().get(`/v1/zones?date=${END}&kind=commune&figures=true`).expect(200)).body.items as Record<string, string | number | null>[];
    const byCode = new Map(list.map((z) => [z.code, z]));
    expect(features.some((f) => typeof f.properties.community_cases_7d === 'number')).toBe(true);
    for (const f of features) {
      const z = byCode.get(f.properties.code as string) as Record<string, string | number | null>;
      for (const name of ['name', 'kind', 'parent', 'level', 'level_number', 'since', 'population', 'community_cases_7d', 'incidence_per_100k_7d'])
        expect([f.properties.code, name, f.properties[name]]).toEqual([f.properties.code, name, z[name] ?? undefined]);
    }
  });

  test('every commune with its inner point in the tile is in it, none that misses the tile and its margin', async () => {
    const [x1, y1, x2, y2] = tileBounds(Z, X, Y);
    const inside = await ctx.db.knex.raw<{ rows: { code: string }[] }>(
      `SELECT code FROM areas WHERE kind = 'commune' AND ST_Within(ST_PointOnSurface(geom), ST_MakeEnvelope(?, ?, ?, ?, 4326))`,
      [x1, y1, x2, y2],
    );
    const [m1, n1, m2, n2] = tileBounds(Z, X, Y, 0.1);
    const near = await ctx.db.knex.raw<{ rows: { code: string }[] }>(`SELECT code FROM areas WHERE kind = 'commune' AND ST_Intersects(geom, ST_MakeEnvelope(?, ?, ?, ?, 4326))`, [m1, n1, m2, n2]);
    const codes = new Set(decode((await fetchTile(TILE)).body as Buffer).map((f) => f.properties.code as string));
    expect(inside.rows.length).toBeGreaterThan(5);
    for (const r of inside.rows) expect([r.code, codes.has(r.code)]).toEqual([r.code, true]);
    const nearCodes = new Set(near.rows.map((r) => r.code));
    for (const code of codes) expect([code, nearCodes.has(code)]).toEqual([code, true]);
  });

  test('a new report shows in the next tile: a new tag, the week\'s cases as the zones list has them', async () => {
    const first = await fetchTile(TILE);
    const etag = first.headers.etag as string;
    const f = decode(first.body as Buffer).find((x) => x.properties.level !== 'red') ?? decode(first.body as Buffer)[0];
    const code = f?.properties.code as string;
    const before = f?.properties.community_cases_7d;
    await http().post('/v1/reports').set('Content-Type', 'application/json').send({ reports: [{ area: code, date: END, community_cases: 977, quarantine_cases: 0 }] }).expect(200);
    const after = await fetchTile(TILE, { 'If-None-Match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    const cases = decode(after.body as Buffer).find((x) => x.properties.code === code)?.properties.community_cases_7d;
    expect(cases).not.toBe(before);
    const list = (await http().get(`/v1/zones?date=${END}&kind=commune&figures=true`).expect(200)).body.items as { code: string; community_cases_7d: number | null }[];
    expect(cases).toBe(list.find((z) => z.code === code)?.community_cases_7d);
    expect(cases).toBeGreaterThanOrEqual(977);
  });

  test('a tile with nothing in it is empty; bad coordinates are 400s naming them', async () => {
    const empty = await fetchTile(`/tiles/zones/8/0/0.mvt?date=${END}`);
    expect(empty.status).toBe(200);
    expect((empty.body as Buffer).length).toBe(0);
    for (const [url, field] of [
      ['/tiles/zones/15/0/0.mvt', 'z'],
      ['/tiles/zones/3/8/0.mvt', 'x'],
      ['/tiles/zones/3/0/-1.mvt', 'y'],
      ['/tiles/zones/3/0/0.mvt?date=yesterday', 'date'],
    ]) {
      const res = await http().get(url).expect(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
    }
  });

  test('a tile has one URL: coordinates written with leading zeros are redirected (308) to the plain spelling, with the query', async () => {
    for (const [url, to] of [
      [`/tiles/zones/08/0/0.mvt?date=${END}`, `/tiles/zones/8/0/0.mvt?date=${END}`],
      [`/tiles/zones/3/007/00.mvt?date=${END}&kind=district`, `/tiles/zones/3/7/0.mvt?date=${END}&kind=district`],
      [`/tiles/zones/%38/0/0.mvt?date=${END}`, `/tiles/zones/8/0/0.mvt?date=${END}`],
      [`/tiles/zones/3/%37/0.mvt`, `/tiles/zones/3/7/0.mvt`],
    ]) {
      const res = await http().get(url as string).expect(308);
      // relative, so that a service behind a path prefix stays under it
      expect(res.headers.location).toMatch(/^\.\.\/\.\.\//);
      expect(new URL(res.headers.location as string, `https://example.vn/zonerisk${url}`).href).toBe(`https://example.vn/zonerisk${to}`);
    }
    // out of range however written: 400, not a redirect
    await http().get('/tiles/zones/3/0008/0.mvt').expect(400);
  });

  test('TileJSON 3 names the layer and the tile URL with the day and the kind (communes by default)', async () => {
    const tj = (await http().get(`/tiles/zones.json?date=${END}`).expect(200)).body;
    expect(tj.tilejson).toBe('3.0.0');
    expect(tj.tiles[0]).toMatch(new RegExp(`/tiles/zones/\\{z\\}/\\{x\\}/\\{y\\}\\.mvt\\?date=${END}&kind=commune$`));
    expect(tj.vector_layers[0].id).toBe('zones');
    expect(tj.bounds[0]).toBeGreaterThan(106);
  });

  test('a TileJSON per kind: its tile URL gives tiles of that kind only, with the fields its vector_layers lists, typed', async () => {
    for (const kind of ['province', 'district', 'commune'] as const) {
      const tj = (await http().get(`/tiles/zones.json?date=${END}&kind=${kind}`).expect(200)).body;
      expect(new URL(tj.tiles[0].replace(/[{}]/g, '')).searchParams.get('kind')).toBe(kind);
      const fields = tj.vector_layers[0].fields as Record<string, string>;
      expect(fields).toMatchObject({ code: 'String', level: 'String', level_number: 'Number', incidence_per_100k_7d: 'Number', population: 'Number', since: 'String' });
      expect(new Set(Object.values(fields))).toEqual(new Set(['String', 'Number']));
      const url = (tj.tiles[0] as string).replace('{z}', String(Z)).replace('{x}', String(X)).replace('{y}', String(Y)).replace(/^http:\/\/[^/]+/, '');
      const features = decode((await fetchTile(url)).body as Buffer);
      expect(features.length).toBeGreaterThan(0);
      for (const f of features) {
        expect(f.properties.kind).toBe(kind);
        for (const [name, value] of Object.entries(f.properties)) expect([name, typeof value]).toEqual([name, fields[name] === 'Number' ? 'number' : 'string']);
      }
    }
  });

  test('a tile without kind holds the communes only, not the kinds stacked', async () => {
    const bare = decode((await fetchTile(`/tiles/zones/${Z}/${X}/${Y}.mvt?date=${END}`)).body as Buffer);
    const communes = decode((await fetchTile(TILE)).body as Buffer);
    expect(bare.map((f) => f.properties.code)).toEqual(communes.map((f) => f.properties.code));
    expect(new Set(bare.map((f) => f.properties.kind))).toEqual(new Set(['commune']));
  });
});

describe('GDAL reads a tile', () => {
  if (!fs.existsSync('/usr/bin/ogrinfo')) {
    test.skip('GDAL is not installed here: apt-get install -y gdal-bin', () => undefined);
    return;
  }
  test('the MVT driver finds layer zones with every feature', async () => {
    const res = await fetchTile(TILE);
    const count = decode(res.body as Buffer).length;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-mvt-'));
    try {
      const file = path.join(dir, `${Y}.mvt`);
      fs.writeFileSync(file, res.body as Buffer);
      const { stdout } = await run('ogrinfo', ['-ro', '-so', '-oo', `Z=${Z}`, '-oo', `X=${X}`, '-oo', `Y=${Y}`, file, 'zones'], { timeout: 60_000 });
      expect(stdout).toMatch(new RegExp(`Feature Count: ${count}\\b`));
      expect(stdout).toMatch(/level: String/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
