import type { Feature } from 'geojson';
import request from 'supertest';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, secretOf, TEST_ADMIN_KEY, testContext } from '../helpers/context';

/** API keys: 401 without or with a bad key, 403 by role and by area scope, hashed at rest, revocable. */
const ctx = testContext();
const anon = () => request(ctx.app);
const as = (key: string) => request.agent(ctx.app).set('Authorization', `Bearer ${key}`);
afterAll(() => ctx.close());

let reader: string;
let reporterD1: string;
let reporterId: number;

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  reader = (await ctx.http().post('/v1/keys').send({ role: 'reader', name: 'dashboard' }).expect(201)).body.key;
  const rep = (await ctx.http().post('/v1/keys').send({ role: 'reporter', scope: ['D1'], name: 'Huyện Một health office' }).expect(201)).body;
  reporterD1 = rep.key;
  reporterId = rep.id;
  expect(rep).toMatchObject({ role: 'reporter', scope: ['D1'], name: 'Huyện Một health office', revoked_at: null });
  expect(rep.key).toMatch(/^zr_[a-z0-9]{8}_[A-Za-z0-9_-]{32}$/);
});

const report = (area: string, date = '2021-10-01') => ({ reports: [{ area, date, community_cases: 3, quarantine_cases: 1 }] });

test('no key → 401 on a write, with the contract error shape; reads stay public', async () => {
  const res = await anon().post('/v1/reports').set('Content-Type', 'application/json').send(report('C11')).expect(401);
  expect(res.body.error.code).toBe('unauthorized');
  expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  await anon().get('/v1/areas?kind=commune').expect(200);
  await anon().get('/health').expect(200);
});

test('a malformed, unknown or wrong key → 401, also on a read', async () => {
  for (const key of ['nonsense', 'zr_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', `${reader.slice(0, -1)}${reader.endsWith('A') ? 'B' : 'A'}`]) {
    await as(key).post('/v1/reports').set('Content-Type', 'application/json').send(report('C11')).expect(401);
    await as(key).get('/v1/areas').expect(401);
  }
  await anon().get('/v1/areas').set('Authorization', 'Basic abc').expect(401);
});

test('a reader key reads but every write is 403, and nothing is written', async () => {
  const before = await rowCounts(ctx.db);
  await as(reader).get('/v1/zones').expect(200);
  const res = await as(reader).post('/v1/reports').set('Content-Type', 'application/json').send(report('C11')).expect(403);
  expect(res.body.error.code).toBe('forbidden');
  await as(reader).post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(403);
  await as(reader).get('/v1/keys').expect(403);
  expect(await rowCounts(ctx.db)).toEqual(before);
});

test('a reporter scoped to district D1 writes its communes and the district, not D2s; nothing of a mixed batch is written', async () => {
  await as(reporterD1).post('/v1/reports').set('Content-Type', 'application/json').send(report('C11')).expect(200);
  await as(reporterD1).post('/v1/reports').set('Content-Type', 'application/json').send(report('D1')).expect(200);
  const before = await rowCounts(ctx.db);
  const mixed = { reports: [...report('C12', '2021-10-02').reports, ...report('C21', '2021-10-02').reports] };
  const res = await as(reporterD1).post('/v1/reports').set('Content-Type', 'application/json').send(mixed).expect(403);
  expect(res.body.error.details).toEqual([{ path: 'reports[1].area', message: "area C21 is outside this key's scope on that day" }]);
  expect(res.body.error.message).toBe("1 dòng thuộc đơn vị ngoài phạm vi của khoá này; không có gì được ghi — 1 row(s) for areas outside this key's scope; nothing was written");
  const csv = 'area,date,community_cases,quarantine_cases\nC12,2021-10-03,1,0\nC22,2021-10-03,1,0\n';
  const byCsv = await as(reporterD1).post('/v1/reports').set('Content-Type', 'text/csv').send(csv).expect(403);
  expect(byCsv.body.error.details).toEqual([{ path: 'line[3].area', message: "area C22 is outside this key's scope on that day" }]);
  await as(reporterD1).post('/v1/metrics').set('Content-Type', 'application/json').send({ metrics: [{ area: 'P', date: '2021-10-02', name: 'treatment_capacity_ok', value: 1 }] }).expect(403);
  expect(await rowCounts(ctx.db)).toEqual(before);
  // the rest of the API is not a reporter's
  await as(reporterD1).post('/v1/recompute').send({ date: '2021-10-01' }).expect(403);
  await as(reporterD1).post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(403);
});

test("a reporter cannot move a neighbour's commune into its scope, by any spelling (issue 12)", async () => {
  const c21 = (smallProvince().features as Feature[]).filter((f) => f.properties?.code === 'C21');
  const moved = { type: 'FeatureCollection', features: c21.map((f) => ({ ...f, properties: { ...f.properties, parent: 'D1' } })) };
  for (const path of ['/v1/areas', '/V1/areas', '/v1//areas', '/v1/areas/']) {
    const res = await as(reporterD1).post(path).set('Content-Type', 'application/json').send(JSON.stringify(moved));
    expect([path, res.status]).toEqual([path, 403]); // areas are an admin's, by any spelling
  }
  const parent = await ctx.db.knex('areas as a').join('areas as p', 'p.id', 'a.parent_id').where('a.code', 'C21').first('p.code');
  expect(parent.code).toBe('D2');
  await as(reporterD1).post('/v1/reports').set('Content-Type', 'application/json').send(report('C21', '2021-10-05')).expect(403);
});

test('keys are stored as salted hashes: no column holds the key or its secret', async () => {
  const rows = (await ctx.db.knex.raw<{ rows: Record<string, unknown>[] }>('SELECT * FROM api_keys')).rows;
  expect(rows.length).toBe(2);
  const dump = JSON.stringify(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') + v.toString('latin1') + v.toString('base64url') : v]))));
  for (const key of [reader, reporterD1]) {
    const secret = secretOf(key);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(key);
  }
  const listed = (await ctx.http().get('/v1/keys').expect(200)).body.items as Record<string, unknown>[];
  expect(JSON.stringify(listed)).not.toContain(secretOf(reader));
  expect(listed.find((k) => k.id === reporterId)).toMatchObject({ role: 'reporter', scope: ['D1'] });
  expect(listed.find((k) => k.id === reporterId)?.last_used_at).not.toBeNull();
});

test('a revoked key → 401 at once', async () => {
  const key = (await ctx.http().post('/v1/keys').send({ role: 'reporter', scope: ['D2'] }).expect(201)).body;
  await as(key.key).post('/v1/reports').set('Content-Type', 'application/json').send(report('C21')).expect(200);
  const revoked = (await ctx.http().delete(`/v1/keys/${key.id}`).expect(200)).body;
  expect(revoked.revoked_at).not.toBeNull();
  await as(key.key).post('/v1/reports').set('Content-Type', 'application/json').send(report('C22')).expect(401);
  await ctx.http().delete(`/v1/keys/${key.id}`).expect(404);
});

test('bad key requests are 422 naming the field; only admins manage keys', async () => {
  const noScope = await ctx.http().post('/v1/keys').send({ role: 'reporter' }).expect(422);
  expect(noScope.body.error.details[0].path).toBe('scope');
  await ctx.http().post('/v1/keys').send({ role: 'reporter', scope: ['NOPE'] }).expect(422);
  await ctx.http().post('/v1/keys').send({ role: 'admin', scope: ['D1'] }).expect(422);
  const badRole = await ctx.http().post('/v1/keys').send({ role: 'root' }).expect(422);
  expect(badRole.body.error.details[0].path).toBe('role');
  await as(reporterD1).post('/v1/keys').send({ role: 'admin' }).expect(403);
  await anon().get('/v1/keys').expect(401);
});

test('with ZONERISK_PUBLIC_READS=false, reads need a key too (but not health or the map page)', async () => {
  const closed = testContext({ publicReads: false });
  try {
    await request(closed.app).get('/v1/zones').expect(401);
    await request(closed.app).get('/v1/zones.geojson').expect(401);
    await request(closed.app).get('/ogc/collections/zones/items').expect(401);
    await request(closed.app).get('/health').expect(200);
    await request(closed.app).get('/').set('Accept', 'text/html').expect(200);
    await request.agent(closed.app).set('Authorization', `Bearer ${reader}`).get('/v1/zones').expect(200);
    await request.agent(closed.app).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).get('/v1/zones').expect(200);
  } finally {
    await closed.close();
  }
});
