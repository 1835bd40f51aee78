import { checkAreaGeometry, signedArea } from '../../src/geo/validate';
import { areasFromFeatureCollection, areasFromFeatureCollectionAsync } from '../../src/geo/features';
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

  test('a valid 500,000-vertex circle is accepted (it was refused as "spikes crossing one spot")', () => {
    const n = 500_000;
    const ring: number[][] = [];
    for (let i = 0; i < n; i++) ring.push([107 + 0.05 * Math.cos((2 * Math.PI * i) / n), 11 + 0.05 * Math.sin((2 * Math.PI * i) / n)]);
    ring.push(ring[0] as number[]);
    const started = process.hrtime.bigint();
    const r = checkAreaGeometry({ type: 'Polygon', coordinates: [ring] });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (!r.ok) throw new Error(r.reason);
    expect(r.geometry.coordinates[0]?.[0]).toHaveLength(n + 1);
    console.log(`checkAreaGeometry: a 500,000-vertex circle accepted in ${ms.toFixed(0)} ms`);
  });

  test('spikes converging on one spot are refused as too complex, naming the polygon', () => {
    const n = 100_000;
    const ring: number[][] = [];
    for (let i = 0; i < n; i++) {
      const r = i % 2 ? 0.05 : 0.00005;
      ring.push([107 + r * Math.cos((2 * Math.PI * i) / n), 11 + r * Math.sin((2 * Math.PI * i) / n)]);
    }
    ring.push(ring[0] as number[]);
    const r = checkAreaGeometry({ type: 'Polygon', coordinates: [ring] });
    expect(r).toMatchObject({ ok: false, path: 'geometry.coordinates' });
    if (!r.ok) expect(r.reason).toMatch(/too complex/);
  });
});

describe('areasFromFeatureCollectionAsync', () => {
  test('lets other work run while it checks a 500,000-vertex boundary (the synchronous one cannot), with the same answer', async () => {
    const n = 500_000;
    const ring: number[][] = [];
    for (let i = 0; i < n; i++) ring.push([107 + 0.05 * Math.cos((2 * Math.PI * i) / n), 11 + 0.05 * Math.sin((2 * Math.PI * i) / n)]);
    ring.push(ring[0] as number[]);
    const body = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'BIG', name: 'Vùng lớn', kind: 'commune' }, geometry: { type: 'Polygon', coordinates: [ring] } }] };
    // other work: a chain of immediates counting turns of the event loop
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const sync = areasFromFeatureCollection(body);
    const duringSync = turns;
    const async = await areasFromFeatureCollectionAsync(body);
    const duringAsync = turns - duringSync;
    running = false;
    expect(duringSync).toBe(0);
    expect(duringAsync).toBeGreaterThan(3);
    expect(async).toEqual(sync);
    console.log(`a 500,000-vertex boundary: the event loop turned ${duringAsync} times while the yielding check ran`);
  });
});
