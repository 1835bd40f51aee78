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
  await ctx.http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await ctx.http().post('/v1/recompute').send({ date: '2021-10-31' }).expect(200);
  await request(ctx.app).get('/v1/areas/VNM.17.1_1').expect(200);
  const res = await request(ctx.app).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  expect(res.text).toMatch(/zonerisk_http_request_duration_seconds_count\{method="GET",route="\/v1\/areas\/:code",status="200"\} \d+/);
  expect(res.text).toMatch(/zonerisk_recompute_duration_seconds_count\{trigger="api",status="succeeded"\} [1-9]/);
  const last = /zonerisk_recompute_last_success_timestamp_seconds (\d+(\.\d+)?)/.exec(res.text);
  expect(Number(last?.[1])).toBeGreaterThan(Date.now() / 1000 - 600);
  expect(res.text).toMatch(/^process_resident_memory_bytes \d/m);
});

test('security headers, with a content policy that lets the map page run its workers', async () => {
  const res = await request(ctx.app).get('/').set('Accept', 'text/html').expect(200);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['content-security-policy']).toMatch(/worker-src 'self' blob:/);
  expect(res.headers['x-powered-by']).toBeUndefined();
});

test('HTTPS is asked of browsers only when the public URL is https (over plain HTTP the page would fetch its own scripts over https)', async () => {
  const plain = await request(ctx.app).get('/').set('Accept', 'text/html').expect(200);
  expect(plain.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
  expect(plain.headers['strict-transport-security']).toBeUndefined();
  const behindTls = testContext({ publicUrl: 'https://zonerisk.example.vn' });
  try {
    const res = await request(behindTls.app).get('/').set('Accept', 'text/html').expect(200);
    expect(res.headers['content-security-policy']).toMatch(/upgrade-insecure-requests/);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  } finally {
    await behindTls.close();
  }
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

test('a JSON body that is not UTF-8 is refused (400), not stored with U+FFFD', async () => {
  const bad = Buffer.concat([Buffer.from('{"reports":[{"area":"X","date":"2021-10-01","community_cases":1,"quarantine_cases":0,"source":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
  const server = ctx.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const port = (server.address() as { port: number }).port;
    // the bytes as they are (a client library would re-encode a string)
    const res = await fetch(`http://127.0.0.1:${port}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` }, body: bad });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'invalid_utf8', details: [{ path: '(body)' }] });
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('bodies are as large as the route takes: 1 MB for a rule set or a key, ZONERISK_BODY_LIMIT for imports', async () => {
  const big = JSON.stringify({ name: 'x', note: 'y'.repeat(1_100_000) });
  // a rule set over its size is over the rule-set limits (422, as when its contents are)
  const refused = await ctx.http().post('/v1/rule-sets').set('Content-Type', 'application/json').send(big).expect(422);
  expect(refused.body.error).toMatchObject({ code: 'rule_set_too_large', details: [{ path: 'Content-Length', message: 'at most 1048576 bytes' }] });
  const key = await ctx.http().post('/v1/keys').set('Content-Type', 'application/json').send(big).expect(413);
  expect(key.body.error.code).toBe('payload_too_large');
  // the same size is read by an import (and judged on its content)
  const reports = JSON.stringify({ reports: [{ area: 'nowhere', date: '2021-10-01', community_cases: 1, quarantine_cases: 0, source: 'y'.repeat(1_100_000) }] });
  const read = await ctx.http().post('/v1/reports').set('Content-Type', 'application/json').send(reports);
  expect(read.status).toBe(422);
});
