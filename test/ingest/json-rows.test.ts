import { DetailCollector } from '../../src/errors';
import { rowsFromJson } from '../../src/ingest/ingest';
import { reportFormat } from '../../src/ingest/rows';
import type { LocalDate } from '../../src/domain/dates';

/**
 * A JSON body's rows are checked in slices: other requests' callbacks run while a large body
 * is checked (the event loop turns), and the rows and problems found are the same as checked
 * at once — in order, with each problem's row index.
 */
const MAX = '2021-12-31' as LocalDate;
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ area: `C${i % 97}`, date: `2021-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`, community_cases: i % 50, quarantine_cases: 0 }));

test('checking 200,000 rows lets the event loop turn, and stages every row in order', async () => {
  const items = rows(200_000);
  let turns = 0;
  let on = true;
  const tick = () => {
    if (!on) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const errors = new DetailCollector();
  const staged = await rowsFromJson(reportFormat, items, MAX, errors);
  on = false;
  expect(errors.count).toBe(0);
  expect(staged).toHaveLength(items.length);
  expect(staged.map((r) => r.area).slice(0, 3)).toEqual(['C0', 'C1', 'C2']);
  expect(staged[199_999]?.area).toBe(`C${199_999 % 97}`);
  expect(turns).toBeGreaterThan(3);
});

test('problems name their rows, a date checked once is refused each time it repeats, the future is refused', async () => {
  const items: unknown[] = rows(1000);
  items[10] = { ...(items[10] as object), date: '2021-02-30' };
  items[20] = { ...(items[20] as object), date: '2021-02-30' };
  items[30] = { ...(items[30] as object), date: '2022-01-01' };
  items[999] = { ...(items[999] as object), community_cases: -1 };
  const errors = new DetailCollector();
  const staged = await rowsFromJson(reportFormat, items, MAX, errors);
  expect(staged).toHaveLength(996);
  expect(errors.details.map((d) => d.path)).toEqual(['reports[10].date', 'reports[20].date', 'reports[30].date', 'reports[999].community_cases']);
  expect(errors.details[0]?.message).toMatch(/real calendar date/);
  expect(errors.details[1]?.message).toMatch(/real calendar date/);
  expect(errors.details[2]?.message).toMatch(/must not be in the future/);
});
