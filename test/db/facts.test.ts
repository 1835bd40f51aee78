import request from 'supertest';
import { addDays, LocalDate } from '../../src/domain/dates';
import { AppError } from '../../src/errors';
import { ingestReports } from '../../src/ingest/ingest';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';

/**
 * Bulk ingest across several chunks (about 50,000 rows each): chunks of new rows are
 * copied straight in, chunks that meet existing rows are diffed; the counts and the
 * stored values must be the same either way.
 */
const ctx = testContext();
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.reset();
  await request(ctx.app).post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
});

const areas = ['C11', 'C12', 'C21', 'C22'];
const header = 'area,date,community_cases,quarantine_cases,deaths,source';

/** Date-major CSV lines for days [from, to), four areas a day; `bump` changes some counts. */
function lines(from: number, to: number, bump = (_day: number, _area: number) => 0): string[] {
  const out: string[] = [];
  for (let d = from; d < to; d++) {
    const date = addDays('1950-01-01' as LocalDate, d);
    areas.forEach((a, i) => out.push(`${a},${date},${(d + i) % 13 + bump(d, i)},${d % 5},,Trạm y tế ${a}`));
  }
  return out;
}

const csv = (rows: string[]) => [`${header}\n${rows.join('\n')}\n`];
const maxDate = '2100-01-01' as LocalDate;

test('new, unchanged and corrected rows across chunks give exact counts', async () => {
  // 10,000 days × 4 areas = 40,000 rows in the middle first
  expect(await ingestReports(ctx.db, { csv: csv(lines(10_000, 20_000)) }, maxDate)).toEqual({
    inserted: 40_000,
    updated: 0,
    unchanged: 0,
    earliest_changed_date: addDays('1950-01-01' as LocalDate, 10_000),
  });
  // then 120,000 rows around it, with 1 in 7 rows of the middle corrected
  const bump = (d: number, i: number) => (d >= 10_000 && d < 20_000 && (d * 4 + i) % 7 === 0 ? 100 : 0);
  const all = lines(0, 30_000, bump);
  const corrected = all.filter((_, n) => n >= 40_000 && n < 80_000 && (n % 7 === 0)).length;
  const r = await ingestReports(ctx.db, { csv: csv(all) }, maxDate);
  expect(r).toEqual({ inserted: 80_000, updated: corrected, unchanged: 40_000 - corrected, earliest_changed_date: '1950-01-01' });
  expect(await rowCounts(ctx.db)).toMatchObject({ reports: 120_000, report_revisions: corrected });

  // what is stored equals what was sent, row for row
  const sums = await ctx.db.knex.raw<{ rows: { c: number; q: number; n: number }[] }>(
    `SELECT sum(community_cases)::int AS c, sum(quarantine_cases)::int AS q, count(DISTINCT source)::int AS n FROM reports`,
  );
  let c = 0;
  let q = 0;
  for (const l of all) {
    const f = l.split(',');
    c += Number(f[2]);
    q += Number(f[3]);
  }
  expect(sums.rows[0]).toEqual({ c, q, n: 4 });

  // sending everything again changes nothing
  expect(await ingestReports(ctx.db, { csv: csv(all) }, maxDate)).toMatchObject({ inserted: 0, updated: 0, unchanged: 120_000 });
});

test('a duplicate far apart in a large file is found; nothing is written', async () => {
  const before = await rowCounts(ctx.db);
  const rows = lines(30_000, 45_000);
  rows.push(rows[3] as string); // the same area and date as line 5
  const err = await ingestReports(ctx.db, { csv: csv(rows) }, maxDate).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).details).toEqual([{ path: `line[${rows.length + 1}].date`, message: 'the same date for area C22 appears twice (also at line[5].date)' }]);
  expect(await rowCounts(ctx.db)).toEqual(before);
});
