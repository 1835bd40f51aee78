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
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
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

/**
 * The CSV byte reader: plain lines go byte-wise (the lane), and the first quote, lone CR
 * or bad UTF-8 hands the rest to the RFC 4180 reader. Whatever the chunking and path, the
 * stored rows and the line numbers in errors must be the same.
 */
describe('CSV bytes, however they arrive', () => {
  const stored = async () =>
    (await ctx.db.knex.raw<{ rows: { area: string; date: string; community_cases: number; deaths: number | null; source: string | null }[] }>(
      `SELECT a.code AS area, r.date, r.community_cases, r.deaths, r.source FROM reports r JOIN areas a ON a.id = r.area_id
       WHERE r.date >= '2090-01-01' ORDER BY r.date, a.code`,
    )).rows;
  const clear = () => ctx.db.knex.raw(`DELETE FROM reports WHERE date >= '2090-01-01'`);
  const cut = (bytes: Buffer, size: number) => {
    const out: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
    return out;
  };
  const plain = (n: number) => {
    const rows: string[] = [];
    for (let i = 0; i < n; i++) rows.push(`${areas[i % 4]},${addDays('2090-01-01' as LocalDate, Math.floor(i / 4))},${i % 9},0,${i % 3 ? '' : 1},Trạm y tế số ${i % 5}`);
    return rows;
  };

  test('split anywhere, even inside a character, with a BOM and CRLF: the same rows', async () => {
    const text = `\uFEFF${header}\r\n${plain(400).join('\r\n')}\r\n`;
    await ingestReports(ctx.db, { csv: [text] }, maxDate);
    const expected = await stored();
    expect(expected).toHaveLength(400);
    expect(expected[0]).toEqual({ area: 'C11', date: '2090-01-01', community_cases: 0, deaths: 1, source: 'Trạm y tế số 0' });
    for (const size of [1, 2, 3, 7, 1000]) {
      await clear();
      const r = await ingestReports(ctx.db, { csv: cut(Buffer.from(text), size) }, maxDate);
      expect(r.inserted).toBe(400);
      expect(await stored()).toEqual(expected);
    }
    await clear();
  });

  test('a quoted field after thousands of plain lines: read by the full CSV rules from there', async () => {
    const rows = plain(8000);
    rows[5000] = `C11,2099-01-01,5,0,,"Trạm, ""mới""\nlầu 2"`; // a comma, quotes and a line break inside quotes
    const text = `${header}\n${rows.join('\n')}\n`;
    for (const chunks of [[text], cut(Buffer.from(text), 4096)]) {
      await clear();
      expect((await ingestReports(ctx.db, { csv: chunks }, maxDate)).inserted).toBe(8000);
      const quoted = (await stored()).find((r) => r.date === '2099-01-01');
      expect(quoted?.source).toBe('Trạm, "mới"\nlầu 2');
    }
    // an error after the switch names the right line (the quoted row spans two lines)
    rows[7000] = 'C12,2099-01-02,-3,0,,';
    const err = await ingestReports(ctx.db, { csv: cut(Buffer.from(`${header}\n${rows.join('\n')}\n`), 4096) }, maxDate).catch((e: unknown) => e);
    expect((err as AppError).details).toEqual([{ path: 'line[7003].community_cases', message: 'phải ≥ 0 — must be ≥ 0' }]);
    await clear();
  });

  test('errors among byte-wise lines name their lines; nothing is written', async () => {
    const rows = plain(3000);
    rows[10] = 'C11,2090-02-30,1,0,,'; // no such day
    rows[2000] = 'C99,2090-06-01,1,0,,'; // unknown area
    rows[2500] = rows[2499] as string; // the same area and date twice
    const before = await rowCounts(ctx.db);
    const err = await ingestReports(ctx.db, { csv: [Buffer.from(`${header}\n${rows.join('\n')}\n`)] }, maxDate).catch((e: unknown) => e);
    expect((err as AppError).details).toEqual([
      { path: 'line[12].date', message: 'phải là ngày có thật dạng YYYY-MM-DD (từ năm 1900) — must be a real calendar date YYYY-MM-DD (year 1900 or later)' },
      { path: 'line[2002].area', message: 'unknown area code C99' },
      { path: 'line[2502].date', message: `the same date for area ${areas[2499 % 4]} appears twice (also at line[2501].date)` },
    ]);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('a tab, a backslash or a literal \\N in a source is stored as sent', async () => {
    const sources = ['Trạm\tA', 'C:\\y tế', '\\N'];
    const rows = sources.map((src, i) => `${areas[i]},2090-01-01,1,0,,${src}`);
    await ingestReports(ctx.db, { csv: [Buffer.from(`${header}\n${rows.join('\n')}\n`)] }, maxDate);
    expect((await stored()).map((r) => r.source)).toEqual(sources);
    await clear();
  });

  test('a lone CR ends a line; bytes that are not UTF-8 are refused naming the line (never stored as U+FFFD)', async () => {
    const cr = `${header}\r${plain(3).join('\r')}\r`;
    expect((await ingestReports(ctx.db, { csv: [Buffer.from(cr)] }, maxDate)).inserted).toBe(3);
    await clear();
    const before = await rowCounts(ctx.db);
    const bad = Buffer.concat([Buffer.from(`${header}\nC11,2090-01-01,1,0,,Tr`), Buffer.from([0xff, 0xfe]), Buffer.from('m\n')]);
    for (const chunks of [[bad], cut(bad, 1), cut(bad, 5)]) {
      const err = await ingestReports(ctx.db, { csv: chunks }, maxDate).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 400, code: 'invalid_utf8', details: [{ path: 'line[2]' }] });
    }
    expect(await rowCounts(ctx.db)).toEqual(before);
  });
});
