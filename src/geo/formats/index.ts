import { AppError, unprocessable } from '../../errors';
import { Crs, crsFromText, toLonLat } from './crs';
import { canonicalProperties, checkFieldMap, FieldMap } from './fieldMap';
import { readGeoJson } from './geojson';
import { readGeoPackage, SQLITE_MAGIC } from './geopackage';
import { readKml, readKmz } from './kml';
import { WorkBudget } from './limits';
import { projectGeometry } from './project';
import { RawRead } from './raw';
import { readShapefileZip } from './shapefile';
import { BoundaryFeature, BoundaryFormat, BoundaryOptions, BoundaryRead } from './types';
import { contentEntries, listZip, splitName } from './zip';

export { BOUNDARY_FORMATS, LIMITS } from './types';
export type { BoundaryFeature, BoundaryFormat, BoundaryOptions, BoundaryRead } from './types';
export { crsFromText, KNOWN_EPSG_CODES, VN2000_TOWGS84 } from './crs';
export type { Crs } from './crs';
export { FIELD_MAP_KEYS, fieldMapSchema, parseFieldMapText } from './fieldMap';
export type { FieldMap, FieldMapKey } from './fieldMap';
export { readBoundaryFileInWorker } from './thread';

/**
 * The format of a boundary upload from its Content-Type (parameters such as charset are
 * ignored) and, where the type is shared, its bytes:
 *  - application/json, application/geo+json → geojson
 *  - application/zip (also application/x-zip-compressed) → shapefile, or kmz when the zip
 *    holds a .kml and no .shp
 *  - application/geopackage+sqlite3 → geopackage, only with the "SQLite format 3\0" magic
 *  - application/vnd.google-earth.kml+xml → kml; application/vnd.google-earth.kmz → kmz
 * Anything else (or a zip that cannot be listed, a GeoPackage without the magic) → null.
 */
export function boundaryFormatOf(contentType: string, bytes: Buffer): BoundaryFormat | null {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  switch (type) {
    case 'application/json':
    case 'application/geo+json':
      return 'geojson';
    case 'application/vnd.google-earth.kml+xml':
      return 'kml';
    case 'application/vnd.google-earth.kmz':
      return 'kmz';
    case 'application/geopackage+sqlite3':
      return bytes.length >= 16 && SQLITE_MAGIC.equals(bytes.subarray(0, 16)) ? 'geopackage' : null;
    case 'application/zip':
    case 'application/x-zip-compressed': {
      // not a zip at all: not a boundary file (415); a zip that is refused is said as such
      if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b || !((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))) return null;
      let exts: string[];
      try {
        exts = contentEntries(listZip(bytes, 'zip')).map((e) => splitName(e.name).ext);
      } catch (e) {
        // a zip bomb, too many entries, ZIP64, a broken archive: said as such (413/422), not "not a boundary file"
        if (e instanceof AppError) throw e;
        return null;
      }
      return exts.includes('kml') && !exts.includes('shp') ? 'kmz' : 'shapefile';
    }
    default:
      return null;
  }
}

async function readRaw(bytes: Uint8Array, format: BoundaryFormat, options: BoundaryOptions, budget: WorkBudget): Promise<RawRead> {
  switch (format) {
    case 'geojson':
      return readGeoJson(bytes, budget, options.crs !== undefined);
    case 'shapefile':
      return readShapefileZip(bytes, options.layer, options.crs !== undefined, budget);
    case 'geopackage':
      return readGeoPackage(bytes, options.layer, budget);
    case 'kml':
      return readKml(bytes, 'KML', budget);
    case 'kmz':
      return readKmz(bytes, budget);
  }
}

/**
 * A boundary file (GeoJSON, zipped Shapefile, GeoPackage, KML, KMZ) as a GeoJSON
 * FeatureCollection in EPSG:4326 whose properties are the canonical ones (code, name, kind,
 * parent, population; see fieldMap.ts), for geo/features.ts to validate. The source CRS is
 * options.crs when given (it overrides what the file declares), else the file's own; the
 * KML formats are EPSG:4326. Every refusal is an AppError (4xx) naming the file part;
 * LIMITS bounds the work. CPU-heavy: the service calls readBoundaryFileInWorker.
 */
export async function readBoundaryFile(bytes: Buffer, format: BoundaryFormat, options: BoundaryOptions = {}): Promise<BoundaryRead> {
  const optionCrs = options.crs !== undefined ? crsFromText(options.crs) : null;
  const budget = new WorkBudget();
  const raw = await readRaw(bytes, format, options, budget);
  const crs: Crs | null = optionCrs ?? raw.crs;
  if (!crs) {
    throw unprocessable(`Không rõ hệ tọa độ — the file does not say its coordinate system; give the crs option`, [{ path: 'crs', message: 'required for this file' }], 'missing_crs');
  }
  const map: FieldMap = options.fieldMap ?? {};
  checkFieldMap(map, raw.attributes);
  const transform = toLonLat(crs);
  const features: BoundaryFeature[] = raw.features.map((f, i) => {
    const properties = canonicalProperties(f.properties, map);
    const where = `feature ${i + 1}${typeof properties.code === 'string' ? ` (code ${properties.code})` : ''}`;
    return { type: 'Feature', geometry: projectGeometry(f.geometry, transform, where), properties };
  });
  return {
    type: 'FeatureCollection',
    features,
    source: { format, layer: raw.layer, crs: crs.name, features: features.length, attributes: raw.attributes },
  };
}
