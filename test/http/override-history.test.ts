import request from 'supertest';
import { addDays, dateRange, LocalDate, today } from '../../src/domain/dates';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';

/**
 * Overrides end; they are not erased (issue 14). `DELETE …/overrides/{id}` ends one from
 * today (or `?from=`, or `{"until"}`): the days before keep it in every latest read — zone,
 * zones, history, changes, summary, GeoJSON — and as known before the end it still covers
 * its whole period. `POST …/overrides/{id}/withdraw {"reason"}` removes one entered by
 * mistake from the latest reads; `as_of` before the withdrawal still shows it. Each writes
 * one audit row; refusals write nothing.
 */
const ctx = testContext();
const http = () => ctx.http();
const DAYS = dateRange('2021-10-01' as LocalDate, '2021-10-10' as LocalDate);
const COMMUNES = ['C11', 'C12', 'C21', 'C22'];
const TODAY = today(ctx.config.reportingTimeZone);
const get = async (url: string) => (await http().get(url).expect(200)).body;
const set = (code: string, body: Record<string, unknown>) => http().post(`/v1/zones/${code}/overrides`).send({ level: 'red', ...body });
const audits = async (action: string) => (await ctx.db.knex('audit_log').where({ action }).orderBy('id')) as { target: string; areas: string[]; before: unknown; after: Record<string, unknown> }[];
type HistoryDay = { date: string; level: string; override?: boolean };
const redDays = (days: HistoryDay[]) => days.filter((d) => d.level === 'red').map((d) => d.date);
const feedOf = async (code: string, query = '') =>
  ((await get(`/v1/changes?since=2021-10-02&until=2021-10-10${query}`)).items as { code: string }[]).filter((c) => c.code === code);

beforeEach(async () => {
  await ctx.reset();
  await http().post('/v1/areas').send(smallProvince()).expect(200);
  // every commune reports every day, no case; 80 % coverage on the province (every area takes it): green under 4800
  await http().post('/v1/reports').send({ reports: COMMUNES.flatMap((area) => DAYS.map((date) => ({ area, date, community_cases: 0, quarantine_cases: 0 }))) }).expect(200);
  await http().post('/v1/metrics').send({ metrics: DAYS.map((date) => ({ area: 'P', date, name: 'vaccination_18plus_1dose_pct', value: 80 })) }).expect(200);
  await http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2021-01-01' }).expect(200);
  await http().post('/v1/recompute').send({ from: DAYS[0], to: DAYS[DAYS.length - 1] }).expect(200);
});
afterAll(() => ctx.close());

test('an override ended today keeps its past days red in zone, zones, history, changes, summary and the map; as known before, it had no end', async () => {
  expect((await get('/v1/zones/C11?date=2021-10-05')).level).toBe('green');
  const o = (await set('C11', { reason: 'Phong tỏa', from: '2021-10-03' }).expect(201)).body;
  const ended = (await http().delete(`/v1/zones/C11/overrides/${o.id}`).expect(200)).body;
  expect(ended).toMatchObject({ id: o.id, code: 'C11', from: '2021-10-03', until: addDays(TODAY, -1), covers_nothing: false });

  const z = await get('/v1/zones/C11?date=2021-10-05');
  expect(z).toMatchObject({ level: 'red', computed_level: 'green', since: '2021-10-03', override: { id: o.id, reason: 'Phong tỏa', from: '2021-10-03', until: addDays(TODAY, -1), created_at: o.created_at, ended_at: ended.ended_at } });
  // the explanation ends on the level shown: the decision over the rules, and what the rules said
  expect(z.explanation.at(-1)).toMatchObject({ type: 'override', result: 'red' });
  expect(z.explanation.at(-1).text.vi).toContain('Phong tỏa');
  expect(z.explanation.at(-1).text.vi).toContain('03/10/2021');
  expect(z.explanation.at(-1).text.en).toContain('instead of level 1 (green) under the rules');
  expect((await get(`/v1/zones/C11?date=${TODAY}`)).override).toBeNull();
  const items = (await get('/v1/zones?date=2021-10-05&kind=commune')).items as { code: string; level: string; overridden: boolean }[];
  expect(items.find((i) => i.code === 'C11')).toMatchObject({ level: 'red', overridden: true });

  const h = await get('/v1/zones/C11/history?from=2021-10-02&to=2021-10-10');
  expect(redDays(h.days)).toEqual(dateRange('2021-10-03' as LocalDate, '2021-10-10' as LocalDate));
  expect(h.days.find((d: HistoryDay) => d.date === '2021-10-05')).toMatchObject({ level: 'red', override: true, rule_set: 'vn-moh-4800-2021@1' });
  expect(h.days.find((d: HistoryDay) => d.date === '2021-10-02')).toEqual({ date: '2021-10-02', level: 'green', level_number: 1, rule_set: 'vn-moh-4800-2021@1' });
  expect(h.changes).toEqual([
    { date: '2021-10-03', from: 'green', to: 'red', reason: 'override: Phong tỏa', reason_text: { vi: 'Quyết định điều chỉnh: Phong tỏa', en: 'override: Phong tỏa' } },
  ]);
  expect(await feedOf('C11')).toEqual([expect.objectContaining({ date: '2021-10-03', from: 'green', to: 'red', reason: 'override: Phong tỏa' })]);

  const summary = await get('/v1/summary?date=2021-10-05&parent=P');
  expect(summary.by_level.red.areas).toBe(1);
  expect(summary.escalated).toEqual([]);
  const map = JSON.parse((await http().get('/v1/zones.geojson?date=2021-10-05&kind=commune').expect(200)).text) as { features: { properties: { code: string; level: string } }[] };
  expect(map.features.find((f) => f.properties.code === 'C11')?.properties.level).toBe('red');

  // as known before the end: the same override, open-ended
  const before = await get(`/v1/zones/C11?date=2021-10-05&as_of=${encodeURIComponent(o.created_at)}`);
  expect(before.override).toMatchObject({ id: o.id, until: null, ended_at: null });
  expect((await get(`/v1/zones/C11?date=${TODAY}&as_of=${encodeURIComponent(o.created_at)}`)).level).toBe('red');

  const rows = await audits('override.end');
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ target: `override:${o.id}`, areas: ['C11'], before: { from: '2021-10-03', until: null, ended_at: null }, after: { until: addDays(TODAY, -1), ended_at: ended.ended_at } });
});

test('ended from a day (?from= or {"until"}): the day after its last reads "override ended"; as_of before the end reads its whole period', async () => {
  const o = (await set('C12', { reason: 'Cách ly y tế', from: '2021-10-03', until: '2021-10-09' }).expect(201)).body;
  await http().delete(`/v1/zones/C12/overrides/${o.id}?from=2021-10-06`).expect(200);
  const h = await get('/v1/zones/C12/history?from=2021-10-02&to=2021-10-10');
  expect(redDays(h.days)).toEqual(['2021-10-03', '2021-10-04', '2021-10-05']);
  const ended = { date: '2021-10-06', from: 'red', to: 'green', reason: 'override ended', reason_text: { vi: 'Hết hiệu lực quyết định điều chỉnh', en: 'override ended' } };
  expect(h.changes).toEqual([expect.objectContaining({ date: '2021-10-03', to: 'red' }), ended]);
  expect(await feedOf('C12')).toEqual([expect.objectContaining({ date: '2021-10-03', to: 'red' }), { code: 'C12', name: 'Phường Tân Hòa', kind: 'commune', ...ended }]);

  const asOf = encodeURIComponent(o.created_at);
  expect(redDays((await get(`/v1/zones/C12/history?from=2021-10-02&to=2021-10-10&as_of=${asOf}`)).days)).toEqual(dateRange('2021-10-03' as LocalDate, '2021-10-09' as LocalDate));
  expect(await feedOf('C12', `&as_of=${asOf}`)).toEqual([expect.objectContaining({ date: '2021-10-03' }), expect.objectContaining({ date: '2021-10-10', reason: 'override ended' })]);
  expect((await get(`/v1/zones/C12?date=2021-10-07&as_of=${asOf}`)).override).toMatchObject({ id: o.id, until: '2021-10-09' });
  expect((await get('/v1/zones/C12?date=2021-10-07')).override).toBeNull();

  // the body form: its last day
  const p = (await set('C21', { reason: 'Phong tỏa', from: '2021-10-02', until: '2021-10-08' }).expect(201)).body;
  expect((await http().delete(`/v1/zones/C21/overrides/${p.id}`).send({ until: '2021-10-04' }).expect(200)).body).toMatchObject({ until: '2021-10-04' });
  expect(redDays((await get('/v1/zones/C21/history?from=2021-10-02&to=2021-10-10')).days)).toEqual(['2021-10-02', '2021-10-03', '2021-10-04']);
  expect(await audits('override.end')).toHaveLength(2);
});

test('a withdrawn override is gone from latest reads, read again with as_of before the withdrawal, and audited', async () => {
  const o = (await set('C21', { reason: 'Nhập nhầm xã', from: '2021-10-03', until: '2021-10-08' }).expect(201)).body;
  const w = (await http().post(`/v1/zones/C21/overrides/${o.id}/withdraw`).send({ reason: 'nhập nhầm: đúng ra là xã khác' }).expect(200)).body;
  expect(w).toMatchObject({ id: o.id, code: 'C21', reason: 'nhập nhầm: đúng ra là xã khác' });

  expect(await get('/v1/zones/C21?date=2021-10-05')).toMatchObject({ level: 'green', override: null });
  expect(((await get('/v1/zones?date=2021-10-05&kind=commune')).items as { code: string; overridden: boolean }[]).find((i) => i.code === 'C21')?.overridden).toBe(false);
  const h = await get('/v1/zones/C21/history?from=2021-10-02&to=2021-10-10');
  expect(redDays(h.days)).toEqual([]);
  expect(h.changes).toEqual([]);
  expect(await feedOf('C21')).toEqual([]);
  expect((await get('/v1/summary?date=2021-10-05&parent=P')).by_level.red.areas).toBe(0);

  const asOf = encodeURIComponent(o.created_at);
  expect(await get(`/v1/zones/C21?date=2021-10-05&as_of=${asOf}`)).toMatchObject({ level: 'red', override: { id: o.id } });
  expect(redDays((await get(`/v1/zones/C21/history?from=2021-10-02&to=2021-10-10&as_of=${asOf}`)).days)).toHaveLength(6);
  expect(await feedOf('C21', `&as_of=${asOf}`)).toHaveLength(2);
  expect((await get(`/v1/summary?date=2021-10-05&parent=P&as_of=${asOf}`)).by_level.red.areas).toBe(1);
  // the withdrawal itself is known from its instant
  expect((await get(`/v1/zones/C21?date=2021-10-05&as_of=${encodeURIComponent(w.withdrawn_at)}`)).override).toBeNull();

  const rows = await audits('override.withdraw');
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ target: `override:${o.id}`, areas: ['C21'], before: { level: 'red', from: '2021-10-03', until: '2021-10-08' }, after: { reason: 'nhập nhầm: đúng ra là xã khác', withdrawn_at: w.withdrawn_at } });

  // twice, or ended after: 409
  expect((await http().post(`/v1/zones/C21/overrides/${o.id}/withdraw`).send({ reason: 'lần nữa' }).expect(409)).body.error.code).toBe('override_withdrawn');
  expect((await http().delete(`/v1/zones/C21/overrides/${o.id}`).expect(409)).body.error.code).toBe('override_withdrawn');
  // an ended override can still be withdrawn: its kept days go too
  const p = (await set('C11', { reason: 'Phong tỏa', from: '2021-10-03' }).expect(201)).body;
  await http().delete(`/v1/zones/C11/overrides/${p.id}?from=2021-10-06`).expect(200);
  await http().post(`/v1/zones/C11/overrides/${p.id}/withdraw`).send({ reason: 'sai quyết định' }).expect(200);
  expect(redDays((await get('/v1/zones/C11/history?from=2021-10-02&to=2021-10-10')).days)).toEqual([]);
});

test('refusals: 404 unknown, 409 ending twice, 422 end dates outside the period and bad reasons, 400 both end forms, 401/403 — nothing written', async () => {
  const o = (await set('C11', { reason: 'Phong tỏa', from: '2021-10-03', until: '2021-10-08' }).expect(201)).body;
  const counts = await rowCounts(ctx.db);
  const refused = async (req: request.Test, status: number, code?: string) => {
    const res = await req.expect(status);
    if (code) expect(res.body.error.code).toBe(code);
    return res;
  };
  // the last day before the first day (explicit), or after its own until (also today's default: it ended on its own)
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id}?from=2021-10-02`), 422, 'invalid_end_date');
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id}`).send({ until: '2021-10-02' }), 422, 'invalid_end_date');
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id}`).send({ until: '2021-10-09' }), 422, 'invalid_end_date');
  const own = await refused(http().delete(`/v1/zones/C11/overrides/${o.id}`), 422, 'invalid_end_date');
  expect(own.body.error.message).toContain('08/10/2021');
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id}?from=2021-10-05`).send({ until: '2021-10-05' }), 400);
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id}?from=5-10-2021`), 400);
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id}`).send({ until: '2021-10-05', extra: 1 }), 422);
  await refused(http().post(`/v1/zones/C11/overrides/${o.id}/withdraw`).send({}), 422);
  await refused(http().post(`/v1/zones/C11/overrides/${o.id}/withdraw`).send({ reason: '  ' }), 422);
  await refused(http().post(`/v1/zones/C11/overrides/${o.id}/withdraw`).send({ reason: 'x'.repeat(1001) }), 422);
  await refused(http().post(`/v1/zones/C11/overrides/${o.id}/withdraw`).set('Content-Type', 'text/plain').send('nhầm'), 415);
  // unknown ids, another area's override, an unknown area
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id + 1000}`), 404);
  await refused(http().post(`/v1/zones/C11/overrides/${o.id + 1000}/withdraw`).send({ reason: 'nhầm' }), 404);
  await refused(http().delete(`/v1/zones/C12/overrides/${o.id}?from=2021-10-05`), 404);
  await refused(http().post(`/v1/zones/C12/overrides/${o.id}/withdraw`).send({ reason: 'nhầm' }), 404);
  await refused(http().delete(`/v1/zones/NOPE/overrides/${o.id}`), 404);
  // writes are for admins
  const reporter = (await http().post('/v1/keys').send({ role: 'reporter', scope: ['D1'] }).expect(201)).body.key as string;
  const countsWithKey = await rowCounts(ctx.db);
  const as = () => request.agent(ctx.app).set('Authorization', `Bearer ${reporter}`);
  await refused(as().delete(`/v1/zones/C11/overrides/${o.id}?from=2021-10-05`), 403);
  await refused(as().post(`/v1/zones/C11/overrides/${o.id}/withdraw`).send({ reason: 'nhầm' }), 403);
  await refused(request(ctx.app).post(`/v1/zones/C11/overrides/${o.id}/withdraw`).send({ reason: 'nhầm' }), 401);
  expect(await rowCounts(ctx.db)).toEqual({ ...counts, api_keys: countsWithKey.api_keys, api_key_scopes: countsWithKey.api_key_scopes, audit_log: countsWithKey.audit_log });
  expect(countsWithKey.audit_log).toBe(counts.audit_log + 1); // the key's own creation

  // ending twice: 409 naming its last day
  await http().delete(`/v1/zones/C11/overrides/${o.id}?from=2021-10-06`).expect(200);
  const twice = await refused(http().delete(`/v1/zones/C11/overrides/${o.id}?from=2021-10-06`), 409, 'override_ended');
  expect(twice.body.error.message).toContain('05/10/2021');
  await refused(http().delete(`/v1/zones/C11/overrides/${o.id}`), 409, 'override_ended');
  // an ended override can be ended earlier still (so that a new decision can follow it), never later
  expect((await http().delete(`/v1/zones/C11/overrides/${o.id}?from=2021-10-05`).expect(200)).body).toMatchObject({ until: '2021-10-04' });

  // one that has not started by today simply ends: it covers nothing, no longer blocks its days
  const start = addDays(TODAY, 10);
  const later = (await set('C12', { reason: 'Kế hoạch', from: start }).expect(201)).body;
  expect((await http().delete(`/v1/zones/C12/overrides/${later.id}`).expect(200)).body).toMatchObject({ from: start, until: addDays(start, -1), covers_nothing: true });
  expect((await get(`/v1/zones/C12?date=${start}`)).override).toBeNull();
  await refused(http().delete(`/v1/zones/C12/overrides/${later.id}`), 409, 'override_ended');
  await set('C12', { reason: 'Kế hoạch mới', from: start, until: addDays(start, 3) }).expect(201);
  // so does one ended from its own first day
  const past = (await set('C21', { reason: 'Phong tỏa', from: '2021-10-04', until: '2021-10-06' }).expect(201)).body;
  expect((await http().delete(`/v1/zones/C21/overrides/${past.id}?from=2021-10-04`).expect(200)).body).toMatchObject({ until: '2021-10-03', covers_nothing: true });
  expect((await get('/v1/zones/C21?date=2021-10-04')).override).toBeNull();
});

test('publications see ends and withdrawals; a published reading keeps the override as it stood', async () => {
  const o = (await set('C11', { reason: 'Phong tỏa', from: '2021-10-03' }).expect(201)).body;
  const first = (await http().post('/v1/publications').send({ date: '2021-10-05' }).expect(201)).body;
  await http().delete(`/v1/zones/C11/overrides/${o.id}`).expect(200);
  // published: as it stood at publication — no end yet
  expect((await get('/v1/zones/C11?date=2021-10-05&version=published')).override).toMatchObject({ id: o.id, until: null, ended_at: null });
  const second = (await http().post('/v1/publications').send({ date: '2021-10-05' }).expect(201)).body;
  expect(second.id).not.toBe(first.id);
  await http().post('/v1/publications').send({ date: '2021-10-05' }).expect(200);
  await http().post(`/v1/zones/C11/overrides/${o.id}/withdraw`).send({ reason: 'nhầm' }).expect(200);
  await http().post('/v1/publications').send({ date: '2021-10-05' }).expect(201);
  expect(await get('/v1/zones/C11?date=2021-10-05&version=published')).toMatchObject({ level: 'green', override: null });
});
