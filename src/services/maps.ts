import { Place, places } from '../db/areas';
import { CompiledFilter, ITEM_COLUMNS, itemColumn, ItemsQuery, MapQuery, tileBounds } from '../db/maps';
import { classifiedDays, classifiedDaysIn } from '../db/levels';
import { AreaKind } from '../domain/areas';
import { checkCql2, Cql2, cql2ToSql } from '../domain/cql2';
import { LocalDate } from '../domain/dates';
import { TILE_BUFFER, TILE_EXTENT } from '../geo/tiles';
import type { Runtime } from '../runtime';
import { readingAt, Reading } from './levels';

/**
 * Zones as maps: GeoJSON (simplified for a zoom, or full detail), vector tiles, OGC API –
 * Features items, and what the map page needs to start. Every map read answers under an
 * ETag naming what it shows; building the body is left to the caller (kept by tag, or
 * streamed).
 */

export type MapFilter = Pick<MapQuery, 'kind' | 'parent' | 'level' | 'bbox' | 'zoom'>;

/** A map read: its query (the reading point resolved), its ETag, and its body in pieces. */
export type MapAnswer = { query: MapQuery; etag: string; pieces: () => AsyncGenerator<string | Buffer> };

/** The zones as a GeoJSON FeatureCollection (zones.geojson). */
export async function zonesMap(rt: Runtime, r: Reading, filter: MapFilter): Promise<MapAnswer> {
  const asOf = await readingAt(rt, r);
  const query: MapQuery = { date: r.date, asOf, ...filter };
  const etag = await rt.maps.etag(query, 'zones.geojson');
  return { query, etag, pieces: () => rt.maps.collection(query) };
}

/**
 * A simplified map's body (a zoom given: a few megabytes for a country), kept under its
 * ETag by the runtime's map store — raw, or gzipped with `gzip` — and built from `map` only
 * when not kept: the route and the warm-up (warmMaps) share it.
 */
export function keptMapBody(rt: Runtime, map: MapAnswer, gzip: boolean): Promise<Buffer> {
  return rt.maps.bodies.body(map.etag, gzip, async () => {
    const pieces: Buffer[] = [];
    for await (const piece of map.pieces()) pieces.push(typeof piece === 'string' ? Buffer.from(piece) : piece);
    return Buffer.concat(pieces);
  });
}

/**
 * Builds `date`'s hot map answers ahead of the requests, as latest known: the communes'
 * shared-border topology (seconds for a country, in the map worker), the day's zones with
 * their properties (what every tile and OGC page of the day reads: KeptDay), and the
 * communes' map at zoom 6 (zones.geojson?kind=commune&zoom=6, the map page's first request,
 * raw and gzipped, under the route's ETag). Background-friendly: the heavy parts run in the
 * map worker, the database and zlib's thread pool; the request thread does the rest in
 * slices, yielding between them. Call it at start and after each recomputation.
 */
export async function warmMaps(rt: Runtime, date: LocalDate): Promise<void> {
  await rt.maps.warm(date);
  await rt.maps.keepDay(date);
  const map = await zonesMap(rt, { date, asOf: null, version: 'latest' }, { kind: 'commune', zoom: 6 });
  await keptMapBody(rt, map, true);
}

/** One vector tile z/x/y of the zones (and a margin around it). */
export async function zonesTile(rt: Runtime, r: Reading, kind: MapFilter['kind'], z: number, x: number, y: number): Promise<{ etag: string; bytes: () => Promise<Buffer> }> {
  const asOf = await readingAt(rt, r);
  const query = { date: r.date, asOf, kind, zoom: z, bbox: tileBounds(z, x, y, TILE_BUFFER / TILE_EXTENT) };
  const etag = await rt.maps.etag(query, `tile/${z}/${x}/${y}`);
  return { etag, bytes: () => rt.maps.tile(query, x, y) };
}

/** The extent of all areas, [minLon, minLat, maxLon, maxLat] (null without areas). */
export function areasExtent(rt: Runtime): Promise<[number, number, number, number] | null> {
  return rt.maps.extent();
}

/** The zones collection's extents: space, and the first and last days with levels. */
export async function collectionExtent(rt: Runtime): Promise<{ bbox: [number, number, number, number] | null; first: string | null; last: string | null }> {
  const [bbox, [first, last]] = await Promise.all([rt.maps.extent(), rt.maps.levelDays()]);
  return { bbox, first, last };
}

/** The first and last days with levels (null, null: none). */
export async function levelDays(rt: Runtime): Promise<{ first: LocalDate | null; last: LocalDate | null }> {
  const [first, last] = await rt.maps.levelDays();
  return { first: first as LocalDate | null, last: last as LocalDate | null };
}

export { ITEM_COLUMNS };
export type { ItemColumn } from '../db/maps';

/** A parsed CQL2 filter checked against the filterable properties (ITEM_COLUMNS) and compiled to SQL; a Cql2Error names what is wrong. */
export function compileItemFilter(ast: Cql2): CompiledFilter {
  checkCql2(ast, ITEM_COLUMNS);
  return cql2ToSql(ast, itemColumn);
}

/** The days with levels from `from` to `to` (both included), in order. */
export async function daysWithLevels(rt: Runtime, from: LocalDate, to: LocalDate): Promise<LocalDate[]> {
  return [...(await classifiedDaysIn(rt.db.read, from, to))].sort();
}

/** A page of OGC API items (see ItemsQuery), with the page's own members. */
export function ogcItems(
  rt: Runtime,
  q: ItemsQuery,
  page: { offset: number; limit: number; members: (matched: number, returned: number) => Record<string, unknown> },
): AsyncGenerator<string | Buffer> {
  return rt.maps.items(q, page);
}

/** One OGC API item: the area `code` (of `kind` when given) on `date`, named code@date with `dayId` (null: none such). */
export function ogcItem(rt: Runtime, code: string, kind: AreaKind | undefined, date: LocalDate, dayId: boolean): Promise<string | null> {
  return rt.maps.item(code, kind, date, dayId);
}

/** What the map page needs to start: the area's extent and every day with levels. */
export async function mapPageSettings(rt: Runtime): Promise<{ bounds: [number, number, number, number] | null; days: LocalDate[]; places: Place[] }> {
  const [bounds, days, where] = await Promise.all([rt.maps.extent(), classifiedDays(rt.db.read), places(rt.db.read)]);
  return { bounds, days, places: where };
}
