import { LocalDate } from '../../src/domain/dates';
import { seedDemo } from '../../seeds';
import { testContext } from '../helpers/context';

/**
 * A row that names its commune resolves among the communes of the row's day: on the demo's
 * map (Đồng Nai, reorganised on 1 July 2025) "Phường Long Bình" is an old ward of Biên Hòa
 * before that day and a new ward of the province after it — JSON rows and a spreadsheet's
 * rows (dd/mm/yyyy) alike.
 */
const ctx = testContext();
const http = () => ctx.http();
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.reset();
  await seedDemo(ctx.db, '2026-12-01' as LocalDate);
});

const codeOn = async (date: string) =>
  (await ctx.db.knex.raw<{ rows: { code: string }[] }>(
    `SELECT code FROM areas WHERE name = 'Phường Long Bình' AND kind = 'commune' AND (valid_from IS NULL OR valid_from <= ?::date) AND (valid_to IS NULL OR valid_to >= ?::date)`,
    [date, date],
  )).rows.map((r) => r.code);

test('JSON rows: the ward of the row\'s day', async () => {
  const [before, after] = [await codeOn('2025-06-01'), await codeOn('2026-12-01')];
  expect(before).toHaveLength(1);
  expect(after).toHaveLength(1);
  expect(before[0]).not.toBe(after[0]);
  const rows = ['2025-06-01', '2026-12-01'].map((date) => ({ area_name: 'Phường Long Bình', parent_name: 'Tỉnh Đồng Nai', date, community_cases: 2, quarantine_cases: 0 }));
  const res = await http().post('/v1/reports?dry_run=true').set('Content-Type', 'application/json').send({ reports: rows }).expect(200);
  expect(res.body.unresolved).toEqual([]);
  expect((res.body.matches as { code: string }[]).map((m) => m.code).sort()).toEqual([before[0], after[0]].sort());
});

test('a spreadsheet\'s rows with Vietnamese headers and dd/mm/yyyy days', async () => {
  const csv = 'Tên đơn vị,Tỉnh,Ngày,Số ca cộng đồng,Số ca cách ly\nPhường Long Bình,Tỉnh Đồng Nai,01/12/2026,3,0\nPhường Long Bình,Tỉnh Đồng Nai,01/06/2025,1,0\n';
  const res = await http().post('/v1/reports?dry_run=true').set('Content-Type', 'text/csv').send(csv).expect(200);
  expect(res.body.unresolved).toEqual([]);
  expect(res.body.resolved).toBe(2);
  expect((res.body.matches as { code: string }[]).map((m) => m.code).sort()).toEqual([...(await codeOn('2025-06-01')), ...(await codeOn('2026-12-01'))].sort());
});
