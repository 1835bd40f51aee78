import type { Polygon } from 'geojson';
import { testContext } from '../helpers/context';
import { fc, feature, provinceOfCommunes } from '../helpers/fixtures';
import { addDays, dateRange, LocalDate, today } from '../../src/domain/dates';

/**
 * The change events (the stream and webhooks: level_events) across a reorganisation a few days
 * ago: a merged commune at its predecessors' worst level is no event; one at another level is
 * one event from that level, whose words say it was formed; the retired communes make none.
 */
const ctx = testContext();
const http = () => ctx.http();
const TODAY = today(ctx.config.reportingTimeZone);
const E = addDays(TODAY, -3);

const rect = (x: number, y: number, w: number, h: number): Polygon => ({ type: 'Polygon', coordinates: [[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]] });

const RULES = {
  name: 'incidence-events',
  metrics: { incidence_7d: { kind: 'rate_per_100k', of: 'community_cases', window_days: 7 } },
  levels: [{ kinds: ['province', 'district', 'commune'], steps: [{ type: 'bands', metric: 'incidence_7d', thresholds: [5, 20, 50], levels: ['green', 'yellow', 'orange', 'red'] }] }],
};

beforeAll(async () => {
  await ctx.reset();
  await http()
    .post('/v1/areas')
    .send(provinceOfCommunes(['A', 'B', 'C', 'D']))
    .expect(200);
  // A 2 a day (140/100k: red), B none (green); C and D 1 a day (70/100k: red each)
  const before = dateRange(addDays(E, -14), addDays(E, -1)).flatMap((date) => [
    { area: 'A', date, community_cases: 2, quarantine_cases: 0 },
    { area: 'B', date, community_cases: 0, quarantine_cases: 0 },
    { area: 'C', date, community_cases: 1, quarantine_cases: 0 },
    { area: 'D', date, community_cases: 1, quarantine_cases: 0 },
  ]);
  await http().post('/v1/reports').send({ reports: before }).expect(200);
  await http().post('/v1/rule-sets').send(RULES).expect(201);
  await http().post('/v1/rule-sets/incidence-events@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await http().post('/v1/recompute').send({ from: addDays(E, -7), to: addDays(E, -1) }).expect(200);
  await http()
    .post('/v1/reorganisations')
    .send({
      effective_date: E,
      retire: ['A', 'B', 'C', 'D'],
      areas: fc([
        // AB: A and B, 2 a day over 20,000 people (70/100k): red, as A was — no event
        feature({ code: 'AB', name: 'Xã AB', kind: 'commune', parent: 'P', population: 20000, predecessors: ['A', 'B'] } as Parameters<typeof feature>[0], rect(106, 10, 0.2, 0.1)),
        // CD: C and D, 0 from the day on: its window falls to 6 × 2 / 20,000 = 60/100k on the day, red — then orange, yellow… as the days pass
        feature({ code: 'CD', name: 'Xã CD', kind: 'commune', parent: 'P', population: 20000, predecessors: ['C', 'D'] } as Parameters<typeof feature>[0], rect(106.2, 10, 0.2, 0.1)),
      ]),
      reparent: [],
    })
    .expect(201);
  const after = dateRange(E, TODAY).flatMap((date) => [
    { area: 'AB', date, community_cases: 2, quarantine_cases: 0 },
    { area: 'CD', date, community_cases: 0, quarantine_cases: 0 },
  ]);
  await http().post('/v1/reports').send({ reports: after }).expect(200);
  await http().post('/v1/recompute').send({ from: E, to: TODAY }).expect(200);
}, 60_000);
afterAll(() => ctx.close());

test('no event for the retired communes, none for a merged one at its predecessors’ worst level, and the first change of the other from it', async () => {
  const events = (
    await ctx.db.knex.raw<{ rows: { code: string; date: string; from_level: string | null; to_level: string }[] }>(
      `SELECT a.code, e.date::text AS date, e.from_level, e.to_level FROM level_events e JOIN areas a ON a.id = e.area_id WHERE e.date >= ? ORDER BY e.date, a.code`,
      [E],
    )
  ).rows;
  expect(events.filter((e) => ['A', 'B', 'C', 'D'].includes(e.code))).toEqual([]);
  expect(events.filter((e) => e.code === 'AB')).toEqual([]);
  // CD: red on the day as its predecessors were, then moving down — every event from a real level
  const cd = events.filter((e) => e.code === 'CD');
  expect(cd.length).toBeGreaterThan(0);
  expect(cd.every((e) => e.from_level !== null && e.from_level !== 'unknown')).toBe(true);
  expect(cd[0]?.date).not.toBe(E);
});
