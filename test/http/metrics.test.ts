import request from 'supertest';
import { loadConfig } from '../../src/config';
import { connectDatabase } from '../../src/db/database';
import { today } from '../../src/domain/dates';
import { createApp } from '../../src/http/app';
import { createRuntime } from '../../src/runtime';
import { TEST_ADMIN_KEY, testContext } from '../helpers/context';
import { serviceEnv, startProcess, stopProcess } from '../helpers/service';

/**
 * GET /metrics as dashboards expect it: the process's metrics under their standard names,
 * the service's own `zonerisk_*`, the figures gauges read from the database at scrape time
 * (a database outage does not fail the scrape), and who may scrape (docs/OPERATIONS.md).
 */
const ctx = testContext();
const METRICS_KEY_FOR_PORT = 'port-scraper-key-0123456789';
const TODAY = today(ctx.config.reportingTimeZone);
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.demo(TODAY, 1); // the demo ending today, today classified
});

/** The value of one sample of a Prometheus text exposition (undefined: absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean);
    if (want.every((w) => got.includes(w)) && got.length === want.length) return Number(m[3]);
  }
  return undefined;
}

test('process and Node.js metrics under their standard names; the service’s own stay zonerisk_*', async () => {
  const res = await request(ctx.app).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  expect(sample(res.text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  expect(sample(res.text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(res.text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  expect(res.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  expect(res.text).not.toMatch(/zonerisk_process_|zonerisk_nodejs_/);
  expect(res.text).toMatch(/^zonerisk_http_request_duration_seconds_bucket\{/m);
});

test('areas per kind and level today match the summary of the classified day', async () => {
  const res = await request(ctx.app).get('/metrics').expect(200);
  expect(sample(res.text, 'zonerisk_figures_up')).toBe(1);
  for (const kind of ['commune', 'district', 'province']) {
    const summary = (await request(ctx.app).get(`/v1/summary?date=${TODAY}&kind=${kind}`).expect(200)).body as { total: { areas: number }; by_level: Record<string, { areas: number }> };
    let total = 0;
    for (const level of ['green', 'yellow', 'orange', 'red', 'unknown']) {
      const n = sample(res.text, 'zonerisk_areas', { kind, level });
      expect({ kind, level, n }).toEqual({ kind, level, n: summary.by_level[level]?.areas });
      total += n ?? 0;
    }
    expect(total).toBe(summary.total.areas);
  }
  // the classified day has real levels, not only unknowns
  const communes = ['green', 'yellow', 'orange', 'red'].map((level) => sample(res.text, 'zonerisk_areas', { kind: 'commune', level }) ?? 0);
  expect(communes.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  // every kind × level is shown, zeros included (a level that empties reads 0, not stale)
  expect(sample(res.text, 'zonerisk_areas', { kind: 'subcommune', level: 'red' })).toBe(0);
});

test('the last classified day, its age, the last ingest and the webhook backlog', async () => {
  const res = await request(ctx.app).get('/metrics').expect(200);
  expect(sample(res.text, 'zonerisk_last_classified_day_timestamp_seconds')).toBe(Date.parse(`${TODAY}T00:00:00Z`) / 1000);
  expect(sample(res.text, 'zonerisk_last_classified_day_age_days')).toBe(0);
  const ingest = sample(res.text, 'zonerisk_last_ingest_timestamp_seconds') ?? 0;
  expect(ingest).toBeGreaterThan(Date.now() / 1000 - 600); // the demo's reports, recorded minutes ago at most
  expect(ingest).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  expect(sample(res.text, 'zonerisk_webhook_backlog')).toBe(0);
});

test('a database outage does not fail the scrape: the process metrics answer, zonerisk_figures_up is 0', async () => {
  const db = connectDatabase('postgres://postgres@127.0.0.1:1/none', 1, false);
  try {
    const app = createApp(createRuntime(ctx.config, db));
    const res = await request(app).get('/metrics').expect(200);
    expect(sample(res.text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(res.text, 'zonerisk_figures_up')).toBe(0);
  } finally {
    await db.close();
  }
});

describe('who may scrape', () => {
  const METRICS_KEY = 'scraper-key-0123456789abcdef';

  test('ZONERISK_METRICS_KEY: its bearer (or an admin key) only; it opens nothing else', async () => {
    const keyed = testContext({ metricsKey: METRICS_KEY });
    try {
      const reader = (await keyed.http().post('/v1/keys').send({ role: 'reader' }).expect(201)).body.key as string;
      expect((await request(keyed.app).get('/metrics').expect(401)).body.error.code).toBe('unauthorized');
      await request(keyed.app).get('/metrics').set('Authorization', 'Bearer not-the-metrics-key-000').expect(401);
      await request(keyed.app).get('/metrics').set('Authorization', `Bearer ${reader}`).expect(403);
      const scraped = await request(keyed.app).get('/metrics').set('Authorization', `Bearer ${METRICS_KEY}`).expect(200);
      expect(sample(scraped.text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      await request(keyed.app).get('/metrics').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200);
      // the metrics key is no API key: a read or a write with it is refused
      await request(keyed.app).get('/v1/areas?limit=1').set('Authorization', `Bearer ${METRICS_KEY}`).expect(401);
      await request(keyed.app).post('/v1/recompute').set('Authorization', `Bearer ${METRICS_KEY}`).send({ date: TODAY }).expect(401);
    } finally {
      await keyed.close();
    }
  });

  test('private reads and no metrics setting: /metrics needs an admin key (a reader key is for levels)', async () => {
    const closed = testContext({ publicReads: false });
    try {
      const reader = (await closed.http().post('/v1/keys').send({ role: 'reader' }).expect(201)).body.key as string;
      await request(closed.app).get('/metrics').expect(401);
      await request(closed.app).get('/metrics').set('Authorization', `Bearer ${reader}`).expect(403);
      await closed.http().get('/metrics').expect(200); // the test context's admin key
    } finally {
      await closed.close();
    }
  });

  test('the configuration refuses a short metrics key and a metrics port equal to PORT', () => {
    expect(() => loadConfig({ ZONERISK_METRICS_KEY: 'short' })).toThrow(/ZONERISK_METRICS_KEY/);
    expect(() => loadConfig({ PORT: '3000', ZONERISK_METRICS_PORT: '3000' })).toThrow(/ZONERISK_METRICS_PORT/);
    expect(loadConfig({ ZONERISK_METRICS_KEY: 'scraper-key-0123456789abcdef', ZONERISK_METRICS_PORT: '9464' })).toMatchObject({ metricsKey: 'scraper-key-0123456789abcdef', metricsPort: 9464 });
    expect(loadConfig({})).toMatchObject({ metricsKey: null, metricsPort: null });
  });
});

test('ZONERISK_METRICS_PORT: a started service serves /metrics on that port only (with its key when set)', async () => {
  const port = 3400 + Math.floor(Math.random() * 100);
  const svc = await startProcess(serviceEnv({ ZONERISK_METRICS_PORT: String(port), ZONERISK_METRICS_KEY: METRICS_KEY_FOR_PORT }));
  try {
    expect((await fetch(`${svc.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    expect((await fetch(metricsUrl)).status).toBe(401);
    const res = await fetch(metricsUrl, { headers: { Authorization: `Bearer ${METRICS_KEY_FOR_PORT}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'zonerisk_figures_up')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${port}/v1/areas`, { headers: { Authorization: `Bearer ${METRICS_KEY_FOR_PORT}` } })).status).toBe(404);
  } finally {
    await stopProcess(svc);
  }
});
