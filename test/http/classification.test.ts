import { seedDemo } from '../../seeds';
import { addDays, dateRange, LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';
import { jobEnded } from '../helpers/jobs';

/**
 * End to end on the demo data: activate vn-moh-4800-2021, recompute the demo period, and
 * check that zones, history, changes and summary tell one story.
 */
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
const FROM = '2021-09-01' as LocalDate;

const waitForJob = (id: number) => jobEnded(ctx, id);

const zoneRows = () => ctx.db.knex('zone_levels').count<{ c: number }[]>('* as c').then((r) => Number(r[0]?.c));

beforeAll(async () => {
  await ctx.reset();
  await seedDemo(ctx.db, END);
  const created = await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  expect(created.body).toMatchObject({ id: 'vn-moh-4800-2021@1', version: 1, created: true });
  await http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  const res = await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ from: FROM, to: END }).expect(202);
  const job = await waitForJob(res.body.job.id);
  expect(job).toMatchObject({ status: 'succeeded', days: 61, days_done: 61, areas: 183 });
}, 300_000);
afterAll(() => ctx.close());

describe('classification on the demo data', () => {
  test('summary counts equal the zones grouped by level, on every day', async () => {
    const populations = new Map<string, number>(
      ((await http().get('/v1/areas?kind=commune&limit=1000').expect(200)).body.items as { code: string; population: number }[]).map((a) => [a.code, a.population]),
    );
    for (const date of ['2021-09-10', '2021-10-01', '2021-10-20', END]) {
      const zones = (await http().get(`/v1/zones?date=${date}&kind=commune`).expect(200)).body.items as { code: string; level: string }[];
      expect(zones).toHaveLength(171);
      const summary = (await http().get(`/v1/summary?date=${date}`).expect(200)).body;
      for (const level of ['green', 'yellow', 'orange', 'red', 'unknown']) {
        const these = zones.filter((z) => z.level === level);
        expect([date, level, summary.by_level[level].areas]).toEqual([date, level, these.length]);
        expect(summary.by_level[level].population).toBe(these.reduce((s, z) => s + (populations.get(z.code) ?? 0), 0));
      }
      // escalated/de-escalated are exactly the level moves from the day before
      const before = new Map(((await http().get(`/v1/zones?date=${addDays(date as LocalDate, -1)}&kind=commune`).expect(200)).body.items as { code: string; level: string }[]).map((z) => [z.code, z.level]));
      const order = ['green', 'yellow', 'orange', 'red'];
      const up = zones.filter((z) => order.indexOf(z.level) > order.indexOf(before.get(z.code) ?? 'x') && before.get(z.code) !== 'unknown' && before.has(z.code) && z.level !== 'unknown');
      expect(summary.escalated.map((e: { code: string }) => e.code).sort()).toEqual(up.map((z) => z.code).sort());
    }
  });

  test('no new community case in 24 h agrees with the reports of that day', async () => {
    const date = '2021-10-05';
    const summary = (await http().get(`/v1/summary?date=${date}`).expect(200)).body;
    const zones = (await http().get(`/v1/zones?date=${date}&kind=commune&level=yellow`).expect(200)).body.items as { code: string }[];
    let quiet = 0;
    for (const z of zones) {
      const r = (await http().get(`/v1/areas/${z.code}/reports?from=${date}&to=${date}`).expect(200)).body.items;
      if ((r[0]?.community_cases ?? 0) === 0) quiet++;
    }
    expect(summary.by_level.yellow.no_new_community_cases_24h).toBe(quiet);
  });

  test('every change in the feed is a level flip in the area history, and back', async () => {
    const since = '2021-09-02';
    // the feed comes in pages of at most 31 days: follow next_cursor
    const feed: { code: string; date: string; from: string; to: string }[] = [];
    let pages = 0;
    for (let cursor: string | null = null; pages === 0 || cursor !== null; pages++) {
      const page: { items: typeof feed; next_cursor: string | null } = (await http().get(`/v1/changes?since=${since}&until=${END}&kind=commune${cursor ? `&cursor=${cursor}` : ''}`).expect(200)).body;
      feed.push(...page.items);
      cursor = page.next_cursor;
    }
    expect(pages).toBe(2);
    expect(feed.length).toBeGreaterThan(20);
    const codes = [...new Set(feed.map((c) => c.code))].slice(0, 25);
    for (const code of codes) {
      const h = (await http().get(`/v1/zones/${code}/history?from=${since}&to=${END}`).expect(200)).body;
      expect(h.days).toHaveLength(dateRange(since as LocalDate, END).length);
      const flips = [];
      for (let i = 1; i < h.days.length; i++) if (h.days[i].level !== h.days[i - 1].level) flips.push({ date: h.days[i].date, from: h.days[i - 1].level, to: h.days[i].level });
      const fromFirstDay = h.changes.filter((c: { date: string }) => c.date === since);
      expect(h.changes.filter((c: { date: string }) => c.date !== since).map(({ date, from, to }: { date: string; from: string; to: string }) => ({ date, from, to }))).toEqual(flips);
      expect(feed.filter((c) => c.code === code).map(({ date, from, to }) => ({ date, from, to }))).toEqual([...fromFirstDay.map(({ date, from, to }: { date: string; from: string; to: string }) => ({ date, from, to })), ...flips]);
    }
  });

  test('one zone explains its level step by step, with its inputs', async () => {
    const z = (await http().get(`/v1/zones/VNM.17.1.10_1?date=2021-10-10`).expect(200)).body;
    expect(z).toMatchObject({ code: 'VNM.17.1.10_1', kind: 'commune', date: '2021-10-10', rule_set: { id: 'vn-moh-4800-2021@1', name: 'vn-moh-4800-2021', version: 1 }, override: null });
    expect(Object.keys(z.inputs).sort()).toEqual(['community_incidence_7d', 'treatment_capacity_ok', 'vaccination_18plus_1dose_pct', 'vaccination_65plus_full_pct']);
    expect(z.explanation.map((e: { type: string }) => e.type)).toEqual(['matrix', 'raise', 'raise']);
    expect(z.explanation[z.explanation.length - 1].result).toBe(z.level);
    // district indicators reach the commune: inherited from its district
    expect(z.input_details.vaccination_18plus_1dose_pct.detail).toMatch(/from VNM\.17\.1_1/);
    // the incidence is the commune's own 7-day community cases per 100,000
    const reports = (await http().get(`/v1/areas/VNM.17.1.10_1/reports?from=2021-10-04&to=2021-10-10`).expect(200)).body.items as { community_cases: number }[];
    const cases = reports.reduce((s, r) => s + r.community_cases, 0);
    expect(z.inputs.community_incidence_7d).toBeCloseTo((cases * 100_000) / 125_451, 9);
  });

  test('recomputing again writes nothing and changes nothing', async () => {
    const before = await zoneRows();
    const res = await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ from: '2021-10-01', to: '2021-10-10' }).expect(200);
    expect(res.body).toMatchObject({ areas: 183, changed: 0, job: { status: 'succeeded', written: 0 } });
    expect(await zoneRows()).toBe(before);
  });

  test('concurrent recomputations of one day are serialised: one set of rows, not two', async () => {
    const day = '2021-08-31';
    const post = () => http().post('/v1/recompute').set('Content-Type', 'application/json').send({ date: day });
    const [a, b] = await Promise.all([post().expect(200), post().expect(200)]);
    expect([a.body.job.written, b.body.job.written].sort()).toEqual([0, 183]);
    const rows = await ctx.db.knex('zone_levels').where({ date: day }).count<{ c: number }[]>('* as c');
    expect(Number(rows[0]?.c)).toBe(183);
  });

  test('an area without population or without reports is unknown, with the reason', async () => {
    const sub = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { code: 'KP-NOPOP', name: 'Khu phố 1', kind: 'subcommune', parent: 'VNM.17.1.10_1', population: null }, geometry: { type: 'Polygon', coordinates: [[[106.87, 10.93], [106.88, 10.93], [106.88, 10.94], [106.87, 10.93]]] } },
        { type: 'Feature', properties: { code: 'KP-NOREP', name: 'Khu phố 2', kind: 'subcommune', parent: 'VNM.17.1.10_1', population: 3000 }, geometry: { type: 'Polygon', coordinates: [[[106.89, 10.93], [106.9, 10.93], [106.9, 10.94], [106.89, 10.93]]] } },
      ],
    };
    await http().post('/v1/areas').set('Content-Type', 'application/json').send(sub).expect(200);
    await http().post('/v1/reports').set('Content-Type', 'application/json').send({ reports: [{ area: 'KP-NOPOP', date: '2021-10-30', community_cases: 0, quarantine_cases: 0 }] }).expect(200);
    await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ date: END }).expect(200);
    expect((await http().get(`/v1/zones/KP-NOPOP?date=${END}`).expect(200)).body).toMatchObject({ level: 'unknown', level_number: null, reason: 'no_population' });
    expect((await http().get(`/v1/zones/KP-NOREP?date=${END}`).expect(200)).body).toMatchObject({ level: 'unknown', reason: 'no_reports' });
  });

  test('overrides win over the rules, show in history and the feed, and can be ended and withdrawn', async () => {
    const code = 'VNM.17.2.1_1';
    const day = '2021-10-25';
    const ruled = (await http().get(`/v1/zones/${code}?date=${day}`).expect(200)).body.level;
    const target = ruled === 'red' ? 'green' : 'red';
    const o = await http().post(`/v1/zones/${code}/overrides`).set('Content-Type', 'application/json').send({ level: target, reason: 'Phong tỏa theo quyết định của BCĐ', from: '2021-10-24', until: '2021-10-27', author: 'BCĐ tỉnh' }).expect(201);
    const z = (await http().get(`/v1/zones/${code}?date=${day}`).expect(200)).body;
    expect(z).toMatchObject({ level: target, computed_level: ruled, since: '2021-10-24', override: { id: o.body.id, level: target, reason: 'Phong tỏa theo quyết định của BCĐ', author: 'BCĐ tỉnh' } });
    const h = (await http().get(`/v1/zones/${code}/history?from=2021-10-20&to=2021-10-31`).expect(200)).body;
    expect(h.changes).toEqual(expect.arrayContaining([expect.objectContaining({ date: '2021-10-24', to: target, reason: 'override: Phong tỏa theo quyết định của BCĐ' })]));
    const feed = (await http().get(`/v1/changes?since=2021-10-24&until=2021-10-24`).expect(200)).body.items;
    expect(feed).toEqual(expect.arrayContaining([expect.objectContaining({ code, date: '2021-10-24', to: target })]));
    // issue 14: ending keeps the days before the end; withdrawing removes it (ending twice: 409)
    await http().delete(`/v1/zones/${code}/overrides/${o.body.id}?from=2021-10-26`).expect(200);
    expect((await http().get(`/v1/zones/${code}?date=${day}`).expect(200)).body).toMatchObject({ level: target, override: { id: o.body.id, until: '2021-10-25' } });
    expect((await http().get(`/v1/zones/${code}?date=2021-10-26`).expect(200)).body).toMatchObject({ level: ruled, override: null });
    await http().delete(`/v1/zones/${code}/overrides/${o.body.id}`).expect(409);
    await http().post(`/v1/zones/${code}/overrides/${o.body.id}/withdraw`).send({ reason: 'nhập nhầm' }).expect(200);
    expect((await http().get(`/v1/zones/${code}?date=${day}`).expect(200)).body).toMatchObject({ level: ruled, override: null });
    await http().delete(`/v1/zones/${code}/overrides/${o.body.id}`).expect(409);
    await http().delete(`/v1/zones/${code}/overrides/${o.body.id + 1000}`).expect(404);
    // and as it was known while the override stood
    expect((await http().get(`/v1/zones/${code}?date=${day}&as_of=${encodeURIComponent(o.body.created_at)}`).expect(200)).body.level).toBe(target);
  });

  test('late reports recompute the days they affect; published levels stay as announced', async () => {
    const code = 'VNM.17.7.1_1';
    const day = '2021-10-29' as LocalDate;
    const published = (await http().post('/v1/publications').set('Content-Type', 'application/json').send({ date: day, note: 'Thông báo số 1' }).expect(201)).body;
    const announced = (await http().get(`/v1/zones/${code}?date=${day}`).expect(200)).body;
    // a late correction: a large cluster three days earlier
    const late = await http().post('/v1/reports').set('Content-Type', 'application/json').send({ reports: [{ area: code, date: addDays(day, -3), community_cases: 5000, quarantine_cases: 0 }] }).expect(200);
    expect(late.body.recompute).toMatchObject({ from: addDays(day, -3), to: END });
    expect(await waitForJob(late.body.recompute.job)).toMatchObject({ status: 'succeeded' });
    const revised = (await http().get(`/v1/zones/${code}?date=${day}`).expect(200)).body;
    expect(revised.level).toBe('red');
    expect(revised.level).not.toBe(announced.level);
    const asPublished = (await http().get(`/v1/zones/${code}?date=${day}&version=published`).expect(200)).body;
    expect(asPublished.level).toBe(announced.level);
    expect(asPublished.inputs).toEqual(announced.inputs);
    const asOf = (await http().get(`/v1/zones/${code}?date=${day}&as_of=${encodeURIComponent(published.published_at)}`).expect(200)).body;
    expect(asOf.level).toBe(announced.level);
    const summaryPublished = (await http().get(`/v1/summary?date=${day}&version=published`).expect(200)).body;
    const summaryLatest = (await http().get(`/v1/summary?date=${day}`).expect(200)).body;
    expect(summaryPublished.by_level.red.areas).toBeLessThan(summaryLatest.by_level.red.areas + (announced.level === 'red' ? 1 : 0) + 1);
    expect((await http().get('/v1/publications').expect(200)).body.items[0]).toMatchObject({ date: day, note: 'Thông báo số 1' });
    await http().get(`/v1/zones/${code}?date=2021-10-01&version=published`).expect(404);
  });
});

describe('rule sets', () => {
  test('invalid definitions → 422 naming the path; nothing stored', async () => {
    const count = async () => Number((await ctx.db.knex('rule_sets').count<{ c: number }[]>('* as c'))[0]?.c);
    const before = await count();
    const preset = (await http().get('/v1/rule-sets/presets').expect(200)).body.items.find((p: { id: string }) => p.id === 'vn-moh-4800-2021').definition;
    const bad = JSON.parse(JSON.stringify(preset));
    bad.levels[0].steps[0].rows.thresholds = [20, 150, 50];
    bad.levels[0].steps[1].when.metric = 'nope';
    const res = await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send(bad).expect(422);
    expect(res.body.error.code).toBe('invalid_rule_set');
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([
        { path: 'levels[0].steps[0].rows.thresholds', message: 'must be ascending' },
        { path: 'levels[0].steps[1].when', message: 'unknown metric "nope" (define it under metrics)' },
      ]),
    );
    await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'nope' }).expect(422);
    // an inherited member is no preset either (not a 500)
    for (const preset of ['toString', 'constructor', '__proto__']) {
      const res = await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset }).expect(422);
      expect(res.body.error.code).toBe('unknown_preset');
    }
    expect(await count()).toBe(before);
  });

  test('a changed definition is a new version; the same one again is not', async () => {
    const preset = (await http().get('/v1/rule-sets/presets').expect(200)).body.items.find((p: { id: string }) => p.id === 'vn-moh-4800-2021').definition;
    const custom = { ...JSON.parse(JSON.stringify(preset)), name: 'dong-nai-4800' };
    expect((await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send(custom).expect(201)).body).toMatchObject({ id: 'dong-nai-4800@1', version: 1 });
    expect((await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send(custom).expect(200)).body).toMatchObject({ id: 'dong-nai-4800@1', created: false });
    custom.persistence = { deescalate_after_days: 7 };
    expect((await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send(custom).expect(201)).body).toMatchObject({ id: 'dong-nai-4800@2', version: 2 });
    const list = (await http().get('/v1/rule-sets').expect(200)).body.items;
    expect(list.filter((r: { active: boolean }) => r.active).map((r: { id: string }) => r.id)).toEqual(['vn-moh-4800-2021@1']);
    expect((await http().get('/v1/rule-sets/dong-nai-4800@2').expect(200)).body.definition.persistence.deescalate_after_days).toBe(7);
  });

  test('preview shows what would change under another set, writing nothing', async () => {
    await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'vn-2686-2021' });
    const before = await zoneRows();
    const res = await http().post(`/v1/rule-sets/vn-2686-2021@1/preview?date=2021-09-15`).expect(200);
    expect(res.body).toMatchObject({ rule_set: { id: 'vn-2686-2021@1' }, date: '2021-09-15' });
    expect(res.body.items.length).toBe(res.body.areas);
    expect(res.body.changed).toBe(res.body.items.filter((i: { changed: boolean }) => i.changed).length);
    const district = res.body.items.find((i: { code: string }) => i.code === 'VNM.17.1_1');
    expect(['green', 'yellow', 'orange', 'red']).toContain(district.level);
    expect(await zoneRows()).toBe(before);
  });
});
