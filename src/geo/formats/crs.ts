import proj4 from 'proj4';
import { unprocessable } from '../../errors';

/**
 * Coordinate reference systems of boundary files, for proj4.
 *
 * VN-2000 (EPSG:4756) uses the WGS 84 ellipsoid; its shift to WGS 84 is the 7-parameter set
 * of Decision 05/2007/QĐ-BTNMT: ΔX −191.90441429 m, ΔY −39.30318279 m, ΔZ −111.45032835 m,
 * rotations ω −0.00928836″, ψ 0.01975479″, ε −0.00427372″, scale +0.252906278 ppm. EPSG
 * (transformation "VN-2000 to WGS 84 (2)", the one PROJ/GDAL apply for onshore Vietnam) reads
 * the rotations in the coordinate-frame convention; proj4's +towgs84 is position-vector, so
 * the rotations are written here with the opposite sign. Measured: taking the decree's signs
 * literally as +towgs84 lands ≈1.3 m from GDAL's EPSG:3405 at Biên Hòa (106.83°E 10.85°N);
 * with the signs below proj4 agrees with PROJ's pipeline to < 1 mm (test/geo/crs.test.ts).
 */
export const VN2000_TOWGS84 = '-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278';
const VN2000 = `+ellps=WGS84 +towgs84=${VN2000_TOWGS84}`;

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

/** EPSG codes known by name (proj4 strings). */
const EPSG: Record<number, string> = {
  4326: WGS84,
  4756: `+proj=longlat ${VN2000} +no_defs`,
  32647: '+proj=utm +zone=47 +datum=WGS84 +units=m +no_defs',
  32648: '+proj=utm +zone=48 +datum=WGS84 +units=m +no_defs',
  32649: '+proj=utm +zone=49 +datum=WGS84 +units=m +no_defs',
  3405: `+proj=utm +zone=48 ${VN2000} +units=m +no_defs`,
  3406: `+proj=utm +zone=49 ${VN2000} +units=m +no_defs`,
};
export const KNOWN_EPSG_CODES = Object.keys(EPSG).map(Number);

/** A provincial VN-2000 TM-3 grid: Transverse Mercator, k 0.9999, false easting 500 km. */
export const tm3Proj4 = (centralMeridian: number) =>
  `+proj=tmerc +lat_0=0 +lon_0=${centralMeridian} +k=0.9999 +x_0=500000 +y_0=0 ${VN2000} +units=m +no_defs`;

export type Crs = { name: string; proj4: string };

const MAX_CRS_TEXT = 16 * 1024;
const refuse = (text: string, why: string) =>
  unprocessable(`Không nhận dạng được hệ tọa độ — the coordinate reference system is not understood (${why}): ${text.slice(0, 120)}`, [{ path: 'crs', message: why }], 'unknown_crs');

/** "107.75", "107°45'", "107°45′30″", "107d45" → decimal degrees, or null. */
export function parseDegrees(text: string): number | null {
  const t = text.trim();
  if (/^\d{2,3}(\.\d+)?$/.test(t)) return Number(t);
  const m = /^(\d{2,3})\s*(?:°|d)\s*(?:(\d{1,2}(?:\.\d+)?)\s*['′]?\s*(?:(\d{1,2}(?:\.\d+)?)\s*(?:"|″|'')?)?)?$/.exec(t);
  if (!m) return null;
  const min = Number(m[2] ?? 0), sec = Number(m[3] ?? 0);
  if (min >= 60 || sec >= 60) return null;
  return Number(m[1]) + min / 60 + sec / 3600;
}

const VN2000_DATUM = /VN[_ -]?2000|Vietnam[_ -]?2000/i;
// GDAL writes a datum it has no name for as "…using_towgs84_<params with . and , as _>" in an ESRI .prj
const VN2000_GDAL_DATUM = `towgs84_${'-191.90441429,-39.30318279,-111.45032835'.replace(/[.,]/g, '_')}`;

/**
 * Prepares a WKT (from a .prj or gpkg_spatial_ref_sys) for proj4: the axis order of a
 * geographic WKT is dropped (every file format here stores x = longitude), and a VN-2000
 * datum without TOWGS84 (ESRI .prj files omit it) gets the VN-2000 shift.
 */
export function prepareWkt(wkt: string): string {
  let out = wkt.trim().replace(/,\s*AXIS\s*\[\s*"[^"]*"\s*,\s*\w+\s*\]/gi, '');
  const datum = /DATUM\s*\[\s*"([^"]*)"/i.exec(out)?.[1] ?? '';
  const vn2000 = VN2000_DATUM.test(datum) || datum.replace(/[.,]/g, '_').toLowerCase().includes(VN2000_GDAL_DATUM.toLowerCase());
  if (vn2000 && !/TOWGS84\s*\[/i.test(out)) {
    out = out.replace(/(DATUM\s*\[\s*"[^"]*"\s*,\s*SPHEROID\s*\[[^\]]*\])/i, `$1,TOWGS84[${VN2000_TOWGS84}]`);
  }
  return out;
}

/**
 * The CRS named by a text. Accepted:
 *  - `EPSG:4326`, `EPSG:4756` (VN-2000), `EPSG:32647`–`EPSG:32649` (WGS 84 / UTM 47N–49N),
 *    `EPSG:3405`, `EPSG:3406` (VN-2000 / UTM 48N, 49N); also as `urn:ogc:def:crs:EPSG::N`,
 *    `urn:ogc:def:crs:EPSG:<version>:N` and `http(s)://www.opengis.net/def/crs/EPSG/0/N`;
 *  - `CRS:84`, `OGC:CRS84`, `urn:ogc:def:crs:OGC:1.3:CRS84`, `WGS84` (= EPSG:4326);
 *  - `VN2000-TM3:<central meridian>` — a provincial VN-2000 TM-3 grid (k 0.9999, x_0 500000),
 *    the meridian in decimal degrees or degrees and minutes: `VN2000-TM3:107.75` (Đồng Nai),
 *    `VN2000-TM3:105` (Hà Nội), `VN2000-TM3:105°45'` (TP.HCM); between 100° and 120°;
 *  - a WKT (PROJCS/GEOGCS/PROJCRS/GEOGCRS…), e.g. a .prj, see prepareWkt;
 *  - a proj4 string starting with `+proj=`.
 * Anything else is refused (422 unknown_crs).
 */
export function crsFromText(text: string): Crs {
  const t = text.trim();
  if (t.length === 0) throw refuse(text, 'empty');
  if (t.length > MAX_CRS_TEXT) throw refuse(text, `longer than ${MAX_CRS_TEXT} characters`);
  if (/^(CRS:?84|OGC:CRS84|WGS ?84|urn:ogc:def:crs:OGC:(1\.3)?:CRS84)$/i.test(t)) return { name: 'EPSG:4326', proj4: WGS84 };
  // EPSG:32648, a bare 32648, the URN and URL forms
  const epsg = /^(?:EPSG:{1,2}|urn:ogc:def:crs:EPSG:[\d.]*:|https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/0\/)?(\d{4,6})$/i.exec(t);
  if (epsg) {
    const code = Number(epsg[1]);
    const def = EPSG[code];
    if (!def) throw refuse(text, `EPSG:${code} is not one of ${KNOWN_EPSG_CODES.map((c) => `EPSG:${c}`).join(', ')}; give its WKT instead`);
    return { name: `EPSG:${code}`, proj4: def };
  }
  const tm3 = /^VN-?2000[-_ ]TM-?3\s*:\s*(.+)$/i.exec(t);
  if (tm3) {
    const cm = (tm3[1] as string).length > 40 ? null : parseDegrees(tm3[1] as string);
    if (cm === null || cm < 100 || cm > 120) throw refuse(text, 'the central meridian must be in degrees between 100 and 120, e.g. VN2000-TM3:107.75');
    return { name: `VN2000-TM3:${Number(cm.toFixed(6))}`, proj4: tm3Proj4(Number(cm.toFixed(6))) };
  }
  let def: string;
  let name: string;
  if (/^(PROJCS|GEOGCS|PROJCRS|GEOGCRS|GEODCRS|BOUNDCRS|COMPD_CS)\s*\[/i.test(t)) {
    def = prepareWkt(t);
    name = `WKT: ${/^\w+\s*\[\s*"([^"]*)"/.exec(t)?.[1] ?? 'unnamed'}`;
  } else if (/^\+proj=/.test(t)) {
    def = t;
    name = t;
  } else {
    throw refuse(text, 'expected EPSG:NNNN, VN2000-TM3:<meridian>, a WKT or a +proj string');
  }
  // grid shift files are not shipped (and their names reach proj4's lookups unchecked)
  if (/nadgrids|geoidgrids|\+grids|hgridshift|vgridshift/i.test(def)) throw refuse(text, 'grid-based datum shifts (nadgrids, geoidgrids) are not available: give a +towgs84 shift');
  try {
    const converter = proj4(def, WGS84);
    // one point through it, where such systems have their coordinates: a definition that
    // builds but cannot convert is refused here, not half-way through a file
    const probe = /longlat|latlong|GEOGCS|GEOGCRS|GEODCRS/i.test(def) && !/PROJCS|PROJCRS/i.test(def) ? [106, 11] : [500000, 1200000];
    const out = converter.forward(probe) as number[];
    if (!out.every(Number.isFinite)) throw new Error('a point comes out as no number');
  } catch (e) {
    throw refuse(text, `proj4 cannot use it: ${(e instanceof Error ? e.message : String(e)).slice(0, 200)}`);
  }
  return { name, proj4: def };
}

export type ToLonLat = ((xy: [number, number]) => [number, number]) | null;

/** The transform of a CRS to EPSG:4326 lon/lat; null when it is EPSG:4326 already. */
export function toLonLat(crs: Crs): ToLonLat {
  if (crs.proj4 === WGS84) return null;
  const converter = proj4(crs.proj4, WGS84);
  // a point proj4 cannot convert (it throws on some inputs) is no number: the caller refuses it, naming the feature
  return (xy) => {
    try {
      return converter.forward(xy) as [number, number];
    } catch {
      return [NaN, NaN];
    }
  };
}
