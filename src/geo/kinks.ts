import type { Position } from 'geojson';

/**
 * The first self-intersection of a polygon's rings, or null. Same rule as turf's `kinks`
 * (any two segments of any rings that cross or touch, except neighbours in one ring;
 * parallel segments do not count), but segments are bucketed in a uniform grid over the
 * polygon's extent so that only segments sharing a cell are compared: about linear time
 * for real boundaries, where `kinks` compares every pair (a 100,000-vertex ring took it
 * about a minute).
 */
export type KinkResult = { at: [number, number] } | { tooComplex: true } | null;

/** Pairs compared and cells filled before a geometry is refused as too complex to check. */
export const KINK_WORK_LIMIT = 30_000_000;

export function firstSelfIntersection(rings: Position[][]): KinkResult {
  // segments as flat arrays: ring index, position in the ring, end points
  let n = 0;
  for (const r of rings) n += Math.max(0, r.length - 1);
  if (n < 2) return null;
  const ringOf = new Int32Array(n);
  const idx = new Int32Array(n);
  const xy = new Float64Array(n * 4);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let s = 0;
  rings.forEach((ring, r) => {
    for (let i = 0; i < ring.length - 1; i++, s++) {
      const a = ring[i] as Position;
      const b = ring[i + 1] as Position;
      ringOf[s] = r;
      idx[s] = i;
      xy[s * 4] = a[0] as number;
      xy[s * 4 + 1] = a[1] as number;
      xy[s * 4 + 2] = b[0] as number;
      xy[s * 4 + 3] = b[1] as number;
      minX = Math.min(minX, a[0] as number, b[0] as number);
      maxX = Math.max(maxX, a[0] as number, b[0] as number);
      minY = Math.min(minY, a[1] as number, b[1] as number);
      maxY = Math.max(maxY, a[1] as number, b[1] as number);
    }
  });
  const closed = rings.map((ring) => {
    const f = ring[0];
    const l = ring[ring.length - 1];
    return f !== undefined && l !== undefined && f[0] === l[0] && f[1] === l[1];
  });
  const lastIdx = rings.map((ring) => ring.length - 2);
  const neighbours = (p: number, q: number) => {
    if (ringOf[p] !== ringOf[q]) return false;
    const i = idx[p] as number;
    const k = idx[q] as number;
    if (Math.abs(i - k) === 1) return true;
    const r = ringOf[p] as number;
    const last = lastIdx[r] as number;
    return Boolean(closed[r]) && ((i === 0 && k === last) || (k === 0 && i === last));
  };

  // about one segment per cell
  const side = Math.max(1, Math.ceil(Math.sqrt(n)));
  const w = (maxX - minX) / side || 1;
  const h = (maxY - minY) / side || 1;
  const cellX = (x: number) => Math.min(side - 1, Math.max(0, Math.floor((x - minX) / w)));
  const cellY = (y: number) => Math.min(side - 1, Math.max(0, Math.floor((y - minY) / h)));
  const cells = new Map<number, number[]>();
  // a hostile shape (thousands of long spikes through one spot) would make this quadratic
  let work = 0;
  for (let p = 0; p < n; p++) {
    const o = p * 4;
    const x0 = cellX(Math.min(xy[o] as number, xy[o + 2] as number));
    const x1 = cellX(Math.max(xy[o] as number, xy[o + 2] as number));
    const y0 = cellY(Math.min(xy[o + 1] as number, xy[o + 3] as number));
    const y1 = cellY(Math.max(xy[o + 1] as number, xy[o + 3] as number));
    for (let cx = x0; cx <= x1; cx++) {
      for (let cy = y0; cy <= y1; cy++) {
        const key = cx * side + cy;
        const list = cells.get(key);
        work += 1 + (list?.length ?? 0);
        if (work > KINK_WORK_LIMIT) return { tooComplex: true };
        if (list) {
          for (const q of list) {
            if (neighbours(p, q)) continue;
            const hit = crossing(xy, q, p);
            if (hit) return { at: hit };
          }
          list.push(p);
        } else {
          cells.set(key, [p]);
        }
      }
    }
  }
  return null;
}

/** turf's segment intersection: both parameters within [0, 1]; parallel segments never. */
function crossing(xy: Float64Array, p: number, q: number): [number, number] | null {
  const [x1, y1, x2, y2] = [xy[p * 4] as number, xy[p * 4 + 1] as number, xy[p * 4 + 2] as number, xy[p * 4 + 3] as number];
  const [x3, y3, x4, y4] = [xy[q * 4] as number, xy[q * 4 + 1] as number, xy[q * 4 + 2] as number, xy[q * 4 + 3] as number];
  const d = (y4 - y3) * (x2 - x1) - (x4 - x3) * (y2 - y1);
  if (d === 0) return null;
  const a0 = y1 - y3;
  const b0 = x1 - x3;
  const a = ((x4 - x3) * a0 - (y4 - y3) * b0) / d;
  const b = ((x2 - x1) * a0 - (y2 - y1) * b0) / d;
  if (a >= 0 && a <= 1 && b >= 0 && b <= 1) return [x1 + a * (x2 - x1), y1 + a * (y2 - y1)];
  return null;
}
