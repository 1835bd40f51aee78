import { AREA_KINDS, AreaKind } from '../../domain/areas';
import { LEVEL_INFO, LevelOrUnknown } from '../../domain/levels';
import type { ItemColumn } from '../../services/maps';

/**
 * The OGC API collections and what their features hold, as JSON Schema: the queryables
 * (Part 3), the feature schema (Part 5, with `x-ogc-role`), and the GeoJSON Feature schema
 * that GDAL's OAPIF driver (3.6) reads from a collection's `describedBy` link to type its
 * fields (without it GDAL guesses from the first page: 0.06 became an Integer 0).
 */

/** One collection per area kind, and `zones` (every kind, as before). */
export const COLLECTIONS: Record<string, { kind: AreaKind | undefined; title: string; description: string }> = {
  zones: { kind: undefined, title: 'Vùng / Zones', description: 'Mọi vùng (tỉnh, huyện, xã, thôn) với cấp độ trong ngày / every area, of every kind, with its level on the day' },
  provinces: { kind: 'province', title: 'Tỉnh / Provinces', description: 'Các tỉnh với cấp độ trong ngày / the provinces with their level on the day' },
  districts: { kind: 'district', title: 'Huyện / Districts', description: 'Các huyện với cấp độ trong ngày / the districts with their level on the day' },
  communes: { kind: 'commune', title: 'Xã, phường / Communes and wards', description: 'Các xã, phường với cấp độ trong ngày / the communes and wards with their level on the day' },
  subcommunes: { kind: 'subcommune', title: 'Thôn, ấp, khu phong tỏa / Villages and lockdown areas', description: 'Thôn, ấp hoặc khu vực phong tỏa với cấp độ trong ngày / villages and drawn lockdown areas with their level on the day' },
};
export const COLLECTION_IDS = Object.keys(COLLECTIONS);

type PropertySchema = { type: 'string' | 'number' | 'integer'; title: string; description?: string; format?: string; enum?: readonly string[]; minimum?: number; maximum?: number; pattern?: string };

const LEVELS_AND_UNKNOWN = Object.keys(LEVEL_INFO) as LevelOrUnknown[];

/** Every feature property (queryable ones: all but color), typed. Types only: which may be null is said by `NULLABLE`. */
function propertySchemas(kind: AreaKind | undefined): Record<ItemColumn | 'color', PropertySchema> {
  return {
    code: { type: 'string', title: 'Mã vùng / area code' },
    name: { type: 'string', title: 'Tên / name' },
    kind: { type: 'string', title: 'Loại vùng / kind of area', enum: kind ? [kind] : AREA_KINDS },
    parent: { type: 'string', title: 'Mã vùng cha / code of the parent area', description: 'absent (null) for a top-level area' },
    level: { type: 'string', title: 'Cấp độ / level', enum: LEVELS_AND_UNKNOWN, description: 'green = Cấp 1, yellow = Cấp 2, orange = Cấp 3, red = Cấp 4; unknown when not classified' },
    level_number: { type: 'integer', title: 'Số cấp / level number', minimum: 1, maximum: 4, description: 'null when the level is unknown' },
    color: { type: 'string', title: 'Màu / colour of the level', pattern: '^#[0-9a-f]{6}$' },
    since: { type: 'string', format: 'date', title: 'Từ ngày / at this level since', description: 'null when unknown' },
    community_cases_7d: { type: 'integer', title: 'Ca cộng đồng 7 ngày / community cases over 7 days', description: 'of the whole area; null without reports' },
    incidence_per_100k_7d: { type: 'number', title: 'Ca / 100.000 dân 7 ngày / cases per 100,000 over 7 days', description: 'two decimals; null without reports or population' },
    population: { type: 'integer', title: 'Dân số / population', description: 'null when not known' },
    date: { type: 'string', format: 'date', title: 'Ngày / day', description: 'the day whose level the feature shows' },
  };
}

/**
 * The vector tiles' fields (TileJSON 3 `vector_layers[].fields`): each property of a tile
 * feature with its type, String or Number (tiles carry no `date`: the TileJSON names the
 * day; a null property is left out of a tile feature).
 */
export function tileFields(): Record<string, 'String' | 'Number'> {
  const { date: _date, ...props } = propertySchemas(undefined);
  return Object.fromEntries(Object.entries(props).map(([name, p]) => [name, p.type === 'string' ? 'String' : 'Number']));
}

const NULLABLE: ReadonlySet<string> = new Set(['parent', 'level_number', 'since', 'community_cases_7d', 'incidence_per_100k_7d', 'population']);
const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** Part 3: the properties a `filter` may name, with their types (as JSON Schema). */
export function queryables(root: string, id: string): Record<string, unknown> {
  const props = propertySchemas(COLLECTIONS[id]?.kind);
  const { color: _color, ...queryable } = props;
  return {
    $schema: SCHEMA_DIALECT,
    $id: `${root}/collections/${id}/queryables`,
    type: 'object',
    title: `${COLLECTIONS[id]?.title ?? id}: queryables`,
    description: "Thuộc tính dùng được trong filter / properties a CQL2-text filter may name (filter-lang=cql2-text), e.g. level = 'red' AND incidence_per_100k_7d > 50",
    properties: queryable,
    additionalProperties: false,
    // the list of the draft queryables document, which GDAL's OAPIF driver (3.6) reads to know what it may pass on
    queryables: Object.entries(queryable).map(([name, p]) => ({ id: name, type: p.type, title: p.title })),
  };
}

/** Part 5: the features' schema, the id, geometry and day marked with their `x-ogc-role`. */
export function featureSchema(root: string, id: string): Record<string, unknown> {
  const props = propertySchemas(COLLECTIONS[id]?.kind);
  const properties: Record<string, unknown> = {
    id: { type: 'string', title: 'Mã đối tượng / feature id', description: 'the area code; with a datetime interval, code@YYYY-MM-DD', 'x-ogc-role': 'id' },
    geometry: { title: 'Ranh giới / boundary', format: 'geometry-multipolygon', 'x-ogc-role': 'primary-geometry' },
  };
  for (const [name, p] of Object.entries(props)) {
    properties[name] = { ...p, ...(NULLABLE.has(name) ? { type: [p.type, 'null'] } : {}), ...(name === 'date' ? { 'x-ogc-role': 'primary-instant' } : {}) };
  }
  return { $schema: SCHEMA_DIALECT, $id: `${root}/collections/${id}/schema`, type: 'object', title: COLLECTIONS[id]?.title ?? id, properties };
}

/**
 * The features as GeoJSON, for GDAL's OAPIF driver, which reads a collection's
 * `describedBy` JSON Schema as a GeoJSON Feature and takes each member of `properties`
 * with a single `type` name (number → Real, integer → Integer, string with format date →
 * Date). A property may still be null (GDAL writes it as NULL); the Part 5 schema says which.
 */
export function geojsonFeatureSchema(root: string, id: string): Record<string, unknown> {
  return {
    $schema: SCHEMA_DIALECT,
    $id: `${root}/collections/${id}/feature-schema`,
    title: `${COLLECTIONS[id]?.title ?? id}: GeoJSON Feature`,
    type: 'object',
    required: ['type', 'id', 'geometry', 'properties'],
    properties: {
      type: { type: 'string', enum: ['Feature'] },
      id: { type: 'string' },
      geometry: { type: 'object', description: 'a Polygon or MultiPolygon (RFC 7946)' },
      properties: { type: 'object', properties: propertySchemas(COLLECTIONS[id]?.kind) },
    },
  };
}
