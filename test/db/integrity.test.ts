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

test('a statement of many levels is refused when one row refers to a missing area, rule set or job (the check reads the rows once)', async () => {
  /**
   * The rows of the day classified above, copied to a later day in one statement and rolled
   * back: each column is the SQL given for it on the rows `pick` selects (`$job` is a job
   * made for the statement, which every other row refers to).
   */
  type Patch = { area?: string; ruleSet?: string; job?: string };
  const tried = (p: Patch, pick: 'one' | 'all') =>
    code(
      ctx.db.knex.transaction(async (trx) => {
        const made = await trx.raw<{ rows: { id: string }[] }>(`INSERT INTO jobs (kind, params, status) VALUES ('recompute', '{}', 'succeeded') RETURNING id`);
        const job = String(Number(made.rows[0]?.id));
        const on = (sql: string | undefined, otherwise: string) => (sql === undefined ? otherwise : `CASE WHEN z.pick THEN ${sql.replace(/\$job/g, job)} ELSE ${otherwise} END`);
        await trx.raw(
          `INSERT INTO zone_levels (area_id, date, level, raw_level, rule_set_id, inputs, job_id)
           SELECT ${on(p.area, 'z.area_id')}, '2021-10-09', z.level, z.raw_level, ${on(p.ruleSet, 'z.rule_set_id')}, z.inputs, ${on(p.job, job)}
           FROM (SELECT z.*, ${pick === 'all' ? 'true' : 'z.area_id = max(z.area_id) OVER ()'} AS pick FROM zone_levels z WHERE z.date = '2021-10-01') z`,
        );
        throw Object.assign(new Error('rolled back'), { code: 'ok' });
      }),
    );
  const day = await ctx.db.knex.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM zone_levels WHERE date = '2021-10-01'`);
  expect(day.rows[0]?.n).toBeGreaterThan(3);
  expect(await tried({}, 'all')).toBe('ok'); // every row good: one rule set, one job
  expect(await tried({ job: 'NULL' }, 'one')).toBe('ok'); // a row without a job among rows with one
  expect(await tried({ job: 'NULL' }, 'all')).toBe('ok'); // no job at all
  expect(await tried({ area: '99999' }, 'one')).toBe('23503'); // one missing area
  expect(await tried({ ruleSet: "'nope@1'" }, 'one')).toBe('23503'); // one missing rule set among good ones, sorting first
  expect(await tried({ ruleSet: "'zzzz@1'" }, 'one')).toBe('23503'); // … sorting last
  expect(await tried({ ruleSet: "'nope@1'" }, 'all')).toBe('23503'); // every row's rule set missing
  expect(await tried({ job: '$job + 1000' }, 'one')).toBe('23503'); // one missing job among a real one, sorting last
  expect(await tried({ job: '$job - 1000000' }, 'one')).toBe('23503'); // … sorting first
  expect(await tried({ job: '$job + 1000' }, 'all')).toBe('23503'); // every row's job missing
});

test('areas are proven by their range only where it has no gap: a missing id inside the range, or at either end, is refused', async () => {
  /**
   * Two areas made after the others and the first deleted again (a gap in the ids, as an
   * import rolled back leaves): the day's rows copied to a later day with their highest area
   * id moved to the second new area (the range now reaches past the gap) and, in `gap`, the
   * lowest to the deleted one; rolled back either way.
   */
  const tried = (variant: 'across' | 'gap' | 'below') =>
    code(
      ctx.db.knex.transaction(async (trx) => {
        const made = async (suffix: string) =>
          Number(
            (
              await trx.raw<{ rows: { id: number }[] }>(
                `INSERT INTO areas (code, name, name_search, kind, parent_id, population, geom, label_point)
                 SELECT code || ?, name, name_search, kind, parent_id, population, geom, label_point FROM areas WHERE code = 'C11' RETURNING id`,
                [suffix],
              )
            ).rows[0]?.id,
          );
        const deleted = await made('-gap');
        const after = await made('-after');
        await trx.raw('DELETE FROM areas WHERE id = ?', [deleted]);
        const low = variant === 'gap' ? String(deleted) : variant === 'below' ? '0' : 'z.area_id';
        await trx.raw(
          `INSERT INTO zone_levels (area_id, date, level, raw_level, rule_set_id, inputs)
           SELECT CASE WHEN z.area_id = z.hi THEN ? WHEN z.area_id = z.lo THEN ${low} ELSE z.area_id END, '2021-10-09', z.level, z.raw_level, z.rule_set_id, z.inputs
           FROM (SELECT z.*, max(z.area_id) OVER () AS hi, min(z.area_id) OVER () AS lo FROM zone_levels z WHERE z.date = '2021-10-01') z`,
          [after],
        );
        throw Object.assign(new Error('rolled back'), { code: 'ok' });
      }),
    );
  expect(await tried('across')).toBe('ok'); // every row's area exists, the range spans the gap
  expect(await tried('gap')).toBe('23503'); // one row's area is the deleted one, inside the range
  expect(await tried('below')).toBe('23503'); // one row's area is below every area's id
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

test('a chunk of levels holds one row per area of its chunk, in area order; one area, day and version is written once', async () => {
  // the day classified above, as its chunks hold it: one chunk (the province's few areas)
  const [chunk] = (await ctx.db.knex.raw<{ rows: { chunk: number; ids: number[]; n: number }[] }>(
    `SELECT chunk, area_id AS ids, cardinality(level) AS n FROM level_chunks WHERE date = '2021-10-01'`,
  )).rows;
  expect(chunk).toBeDefined();
  const ids = chunk?.ids ?? [];
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(chunk?.n).toBe(ids.length);
  expect(chunk?.chunk).toBe((ids[0] as number) >> 7);
  /** The day's chunk copied to 2021-10-09 with one column given as SQL (over the chunk `c`), rolled back. */
  const copied = (column: 'chunk' | 'area_id' | 'level' | 'inputs', sql: string) =>
    code(
      ctx.db.knex.transaction(async (trx) => {
        const cols = ['chunk', 'rule_set_id', 'area_id', 'level', 'raw_level', 'reason', 'since', 'inputs', 'children', 'pending', 'persistence', 'change'];
        await trx.raw(
          `INSERT INTO level_chunks (date, ${cols.join(', ')}) SELECT '2021-10-09', ${cols.map((c) => (c === column ? sql : `c.${c}`)).join(', ')}
           FROM level_chunks c WHERE c.date = '2021-10-01'`,
        );
        throw Object.assign(new Error('rolled back'), { code: 'ok' });
      }),
    );
  expect(await copied('chunk', 'c.chunk')).toBe('ok');
  expect(await copied('chunk', 'c.chunk + 1')).toBe('23514'); // its areas are of another chunk
  expect(await copied('area_id', 'c.area_id || 128')).toBe('23514'); // an area of another chunk
  expect(await copied('area_id', '(SELECT array_agg(x ORDER BY x DESC) FROM unnest(c.area_id) x)')).toBe('23514'); // not in area order
  expect(await copied('area_id', 'c.area_id[1:1] || c.area_id[1:cardinality(c.area_id) - 1]')).toBe('23514'); // an area twice
  expect(await copied('area_id', `array_fill(0, ARRAY[cardinality(c.area_id)], ARRAY[0])`)).toBe('23514'); // not from index 1
  expect(await copied('level', 'c.level[1:cardinality(c.level) - 1]')).toBe('23514'); // a level short
  expect(await copied('level', `array_fill('purple'::text, ARRAY[cardinality(c.level)])`)).toBe('23514'); // not a level
  expect(await copied('inputs', `array_fill(NULL::text, ARRAY[cardinality(c.inputs)])`)).toBe('23514'); // no inputs
  // rows inserted into the view: one area, day and version twice in a statement is refused
  const viaView = (twice: boolean) =>
    code(
      ctx.db.knex.transaction(async (trx) => {
        await trx.raw(
          `INSERT INTO zone_levels (area_id, date, level, raw_level, rule_set_id, inputs)
           SELECT z.area_id, '2021-10-09', z.level, z.raw_level, z.rule_set_id, z.inputs FROM zone_levels z, generate_series(1, ?) g WHERE z.date = '2021-10-01'`,
          [twice ? 2 : 1],
        );
        const n = await trx.raw<{ rows: { n: number; chunks: number }[] }>(`SELECT count(*)::int AS n, count(DISTINCT chunk)::int AS chunks FROM zone_levels WHERE date = '2021-10-09'`);
        // the statement's rows became its chunks: as many rows, one chunk row per chunk
        expect(n.rows[0]?.n).toBe(ids.length);
        const stored = await trx.raw<{ rows: { c: number }[] }>(`SELECT count(*)::int AS c FROM level_chunks WHERE date = '2021-10-09'`);
        expect(stored.rows[0]?.c).toBe(n.rows[0]?.chunks);
        throw Object.assign(new Error('rolled back'), { code: 'ok' });
      }),
    );
  expect(await viaView(false)).toBe('ok');
  expect(await viaView(true)).toBe('23505');
  // and the same again in a later statement of the transaction (one version: the transaction's instant)
  expect(
    await code(
      ctx.db.knex.transaction(async (trx) => {
        for (let i = 0; i < 2; i++)
          await trx.raw(`INSERT INTO zone_levels (area_id, date, level, raw_level, rule_set_id, inputs) SELECT area_id, '2021-10-09', level, raw_level, rule_set_id, inputs FROM zone_levels WHERE date = '2021-10-01' AND area_id = ?`, [ids[0]]);
      }),
    ),
  ).toBe('23505');
  expect(await code(ctx.db.knex.raw(`UPDATE level_chunks SET level = level`))).toBe('42501');
  expect(await code(ctx.db.knex.raw(`DELETE FROM level_chunks`))).toBe('42501');
});
