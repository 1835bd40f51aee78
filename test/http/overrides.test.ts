import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * At most one active override covers an area on any day: an overlapping one is refused
 * (409 `override_overlaps`, naming `from`/`until` and the existing override's id), also when
 * many arrive at once; the old one must be ended first.
 */
const ctx = testContext();
const set = (code: string, from: string, until?: string, level = 'red') =>
  ctx.http().post(`/v1/zones/${code}/overrides`).send({ level, reason: 'quyết định của BCĐ', from, ...(until ? { until } : {}) });
const active = async (code: string) =>
  Number((await ctx.db.knex('overrides as o').join('areas as a', 'a.id', 'o.area_id').where('a.code', code).whereNull('o.ended_at').count<{ c: number }[]>('* as c'))[0]?.c);

beforeEach(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').send(smallProvince()).expect(200);
});
afterAll(() => ctx.close());

describe('overlap on one area', () => {
  test.each([
    // existing [from, until], new [from, until], overlaps?
    [['2021-10-05', '2021-10-10'], ['2021-10-10', '2021-10-12'], true], // one shared day (inclusive)
    [['2021-10-05', '2021-10-10'], ['2021-10-01', '2021-10-05'], true],
    [['2021-10-05', '2021-10-10'], ['2021-10-06', '2021-10-07'], true], // inside
    [['2021-10-05', '2021-10-10'], ['2021-10-01', '2021-10-31'], true], // around
    [['2021-10-05', null], ['2021-12-01', '2021-12-02'], true], // open-ended existing
    [['2021-10-05', '2021-10-10'], ['2021-10-01', null], true], // open-ended new
    [['2021-10-05', null], ['2021-09-01', null], true],
    [['2021-10-05', '2021-10-10'], ['2021-10-11', null], false], // the next day
    [['2021-10-05', '2021-10-10'], ['2021-09-01', '2021-10-04'], false], // the day before
  ] as [[string, string | null], [string, string | null], boolean][])('%j then %j → overlap %s', async ([f1, u1], [f2, u2], overlaps) => {
    const first = await set('C11', f1, u1 ?? undefined).expect(201);
    const second = await set('C11', f2, u2 ?? undefined, 'orange').expect(overlaps ? 409 : 201);
    if (overlaps) {
      expect(second.body.error.code).toBe('override_overlaps');
      expect(second.body.error.details.map((d: { path: string }) => d.path)).toEqual(['from', 'until']);
      for (const d of second.body.error.details as { message: string }[]) expect(d.message).toContain(`override ${first.body.id} `);
      expect(second.body.error.message).toContain(`DELETE /v1/zones/C11/overrides/${first.body.id}`);
      expect(await active('C11')).toBe(1);
    } else expect(await active('C11')).toBe(2);
  });

  test('other areas are not concerned; an ended override blocks only the days it kept; a withdrawn one none; nothing written on a refusal', async () => {
    const first = await set('C11', '2021-10-01').expect(201);
    await set('C12', '2021-10-01').expect(201);
    await set('D1', '2021-10-01').expect(201); // a district over the commune: another area
    const auditRows = async () => Number((await ctx.db.knex('audit_log').count<{ c: number }[]>('* as c'))[0]?.c);
    const before = await auditRows();
    await set('C11', '2021-10-03', '2021-10-04').expect(409);
    expect(await auditRows()).toBe(before);
    // ended from 3 Oct: it keeps 1–2 Oct (issue 14: ending no longer erases), the days after are free
    await ctx.http().delete(`/v1/zones/C11/overrides/${first.body.id}?from=2021-10-03`).expect(200);
    await set('C11', '2021-10-02', '2021-10-04').expect(409);
    await set('C11', '2021-10-03', '2021-10-04').expect(201);
    // withdrawn: it blocks nothing any more
    const c12 = await ctx.db.knex('overrides as o').join('areas as a', 'a.id', 'o.area_id').where('a.code', 'C12').first<{ override_id: number }>('o.override_id');
    await ctx.http().post(`/v1/zones/C12/overrides/${c12?.override_id}/withdraw`).send({ reason: 'nhập nhầm' }).expect(200);
    await set('C12', '2021-10-01', '2021-10-02').expect(201);
  });
});

test('10 concurrent overlapping overrides on one zone: one set, nine 409; 10 on ten days of another zone: all set', async () => {
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => set('C21', '2021-10-01', `2021-10-${String(10 + i)}`)));
  const statuses = answers.map((a) => a.status).sort();
  expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
  const winner = answers.find((a) => a.status === 201)?.body.id as number;
  for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.details[0].message).toContain(`override ${winner} `);
  expect(await active('C21')).toBe(1);

  const days = await Promise.all(Array.from({ length: 10 }, (_, i) => set('C22', `2021-11-${String(10 + i)}`, `2021-11-${String(10 + i)}`)));
  expect(days.map((a) => a.status)).toEqual(Array(10).fill(201));
  expect(await active('C22')).toBe(10);
});
