import type { Feature, MultiPolygon } from 'geojson';
import geojsonvt from 'geojson-vt';
import { fromGeojsonVt } from 'vt-pbf';

/**
 * One Mapbox vector tile (layer `zones`) of features already simplified for its zoom:
 * geojson-vt clips them and moves them to tile coordinates (its own per-polygon
 * simplification is off, so shared borders stay shared), vt-pbf encodes. Pure.
 */
export const TILE_EXTENT = 4096;
export const TILE_BUFFER = 64;

export type TileFeature = Feature<MultiPolygon, Record<string, string | number>>;

export function encodeTile(features: TileFeature[], z: number, x: number, y: number): Uint8Array {
  const index = geojsonvt({ type: 'FeatureCollection', features }, { maxZoom: z, indexMaxZoom: 0, tolerance: 0, extent: TILE_EXTENT, buffer: TILE_BUFFER });
  const layer = index.getTile(z, x, y);
  return layer ? fromGeojsonVt({ zones: layer }, { version: 2, extent: TILE_EXTENT }) : new Uint8Array(0);
}
