import { unprocessable } from '../../errors';
import type { ToLonLat } from './crs';

/**
 * Coordinates of a GeoJSON geometry to EPSG:4326: every position through the transform
 * (none for data in EPSG:4326 already), reduced to 2D (a Z or M is dropped), and refused,
 * naming the feature, when it is not a finite longitude in [-180, 180] and latitude in
 * [-90, 90] (a projected file declared as geographic, or a CRS that does not fit the data).
 * Anything that is not nested arrays of positions is left as it is, for the area validation
 * (geo/features.ts) to name.
 */
export function projectGeometry(geometry: unknown, transform: ToLonLat, where: string): unknown {
  if (geometry === null || typeof geometry !== 'object') return geometry;
  const g = geometry as { type?: unknown; coordinates?: unknown; geometries?: unknown };
  if (g.type === 'GeometryCollection' && Array.isArray(g.geometries)) {
    return { ...g, geometries: g.geometries.map((m) => projectGeometry(m, transform, where)) };
  }
  if (!Array.isArray(g.coordinates)) return geometry;
  return { type: g.type, coordinates: positions(g.coordinates, transform, where) };
}

function positions(c: unknown[], transform: ToLonLat, where: string): unknown {
  if (c.length >= 2 && typeof c[0] === 'number' && typeof c[1] === 'number') return position(c[0], c[1], transform, where);
  return c.map((inner) => (Array.isArray(inner) ? positions(inner, transform, where) : inner));
}

function position(x: number, y: number, transform: ToLonLat, where: string): [number, number] {
  const out: [number, number] = Number.isFinite(x) && Number.isFinite(y) && transform ? transform([x, y]) : [x, y];
  const [lon, lat] = out;
  if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) {
    const message = `the point (${x}, ${y}) does not become a longitude/latitude (got ${lon}, ${lat}): is the coordinate system right?`;
    throw unprocessable(`Tọa độ không chuyển được sang WGS 84 — ${where}: ${message}`, [{ path: where, message }], 'bad_coordinates');
  }
  return out;
}

/** How many positions and rings (arrays of positions, empty ones too) a GeoJSON geometry holds (for the limits). */
export function countPositions(geometry: unknown): { positions: number; rings: number } {
  const n = { positions: 0, rings: 0 };
  if (geometry === null || typeof geometry !== 'object') return n;
  const g = geometry as { coordinates?: unknown; geometries?: unknown };
  if (Array.isArray(g.geometries)) {
    for (const m of g.geometries) {
      const c = countPositions(m);
      n.positions += c.positions;
      n.rings += c.rings;
    }
  } else if (Array.isArray(g.coordinates)) count(g.coordinates, n);
  return n;
}

function count(c: unknown[], n: { positions: number; rings: number }): void {
  if (typeof c[0] === 'number') {
    n.positions++;
    return;
  }
  // a ring (or an empty array): its length (measured: recursing to each position took 0.4 s of a 2M-vertex file)
  if (c.length === 0 || (Array.isArray(c[0]) && typeof c[0][0] === 'number')) {
    n.positions += c.length;
    n.rings++;
    return;
  }
  for (const inner of c) if (Array.isArray(inner)) count(inner, n);
}
