import * as shapefile from 'shapefile';
import { AppError, unprocessable } from '../../errors';
import { crsFromText } from './crs';
import { WorkBudget } from './limits';
import { countPositions } from './project';
import { errorText, nfcProperties, RawFeature, RawRead, unreadable } from './raw';
import { contentEntries, listZip, readZipEntry, splitName, ZipEntry } from './zip';

const WHAT = 'Shapefile zip';

/**
 * The text encoding named by a .cpg, as a WHATWG label (TextDecoder, which the shapefile
 * library uses, knows windows-1258 in Node's full ICU); null when not recognised.
 */
export function encodingOfCpg(cpg: string): string | null {
  const t = cpg.trim().toUpperCase().replace(/[\s_-]/g, '');
  if (t === '' || t === 'UTF8' || t === '65001') return 'utf-8';
  const win = /^(?:CP|WINDOWS|ANSI|WIN)?(125[0-8])$/.exec(t);
  if (win) return `windows-${win[1]}`;
  if (t === '88591' || t === 'ISO88591' || t === 'LATIN1') return 'iso-8859-1';
  try {
    return new TextDecoder(cpg.trim()).encoding;
  } catch {
    return null;
  }
}

/**
 * A zipped Shapefile: exactly one .shp (or the one `layer` names, by base name), with its
 * .dbf (required), .prj (its CRS; without it the crs option is required) and .cpg (the
 * .dbf's encoding; UTF-8 when absent). Read with the `shapefile` library.
 */
export async function readShapefileZip(bytes: Uint8Array, layer: string | undefined, haveCrsOption: boolean, budget: WorkBudget): Promise<RawRead> {
  const entries = contentEntries(listZip(bytes, WHAT));
  const shps = entries.filter((e) => splitName(e.name).ext === 'shp');
  const baseName = (e: ZipEntry) => splitName(e.name).base.split('/').pop() as string;
  const listed = shps.map(baseName).join(', ');
  let shp: ZipEntry | undefined;
  if (layer !== undefined) {
    shp = shps.find((e) => baseName(e) === layer || splitName(e.name).base === layer);
    if (!shp) throw unprocessable(`Không có lớp ${layer} — the zip has no Shapefile "${layer}"; it has: ${listed || '(none)'}`, [{ path: 'layer', message: `not found; choose one of: ${listed || '(none)'}` }], 'unknown_layer');
  } else if (shps.length === 1) {
    shp = shps[0];
  } else if (shps.length === 0) {
    const kml = entries.some((e) => splitName(e.name).ext === 'kml');
    throw unreadable(WHAT, `no .shp file in the zip${kml ? ' (it holds a .kml: send it as KMZ)' : ''}; it holds: ${entries.map((e) => e.name).join(', ') || '(nothing)'}`);
  } else {
    throw unprocessable(`Tệp nén có nhiều Shapefile — the zip holds ${shps.length} Shapefiles (${listed}); choose one with the layer option`, [{ path: 'layer', message: `choose one of: ${listed}` }], 'several_layers');
  }
  const base = splitName((shp as ZipEntry).name).base.toLowerCase();
  const sibling = (ext: string) => entries.find((e) => splitName(e.name).ext === ext && splitName(e.name).base.toLowerCase() === base);
  const dbf = sibling('dbf');
  const prj = sibling('prj');
  const cpg = sibling('cpg');
  const name = baseName(shp as ZipEntry);
  if (!dbf) throw unreadable(`${WHAT}/${name}.dbf`, `${name}.shp has no ${name}.dbf (the attributes) beside it`);
  if (!prj && !haveCrsOption) {
    throw unprocessable(
      `Thiếu tệp .prj (hệ tọa độ) — ${name}.shp has no ${name}.prj, so its coordinate system is unknown; add the .prj or give the crs option (e.g. EPSG:32648, VN2000-TM3:107.75)`,
      [{ path: `${WHAT}/${name}.prj`, message: 'missing; give the crs option' }],
      'missing_crs',
    );
  }
  const decode = (e: ZipEntry) => new TextDecoder('utf-8').decode(readZipEntry(bytes, e, WHAT)).replace(/^\uFEFF/, '');
  const crs = prj && !haveCrsOption ? crsFromText(decode(prj)) : null;
  let encoding = 'utf-8';
  if (cpg) {
    const text = decode(cpg);
    const known = encodingOfCpg(text);
    if (!known) throw unprocessable(`Bảng mã không hỗ trợ — ${name}.cpg names the encoding "${text.trim().slice(0, 40)}", which is not supported; use UTF-8 or Windows-1258`, [{ path: `${WHAT}/${name}.cpg`, message: 'unsupported encoding' }], 'unsupported_encoding');
    encoding = known;
  }
  const shpBytes = readZipEntry(bytes, shp as ZipEntry, WHAT);
  const dbfBytes = readZipEntry(bytes, dbf, WHAT);
  const features: RawFeature[] = [];
  try {
    const source = await shapefile.open(shpBytes, dbfBytes, { encoding });
    for (;;) {
      const r = await source.read();
      if (r.done) break;
      const where = `${name}.shp feature ${features.length + 1}`;
      budget.feature(where);
      budget.addGeometry(countPositions(r.value.geometry), where);
      features.push({ geometry: r.value.geometry, properties: nfcProperties(r.value.properties ?? {}) });
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw unreadable(`${WHAT}/${name}.shp`, errorText(e));
  }
  return { layer: name, crs, features, attributes: features.length > 0 ? Object.keys((features[0] as RawFeature).properties) : [] };
}
