import { testContext } from '../helpers/context';
import { provinceOfCommunes } from '../helpers/fixtures';

/**
 * The level-event trigger (migration 24), statement by statement: what each statement of
 * days written into zone_levels raises. An event compares a new level with the day as it
 * stood before the statement (`same`: then `change` is not carried), else with the day
 * before (this statement's rows included), else with nothing (`from` null); no event where
 * the level did not move, none for days older than a week. (A formed area's first level
 * against its predecessors' worst: test/http/reorganisation-events.test.ts.)
 */
const ctx = testContext();
afterAll(() => ctx.close());

type Row = { area: string; days_ago: number; level: string };
type Event = { area: string; days_ago: number; from_level: string | null; to_level: string; change: unknown };

let ids: Map<string, number>;
let ruleSet: string;

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').send(provinceOfCommunes(['A', 'B', 'C', 'D'])).expect(200);
  ruleSet = (await ctx.http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201)).body.id as string;
  const rows = (await ctx.db.knex('areas').select('id', 'code')) as { id: number; code: string }[];
  ids = new Map(rows.map((r) => [r.code, r.id]));
});

/** Writes `rows` in one statement (its own transaction), each with a change naming it; answers the events it raised. */
async function write(rows: Row[]): Promise<Event[]> {
  const before = Number((await ctx.db.knex.raw<{ rows: { n: string }[] }>('SELECT coalesce(max(id), 0) AS n FROM level_events')).rows[0]?.n);
  await ctx.db.knex.raw(
    `INSERT INTO zone_levels (area_id, date, level, raw_level, reason, since, rule_set_id, inputs, change)
     SELECT r.area_id, current_date - r.days_ago, r.level, r.level, NULL, current_date - r.days_ago, ?, '[]', jsonb_build_object('code', 'test', 'n', r.n)
     FROM jsonb_to_recordset(?::jsonb) AS r(area_id int, days_ago int, level text, n int)`,
    [ruleSet, JSON.stringify(rows.map((r, n) => ({ area_id: ids.get(r.area), days_ago: r.days_ago, level: r.level, n })))],
  );
  const res = await ctx.db.knex.raw<{ rows: Event[] }>(
    `SELECT a.code AS area, current_date - e.date AS days_ago, e.from_level, e.to_level, e.change
     FROM level_events e JOIN areas a ON a.id = e.area_id WHERE e.id > ? ORDER BY e.id`,
    [before],
  );
  return res.rows;
}

const change = (n: number) => ({ code: 'test', n });

test.each<[string, Row[], Event[]]>([
  [
    'a first day: every area from nothing',
    [
      { area: 'C', days_ago: 1, level: 'yellow' },
      { area: 'A', days_ago: 1, level: 'green' },
      { area: 'B', days_ago: 1, level: 'green' },
    ],
    [
      // in area order (ids follow the codes), whatever the rows' order
      { area: 'A', days_ago: 1, from_level: null, to_level: 'green', change: change(1) },
      { area: 'B', days_ago: 1, from_level: null, to_level: 'green', change: change(2) },
      { area: 'C', days_ago: 1, from_level: null, to_level: 'yellow', change: change(0) },
    ],
  ],
  [
    'the next day: against the day before; an area new that day from nothing; no event where nothing moved',
    [
      { area: 'A', days_ago: 0, level: 'green' },
      { area: 'B', days_ago: 0, level: 'red' },
      { area: 'D', days_ago: 0, level: 'orange' },
    ],
    [
      { area: 'B', days_ago: 0, from_level: 'green', to_level: 'red', change: change(1) },
      { area: 'D', days_ago: 0, from_level: null, to_level: 'orange', change: change(2) },
    ],
  ],
  [
    'the same day again: against its earlier version, without the change; an area not written that day before against the day before',
    [
      { area: 'A', days_ago: 0, level: 'orange' },
      { area: 'B', days_ago: 0, level: 'red' },
      { area: 'C', days_ago: 0, level: 'green' },
    ],
    [
      { area: 'A', days_ago: 0, from_level: 'green', to_level: 'orange', change: null },
      { area: 'C', days_ago: 0, from_level: 'yellow', to_level: 'green', change: change(2) },
    ],
  ],
  ['a day older than a week: history, not news', [{ area: 'A', days_ago: 30, level: 'red' }], []],
  [
    'two days in one statement: the later against the earlier one written with it; the days in order',
    [
      { area: 'A', days_ago: 2, level: 'red' },
      { area: 'A', days_ago: 3, level: 'yellow' },
      { area: 'B', days_ago: 3, level: 'yellow' },
      { area: 'B', days_ago: 2, level: 'yellow' },
    ],
    [
      { area: 'A', days_ago: 3, from_level: null, to_level: 'yellow', change: change(1) },
      { area: 'B', days_ago: 3, from_level: null, to_level: 'yellow', change: change(2) },
      { area: 'A', days_ago: 2, from_level: 'yellow', to_level: 'red', change: change(0) },
    ],
  ],
  [
    'a day a week old still raises; one older does not',
    [
      { area: 'D', days_ago: 7, level: 'red' },
      { area: 'D', days_ago: 8, level: 'green' },
    ],
    [{ area: 'D', days_ago: 7, from_level: 'green', to_level: 'red', change: change(0) }],
  ],
])('%s', async (_name, rows, expected) => {
  expect(await write(rows)).toEqual(expected);
});
