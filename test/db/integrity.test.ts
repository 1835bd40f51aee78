import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/** The database itself refuses impossible rows, whatever the application does. */
const ctx = testContext();
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  await ctx.http().post('/v1/reports').set('Content-Type', 'application/json').send({ reports: [{ area: 'C11', date: '2021-10-01', community_cases: 1, quarantine_cases: 0 }] }).expect(200);
});

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

test('a report or metric for an area that does not exist is refused', async () => {
  expect(await code(ctx.db.knex.raw(`INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (99999, '2021-10-01', 1, 0)`))).toBe('23503');
  expect(await code(ctx.db.knex.raw(`INSERT INTO metrics (area_id, name, date, value) VALUES (99999, 'x', '2021-10-01', 1)`))).toBe('23503');
  expect(await code(ctx.db.knex.raw(`INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (1, '2021-10-02', -1, 0)`))).toBe('23514');
});

test('an area that facts refer to cannot be deleted', async () => {
  expect(await code(ctx.db.knex.raw(`DELETE FROM areas WHERE code = 'C11'`))).toBe('23503');
});

test('levels are append-only and refer to real areas, rule sets and jobs', async () => {
  await ctx.http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'vn-2686-2021' }).expect(201);
  await ctx.http().post('/v1/rule-sets/vn-2686-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await ctx.http().post('/v1/recompute').set('Content-Type', 'application/json').send({ date: '2021-10-01' }).expect(200);
  expect(await code(ctx.db.knex.raw(`UPDATE zone_levels SET level = 'green'`))).toBe('42501');
  expect(await code(ctx.db.knex.raw(`DELETE FROM zone_levels`))).toBe('42501');
  expect(await code(ctx.db.knex.raw(`INSERT INTO zone_levels (area_id, date, level, raw_level, rule_set_id, inputs) VALUES (1, '2021-10-02', 'red', 'red', 'nope@1', '{}')`))).toBe('23503');
});

test('an area that only levels refer to cannot be deleted; one nothing refers to can (zone_levels has no index by area: the check is one semi-join)', async () => {
  // after the recompute above every area of the day has a level; C12 has no report or metric
  const facts = await ctx.db.knex.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM reports r JOIN areas a ON a.id = r.area_id WHERE a.code = 'C12'`);
  expect(facts.rows[0]?.n).toBe(0);
  expect(await code(ctx.db.knex.raw(`DELETE FROM areas WHERE code = 'C12'`))).toBe('23503');
  await ctx.db.knex.raw(`INSERT INTO areas (code, name, name_search, kind, parent_id, population, geom, label_point)
                         SELECT 'ZZ1', 'Xã Mới', 'xa moi', 'commune', parent_id, 10, geom, label_point FROM areas WHERE code = 'C12'`);
  expect(await code(ctx.db.knex.raw(`DELETE FROM areas WHERE code = 'ZZ1'`))).toBe('ok');
});
