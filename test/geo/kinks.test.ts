import fc from 'fast-check';
import { kinks, polygon } from '@turf/turf';
import type { Position } from 'geojson';
import { firstSelfIntersection } from '../../src/geo/kinks';

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
