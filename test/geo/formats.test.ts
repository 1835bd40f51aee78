import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { AppError } from '../../src/errors';
import { boundaryFormatOf, BoundaryRead, parseFieldMapText, readBoundaryFile, readBoundaryFileInWorker } from '../../src/geo/formats';
import { crsFromText, tm3Proj4 } from '../../src/geo/formats/crs';
import { parseWkb, parseGpkgGeometry } from '../../src/geo/formats/wkb';
import { projectRoot } from '../../src/paths';

/**
 * Boundary files written by GDAL (an independent writer) from the 171 Đồng Nai communes,
 * in projected and VN-2000 systems, read back: same codes, names and populations, and every
 * vertex within 1 m of the original.
 */
type Fc = { features: { properties: Record<string, unknown>; geometry: { type: string; coordinates: unknown } }[] };
const seedFile = path.join(projectRoot, 'seeds', 'dong-nai-communes.geojson');
const seed = JSON.parse(fs.readFileSync(seedFile, 'utf8')) as Fc;
const hasGdal = fs.existsSync('/usr/bin/ogr2ogr');
const GSO = { code: 'Com_ID', name: 'Ten_Xa', population: 'Dan_So', kind_value: 'commune' } as const;
let dir = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-formats-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ogr = (args: string[]) => execFileSync('/usr/bin/ogr2ogr', args, { stdio: 'pipe', timeout: 60_000 });

/** A zip of the files `base`.* written in `dir` (fflate: the zip itself is not under test). */
function zipOf(base: string, exts = ['shp', 'shx', 'dbf', 'prj', 'cpg']): Buffer {
  const files: Record<string, Uint8Array> = {};
  for (const ext of exts) {
    const f = path.join(dir, `${base}.${ext}`);
    if (fs.existsSync(f)) files[`${base}.${ext}`] = fs.readFileSync(f);
  }
  return Buffer.from(zipSync(files));
}

function positionsOf(c: unknown): [number, number][] {
  if (Array.isArray(c) && typeof c[0] === 'number') return [[c[0] as number, c[1] as number]];
  return Array.isArray(c) ? c.flatMap(positionsOf) : [];
}

function metres([lon1, lat1]: [number, number], [lon2, lat2]: [number, number]): number {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(a));
}

/**
 * The largest distance from any vertex of either feature to the nearest vertex of the other
 * (writers may reverse rings or start them elsewhere, so vertices are matched by position).
 */
function worstVertexMetres(read: BoundaryRead): number {
  const byCode = new Map(read.features.map((f) => [f.properties.code, positionsOf((f.geometry as { coordinates: unknown }).coordinates)]));
  let worst = 0;
  for (const f of seed.features) {
    const a = positionsOf(f.geometry.coordinates);
    const b = byCode.get(f.properties.code) ?? [];
    if (b.length === 0) return Infinity;
    for (const [from, to] of [[a, b], [b, a]] as const) {
      for (const p of from) worst = Math.max(worst, Math.min(...to.map((q) => metres(p, q))));
    }
  }
  return worst;
}

function expectSameCommunes(read: BoundaryRead): void {
  const key = (p: Record<string, unknown>) => `${String(p.code)}|${String(p.name)}|${String(p.population)}`;
  expect(read.features).toHaveLength(seed.features.length);
  expect(read.source.features).toBe(171);
  expect(read.features.map((f) => key(f.properties)).sort()).toEqual(seed.features.map((f) => key(f.properties)).sort());
  expect(worstVertexMetres(read)).toBeLessThan(1);
}

const refusal = async (p: Promise<unknown>): Promise<AppError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('files written by GDAL, read back within 1 m', () => {
  if (!hasGdal) {
    test.skip('GDAL is not installed here (/usr/bin/ogr2ogr): apt-get install -y gdal-bin', () => undefined);
    return;
  }
  const renamed = ['-sql', 'SELECT code AS Com_ID, name AS Ten_Xa, population AS Dan_So FROM "dong-nai-communes"'];

  test('a zipped Shapefile in EPSG:32648 with GSO attribute names, through the field map', async () => {
    ogr(['-f', 'ESRI Shapefile', path.join(dir, 'utm.shp'), seedFile, '-t_srs', 'EPSG:32648', '-lco', 'ENCODING=UTF-8', ...renamed]);
    const read = await readBoundaryFile(zipOf('utm'), 'shapefile', { fieldMap: GSO });
    expect(read.source).toMatchObject({ format: 'shapefile', layer: 'utm', crs: 'WKT: WGS_1984_UTM_Zone_48N', attributes: ['Com_ID', 'Ten_Xa', 'Dan_So'] });
    expect(read.features[0]?.properties.kind).toBe('commune');
    expectSameCommunes(read);
  });

  test('a GeoPackage in EPSG:32648 (canonical names: no map needed)', async () => {
    ogr(['-f', 'GPKG', path.join(dir, 'utm.gpkg'), seedFile, '-t_srs', 'EPSG:32648']);
    const bytes = fs.readFileSync(path.join(dir, 'utm.gpkg'));
    expect(boundaryFormatOf('application/geopackage+sqlite3', bytes)).toBe('geopackage');
    const read = await readBoundaryFile(bytes, 'geopackage', { fieldMap: { kind_value: 'commune' } });
    expect(read.source).toMatchObject({ layer: 'dong-nai-communes', crs: 'EPSG:32648' });
    expect(read.source.attributes).toEqual(['code', 'name', 'district', 'province', 'population', 'source']);
    expectSameCommunes(read);
  });

  test('a KML and the same as KMZ', async () => {
    ogr(['-f', 'KML', path.join(dir, 'd.kml'), seedFile]);
    const kml = fs.readFileSync(path.join(dir, 'd.kml'));
    expectSameCommunes(await readBoundaryFile(kml, 'kml', {}));
    const kmz = Buffer.from(zipSync({ 'doc.kml': kml }));
    expect(boundaryFormatOf('application/zip', kmz)).toBe('kmz');
    const read = await readBoundaryFile(kmz, 'kmz', {});
    expect(read.source.layer).toBe('doc.kml');
    expectSameCommunes(read);
  });

  test('a Shapefile in the VN-2000 TM-3 grid of Đồng Nai (107°45′): GDAL names its datum by the shift, the reader restores it', async () => {
    ogr(['-f', 'ESRI Shapefile', path.join(dir, 'tm3.shp'), seedFile, '-t_srs', tm3Proj4(107.75), '-lco', 'ENCODING=UTF-8']);
    expect(fs.readFileSync(path.join(dir, 'tm3.prj'), 'utf8')).not.toMatch(/TOWGS84/);
    expectSameCommunes(await readBoundaryFile(zipOf('tm3'), 'shapefile', {}));
    // the same file with the grid named instead of its .prj
    expectSameCommunes(await readBoundaryFile(zipOf('tm3', ['shp', 'dbf']), 'shapefile', { crs: "VN2000-TM3:107°45'" }));
  });

  test('a Shapefile in EPSG:3405 (VN-2000 / UTM 48N; its .prj has no TOWGS84), written with PROJ’s EPSG operation', async () => {
    // the operation EPSG gives for onshore Vietnam ("VN-2000 to WGS 84 (2)"); without -ct GDAL
    // may pick a local Mekong-delta set for points near 10.8°N
    const op = execFileSync('/usr/bin/projinfo', ['-s', 'EPSG:4326', '-t', 'EPSG:3405', '-o', 'PROJ', '--single-line', '-q'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '';
    expect(op).toMatch(/helmert/);
    ogr(['-f', 'ESRI Shapefile', path.join(dir, 'vn.shp'), seedFile, '-s_srs', 'EPSG:4326', '-t_srs', 'EPSG:3405', '-ct', op, '-lco', 'ENCODING=UTF-8']);
    expect(fs.readFileSync(path.join(dir, 'vn.prj'), 'utf8')).toMatch(/Vietnam_2000/);
    const read = await readBoundaryFile(zipOf('vn'), 'shapefile', {});
    expect(read.source.crs).toBe('WKT: VN_2000_UTM_Zone_48N');
    expectSameCommunes(read);
  });

  test('a Shapefile whose .dbf is Windows-1258 (.cpg "CP1258"): names come back as the same NFC text', async () => {
    ogr(['-f', 'ESRI Shapefile', path.join(dir, 'w1258.shp'), seedFile, '-t_srs', 'EPSG:32648', '-lco', 'ENCODING=CP1258']);
    expect(fs.readFileSync(path.join(dir, 'w1258.cpg'), 'utf8').trim()).toBe('CP1258');
    expect(fs.readFileSync(path.join(dir, 'w1258.dbf')).includes(Buffer.from('Biên', 'utf8'))).toBe(false);
    expectSameCommunes(await readBoundaryFile(zipOf('w1258'), 'shapefile', {}));
  });

  test('a .shp zip without .prj is refused naming the .prj, and read with crs EPSG:32648', async () => {
    const zip = zipOf('utm', ['shp', 'shx', 'dbf', 'cpg']);
    const e = await refusal(readBoundaryFile(zip, 'shapefile', { fieldMap: GSO }));
    expect(e.status).toBe(422);
    expect(e.code).toBe('missing_crs');
    expect(e.message).toContain('utm.prj');
    expectSameCommunes(await readBoundaryFile(zip, 'shapefile', { fieldMap: GSO, crs: 'EPSG:32648' }));
  });

  test('a field map naming an attribute the file lacks is refused, listing the file’s attributes', async () => {
    const e = await refusal(readBoundaryFile(zipOf('utm'), 'shapefile', { fieldMap: { ...GSO, population: 'DanSo' } }));
    expect(e.code).toBe('unknown_attribute');
    expect(e.message).toContain('"DanSo"');
    expect(e.details).toEqual([{ path: 'field_map.population', message: 'no attribute "DanSo" in the file; its attributes are: Com_ID, Ten_Xa, Dan_So' }]);
  });

  test('in a worker thread: the same features, and the same AppError', async () => {
    const zip = zipOf('utm');
    const inWorker = await readBoundaryFileInWorker(zip, 'shapefile', { fieldMap: GSO });
    expect(inWorker).toEqual(await readBoundaryFile(zip, 'shapefile', { fieldMap: GSO }));
    const e = await refusal(readBoundaryFileInWorker(zipOf('utm', ['shp', 'dbf']), 'shapefile', {}));
    expect(e).toBeInstanceOf(AppError);
    expect([e.status, e.code]).toEqual([422, 'missing_crs']);
    expect(e.details[0]?.path).toBe('Shapefile zip/utm.prj');
  });
});

/** WKB written field by field (the layout of OGC 06-103r4 §8.2), to read back. */
function wkb(le: boolean, type: number, body: (w: (kind: 'u32' | 'f64', v: number) => void) => void): Uint8Array {
  const bytes: Uint8Array[] = [];
  const w = (kind: 'u32' | 'f64', v: number) => {
    const b = new DataView(new ArrayBuffer(kind === 'u32' ? 4 : 8));
    if (kind === 'u32') b.setUint32(0, v, le);
    else b.setFloat64(0, v, le);
    bytes.push(new Uint8Array(b.buffer));
  };
  bytes.push(Uint8Array.of(le ? 1 : 0));
  w('u32', type);
  body(w);
  return Buffer.concat(bytes);
}
const square = [[0, 0], [1, 0], [1, 1], [0, 0]];
const ringBody = (dims: number) => (w: (kind: 'u32' | 'f64', v: number) => void) => {
  w('u32', 1);
  w('u32', square.length);
  for (const [x, y] of square) {
    w('f64', x as number);
    w('f64', y as number);
    for (let d = 2; d < dims; d++) w('f64', 99);
  }
};

describe('WKB', () => {
  test.each([
    ['Polygon, little endian', wkb(true, 3, ringBody(2))],
    ['Polygon, big endian', wkb(false, 3, ringBody(2))],
    ['Polygon Z (ISO 1003), little endian', wkb(true, 1003, ringBody(3))],
    ['Polygon Z (ISO 1003), big endian', wkb(false, 1003, ringBody(3))],
    ['Polygon M (ISO 2003)', wkb(true, 2003, ringBody(3))],
    ['Polygon ZM (ISO 3003)', wkb(false, 3003, ringBody(4))],
    ['Polygon Z (EWKB flag)', wkb(true, 0x80000003, ringBody(3))],
  ])('%s → a 2D polygon', (_, bytes) => {
    expect(parseWkb(bytes)).toEqual({ type: 'Polygon', coordinates: [square] });
  });

  test('MultiPolygon of mixed byte orders, inside a GeoPackage blob with a 32-byte envelope', () => {
    const poly1 = wkb(false, 1003, ringBody(3));
    const poly2 = wkb(true, 3, ringBody(2));
    const multi = Buffer.concat([wkb(true, 6, (w) => w('u32', 2)), poly1, poly2]);
    const head = Buffer.alloc(8 + 32);
    head.write('GP', 0, 'latin1');
    head[3] = 0b0000_0011; // little-endian header, envelope kind 1 (minx maxx miny maxy)
    head.writeInt32LE(32648, 4);
    expect(parseGpkgGeometry(Buffer.concat([head, multi]))).toEqual({ srsId: 32648, geometry: { type: 'MultiPolygon', coordinates: [[square], [square]] } });
  });

  test.each([
    ['a Point', wkb(true, 1, (w) => (w('f64', 1), w('f64', 2))), /Point is not a polygon/],
    ['a ring claiming 2^31 points', wkb(true, 3, (w) => (w('u32', 1), w('u32', 0x80000000))), /more than the bytes left/],
    ['a polygon cut short (its ring count no longer fits)', wkb(true, 3, ringBody(2)).subarray(0, 11), /claims 1 rings, more than the bytes left/],
    ['a polygon of 2 rings holding 1', wkb(true, 3, (w) => (w('u32', 2), w('u32', 1), w('f64', 0), w('f64', 0))), /truncated at byte 29/],
    ['byte order 7', Uint8Array.of(7, 3, 0, 0, 0), /byte order 7/],
  ])('%s is refused', (_, bytes, message) => {
    expect(() => parseWkb(bytes)).toThrow(message);
  });
});

describe('refusals of hostile or broken files', () => {
  test('a zip declaring a 20 MiB entry at more than 200:1 is refused before inflating', async () => {
    const bomb = Buffer.from(zipSync({ 'a.shp': new Uint8Array(20 * 1024 * 1024) }));
    expect(bomb.length).toBeLessThan(100_000);
    const e = await refusal(readBoundaryFile(bomb, 'shapefile', {}));
    expect([e.status, e.code]).toEqual([413, 'file_too_large']);
    expect(e.message).toMatch(/a\.shp.*zip bomb/);
  });

  test('a zip entry that inflates past its declared size is stopped', async () => {
    const zip = Buffer.from(zipSync({ 'a.shp': new Uint8Array(4 * 1024 * 1024), 'a.dbf': new Uint8Array(10), 'a.prj': Buffer.from('EPSG:4326') }));
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(1000, cd + 24); // a.shp now claims 1000 bytes uncompressed
    const e = await refusal(readBoundaryFile(zip, 'shapefile', { crs: 'EPSG:4326' }));
    expect([e.status, e.code]).toEqual([413, 'file_too_large']);
    expect(e.message).toContain('inflates past its declared 1000 bytes');
  });

  test('a zip of 65 entries is refused', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 65; i++) files[`f${i}.txt`] = Uint8Array.of(i);
    const e = await refusal(readBoundaryFile(Buffer.from(zipSync(files)), 'shapefile', {}));
    expect(e.status).toBe(413);
    expect(e.message).toContain('65 entries');
  });

  test('a KML with a DOCTYPE (billion laughs) is refused before parsing', async () => {
    const kml = `<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&b;</name></Placemark></kml>`;
    const e = await refusal(readBoundaryFile(Buffer.from(kml), 'kml', {}));
    expect([e.status, e.code]).toEqual([422, 'xml_doctype']);
  });

  test('a zip with two Shapefiles is refused listing them', async () => {
    const e = await refusal(readBoundaryFile(Buffer.from(zipSync({ 'x/a.shp': Uint8Array.of(0), 'x/b.shp': Uint8Array.of(0) })), 'shapefile', {}));
    expect(e.code).toBe('several_layers');
    expect(e.message).toContain('(a, b)');
  });

  test('GeoJSON in UTM declared through its legacy crs member; a point that does not fit the CRS is refused naming the feature', async () => {
    const fc = (x: number, y: number) => ({
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32648' } },
      features: [{ type: 'Feature', properties: { code: 1001, name: 'Xã A\u0301', kind: 'commune', population: '1200' }, geometry: { type: 'Point', coordinates: [x, y] } }],
    });
    const read = await readBoundaryFile(Buffer.from(JSON.stringify(fc(700000, 1200000))), 'geojson', {});
    // `echo 700000 1200000 | cs2cs +proj=utm +zone=48 +datum=WGS84 +to +proj=longlat +datum=WGS84 -f %.8f` → 106.82955723 10.85004361
    const [lon, lat] = (read.features[0]?.geometry as { coordinates: number[] }).coordinates as [number, number];
    expect(metres([lon, lat], [106.82955723, 10.85004361])).toBeLessThan(0.01);
    expect(read.features[0]?.properties).toEqual({ code: '1001', name: 'Xã Á', kind: 'commune', population: 1200 }); // no parent attribute: left out (an existing area keeps its own)
    expect(read.features[0]?.properties).not.toHaveProperty('parent');
    // the crs option overrides the file's: metres read as degrees do not fit
    const e = await refusal(readBoundaryFile(Buffer.from(JSON.stringify(fc(700000, 1200000))), 'geojson', { crs: 'EPSG:4326' }));
    expect(e.code).toBe('bad_coordinates');
    expect(e.details[0]?.path).toBe('feature 1 (code 1001)');
  });
});

describe('content types', () => {
  const zipWith = (names: string[]) => Buffer.from(zipSync(Object.fromEntries(names.map((n) => [n, Uint8Array.of(1)]))));
  const sqlite = Buffer.concat([Buffer.from('SQLite format 3\u0000', 'latin1'), Buffer.alloc(84)]);
  test.each([
    ['application/json', 'any bytes', Buffer.from('{}'), 'geojson'],
    ['application/geo+json; charset=utf-8', 'any bytes', Buffer.from('{}'), 'geojson'],
    ['application/zip', 'a.shp + a.dbf', zipWith(['a.shp', 'a.dbf']), 'shapefile'],
    ['application/zip', 'doc.kml + files/i.png', zipWith(['doc.kml', 'files/i.png']), 'kmz'],
    ['application/zip', 'doc.kml + a.shp', zipWith(['doc.kml', 'a.shp']), 'shapefile'],
    ['application/zip', 'text that is no zip', Buffer.from('not a zip'), null],
    ['application/geopackage+sqlite3', 'the SQLite magic', sqlite, 'geopackage'],
    ['application/geopackage+sqlite3', 'no SQLite magic', Buffer.from('PK\u0003\u0004 not sqlite at all'), null],
    ['application/vnd.google-earth.kml+xml', 'any bytes', Buffer.from('<kml/>'), 'kml'],
    ['application/vnd.google-earth.kmz', 'any bytes', zipWith(['doc.kml']), 'kmz'],
    ['text/csv', 'any bytes', Buffer.from('a,b'), null],
  ])('%s with %s → %s', (type, _, bytes, format) => {
    expect(boundaryFormatOf(type, bytes)).toBe(format);
  });
});

describe('field maps as text', () => {
  test.each([
    ['code=Com_ID,name=Ten_Xa,population=Dan_So,kind=commune', { code: 'Com_ID', name: 'Ten_Xa', population: 'Dan_So', kind_value: 'commune' }],
    [' code = Ma , kind = Cap , parent=Ma_Huyen', { code: 'Ma', kind: 'Cap', parent: 'Ma_Huyen' }],
    ['', {}],
  ])('%s', (text, map) => {
    expect(parseFieldMapText(text)).toEqual(map);
  });
  test.each([
    ['code=A,code=B', 'field_map.code', 'given twice'],
    ['ma=Com_ID', 'field_map.ma', 'unknown key; expected code, name, kind, parent, population'],
    ['code', 'field_map.code', 'expected key=attribute'],
    [`name=${'x'.repeat(65)}`, 'field_map.name', 'must be at most 64 characters'],
    ['kind=Cap,kind_value=commune', 'field_map.kind', 'give kind (an attribute) or kind_value (a constant), not both'],
  ])('%s is a 400 naming %s', (text, path, message) => {
    let err: unknown;
    try {
      parseFieldMapText(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    expect((err as AppError).details).toContainEqual({ path, message });
  });
});

test('crsFromText names', () => {
  expect(crsFromText('urn:ogc:def:crs:EPSG::3405').name).toBe('EPSG:3405');
  expect(crsFromText("VN2000-TM3:105°45'").name).toBe('VN2000-TM3:105.75');
  expect(() => crsFromText('EPSG:2000')).toThrow(/not one of/);
  expect(() => crsFromText('VN2000-TM3:45')).toThrow(/between 100 and 120/);
});

describe('what a security review found (issue 16)', () => {
  test('a CRS using grid shifts (proj4 would throw on a prototype key as the grid name) is refused; so is one that cannot convert a point', () => {
    for (const text of ['+proj=longlat +ellps=WGS84 +nadgrids=@constructor', '+proj=longlat +ellps=WGS84 +nadgrids=@__proto__', '+proj=longlat +ellps=WGS84 +geoidgrids=egm96.gtx']) {
      expect(() => crsFromText(text)).toThrow(expect.objectContaining({ status: 422, message: expect.stringMatching(/grid-based datum shifts/) }));
    }
  });

  test("a GeoPackage whose gpkg_contents is a view (a query that could run for ever) is refused before it is queried", async () => {
    const initSqlJs = (await import('sql.js')).default;
    const SQL = await initSqlJs({ wasmBinary: fs.readFileSync(require.resolve('sql.js/dist/sql-wasm.wasm')) as unknown as ArrayBuffer });
    const db = new SQL.Database();
    db.run(`CREATE TABLE gpkg_spatial_ref_sys (srs_id INTEGER PRIMARY KEY, organization TEXT, organization_coordsys_id INTEGER, definition TEXT);
            CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, srs_id INTEGER);
            CREATE VIEW gpkg_contents AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT 'x' AS table_name, 'features' AS data_type FROM r;`);
    const bytes = Buffer.from(db.export());
    const e = await refusal(readBoundaryFile(bytes, 'geopackage', {}));
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/gpkg_contents must be tables, not views/);
  });

  test('a zip bomb sent as application/zip is said to be one (413), not "not a boundary file"', () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 65; i++) files[`a${i}.shp`] = Uint8Array.of(1);
    expect(() => boundaryFormatOf('application/zip', Buffer.from(zipSync(files)))).toThrow(expect.objectContaining({ status: 413 }));
  });
});
