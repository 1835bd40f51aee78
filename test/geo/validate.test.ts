import { checkAreaGeometry, signedArea } from '../../src/geo/validate';
import { square } from '../helpers/fixtures';

// Fixture table in the style of Turf: input geometry → expected outcome.
type Case = { name: string; input: unknown; ok?: true; path?: string; reason?: RegExp };

const cw = { type: 'Polygon', coordinates: [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]] };
const bowtie = { type: 'Polygon', coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]] };

const cases: Case[] = [
  { name: 'counter-clockwise square', input: square(106, 10, 0.1), ok: true },
  { name: 'clockwise square is rewound, not rejected', input: cw, ok: true },
  {
    name: 'multipolygon with a hole',
    input: { type: 'MultiPolygon', coordinates: [[[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]]] },
    ok: true,
  },
  { name: 'bow-tie', input: bowtie, path: 'geometry.coordinates', reason: /self-intersection at \[0\.5, 0\.5\]/ },
  { name: 'unclosed ring', input: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] }, path: 'geometry.coordinates[0]', reason: /not closed/ },
  { name: 'too few points', input: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [0, 0]]] }, path: 'geometry.coordinates[0]', reason: /at least 4 positions/ },
  { name: 'longitude out of range', input: square(179.95, 10, 0.1), path: 'geometry.coordinates[0][1]', reason: /longitude 180\.0\d* is outside -180\.\.180/ },
  { name: 'latitude out of range (projected metres)', input: square(500000, 1200000, 10), path: 'geometry.coordinates[0][0]', reason: /longitude 500000/ },
  { name: 'point is the wrong type', input: { type: 'Point', coordinates: [0, 0] }, path: 'geometry.type', reason: /"Point" is not allowed/ },
  { name: 'missing geometry', input: null, path: 'geometry', reason: /required/ },
  { name: 'non-numeric position', input: { type: 'Polygon', coordinates: [[[0, 0], ['a', 1], [1, 1], [0, 0]]] }, path: 'geometry.coordinates[0][1]', reason: /finite numbers/ },
  { name: 'empty multipolygon', input: { type: 'MultiPolygon', coordinates: [] }, path: 'geometry.coordinates', reason: /at least one polygon/ },
  { name: 'zero-area ring', input: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [2, 0], [0, 0]]] }, path: 'geometry.coordinates[0]', reason: /zero area/ },
];

describe('checkAreaGeometry', () => {
  test.each(cases)('$name', ({ input, ok, path, reason }) => {
    const r = checkAreaGeometry(input);
    if (ok) {
      expect(r.ok).toBe(true);
      return;
    }
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.path).toBe(path);
      expect(r.reason).toMatch(reason as RegExp);
    }
  });

  test('output follows RFC 7946 winding: exterior counter-clockwise, holes clockwise', () => {
    const withHole = {
      type: 'Polygon',
      // exterior clockwise, hole counter-clockwise: both wrong
      coordinates: [
        [[0, 0], [0, 4], [4, 4], [4, 0], [0, 0]],
        [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]],
      ],
    };
    const r = checkAreaGeometry(withHole);
    if (!r.ok) throw new Error(r.reason);
    const [outer, hole] = r.geometry.coordinates[0] as number[][][];
    expect(signedArea(outer as number[][])).toBeGreaterThan(0);
    expect(signedArea(hole as number[][])).toBeLessThan(0);
    expect(r.geometry.type).toBe('MultiPolygon');
  });

  test('a third coordinate is dropped', () => {
    const r = checkAreaGeometry({ type: 'Polygon', coordinates: [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0, 5]]] });
    if (!r.ok) throw new Error(r.reason);
    expect(r.geometry.coordinates[0]?.[0]?.[0]).toEqual([0, 0]);
  });
});
