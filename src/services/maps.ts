import { Place, places } from '../db/areas';
import { MapQuery, tileBounds } from '../db/maps';
import { classifiedDays } from '../db/levels';
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

/** A page of the zones collection's items (OGC API), as known now, with the page's own members. */
export function collectionItems(
  rt: Runtime,
  date: LocalDate,
  asOf: Date | null,
  bbox: MapQuery['bbox'],
  page: { offset: number; limit: number; members: (matched: number, returned: number) => Record<string, unknown> },
): AsyncGenerator<string | Buffer> {
  return rt.maps.collection({ date, asOf, bbox }, page);
}

/** One zone as a Feature (null: no such area). */
export function zoneFeature(rt: Runtime, code: string, date: LocalDate): Promise<string | null> {
  return rt.maps.feature(code, { date, asOf: null });
}

/** What the map page needs to start: the area's extent and every day with levels. */
export async function mapPageSettings(rt: Runtime): Promise<{ bounds: [number, number, number, number] | null; days: LocalDate[]; places: Place[] }> {
  const [bounds, days, where] = await Promise.all([rt.maps.extent(), classifiedDays(rt.db.read), places(rt.db.read)]);
  return { bounds, days, places: where };
}
