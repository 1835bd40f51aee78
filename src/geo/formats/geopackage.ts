import fs from 'node:fs';
import initSqlJs from 'sql.js';
import { AppError, unprocessable } from '../../errors';
import { Crs, crsFromText, KNOWN_EPSG_CODES } from './crs';
import { WorkBudget } from './limits';
import { countPositions } from './project';
import { errorText, nfcProperties, RawFeature, RawRead, unreadable } from './raw';
import { LIMITS } from './types';
import { parseGpkgGeometry, wkbRefusal } from './wkb';

const WHAT = 'GeoPackage';
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\u0000', 'latin1');

type SqlJs = Awaited<ReturnType<typeof initSqlJs>>;
let sqlJs: Promise<SqlJs> | null = null;
/** SQLite compiled to WebAssembly, shipped in the sql.js package; loaded once per thread. */
function sqlite(): Promise<SqlJs> {
  sqlJs ??= initSqlJs({ wasmBinary: fs.readFileSync(require.resolve('sql.js/dist/sql-wasm.wasm')) as unknown as ArrayBuffer });
  return sqlJs;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * A GeoPackage's feature table (the only one, or the one `layer` names), read with sql.js:
 * gpkg_contents → gpkg_geometry_columns → gpkg_spatial_ref_sys (an EPSG code known to
 * crsFromText by its code, otherwise the WKT definition), then the rows, at most
 * LIMITS.features + 1 of them. Only ordinary tables are read (a view could be made to run
 * for ever).
 */
export async function readGeoPackage(bytes: Uint8Array, layer: string | undefined, budget: WorkBudget): Promise<RawRead> {
  if (bytes.length < 16 || !SQLITE_MAGIC.equals(Buffer.from(bytes.subarray(0, 16)))) throw unreadable(WHAT, 'not an SQLite file (no "SQLite format 3" header)');
  const SQL = await sqlite();
  let db: InstanceType<SqlJs['Database']>;
  try {
    db = new SQL.Database(bytes);
  } catch (e) {
    throw unreadable(WHAT, errorText(e));
  }
  try {
    const rows = (sql: string, params: (string | number)[] = []): unknown[][] => {
      const r = db.exec(sql, params);
      return r[0]?.values ?? [];
    };
    // the GeoPackage's own tables must be tables: a view there could run a query for ever
    const views = rows(
      `SELECT name FROM sqlite_master WHERE type <> 'table' AND name IN ('gpkg_contents', 'gpkg_geometry_columns', 'gpkg_spatial_ref_sys') LIMIT 3`,
    ).map((r) => String(r[0]));
    if (views.length) throw unreadable(WHAT, `${views.join(', ')} must be tables, not views`);
    let tables: string[];
    try {
      tables = rows(`SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name LIMIT 1000`).map((r) => String(r[0]));
    } catch (e) {
      throw unreadable(WHAT, `no gpkg_contents table: not a GeoPackage (${errorText(e)})`);
    }
    let table: string;
    if (layer !== undefined) {
      if (!tables.includes(layer)) throw unprocessable(`Không có lớp ${layer} — the GeoPackage has no feature table "${layer}"; it has: ${tables.join(', ') || '(none)'}`, [{ path: 'layer', message: `not found; choose one of: ${tables.join(', ') || '(none)'}` }], 'unknown_layer');
      table = layer;
    } else if (tables.length === 1) {
      table = tables[0] as string;
    } else if (tables.length === 0) {
      throw unreadable(WHAT, 'gpkg_contents lists no feature table');
    } else {
      throw unprocessable(`GeoPackage có nhiều lớp — the GeoPackage has ${tables.length} feature tables (${tables.join(', ')}); choose one with the layer option`, [{ path: 'layer', message: `choose one of: ${tables.join(', ')}` }], 'several_layers');
    }
    const kind = rows(`SELECT type FROM sqlite_master WHERE name = ? LIMIT 1`, [table])[0]?.[0];
    if (kind !== 'table') throw unreadable(`${WHAT}/${table}`, `"${table}" is a ${kind ?? 'missing table'}, not a table`);
    const geomRow = rows(`SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ? LIMIT 1`, [table])[0];
    if (!geomRow) throw unreadable(`${WHAT}/${table}`, 'no row in gpkg_geometry_columns');
    const geomColumn = String(geomRow[0]);
    const srsId = Number(geomRow[1]);
    const crs = crsOfSrs(rows(`SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ? LIMIT 1`, [srsId])[0], srsId, table);
    const columns = rows(`SELECT name, type, pk FROM pragma_table_info(?) LIMIT 2000`, [table]);
    const attributes = columns
      .filter((c) => String(c[0]) !== geomColumn && !(Number(c[2]) === 1 && String(c[1]).toUpperCase() === 'INTEGER'))
      .map((c) => String(c[0]));
    const stmt = db.prepare(`SELECT ${[geomColumn, ...attributes].map(ident).join(', ')} FROM ${ident(table)} LIMIT ${LIMITS.features + 1}`);
    const features: RawFeature[] = [];
    try {
      while (stmt.step()) {
        const values = stmt.get();
        const where = `${table} feature ${features.length + 1}`;
        budget.feature(where);
        const blob = values[0];
        let geometry: unknown = null;
        if (blob instanceof Uint8Array) {
          try {
            geometry = parseGpkgGeometry(blob).geometry;
          } catch (e) {
            throw wkbRefusal(where, e);
          }
        }
        budget.addGeometry(countPositions(geometry), where);
        const properties: Record<string, unknown> = {};
        attributes.forEach((a, i) => {
          const v = values[i + 1];
          properties[a] = v instanceof Uint8Array ? null : v;
        });
        features.push({ geometry, properties: nfcProperties(properties) });
      }
    } finally {
      stmt.free();
    }
    return { layer: table, crs, features, attributes };
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw unreadable(WHAT, errorText(e));
  } finally {
    db.close();
  }
}

function crsOfSrs(row: unknown[] | undefined, srsId: number, table: string): Crs | null {
  if (!row) throw unreadable(`${WHAT}/${table}`, `srs_id ${srsId} is not in gpkg_spatial_ref_sys`);
  const [organization, code, definition] = row;
  if (String(organization).toUpperCase() === 'EPSG' && KNOWN_EPSG_CODES.includes(Number(code))) return crsFromText(`EPSG:${Number(code)}`);
  if (typeof definition === 'string' && definition.trim() !== '' && definition.trim().toLowerCase() !== 'undefined') {
    const crs = crsFromText(definition);
    return String(organization).toUpperCase() === 'EPSG' ? { ...crs, name: `EPSG:${Number(code)} (${crs.name})` } : crs;
  }
  return null;
}
