import request from 'supertest';
import { smallProvince } from '../helpers/fixtures';
import { secretOf, testContext } from '../helpers/context';

/** Every write path leaves exactly one audit row, with its actor and before/after; a failed write leaves none. */
const ctx = testContext();
afterAll(() => ctx.close());

type Row = { id: number; actor: string; action: string; target: string | null; areas: string[]; before: unknown; after: Record<string, unknown> | null };
const rows = async () => (await ctx.db.knex('audit_log').orderBy('id')) as Row[];

let reporter: { id: number; key: string };

beforeAll(async () => {
  await ctx.reset();
});

/** Runs a write and returns the audit rows it added. */
async function added(write: () => Promise<unknown>): Promise<Row[]> {
  const before = (await rows()).length;
  await write();
  return (await rows()).slice(before);
}

test('each write path: exactly one row, with actor, action, areas and before/after', async () => {
  const areas = await added(() => ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200));
  expect(areas).toHaveLength(1);
  expect(areas[0]).toMatchObject({ actor: 'admin-key', action: 'areas.import', after: { created: 7, updated: 0 } });
  expect(areas[0]?.areas).toEqual(['C11', 'C12', 'C21', 'C22', 'D1', 'D2', 'P']);

  // an update keeps what the area was before
  const renamed = smallProvince();
  (renamed.features[3] as { properties: { name: string } }).properties.name = 'Xã Long Bình Mới';
  const update = await added(() => ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(renamed)).expect(200));
  expect(update).toHaveLength(1);
  expect(update[0]?.before).toMatchObject({ areas: [{ code: 'C11', name: 'Xã Long Bình' }] });

  const key = await added(async () => {
    reporter = (await ctx.http().post('/v1/keys').send({ role: 'reporter', scope: ['D1'] }).expect(201)).body;
  });
  expect(key).toHaveLength(1);
  expect(key[0]).toMatchObject({ action: 'key.create', target: `key:${reporter.id}`, after: { role: 'reporter', scope: ['D1'] } });
  expect(JSON.stringify(key[0])).not.toContain(secretOf(reporter.key));

  const as = () => request.agent(ctx.app).set('Authorization', `Bearer ${reporter.key}`);
  const reports = await added(() =>
    as().post('/v1/reports').send({ reports: [{ area: 'C11', date: '2021-10-01', community_cases: 2, quarantine_cases: 0 }, { area: 'C12', date: '2021-10-02', community_cases: 1, quarantine_cases: 0 }] }).expect(200),
  );
  expect(reports).toHaveLength(1);
  expect(reports[0]).toMatchObject({ actor: `key:${reporter.id}`, action: 'reports.upsert', areas: ['C11', 'C12'], after: { inserted: 2, rows: 2, days: ['2021-10-01', '2021-10-02'] } });
  const correction = await added(() => as().post('/v1/reports').send({ reports: [{ area: 'C11', date: '2021-10-01', community_cases: 5, quarantine_cases: 0 }] }).expect(200));
  expect(correction[0]).toMatchObject({ before: { superseded: 1, kept_in: 'report_revisions' }, after: { updated: 1 } });

  const metrics = await added(() => ctx.http().post('/v1/metrics').send({ metrics: [{ area: 'D1', date: '2021-10-01', name: 'treatment_capacity_ok', value: 1 }] }).expect(200));
  expect(metrics[0]).toMatchObject({ action: 'metrics.upsert', areas: ['D1'] });

  const ruleSet = await added(() => ctx.http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201));
  expect(ruleSet[0]).toMatchObject({ action: 'rule_set.create', target: 'vn-moh-4800-2021@1', after: { created: true } });
  const activation = await added(() => ctx.http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200));
  expect(activation[0]).toMatchObject({ action: 'rule_set.activate', before: { active: null }, after: { active: 'vn-moh-4800-2021@1' } });

  let overrideId = 0;
  const override = await added(async () => {
    overrideId = (await ctx.http().post('/v1/zones/C21/overrides').send({ level: 'red', reason: 'ổ dịch mới', from: '2021-10-01' }).expect(201)).body.id;
  });
  expect(override[0]).toMatchObject({ action: 'override.create', areas: ['C21'], after: { level: 'red', reason: 'ổ dịch mới' } });
  const ended = await added(() => ctx.http().delete(`/v1/zones/C21/overrides/${overrideId}`).expect(200));
  expect(ended[0]).toMatchObject({ action: 'override.end', before: { ended_at: null } });

  const published = await added(() => ctx.http().post('/v1/publications').send({ date: '2021-10-01' }).expect(201));
  expect(published[0]).toMatchObject({ action: 'publication.create', target: '2021-10-01' });

  const revoked = await added(() => ctx.http().delete(`/v1/keys/${reporter.id}`).expect(200));
  expect(revoked[0]).toMatchObject({ action: 'key.revoke', before: { revoked_at: null } });
});

test('a failed write leaves no audit row', async () => {
  const count = (await rows()).length;
  await ctx.http().post('/v1/reports').send({ reports: [{ area: 'C11', date: '2021-10-03', community_cases: -1, quarantine_cases: 0 }] }).expect(422);
  await ctx.http().post('/v1/reports').send({ reports: [{ area: 'NOPE', date: '2021-10-03', community_cases: 1, quarantine_cases: 0 }] }).expect(422);
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'X', name: 'X', kind: 'commune', parent: 'NOPE' }, geometry: { type: 'Point', coordinates: [0, 0] } }] })).expect(422);
  await ctx.http().post('/v1/rule-sets').send({ name: 'bad', metrics: {}, levels: [] }).expect(422);
  await ctx.http().post('/v1/keys').send({ role: 'reporter', scope: ['NOPE'] }).expect(422);
  await ctx.http().delete('/v1/keys/999').expect(404);
  await ctx.http().delete('/v1/zones/C21/overrides/999').expect(404);
  await request(ctx.app).post('/v1/reports').send({ reports: [] }).expect(401);
  expect((await rows()).length).toBe(count);
  // and the trail itself cannot be rewritten
  await expect(ctx.db.knex('audit_log').delete()).rejects.toThrow(/append-only/);
});

test('GET /v1/audit: admins only, newest first, by actor, area and action, paged', async () => {
  const all = (await ctx.http().get('/v1/audit?limit=1000').expect(200)).body;
  expect(all.items.length).toBe((await rows()).length);
  expect(all.items[0].id).toBeGreaterThan(all.items[1].id);
  const byReporter = (await ctx.http().get(`/v1/audit?actor=key:${reporter.id}`).expect(200)).body.items as Row[];
  expect(byReporter.map((r) => r.action)).toEqual(['reports.upsert', 'reports.upsert']);
  const c21 = (await ctx.http().get('/v1/audit?area=C21').expect(200)).body.items as Row[];
  expect(c21.map((r) => r.action).sort()).toEqual(['areas.import', 'override.create', 'override.end']);
  const page = (await ctx.http().get('/v1/audit?limit=2').expect(200)).body;
  expect(page.items).toHaveLength(2);
  const next = (await ctx.http().get(`/v1/audit?limit=2&cursor=${page.next_cursor}`).expect(200)).body;
  expect(next.items[0].id).toBeLessThan(page.items[1].id);
  expect((await ctx.http().get('/v1/audit?action=key.revoke').expect(200)).body.items).toHaveLength(1);
  await ctx.http().get('/v1/audit?since=yesterday').expect(400);
  // an instant carries its offset: one without would be read in the server's time zone
  const first = all.items[all.items.length - 1] as Row & { at: string };
  const bare = (await ctx.http().get(`/v1/audit?since=${encodeURIComponent(first.at.replace(/Z$|[+-]\d{2}:\d{2}$/, ''))}`).expect(400)).body;
  expect(bare.error.details[0]).toMatchObject({ path: 'since', message: expect.stringContaining('with its offset') });
  await ctx.http().get('/v1/audit?since=2021-02-30').expect(400);
  // since after until: refused naming until, as days, as instants, and mixed (a day is the whole day in TZ_REPORTING)
  for (const q of ['since=2021-10-21&until=2021-10-20', 'since=2021-10-20T10:00:00Z&until=2021-10-20T09:59:59Z', 'since=2021-10-21&until=2021-10-20T16:59:59Z']) {
    const refused = (await ctx.http().get(`/v1/audit?${q}`).expect(400)).body;
    expect(refused.error).toMatchObject({ code: 'invalid_query', details: [{ path: 'until', message: expect.stringContaining('must not be before since') }] });
  }
  // the same day, or an instant late on it (17:00Z is 00:00 the next day at +07:00): not refused
  await ctx.http().get('/v1/audit?since=2021-10-21&until=2021-10-20T17:00:00Z').expect(200);
  await ctx.http().get('/v1/audit?since=2021-10-20&until=2021-10-20').expect(200);
  const since = (await ctx.http().get(`/v1/audit?since=${encodeURIComponent(first.at)}`).expect(200)).body.items as Row[];
  expect(since.length).toBeGreaterThan(0);
  // days: the whole day in TZ_REPORTING (Asia/Ho_Chi_Minh): 18:00 UTC on 19 October is 01:00 on the 20th there
  await ctx.db.knex('audit_log').insert({ at: '2021-10-19T18:00:00Z', actor: 'system', action: 'test.day', target: null });
  const onDay = async (q: string) => ((await ctx.http().get(`/v1/audit?action=test.day&${q}`).expect(200)).body.items as Row[]).length;
  expect(ctx.config.reportingTimeZone).toBe('Asia/Ho_Chi_Minh');
  expect([await onDay('since=2021-10-20&until=2021-10-20'), await onDay('until=2021-10-19'), await onDay('since=2021-10-21'), await onDay('since=2021-10-19&until=2021-10-19')]).toEqual([1, 0, 0, 0]);
  expect([await onDay('until=2021-10-19T18:00:00Z'), await onDay('until=2021-10-19T18:00:01Z'), await onDay('since=2021-10-20T01:00:00%2B07:00')]).toEqual([0, 1, 1]);
  const readerKey = (await ctx.http().post('/v1/keys').send({ role: 'reader' }).expect(201)).body.key;
  await request.agent(ctx.app).set('Authorization', `Bearer ${readerKey}`).get('/v1/audit').expect(403);
  await request(ctx.app).get('/v1/audit').expect(401);
});
