import { factsStand, STAMP_SQL, UNCHANGED_SINCE_SQL } from '../../src/db/inputs';
import { LocalDate } from '../../src/domain/dates';
import { smallProvince } from '../helpers/fixtures';
import { embedded, testContext } from '../helpers/context';

/**
 * The change log recomputation's kept state is checked against (migration 23,
 * `data_changes`): every statement that changes reports, metrics or the map leaves a row —
 * a fact's with the days it touched — and a stamp (the snapshot a statement saw) stops
 * holding once a change it did not see is committed, whatever order transactions began in.
 */
const ctx = testContext();
afterAll(() => ctx.close());

const DAY = '2021-10-01' as LocalDate;

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
});

const idOf = async (code: string) => (await ctx.db.knex.raw<{ rows: { id: number }[] }>('SELECT id FROM areas WHERE code = ?', [code])).rows[0]?.id as number;

/** The log rows a statement leaves. */
async function logged(sql: string, bindings: (string | number)[] = []): Promise<{ kind: string; lo: string; hi: string }[]> {
  const last = (await ctx.db.knex.raw<{ rows: { id: string | null }[] }>('SELECT max(id)::text AS id FROM data_changes')).rows[0]?.id ?? '0';
  await ctx.db.knex.raw(sql, bindings);
  return (await ctx.db.knex.raw<{ rows: { kind: string; lo: string; hi: string }[] }>('SELECT kind, lo::text, hi::text FROM data_changes WHERE id > ? ORDER BY id', [last])).rows;
}

const stamp = async () => (await ctx.db.knex.raw<{ rows: { s: string }[] }>(`SELECT ${STAMP_SQL} AS s`)).rows[0]?.s as string;
const unchanged = async (s: string, kind: string, to: string) =>
  (await ctx.db.knex.raw<{ rows: { u: boolean }[] }>(`SELECT ${UNCHANGED_SINCE_SQL} AS u`, [s, s, s, kind, to])).rows[0]?.u;

test('new, changed, deleted and truncated facts are logged with the days they touched', async () => {
  const c = await idOf('C11');
  expect(await logged(`INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (?, '2021-09-28', 1, 0), (?, '2021-10-01', 2, 0)`, [c, c])).toEqual([
    { kind: 'reports', lo: '2021-09-28', hi: '2021-10-01' },
  ]);
  expect(await logged(`UPDATE reports SET community_cases = 5 WHERE area_id = ? AND date = '2021-09-28'`, [c])).toEqual([{ kind: 'reports', lo: '2021-09-28', hi: '2021-09-28' }]);
  // a report moved to another day touches both
  expect(await logged(`UPDATE reports SET date = '2021-09-20' WHERE area_id = ? AND date = '2021-10-01'`, [c])).toEqual([{ kind: 'reports', lo: '2021-09-20', hi: '2021-10-01' }]);
  expect(await logged(`DELETE FROM reports WHERE area_id = ? AND date = '2021-09-20'`, [c])).toEqual([{ kind: 'reports', lo: '2021-09-20', hi: '2021-09-20' }]);
  expect(await logged(`INSERT INTO metrics (area_id, name, date, value) VALUES (?, 'treatment_capacity_ok', '2021-09-30', 1)`, [c])).toEqual([
    { kind: 'metrics', lo: '2021-09-30', hi: '2021-09-30' },
  ]);
  expect(await logged('TRUNCATE reports, report_revisions')).toEqual([{ kind: 'reports', lo: '-infinity', hi: 'infinity' }]);
  // a statement that changes no fact logs nothing
  expect(await logged(`DELETE FROM reports WHERE date = '1999-01-01'`)).toEqual([]);
});

test('a change of the map is logged', async () => {
  expect(await logged(`UPDATE areas SET population = population + 1 WHERE code = 'C11'`)).toEqual([{ kind: 'map', lo: '-infinity', hi: 'infinity' }]);
});

// two sessions at once: a real server's (the embedded engine has one)
const concurrently = embedded() ? test.skip : test;

concurrently('a stamp holds until a change it did not see is committed — also one that began before it — and only for the days it covers', async () => {
  const c = await idOf('C12');
  const before = await stamp();
  expect(await unchanged(before, 'reports', DAY)).toBe(true);
  // a transaction that began (and wrote) before the next stamp, committed after it
  const trx = await ctx.db.knex.transaction();
  try {
    await trx.raw(`INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (?, ?, 3, 0)`, [c, DAY]);
    const during = await stamp();
    expect(await unchanged(during, 'reports', DAY)).toBe(true); // not committed: not a change yet
    await trx.commit();
    expect(await unchanged(during, 'reports', DAY)).toBe(false);
    expect(await unchanged(before, 'reports', DAY)).toBe(false);
  } catch (e) {
    await trx.rollback();
    throw e;
  }
  const after = await stamp();
  expect(await unchanged(after, 'reports', DAY)).toBe(true);
  // a later day only: the kept days still hold; other kinds of facts too
  await ctx.db.knex.raw(`INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (?, '2021-10-02', 3, 0)`, [c]);
  expect(await unchanged(after, 'reports', DAY)).toBe(true);
  expect(await unchanged(after, 'reports', '2021-10-02')).toBe(false);
  expect(await unchanged(after, 'metrics', '2021-10-02')).toBe(true);
  // a stamp of another server (its start time) never holds
  expect(await unchanged(`1|${after.split('|')[1] as string}`, 'reports', DAY)).toBe(false);
});

test('facts read with a stamp stand until a change to their days is committed; a part not read (no stamp) always stands', async () => {
  const c = await idOf('C12');
  const day = '2022-03-01'; // days no other test writes
  const s = await stamp();
  expect(await factsStand(ctx.db.knex, { reports: s, indicators: s }, day as LocalDate)).toBe(true);
  expect(await factsStand(ctx.db.knex, { reports: '', indicators: '' }, day as LocalDate)).toBe(true);
  // a change after the days read does not touch them
  await ctx.db.knex.raw(`INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (?, ?::date + 1, 1, 0) ON CONFLICT (date, area_id) DO UPDATE SET community_cases = reports.community_cases + 1`, [c, day]);
  expect(await factsStand(ctx.db.knex, { reports: s, indicators: '' }, day as LocalDate)).toBe(true);
  await ctx.db.knex.raw(`INSERT INTO reports (area_id, date, community_cases, quarantine_cases) VALUES (?, ?::date, 1, 0) ON CONFLICT (date, area_id) DO UPDATE SET community_cases = reports.community_cases + 1`, [c, day]);
  expect(await factsStand(ctx.db.knex, { reports: s, indicators: '' }, day as LocalDate)).toBe(false);
  // the indicators' stamp is checked against indicators
  expect(await factsStand(ctx.db.knex, { reports: '', indicators: s }, day as LocalDate)).toBe(true);
  await ctx.db.knex.raw(`INSERT INTO metrics (area_id, name, date, value) VALUES (?, 'vaccination_18plus_1dose_pct', ?::date, 50) ON CONFLICT (area_id, name, date) DO UPDATE SET value = metrics.value + 1`, [c, day]);
  expect(await factsStand(ctx.db.knex, { reports: '', indicators: s }, day as LocalDate)).toBe(false);
});
