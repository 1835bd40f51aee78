import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import proj4 from 'proj4';
import { crsFromText, prepareWkt, toLonLat, VN2000_TOWGS84 } from '../../src/geo/formats/crs';

/**
 * The VN-2000 shift as proj4 applies it, against PROJ's own pipeline for EPSG:3405 →
 * EPSG:4326 (EPSG "VN-2000 to WGS 84 (2)", coordinate-frame rotations), run with cct.
 */
const metres = ([lon1, lat1]: number[], [lon2, lat2]: number[]) => {
  const r = Math.PI / 180;
  const a = Math.sin((((lat2 as number) - (lat1 as number)) * r) / 2) ** 2 + Math.cos((lat1 as number) * r) * Math.cos((lat2 as number) * r) * Math.sin((((lon2 as number) - (lon1 as number)) * r) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(a));
};
// easting, northing in VN-2000 / UTM 48N: Biên Hòa, Hà Nội, Cà Mau, Lào Cai
const points = [[700000, 1200000], [585000, 2323000], [500000, 1000000], [400000, 2490000]];
const hasProj = fs.existsSync('/usr/bin/cct') && fs.existsSync('/usr/bin/projinfo');

describe('VN-2000 datum shift', () => {
  if (!hasProj) {
    test.skip('PROJ command-line tools are not installed here (cct, projinfo): apt-get install -y proj-bin', () => undefined);
    return;
  }
  const pipeline = execFileSync('/usr/bin/projinfo', ['-s', 'EPSG:3405', '-t', 'EPSG:4326', '-o', 'PROJ', '--single-line', '-q'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '';
  // the pipeline ends with an axis swap: cct prints latitude, longitude
  const proj = execFileSync('/usr/bin/cct', ['-d', '10', ...pipeline.split(/\s+/)], { input: points.map((p) => `${p[0]} ${p[1]} 0\n`).join(''), encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).slice(0, 2).map(Number).reverse());

  test('EPSG:3405 as crsFromText gives it agrees with PROJ to 1 mm', () => {
    expect(pipeline).toMatch(/helmert .*convention=coordinate_frame/);
    const t = toLonLat(crsFromText('EPSG:3405'));
    points.forEach((p, i) => expect(metres(t?.([p[0] as number, p[1] as number]) ?? [], proj[i] as number[])).toBeLessThan(0.001));
  });

  test('the decree’s rotation signs taken literally as +towgs84 (position vector) land about a metre away', () => {
    const literal = VN2000_TOWGS84.split(',').map((v, i) => (i >= 3 && i <= 5 ? String(-Number(v)) : v)).join(',');
    const t = proj4(`+proj=utm +zone=48 +ellps=WGS84 +towgs84=${literal} +units=m +no_defs`, 'EPSG:4326');
    const off = metres(t.forward([700000, 1200000]), proj[0] as number[]);
    expect(off).toBeGreaterThan(0.5);
    expect(off).toBeLessThan(2);
  });
});

describe('WKT', () => {
  const esri3405 =
    'PROJCS["VN_2000_UTM_Zone_48N",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';

  test('an ESRI VN-2000 .prj without TOWGS84 transforms exactly as EPSG:3405', () => {
    expect(prepareWkt(esri3405)).toContain(`SPHEROID["WGS_1984",6378137.0,298.257223563],TOWGS84[${VN2000_TOWGS84}]]`);
    const a = toLonLat(crsFromText(esri3405))?.([700000, 1200000]) ?? [];
    const b = toLonLat(crsFromText('EPSG:3405'))?.([700000, 1200000]) ?? [];
    expect(metres(a, b)).toBeLessThan(0.001);
    expect(crsFromText(esri3405).name).toBe('WKT: VN_2000_UTM_Zone_48N');
  });

  test('a WGS 84 .prj gets no shift; a geographic WKT loses its latitude-first axis order', () => {
    expect(prepareWkt(esri3405.replace(/D_Vietnam_2000/, 'D_WGS_1984'))).not.toContain('TOWGS84');
    const g = 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AXIS["Latitude",NORTH],AXIS["Longitude",EAST]]';
    expect(toLonLat(crsFromText(g))?.([106.5, 10.5])).toEqual([106.5, 10.5]);
  });

  test.each(['EPSG:9999', 'NAD27', 'PROJCS["x",GEOGCS["y",DATUM["z",SPHEROID["s",1,0]]],PROJECTION["No_Such_Projection"]]'])('%s is refused', (text) => {
    expect(() => crsFromText(text)).toThrow(/coordinate reference system is not understood/);
  });
});
