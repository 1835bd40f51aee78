import type { MultiPolygon, Position } from 'geojson';
import { feature } from 'topojson-client';
import { topology } from 'topojson-server';
import { presimplify } from 'topojson-simplify';
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
  /**
   * Kept out of the garbage collector's way: a country's borders are millions of points,
   * and as small arrays every major collection would walk them (pauses of a second under
   * load). Arc points live in one Float64Array (x, y, weight), originals as JSON text.
   */
  private readonly points: Float64Array;
  private readonly arcStart: Int32Array;
  private readonly originals = new Map<number, string>();

  constructor(shapes: readonly Shape[]) {
    this.ids = shapes.map((s) => s.id);
    for (const s of shapes) this.originals.set(s.id, JSON.stringify(s.geometry.coordinates));
    const collection = { type: 'FeatureCollection' as const, features: shapes.map((s) => ({ type: 'Feature' as const, id: s.id, properties: {}, geometry: s.geometry })) };
    // weights: each interior point's effective area (Visvalingam), in square degrees
    const topo = presimplify(topology({ areas: collection }) as unknown as Topology<Objects>);
    const arcs = topo.arcs as unknown as ArcPoint[][];
    protectRings(arcs);
    let n = 0;
    for (const arc of arcs) n += arc.length;
    this.points = new Float64Array(n * 3);
    this.arcStart = new Int32Array(arcs.length + 1);
    let k = 0;
    arcs.forEach((arc, i) => {
      this.arcStart[i] = k;
      for (const p of arc) {
        this.points[k * 3] = p[0];
        this.points[k * 3 + 1] = p[1];
        this.points[k * 3 + 2] = p[2];
        k++;
      }
    });
    this.arcStart[arcs.length] = k;
    this.topo = { ...topo, arcs: [] };
  }

  /** The arcs keeping the points whose weight reaches `minWeight` (topojson-simplify's rule). */
  private arcsAbove(minWeight: number): Position[][] {
    const out: Position[][] = [];
    for (let a = 0; a + 1 < this.arcStart.length; a++) {
      const arc: Position[] = [];
      for (let k = this.arcStart[a] as number; k < (this.arcStart[a + 1] as number); k++) {
        if ((this.points[k * 3 + 2] as number) >= minWeight) arc.push([this.points[k * 3] as number, this.points[k * 3 + 1] as number]);
      }
      out.push(arc);
    }
    return out;
  }

  /** Every area's geometry for `zoom` (a shape too small for the zoom keeps its own, rounded). */
  at(zoom: number): Map<number, MultiPolygon> {
    const px = pixelDegrees(zoom);
    const simplified = { ...this.topo, arcs: this.arcsAbove((px * px) / 2) } as Topology<Objects>;
    const fc = feature(simplified, simplified.objects.areas as GeometryCollection);
    const decimals = zoomDecimals(zoom);
    const out = new Map<number, MultiPolygon>();
    fc.features.forEach((f, i) => {
      const id = this.ids[i] as number;
      const g = f.geometry as MultiPolygon | { type: 'Polygon'; coordinates: Position[][] } | null;
      const polygons = g === null ? [] : g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      const rounded = roundPolygons(polygons, decimals);
      out.set(id, rounded.length ? { type: 'MultiPolygon', coordinates: rounded } : { type: 'MultiPolygon', coordinates: roundPolygons(JSON.parse(this.originals.get(id) as string) as Position[][][], decimals) });
    });
    return out;
  }
}

/**
 * Every arc keeps its most significant interior point, and an arc that closes on itself
 * (a ring with no neighbour) its two most significant: no ring can collapse to a line.
 */
function protectRings(arcs: ArcPoint[][]): void {
  for (const arc of arcs) {
    if (arc.length < 3) continue;
    const first = arc[0] as ArcPoint;
    const last = arc[arc.length - 1] as ArcPoint;
    const keep = first[0] === last[0] && first[1] === last[1] ? 2 : 1;
    const interior = arc.slice(1, -1).sort((a, b) => b[2] - a[2]);
    for (const p of interior.slice(0, keep)) p[2] = Infinity;
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
