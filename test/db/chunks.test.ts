import { chunksOf, LEVEL_CHUNK_BITS, LevelRow } from '../../src/db/levels';

/** A day's rows as recomputation makes them (in tree order, not by id): only the id matters here. */
const row = (area_id: number): LevelRow => ({
  area_id,
  level: 'green',
  raw_level: 'green',
  reason: null,
  since: '2021-10-01' as LevelRow['since'],
  inputs: [],
  children: null,
  pending: null,
  persistence: null,
  change: null,
  rule_set_id: 'x@1',
});

test.each([
  ['none', [], []],
  ['one area', [5], [[5]]],
  ['a chunk out of order', [7, 3, 127, 0], [[0, 3, 7, 127]]],
  ['chunks in order whatever the rows', [300, 1, 129, 128, 2, 256], [[1, 2], [128, 129], [256, 300]]],
  ['a chunk with gaps and one far away', [4000, 10, 12], [[10, 12], [4000]]],
])('%s', (_name, ids, expected) => {
  const chunks = chunksOf(ids.map(row));
  expect(chunks.map((c) => c.map((r) => r.area_id))).toEqual(expected);
  for (const c of chunks) expect(new Set(c.map((r) => r.area_id >> LEVEL_CHUNK_BITS)).size).toBe(1);
});

test('two rows of one area are refused', () => {
  expect(() => chunksOf([row(3), row(200), row(3)])).toThrow('two rows of area 3');
});
