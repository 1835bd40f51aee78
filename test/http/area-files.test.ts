import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { testContext } from '../helpers/context';

/**
 * Boundary files as surveyors send them (issue 16), through POST /v1/areas and the database:
 * the Đồng Nai communes written by GDAL (an independent writer) as a zipped Shapefile with GSO
 * attribute names and a GeoPackage, both in UTM 48N, and as KML, import to the same areas as
 * the GeoJSON — the same codes, names and population, and every vertex within 1 m.
 */
const ctx = testContext();

const hasGdal = fs.existsSync('/usr/bin/ogr2ogr');
const seedFile = path.join(__dirname, '..', '..', 'seeds', 'dong-nai-communes.geojson');
let dir = '';
const ogr = (args: string[]) => execFileSync('/usr/bin/ogr2ogr', args, { stdio: 'pipe', timeout: 60_000 });

const send = (query: string, type: string, body: Buffer) => ctx.http().post(`/v1/areas${query}`).set('Content-Type', type).send(body);

/** The stored communes: code, name, population, number of vertices; and their shapes kept for comparison. */
async function snapshot(table: string): Promise<string[]> {
  await ctx.db.knex.raw(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} AS SELECT code, name, population, geom FROM areas`);
  const r = await ctx.db.knex.raw<{ rows: { line: string }[] }>(`SELECT concat_ws('|', code, name, population) AS line FROM ${table} ORDER BY code`);
  return r.rows.map((x) => x.line);
}

/** The largest distance in metres from a vertex of one import's boundary to the other's, over every commune (both ways). */
async function worstMetres(a: string, b: string): Promise<{ worst: number; pairs: number }> {
  const r = await ctx.db.knex.raw<{ rows: { worst: number; pairs: string }[] }>(
    `SELECT max(greatest(ST_HausdorffDistance(ST_Transform(x.geom, 32648), ST_Transform(y.geom, 32648)), 0)) AS worst, count(*) AS pairs
     FROM ${a} x JOIN ${b} y USING (code)`,
  );
  return { worst: Number(r.rows[0]?.worst), pairs: Number(r.rows[0]?.pairs) };
}

if (!hasGdal) {
  afterAll(() => ctx.close());
  test.skip('GDAL is not installed here (/usr/bin/ogr2ogr): apt-get install -y gdal-bin', () => undefined);
} else {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-area-files-'));
    await ctx.reset();
    // the reference: the GeoJSON as it is, every feature a commune
    const seed = JSON.parse(fs.readFileSync(seedFile, 'utf8')) as { features: { properties: Record<string, unknown> }[] };
    for (const f of seed.features) f.properties = { code: f.properties.code, name: f.properties.name, kind: 'commune', parent: null, population: f.properties.population };
    await ctx.http().post('/v1/areas').send(seed).expect(200);
    await snapshot('ref_areas');
  });
  afterAll(async () => {
    await ctx.db.knex.raw('DROP TABLE IF EXISTS ref_areas, got_areas');
    fs.rmSync(dir, { recursive: true, force: true });
    await ctx.close();
  });
  beforeEach(async () => {
    await ctx.db.knex.raw('TRUNCATE areas RESTART IDENTITY CASCADE');
  });

  const gso = ['-sql', 'SELECT code AS Com_ID, name AS Ten_Xa, population AS Dan_So FROM "dong-nai-communes"'];
  const utm = ['-t_srs', 'EPSG:32648'];

  async function expectSameAsGeoJson(res: { status: number; body: Record<string, unknown> }) {
    expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
    expect(res.body).toMatchObject({ created: 171, updated: 0, unchanged: 0 });
    expect(await snapshot('got_areas')).toEqual(await snapshot('ref_areas'));
    const { worst, pairs } = await worstMetres('ref_areas', 'got_areas');
    expect(pairs).toBe(171);
    expect(worst).toBeLessThan(1);
    return worst;
  }

  test('a zipped Shapefile in UTM 48N with GSO attribute names (its .prj read, a field map given)', async () => {
    ogr(['-f', 'ESRI Shapefile', '-lco', 'ENCODING=UTF-8', ...utm, ...gso, path.join(dir, 'xa.shp'), seedFile]);
    const files: Record<string, Uint8Array> = {};
    for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg']) if (fs.existsSync(path.join(dir, `xa.${ext}`))) files[`xa.${ext}`] = fs.readFileSync(path.join(dir, `xa.${ext}`));
    const zip = Buffer.from(zipSync(files));
    const res = await send('?fields=code%3DCom_ID,name%3DTen_Xa,population%3DDan_So,kind%3Dcommune&file_name=xa.zip', 'application/zip', zip);
    const worst = await expectSameAsGeoJson(res);
    expect(res.body.source).toMatchObject({ format: 'shapefile', layer: 'xa', features: 171 });
    console.log(`zipped Shapefile (UTM 48N): worst vertex ${(worst * 1000).toFixed(3)} mm`);
    // the same with the built-in GSO profile: the same content, recognised as such
    await ctx.db.knex.raw('TRUNCATE areas RESTART IDENTITY CASCADE');
    const again = await send('?profile=gso-communes', 'application/zip', zip);
    expect(again.status).toBe(422); // gso-communes maps parent to Dis_ID, which this file has not: named
    expect(again.body.error.details[0].message).toMatch(/Dis_ID/);
  });

  test('a GeoPackage in UTM 48N', async () => {
    ogr(['-f', 'GPKG', ...utm, path.join(dir, 'xa.gpkg'), seedFile]);
    const res = await send('?fields=kind%3Dcommune', 'application/geopackage+sqlite3', fs.readFileSync(path.join(dir, 'xa.gpkg')));
    const worst = await expectSameAsGeoJson(res);
    expect(res.body.source).toMatchObject({ format: 'geopackage', crs: 'EPSG:32648' });
    console.log(`GeoPackage (UTM 48N): worst vertex ${(worst * 1000).toFixed(3)} mm`);
  });

  test('a KML', async () => {
    ogr(['-f', 'KML', path.join(dir, 'xa.kml'), seedFile]);
    const res = await send('?fields=kind%3Dcommune', 'application/vnd.google-earth.kml+xml', fs.readFileSync(path.join(dir, 'xa.kml')));
    await expectSameAsGeoJson(res);
    // the batch names the file's format; GET /v1/imports lists it
    const list = (await ctx.http().get('/v1/imports?kind=areas').expect(200)).body.items as { format: string }[];
    expect(list[0]?.format).toBe('kml');
  });

  test('a file that is not what its content type says, and a zip without a .prj: 4xx naming what is wrong; nothing written', async () => {
    const notGpkg = await send('', 'application/geopackage+sqlite3', Buffer.from('not a database'));
    expect(notGpkg.status).toBe(415);
    ogr(['-f', 'ESRI Shapefile', ...utm, ...gso, path.join(dir, 'noprj.shp'), seedFile]);
    const files: Record<string, Uint8Array> = {};
    for (const ext of ['shp', 'shx', 'dbf']) files[`noprj.${ext}`] = fs.readFileSync(path.join(dir, `noprj.${ext}`));
    const res = await send('?fields=code%3DCom_ID,name%3DTen_Xa,population%3DDan_So,kind%3Dcommune', 'application/zip', Buffer.from(zipSync(files)));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('missing_crs');
    expect(Number((await ctx.db.knex('areas').count<{ count: string }[]>('* as count'))[0]?.count)).toBe(0);
    // with the CRS given, it reads
    const ok = await send('?fields=code%3DCom_ID,name%3DTen_Xa,population%3DDan_So,kind%3Dcommune&crs=EPSG%3A32648', 'application/zip', Buffer.from(zipSync(files)));
    await expectSameAsGeoJson(ok);
  });
}
