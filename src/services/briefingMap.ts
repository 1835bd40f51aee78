import { staticMapShapes } from '../db/maps';
import type { Briefing } from '../domain/briefing';
import { drawMap, MapArea, MapDrawing, MapOutline, MAP_WIDTH, Rings } from '../domain/briefingMap';
import type { Runtime } from '../runtime';

/**
 * The briefing's static map (domain/briefingMap.ts) of its communes, with the outlines of the
 * areas they belong to: their geometry read simplified for the map's box in one statement
 * (db/maps.ts `staticMapShapes`), then projected and drawn. Read from the read pool; the
 * geometry is the areas' as they are now (areas keep no history).
 */
export async function briefingMap(rt: Runtime, b: Pick<Briefing, 'communes'>): Promise<MapDrawing> {
  const codes = b.communes.map((c) => c.code);
  const outlineCodes = [...new Set(b.communes.flatMap((c) => (c.district ? [c.district.code] : [])))];
  const rows = await staticMapShapes(rt.db.read, codes, outlineCodes, MAP_WIDTH);
  const shapes = new Map<string, Rings[]>();
  for (const r of rows) shapes.set(r.code, r.g === null ? [] : polygonsOf(JSON.parse(r.g) as Geometry));
  const communes: MapArea[] = b.communes.map((c) => ({ code: c.code, name: c.name, level: c.level, polygons: shapes.get(c.code) ?? [] }));
  const outlines: MapOutline[] = outlineCodes.map((code) => ({ code, polygons: shapes.get(code) ?? [] }));
  return drawMap(communes, outlines);
}

type Geometry = { type: string; coordinates?: unknown; geometries?: Geometry[] };

/** The polygons of a GeoJSON geometry (points and lines, which a simplification may leave of a sliver, are not drawn). */
function polygonsOf(g: Geometry): Rings[] {
  if (g.type === 'Polygon') return [g.coordinates as Rings];
  if (g.type === 'MultiPolygon') return g.coordinates as Rings[];
  if (g.type === 'GeometryCollection') return (g.geometries ?? []).flatMap(polygonsOf);
  return [];
}
