import { selfIntersectionSteps } from './kinks';
import type { MultiPolygon, Polygon, Position } from 'geojson';

/**
 * Pure geometry checks for area boundaries (turf, no I/O). PostGIS's ST_IsValidReason is
 * the final word in the repository; these checks give the precise, early message.
 */
export type GeometryCheck =
  | { ok: true; geometry: MultiPolygon; defect?: Defect }
  | { ok: false; path: string; reason: string; repairable?: true };

/**
 * A boundary whose structure is sound (closed rings of finite lon/lat positions) but whose
 * topology is not: rings crossing themselves or each other, a ring of zero area. These a
 * repair can mend (db/areas.ts `importAreas` with `repair`); everything else cannot.
 */
export type Defect = { path: string; reason: string };

type Ring = Position[];

function fail(path: string, reason: string): GeometryCheck {
  return { ok: false, path, reason };
}

function defect(path: string, reason: string): GeometryCheck {
  return { ok: false, path, reason, repairable: true };
}

function isPosition(p: unknown): p is Position {
  return Array.isArray(p) && (p.length === 2 || p.length === 3) && p.every((n) => typeof n === 'number' && Number.isFinite(n));
}

/** Twice the signed area in degrees² (shoelace); positive means counter-clockwise. */
export function signedArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i] as [number, number];
    const [x2, y2] = ring[i + 1] as [number, number];
    sum += x1 * y2 - x2 * y1;
  }
  return sum;
}

/** Whether a ring's positions all share a longitude or all share a latitude (a box of no width or no height). */
function onOneLine(ring: Ring): boolean {
  const [x0, y0] = ring[0] as [number, number];
  let sameX = true;
  let sameY = true;
  for (let i = 1; i < ring.length && (sameX || sameY); i++) {
    const p = ring[i] as Position;
    if (p[0] !== x0) sameX = false;
    if (p[1] !== y0) sameY = false;
  }
  return sameX || sameY;
}

/** RFC 7946 §3.1.6: exterior rings counter-clockwise, holes clockwise. */
export function rewindPolygon(rings: Ring[]): Ring[] {
  return rings.map((ring, i) => {
    const ccw = signedArea(ring) > 0;
    const wantCcw = i === 0;
    return ccw === wantCcw ? ring : [...ring].reverse();
  });
}

function checkRing(ring: unknown, path: string): GeometryCheck | Ring {
  if (!Array.isArray(ring)) return fail(path, 'a ring must be an array of positions');
  for (let i = 0; i < ring.length; i++) {
    const p: unknown = ring[i];
    if (!isPosition(p)) return fail(`${path}[${i}]`, 'a position must be [longitude, latitude] with finite numbers');
    const [lon, lat] = p;
    if (lon < -180 || lon > 180) return fail(`${path}[${i}]`, `longitude ${lon} is outside -180..180 (coordinates must be lon/lat in EPSG:4326)`);
    if (lat < -90 || lat > 90) return fail(`${path}[${i}]`, `latitude ${lat} is outside -90..90 (coordinates must be lon/lat in EPSG:4326)`);
  }
  if (ring.length < 4) return fail(path, `a ring needs at least 4 positions, got ${ring.length}`);
  const first = ring[0] as Position;
  const last = ring[ring.length - 1] as Position;
  if (first[0] !== last[0] || first[1] !== last[1]) return fail(path, 'ring is not closed: the first and last positions differ');
  // Drop a third dimension: areas are 2-D. (A 2-D ring is kept as it is: a 500,000-vertex
  // ring is not copied position by position on the request thread.)
  const positions = ring as Position[];
  return positions.some((p) => p.length !== 2) ? positions.map((p) => [p[0] as number, p[1] as number]) : positions;
}

function* checkPolygon(coords: unknown, path: string): Generator<void, GeometryCheck | Ring[], void> {
  if (!Array.isArray(coords) || coords.length === 0) return fail(path, 'a polygon must be a non-empty array of rings');
  const rings: Ring[] = [];
  for (let r = 0; r < coords.length; r++) {
    const ring = checkRing(coords[r], `${path}[${r}]`);
    if (!Array.isArray(ring)) return ring;
    rings.push(ring);
    if (ring.length > 50_000) yield;
  }
  // a ring on one line first (no width or no height): cheap to see, and a ring of a million
  // copies of one point would otherwise go through the self-intersection check
  const line = rings.findIndex(onOneLine);
  if (line >= 0) return defect(`${path}[${line}]`, 'ring has zero area');
  const found = yield* selfIntersectionSteps(rings);
  if (found && 'tooComplex' in found) return fail(path, 'too complex to check for self-intersections (many long spikes meeting near one spot); simplify the boundary');
  if (found) {
    const [lon, lat] = found.at;
    return defect(path, `self-intersection at [${lon}, ${lat}]`);
  }
  const flat = rings.findIndex((ring) => signedArea(ring) === 0);
  if (flat >= 0) return defect(`${path}[${flat}]`, 'ring has zero area');
  return rewindPolygon(rings);
}

/**
 * Accepts a Polygon or MultiPolygon; returns it as a normalised MultiPolygon. With
 * `keepDefects`, a boundary whose only problem is a repairable defect is returned too
 * (its rings as given), with the first defect found, for the repair to mend.
 */
export function checkAreaGeometry(geometry: unknown, path = 'geometry', keepDefects = false): GeometryCheck {
  const steps = checkAreaGeometrySteps(geometry, path, keepDefects);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same check in slices (see `selfIntersectionSteps`): pauses every few milliseconds of
 * work on a large boundary, so that a caller may let other requests run meanwhile.
 */
export function* checkAreaGeometrySteps(geometry: unknown, path = 'geometry', keepDefects = false): Generator<void, GeometryCheck, void> {
  if (geometry === null || typeof geometry !== 'object') return fail(path, 'geometry is required (Polygon or MultiPolygon)');
  const g = geometry as { type?: unknown; coordinates?: unknown };
  if (g.type !== 'Polygon' && g.type !== 'MultiPolygon') {
    return fail(`${path}.type`, `geometry type ${JSON.stringify(g.type)} is not allowed; expected Polygon or MultiPolygon`);
  }
  const polygons: unknown[] = g.type === 'Polygon' ? [g.coordinates] : Array.isArray(g.coordinates) ? g.coordinates : [];
  if (g.type === 'MultiPolygon' && (!Array.isArray(g.coordinates) || g.coordinates.length === 0)) {
    return fail(`${path}.coordinates`, 'a MultiPolygon needs at least one polygon');
  }
  const out: Ring[][] = [];
  let first: Defect | undefined;
  for (let i = 0; i < polygons.length; i++) {
    const p = yield* checkPolygon(polygons[i], g.type === 'Polygon' ? `${path}.coordinates` : `${path}.coordinates[${i}]`);
    if (Array.isArray(p)) {
      out.push(p);
      continue;
    }
    if (p.ok || !keepDefects || !p.repairable) return p;
    first ??= { path: p.path, reason: p.reason };
    out.push((polygons[i] as Ring[]).map((ring) => (ring.some((q) => q.length !== 2) ? ring.map((q) => [q[0] as number, q[1] as number]) : ring)));
  }
  const multi: MultiPolygon = { type: 'MultiPolygon', coordinates: out };
  return first ? { ok: true, geometry: multi, defect: first } : { ok: true, geometry: multi };
}

export type { Polygon, MultiPolygon };
