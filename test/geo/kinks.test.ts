import fc from 'fast-check';
import { kinks, polygon } from '@turf/turf';
import type { Position } from 'geojson';
import { firstSelfIntersection, kinkWorkLimit } from '../../src/geo/kinks';

/** The grid-indexed self-intersection check says what turf's kinks says, in about linear time. */
const circle = (n: number): Position[] => {
  const ring: Position[] = [];
  for (let i = 0; i < n; i++) ring.push([107 + 0.05 * Math.cos((2 * Math.PI * i) / n), 11 + 0.05 * Math.sin((2 * Math.PI * i) / n)]);
  return [...ring, ring[0] as Position];
};

describe('firstSelfIntersection', () => {
  test.each([
    ['bow-tie', [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]], [0.5, 0.5]],
    ['square', [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], null],
    ['hole crossing its shell', [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[3, 1], [5, 1], [5, 2], [3, 2], [3, 1]]], 'hit'],
    ['spike back onto itself', [[[0, 0], [2, 0], [2, 2], [1, 0], [0, 2], [0, 0]]], 'hit'],
  ] as [string, Position[][], [number, number] | 'hit' | null][])('%s', (_name, rings, expected) => {
    const r = firstSelfIntersection(rings);
    if (expected === null) expect(r).toBeNull();
    else if (expected === 'hit') expect(r).toHaveProperty('at');
    else expect(r).toEqual({ at: expected });
  });

  test('agrees with turf kinks on random small polygons (whether there is a crossing)', () => {
    const pt = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }));
    const ring = fc.array(pt, { minLength: 3, maxLength: 9 }).map((p) => [...p, p[0]] as Position[]);
    fc.assert(
      fc.property(fc.array(ring, { minLength: 1, maxLength: 3 }), (rings) => {
        expect(firstSelfIntersection(rings) !== null).toBe(kinks(polygon(rings)).features.length > 0);
      }),
      { numRuns: 2000 },
    );
  });

  test('a 100,000-vertex ring is checked within the work bound (no pair-by-pair); its bow-tie variant is found', () => {
    const ring = circle(100_000);
    // near-linear: a ring this size stays far inside KINK_WORK_LIMIT (all pairs would be 5·10⁹)
    expect(firstSelfIntersection([ring])).toBeNull();
    [ring[25_000], ring[75_000]] = [ring[75_000] as Position, ring[25_000] as Position];
    expect(firstSelfIntersection([ring])).toHaveProperty('at');
  });

  /** A star-shaped ring (never self-intersecting): radius `r(i)` at angle 2πi/n around (107, 11). */
  const star = (n: number, r: (i: number) => number): Position[] => {
    const ring: Position[] = [];
    for (let i = 0; i < n; i++) {
      const a = (2 * Math.PI * i) / n;
      ring.push([107 + r(i) * Math.cos(a), 11 + r(i) * Math.sin(a)]);
    }
    return [...ring, ring[0] as Position];
  };

  /** Koch snowflake of a given level (3·4^level segments): a "coastline", detail at every scale. */
  const koch = (level: number): Position[] => {
    let pts: [number, number][] = [[0, 0], [1, 0], [0.5, -Math.sqrt(3) / 2]];
    for (let l = 0; l < level; l++) {
      const out: [number, number][] = [];
      pts.forEach(([ax, ay], i) => {
        const [bx, by] = pts[(i + 1) % pts.length] as [number, number];
        const dx = (bx - ax) / 3;
        const dy = (by - ay) / 3;
        const c = Math.cos(Math.PI / 3);
        const s = Math.sin(Math.PI / 3);
        out.push([ax, ay], [ax + dx, ay + dy], [ax + dx + dx * c - dy * s, ay + dy + dx * s + dy * c], [ax + 2 * dx, ay + 2 * dy]);
      });
      pts = out;
    }
    const ring = pts.map(([x, y]) => [106 + x * 0.1, 10 + y * 0.1] as Position);
    return [...ring, ring[0] as Position];
  };

  const nLogN = (n: number) => n * Math.log2(n);
  const circle500k = circle(500_000);

  test.each([
    ['a 500,000-vertex circle', () => circle500k],
    ['a 200,000-vertex wavy star', () => star(200_000, (i) => 0.05 * (1 + 0.3 * Math.sin((14 * Math.PI * i) / 200_000) + 0.05 * Math.sin((602 * Math.PI * i) / 200_000)))],
    ['a Koch snowflake of 196,608 segments', () => koch(8)],
  ])('%s (valid, dense) is accepted in about n·log n work, far inside the bound', (_name, make) => {
    const ring = make();
    const n = ring.length - 1;
    const stats = { work: 0 };
    expect(firstSelfIntersection([ring], stats)).toBeNull();
    // measured 1.5–1.9 · n·log₂n; the bound allows 6 (the uniform grid this replaced needed n^1.5/2π: 56 M for the circle, over its 30 M bound)
    expect(stats.work).toBeLessThan(2.5 * nLogN(n));
    expect(stats.work).toBeLessThan(kinkWorkLimit(n) / 2);
    console.log(`${_name}: ${n.toLocaleString('en')} segments, work ${stats.work.toLocaleString('en')} = ${(stats.work / nLogN(n)).toFixed(2)} · n·log₂n (bound ${kinkWorkLimit(n).toLocaleString('en')})`);
  });

  test('a crossing in a 500,000-vertex circle is found', () => {
    const ring = [...circle500k];
    [ring[100_000], ring[350_000]] = [ring[350_000] as Position, ring[100_000] as Position];
    expect(firstSelfIntersection([ring])).toHaveProperty('at');
  });

  test('spikes converging on one spot without crossing (valid, hostile) are refused as too complex within the bound', () => {
    // 100,000 segments, every second vertex 50 µ° from the centre: no halving separates them near it
    const ring = star(100_000, (i) => (i % 2 ? 0.05 : 0.00005));
    expect(firstSelfIntersection([ring])).toEqual({ tooComplex: true });
  });

  test('thousands of spikes through one spot: answered (found or too complex), never searched without bound', () => {
    const ring: Position[] = [];
    for (let i = 0; i < 50_000; i++) {
      const a = (2 * Math.PI * i) / 50_000;
      ring.push(i % 2 ? [Math.cos(a), Math.sin(a)] : [-Math.cos(a) * 0.999, -Math.sin(a) * 0.999]);
    }
    ring.push(ring[0] as Position);
    // either a crossing is found or the work bound refuses the shape: never an unbounded search
    expect(firstSelfIntersection([ring])).not.toBeNull();
  });
});
