import type { Position } from 'geojson';

/**
 * The first self-intersection of a polygon's rings, or null. Same rule as turf's `kinks`
 * (any two segments of any rings that cross or touch, except neighbours in one ring;
 * parallel segments do not count), but only segments near each other are compared.
 *
 * The segments' extent is halved again and again (along its longer side; along the other
 * when that cuts almost nothing off) and each segment goes to the half or halves its
 * bounding box reaches, until a box holds at most `LEAF_SEGMENTS` segments, or no halving
 * separates them any more; then its segments are compared pair by pair (pairs whose boxes
 * do not meet skipped). Two segments that meet share the point where they meet, and that
 * point lies in one box at every level — a box whose closed range holds it, which both
 * their bounding boxes reach — so every meeting pair is compared (the halves share their
 * dividing line, and the comparisons are exact).
 *
 * Work is about n·log n for real boundaries however dense — a 500,000-vertex circle as
 * easily as a coastline (the uniform √n × √n grid this replaced put √n/π segments of a
 * circle into each cell it crossed: n^1.5, and a 500,000-vertex circle was refused). A
 * hostile shape — thousands of long spikes through one spot — never separates into small
 * boxes: the work (segments handed to boxes plus pairs compared) is counted, and past
 * `kinkWorkLimit(n)` (proportional to n·log n) the shape is refused as too complex rather
 * than searched without bound.
 */
export type KinkResult = { at: [number, number] } | { tooComplex: true } | null;

/** A box with this many segments or fewer is checked pair by pair. */
const LEAF_SEGMENTS = 16;
/** Halvings before a box is checked pair by pair whatever it holds (spikes through one spot never separate). */
const MAX_DEPTH = 60;
/** A halving that hands on more than this many times the box's segments cuts too little: the box is checked pair by pair. */
const DUPLICATION = 1.75;
/** Work allowed whatever the size (a small hostile shape). */
export const KINK_WORK_BASE = 4_000_000;
/** Work allowed per segment and halving level (circles, Koch snowflakes, wavy stars need 1.5–1.9: see test/geo/kinks.test.ts). */
export const KINK_WORK_PER_SEGMENT_LEVEL = 6;

/** Segments handed to boxes plus pairs compared, before a shape of `n` segments is refused as too complex. */
export function kinkWorkLimit(n: number): number {
  return KINK_WORK_BASE + KINK_WORK_PER_SEGMENT_LEVEL * n * Math.max(1, Math.ceil(Math.log2(n + 1)));
}

/** A box still to divide: its segments (indices) and its closed range. */
type Box = { segs: Int32Array; x0: number; y0: number; x1: number; y1: number; depth: number };

/** `stats.work` receives the work done (segments handed to boxes plus pairs compared). */
export function firstSelfIntersection(rings: Position[][], stats?: { work: number }): KinkResult {
  const search = new Search(rings);
  let found = search.run(Infinity);
  while (found === undefined) found = search.run(Infinity);
  if (stats) stats.work = search.work;
  return found;
}

/** Work between two pauses of `selfIntersectionSteps` (a few milliseconds). */
export const KINK_SLICE_WORK = 500_000;

/**
 * The same check in slices: pauses (yields) after about KINK_SLICE_WORK units of work, so
 * that a caller may let other work run between slices (a 500,000-vertex ring is about 16 M
 * units); returns the result.
 */
export function* selfIntersectionSteps(rings: Position[][]): Generator<void, KinkResult, void> {
  const search = new Search(rings);
  for (;;) {
    const found = search.run(KINK_SLICE_WORK);
    if (found !== undefined) return found;
    yield;
  }
}

/** Divides `segs` at `mid` along x (axis 0) or y (1) into `lower` and `upper`; their counts. */
function divide(bb: Float64Array, segs: Int32Array, axis: 0 | 1, mid: number, lower: Int32Array, upper: Int32Array): [number, number] {
  let nl = 0;
  let nu = 0;
  for (let i = 0; i < segs.length; i++) {
    const p = segs[i] as number;
    if ((bb[p * 4 + axis] as number) <= mid) lower[nl++] = p;
    if ((bb[p * 4 + 2 + axis] as number) >= mid) upper[nu++] = p;
  }
  return [nl, nu];
}

/** One check: the segments, the boxes still to look at, the work done so far. */
class Search {
  /** End points of each segment. */
  private readonly xy: Float64Array;
  /** Bounding box of each segment: minX, minY, maxX, maxY. */
  private readonly bb: Float64Array;
  /** The segments next to each one in its ring (-1: none), which it touches by construction. */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** Depth first: few boxes wait at a time (one sibling per level). */
  private readonly stack: Box[] = [];
  private readonly limit: number;
  work = 0;

  constructor(rings: Position[][]) {
    let n = 0;
    for (const r of rings) n += Math.max(0, r.length - 1);
    const xy = (this.xy = new Float64Array(n * 4));
    const bb = (this.bb = new Float64Array(n * 4));
    this.limit = kinkWorkLimit(n);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    let s = 0;
    for (const ring of rings) {
      for (let i = 0; i < ring.length - 1; i++, s++) {
        const a = ring[i] as Position;
        const b = ring[i + 1] as Position;
        const ax = a[0] as number;
        const ay = a[1] as number;
        const bx = b[0] as number;
        const by = b[1] as number;
        xy[s * 4] = ax;
        xy[s * 4 + 1] = ay;
        xy[s * 4 + 2] = bx;
        xy[s * 4 + 3] = by;
        const x0 = Math.min(ax, bx);
        const y0 = Math.min(ay, by);
        const x1 = Math.max(ax, bx);
        const y1 = Math.max(ay, by);
        bb[s * 4] = x0;
        bb[s * 4 + 1] = y0;
        bb[s * 4 + 2] = x1;
        bb[s * 4 + 3] = y1;
        if (x0 < minX) minX = x0;
        if (y0 < minY) minY = y0;
        if (x1 > maxX) maxX = x1;
        if (y1 > maxY) maxY = y1;
      }
    }
    const next = (this.next = new Int32Array(n).fill(-1));
    const prev = (this.prev = new Int32Array(n).fill(-1));
    let first = 0;
    for (const ring of rings) {
      const count = Math.max(0, ring.length - 1);
      for (let i = 0; i < count; i++) {
        if (i + 1 < count) next[first + i] = first + i + 1;
        if (i > 0) prev[first + i] = first + i - 1;
      }
      const f = ring[0];
      const l = ring[ring.length - 1];
      if (count > 1 && f !== undefined && l !== undefined && f[0] === l[0] && f[1] === l[1]) {
        next[first + count - 1] = first;
        prev[first] = first + count - 1;
      }
      first += count;
    }
    if (n < 2) return;
    const all = new Int32Array(n);
    for (let p = 0; p < n; p++) all[p] = p;
    this.stack.push({ segs: all, x0: minX, y0: minY, x1: maxX, y1: maxY, depth: 0 });
  }

  /**
   * Looks at boxes until about `budget` more work is done: the answer (a crossing, too
   * complex, or null when every box was looked at), or undefined when there is more to do.
   */
  run(budget: number): KinkResult | undefined {
    const { xy, bb, next, prev, stack, limit } = this;
    let work = this.work;
    const stopAt = work + budget;
    try {
      while (stack.length > 0) {
        if (work >= stopAt) return undefined;
        const box = stack.pop() as Box;
        const { segs } = box;
        const m = segs.length;
        let divided: { axis: 0 | 1; mid: number; lower: Int32Array; upper: Int32Array } | null = null;
        if (m > LEAF_SEGMENTS && box.depth < MAX_DEPTH) {
          // the longer side first; the other when that one cuts almost nothing off (long
          // parallel segments); neither: the box is checked pair by pair
          const longer: 0 | 1 = box.x1 - box.x0 >= box.y1 - box.y0 ? 0 : 1;
          for (const axis of [longer, (1 - longer) as 0 | 1]) {
            const lo = axis === 0 ? box.x0 : box.y0;
            const hi = axis === 0 ? box.x1 : box.y1;
            const mid = (lo + hi) / 2;
            if (!(mid > lo && mid < hi)) continue;
            work += m;
            if (work > limit) return { tooComplex: true };
            const lower = new Int32Array(m);
            const upper = new Int32Array(m);
            const [nl, nu] = divide(bb, segs, axis, mid, lower, upper);
            if (nl + nu <= DUPLICATION * m) {
              divided = { axis, mid, lower: lower.subarray(0, nl), upper: upper.subarray(0, nu) };
              break;
            }
          }
        }
        if (divided) {
          const { axis, mid, lower, upper } = divided;
          const depth = box.depth + 1;
          if (upper.length > 1) stack.push(axis === 0 ? { segs: upper, x0: mid, y0: box.y0, x1: box.x1, y1: box.y1, depth } : { segs: upper, x0: box.x0, y0: mid, x1: box.x1, y1: box.y1, depth });
          if (lower.length > 1) stack.push(axis === 0 ? { segs: lower, x0: box.x0, y0: box.y0, x1: mid, y1: box.y1, depth } : { segs: lower, x0: box.x0, y0: box.y0, x1: box.x1, y1: mid, depth });
          continue;
        }
        // counted before it is done: a hopeless box is refused without the quadratic loop
        work += (m * (m - 1)) / 2;
        if (work > limit) return { tooComplex: true };
        for (let i = 1; i < m; i++) {
          const p = segs[i] as number;
          const px0 = bb[p * 4] as number;
          const py0 = bb[p * 4 + 1] as number;
          const px1 = bb[p * 4 + 2] as number;
          const py1 = bb[p * 4 + 3] as number;
          for (let j = 0; j < i; j++) {
            const q = segs[j] as number;
            // segments whose boxes do not meet cannot meet
            if ((bb[q * 4] as number) > px1 || (bb[q * 4 + 2] as number) < px0 || (bb[q * 4 + 1] as number) > py1 || (bb[q * 4 + 3] as number) < py0) continue;
            if (next[p] === q || prev[p] === q) continue;
            const hit = crossing(xy, q, p);
            if (hit) return { at: hit };
          }
        }
      }
      return null;
    } finally {
      this.work = work;
    }
  }
}

/** turf's segment intersection: both parameters within [0, 1]; parallel segments never. */
function crossing(xy: Float64Array, p: number, q: number): [number, number] | null {
  const x1 = xy[p * 4] as number;
  const y1 = xy[p * 4 + 1] as number;
  const x2 = xy[p * 4 + 2] as number;
  const y2 = xy[p * 4 + 3] as number;
  const x3 = xy[q * 4] as number;
  const y3 = xy[q * 4 + 1] as number;
  const x4 = xy[q * 4 + 2] as number;
  const y4 = xy[q * 4 + 3] as number;
  const d = (y4 - y3) * (x2 - x1) - (x4 - x3) * (y2 - y1);
  if (d === 0) return null;
  const a0 = y1 - y3;
  const b0 = x1 - x3;
  const a = ((x4 - x3) * a0 - (y4 - y3) * b0) / d;
  const b = ((x2 - x1) * a0 - (y2 - y1) * b0) / d;
  if (a >= 0 && a <= 1 && b >= 0 && b <= 1) return [x1 + a * (x2 - x1), y1 + a * (y2 - y1)];
  return null;
}
