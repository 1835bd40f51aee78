import request from 'supertest';
import { LocalDate } from '../../src/domain/dates';
import { seedDemo } from '../../seeds';
import { TEST_ADMIN_KEY, testContext } from '../helpers/context';

/** Request ids, metrics, security headers, CORS and rate limits. */
const ctx = testContext();
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.reset();
  await seedDemo(ctx.db, '2021-10-31' as LocalDate);
});

test('a request id on every response and in every error body; a sane one given is kept', async () => {
  const made = await request(ctx.app).get('/v1/areas?limit=1').expect(200);
  expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  const kept = await request(ctx.app).get('/v1/areas/NOPE').set('X-Request-Id', 'cc-2021-10-31.42').expect(404);
  expect(kept.headers['x-request-id']).toBe('cc-2021-10-31.42');
  expect(kept.body.error).toMatchObject({ code: 'not_found', request_id: 'cc-2021-10-31.42' });
  const insane = await request(ctx.app).get('/health').set('X-Request-Id', 'x'.repeat(200)).expect(200);
  expect(insane.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
});

test('GET /metrics: request latency per route, recompute duration and last success', async () => {
  await ctx.http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await ctx.http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').expect(200);
  await ctx.http().post('/v1/recompute').send({ date: '2021-10-31' }).expect(200);
  await request(ctx.app).get('/v1/areas/VNM.17.1_1').expect(200);
  const res = await request(ctx.app).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  expect(res.text).toMatch(/zonerisk_http_request_duration_seconds_count\{method="GET",route="\/v1\/areas\/:code",status="200"\} \d+/);
  expect(res.text).toMatch(/zonerisk_recompute_duration_seconds_count\{trigger="api",status="succeeded"\} [1-9]/);
  const last = /zonerisk_recompute_last_success_timestamp_seconds (\d+(\.\d+)?)/.exec(res.text);
  expect(Number(last?.[1])).toBeGreaterThan(Date.now() / 1000 - 600);
  expect(res.text).toMatch(/zonerisk_process_resident_memory_bytes/);
});

test('security headers, with a content policy that lets the map page run its workers', async () => {
  const res = await request(ctx.app).get('/').set('Accept', 'text/html').expect(200);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['content-security-policy']).toMatch(/worker-src 'self' blob:/);
  expect(res.headers['x-powered-by']).toBeUndefined();
});

test('CORS only for the configured origins', async () => {
  const open = await request(ctx.app).get('/v1/areas?limit=1').set('Origin', 'https://map.example.vn').expect(200);
  expect(open.headers['access-control-allow-origin']).toBeUndefined(); // none configured
  const withCors = testContext({ corsOrigins: ['https://map.example.vn'] });
  try {
    const pre = await request(withCors.app).options('/v1/reports').set('Origin', 'https://map.example.vn').set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers['access-control-allow-origin']).toBe('https://map.example.vn');
    const other = await request(withCors.app).get('/v1/areas?limit=1').set('Origin', 'https://evil.example').expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const exposed = await request(withCors.app).get('/v1/areas?limit=1').set('Origin', 'https://map.example.vn').expect(200);
    expect(exposed.headers['access-control-expose-headers']).toMatch(/X-Request-Id/);
  } finally {
    await withCors.close();
  }
});

test('rate limits per key: the fourth write in a minute is 429, reads and other keys unaffected', async () => {
  const limited = testContext({ writeRate: 3, readRate: 1000 });
  try {
    const other = (await limited.http().post('/v1/keys').send({ role: 'reporter', scope: ['VNM.17.1_1'] }).expect(201)).body.key as string;
    const as = (key: string) => request.agent(limited.app).set('Authorization', `Bearer ${key}`);
    const write = (key: string) => as(key).post('/v1/metrics').send({ metrics: [] });
    await write(TEST_ADMIN_KEY); // 2nd and 3rd writes of the admin key (the key creation was the 1st)
    await write(TEST_ADMIN_KEY);
    const refused = await write(TEST_ADMIN_KEY).expect(429);
    expect(refused.body.error).toMatchObject({ code: 'rate_limited' });
    expect(refused.headers['retry-after']).toBeDefined();
    await as(TEST_ADMIN_KEY).get('/v1/areas?limit=1').expect(200);
    expect((await write(other)).status).not.toBe(429);
  } finally {
    await limited.close();
  }
});
