import { addDays, dayNumber, LocalDate } from '../../src/domain/dates';
import { blocks, Epoch, FIRST_BLOCK_DAYS } from '../../src/jobs/recompute/run';

/** The days of each block of [from, to] over epochs starting on `starts` (the first is `from`). */
function sizes(from: string, to: string, starts: string[] = []): number[][] {
  const bounds = [from, ...starts, addDays(to as LocalDate, 1)];
  const epochs: Epoch[] = bounds.slice(0, -1).map((b, k) => ({ from: b as LocalDate, to: addDays(bounds[k + 1] as LocalDate, -1), areas: [] }));
  const out: number[][] = epochs.map(() => []);
  let next = from as LocalDate;
  for (const b of blocks(from as LocalDate, to as LocalDate, epochs, { days: 0 })) {
    // the blocks cover the days in order, none twice, none left out
    expect(b.from).toBe(next);
    next = addDays(b.to, 1);
    out[epochs.indexOf(b.epoch)]?.push(dayNumber(b.to) - dayNumber(b.from) + 1);
  }
  expect(next).toBe(addDays(to as LocalDate, 1));
  return out;
}

test.each([
  // one day (the daily job), a short run, a run just over the first block (its days are never more)
  ['2021-12-31', '2021-12-31', [], [[1]]],
  ['2021-12-01', '2021-12-10', [], [[10]]],
  ['2021-12-01', '2021-12-14', [], [[FIRST_BLOCK_DAYS, 2]]],
  // a year: doubling to 92, the last block takes in a remnant under half a block (5 days)
  ['2021-01-01', '2021-12-31', [], [[12, 24, 48, 92, 92, 97]]],
  // a reorganisation on 2 July: the epoch's last block takes in its 6 days left; the next epoch goes on at 92
  ['2021-01-01', '2021-12-31', ['2021-07-02'], [[12, 24, 48, 98], [92, 91]]],
  // the rest of a run shorter than the next block is one block; a remnant of half a block or more is a block of its own
  ['2021-01-01', '2021-04-28', [], [[12, 24, 48, 34]]],
  ['2021-01-01', '2021-11-10', [], [[12, 24, 48, 92, 92, 46]]],
  ['2021-01-01', '2021-11-09', [], [[12, 24, 48, 92, 137]]],
])('blocks of %s – %s (epochs from %j): %j', (from, to, starts, want) => {
  expect(sizes(from, to, starts as string[])).toEqual(want);
});
