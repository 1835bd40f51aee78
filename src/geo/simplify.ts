import type { MultiPolygon, Position } from 'geojson';
import { feature } from 'topojson-client';
import { topology } from 'topojson-server';
import { presimplify, simplify } from 'topojson-simplify';
import type { GeometryCollection, Objects, Topology } from 'topojson-specification';
import { rewindPolygon } from './validate';

/**
 * Simplification for a map zoom that keeps shared borders shared. The areas are turned
 * into a topology once (each border between two neighbours becomes one arc, cut at the
 * points where three areas meet); an arc is simplified once for both sides, its end points
 * never move, so neighbours cannot open gaps or overlap. Coordinates are then rounded to
 * what the zoom can show — the same rounding on both sides of a border. Pure.
 */
export type Shape = { id: number; geometry: MultiPolygon };

/** Degrees of longitude per pixel of a 256-px tile at `zoom`. */
export const pixelDegrees = (zoom: number) => 360 / (256 * 2 ** zoom);

/** Decimal places that resolve a tenth of a pixel at `zoom` (at most 7, ~1 cm). */
export const zoomDecimals = (zoom: number) => Math.min(7, Math.max(0, Math.ceil(Math.log10(1 / pixelDegrees(zoom))) + 1));

type ArcPoint = [number, number, number];

export class SharedBorders {
  private readonly topo: Topology<Objects>;
  private readonly ids: number[];
  private readonly originals = new Map<number, MultiPolygon>();

  constructor(shapes: readonly Shape[]) {
    this.ids = shapes.map((s) => s.id);
    for (const s of shapes) this.originals.set(s.id, s.geometry);
    const collection = { type: 'FeatureCollection' as const, features: shapes.map((s) => ({ type: 'Feature' as const, id: s.id, properties: {}, geometry: s.geometry })) };
    // weights: each interior point's effective area (Visvalingam), in square degrees
    this.topo = presimplify(topology({ areas: collection }) as unknown as Topology<Objects>);
    this.protectRings();
  }

  /**
   * Every arc keeps its most significant interior point, and an arc that closes on itself
   * (a ring with no neighbour) its two most significant: no ring can collapse to a line.
   */
  private protectRings(): void {
    for (const arc of this.topo.arcs as unknown as ArcPoint[][]) {
      if (arc.length < 3) continue;
      const first = arc[0] as ArcPoint;
      const last = arc[arc.length - 1] as ArcPoint;
      const keep = first[0] === last[0] && first[1] === last[1] ? 2 : 1;
      const interior = arc.slice(1, -1).sort((a, b) => b[2] - a[2]);
      for (const p of interior.slice(0, keep)) p[2] = Infinity;
    }
  }

  /** Every area's geometry for `zoom` (a shape too small for the zoom keeps its own, rounded). */
  at(zoom: number): Map<number, MultiPolygon> {
    const px = pixelDegrees(zoom);
    const simplified = simplify(this.topo, (px * px) / 2);
    const fc = feature(simplified, simplified.objects.areas as GeometryCollection);
    const decimals = zoomDecimals(zoom);
    const out = new Map<number, MultiPolygon>();
    fc.features.forEach((f, i) => {
      const id = this.ids[i] as number;
      const g = f.geometry as MultiPolygon | { type: 'Polygon'; coordinates: Position[][] } | null;
      const polygons = g === null ? [] : g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      const rounded = roundPolygons(polygons, decimals);
      out.set(id, rounded.length ? { type: 'MultiPolygon', coordinates: rounded } : { type: 'MultiPolygon', coordinates: roundPolygons((this.originals.get(id) as MultiPolygon).coordinates, decimals) });
    });
    return out;
  }
}

/** Rounds, drops repeated points and rings that no longer enclose anything, rewinds (RFC 7946). */
export function roundPolygons(polygons: Position[][][], decimals: number): Position[][][] {
  const f = 10 ** decimals;
  const out: Position[][][] = [];
  for (const rings of polygons) {
    const kept: [number, number][][] = [];
    for (const ring of rings) {
      const r: [number, number][] = [];
      for (const p of ring) {
        const q: [number, number] = [Math.round((p[0] as number) * f) / f, Math.round((p[1] as number) * f) / f];
        const prev = r[r.length - 1];
        if (!prev || prev[0] !== q[0] || prev[1] !== q[1]) r.push(q);
      }
      const first = r[0];
      const last = r[r.length - 1];
      if (first && last && (first[0] !== last[0] || first[1] !== last[1])) r.push([first[0], first[1]]);
      if (r.length >= 4) kept.push(r);
      else if (kept.length === 0) break; // the outer ring is gone: so is the polygon (and its holes)
    }
    if (kept.length) out.push(rewindPolygon(kept));
  }
  return out;
}
