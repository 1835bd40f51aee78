import { ChildProcess, spawn } from 'node:child_process';
import { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { addDays, LocalDate } from '../../src/domain/dates';
import { RULE_SET_LIMITS } from '../../src/domain/rules/definition';
import { SMALL_BODY_BYTES } from '../../src/http/access';
import { CHANGES_PAGE_DAYS } from '../../src/services/levels';
import { TEST_ADMIN_KEY, testContext } from '../helpers/context';
import { hugeAnyRuleSet, maximalRuleSet } from '../helpers/maximal-rule-set';
import { writeFigures } from '../helpers/service';

/**
 * Bounded work per request, on a real listening server (real HTTP): a rule set beyond the
 * size limits is refused before it costs anything, the largest allowed one previews
 * without stopping the request thread, and long change-feed ranges come in bounded pages
 * computed by PostgreSQL. While the heavy requests run, a separate process polls /health
 * (its latency is what a load balancer sees) and this process records its own event-loop
 * delay (how long the request thread was held at a time). Both are printed; the asserted
 * bound (BOUND_MS) is generous for a shared machine, and the request-thread versions of
 * this code held it for seconds on this data (see docs/RELIABILITY.md).
 *
 * Data: the Đồng Nai demo plus ~10,000 synthetic sub-communes (58 under each commune,
 * one report each), the last 12 days classified: 10,101 areas, close to a country's 11,360.
 */
const ctx = testContext();
/** The app's classification worker (its runtime's previews). */
const classifyWorker = ctx.rt.previews.worker;
const END = '2021-10-31' as LocalDate;
const PER_COMMUNE = 58;
/** Days classified before the change feeds are read. */
const DAYS = 12;
/** Generous: this machine is shared (an idle process sees ~60 ms stalls under its load); the request-thread code stalled for 2–70 s on a national set (docs/RELIABILITY.md). */
const BOUND_MS = 2000;
let server: Server;
let base = '';
let areas = 0;

const auth = { Authorization: `Bearer ${TEST_ADMIN_KEY}`, 'Content-Type': 'application/json' };
const post = (path: string, body?: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: auth, body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body) });
const get = (path: string) => fetch(`${base}${path}`, { headers: auth });

/** Polls /health from another process every 20 ms; its latencies, in ms, on stop. */
function healthPoller(): { stop: () => Promise<number[]> } {
  const script = `
    const http = require('node:http');
    const out = [];
    let stopping = false;
    process.on('SIGTERM', () => { stopping = true; });
    (async function loop() {
      while (!stopping) {
        const t = process.hrtime.bigint();
        await new Promise((resolve) => http.get(${JSON.stringify(`${base}/health`)}, (res) => { res.resume(); res.on('end', resolve); }).on('error', resolve));
        out.push(Number(process.hrtime.bigint() - t) / 1e6);
        await new Promise((r) => setTimeout(r, 20));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const proc: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  proc.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  const done = new Promise<number[]>((resolve) => proc.on('exit', () => resolve(text ? (JSON.parse(text) as number[]) : [])));
  return {
    stop: async () => {
      proc.kill('SIGTERM');
      return done;
    },
  };
}

/** Runs `work` while /health is polled from outside and the event-loop delay is recorded here. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; healthMaxMs: number; healthP99Ms: number; polls: number; loopMaxMs: number; ms: number }> {
  const poller = healthPoller();
  await new Promise((r) => setTimeout(r, 300)); // the poller's first answers: before the work
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t = performance.now();
  const value = await work();
  const ms = performance.now() - t;
  loop.disable();
  const latencies = (await poller.stop()).sort((a, b) => a - b);
  return {
    value,
    healthMaxMs: Math.round(latencies[latencies.length - 1] ?? NaN),
    healthP99Ms: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? NaN),
    polls: latencies.length,
    loopMaxMs: Math.round(loop.max / 1e6),
    ms: Math.round(ms),
  };
}

const figures: Record<string, unknown> = {};

beforeAll(async () => {
  await ctx.demo(END);
  // ~10,000 sub-communes, each with a report on the last day (enough for every windowed metric to have a value)
  await ctx.db.knex.raw(
    `INSERT INTO areas (code, name, name_search, kind, parent_id, population, geom, label_point)
     SELECT c.code || '-kp' || i, 'Khu phố ' || i, 'khu pho ' || i, 'subcommune', c.id, 500 + (c.id * 37 + i * 11) % 5000, g, ST_PointOnSurface(g)
     FROM (SELECT id, code, row_number() OVER (ORDER BY id) AS n FROM areas WHERE kind = 'commune') c
     CROSS JOIN generate_series(1, ?::int) AS i
     CROSS JOIN LATERAL (SELECT ST_Multi(ST_MakeEnvelope(100 + c.n * 0.01 + i * 0.0001, 5, 100 + c.n * 0.01 + i * 0.0001 + 0.00005, 5.00005, 4326)) AS g) geom`,
    [PER_COMMUNE],
  );
  await ctx.db.knex.raw('SELECT zonerisk_rebuild_area_tree()');
  await ctx.db.knex.raw(
    `INSERT INTO reports (area_id, date, community_cases, quarantine_cases)
     SELECT id, ?::date, (id * 7) % 13, (id * 3) % 5 FROM areas WHERE kind = 'subcommune'`,
    [END],
  );
  areas = Number((await ctx.db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c);
  const res = await ctx.http().post('/v1/recompute').send({ from: addDays(END, -(DAYS - 1)), to: END });
  expect([200, 202]).toContain(res.status);
  if (res.status === 202) {
    for (let i = 0; i < 1200; i++) {
      const job = (await ctx.http().get(`/v1/jobs/${res.body.job.id}`).expect(200)).body;
      if (job.status === 'succeeded') break;
      expect(job.status).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  server = ctx.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  writeFigures('bounded-work', figures);
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await classifyWorker.stop();
  await ctx.close();
});

describe('bounded work per request', () => {
  test('a rule set with a 200,000-item any is refused with 422 naming the limit, unread, and nothing is stored', async () => {
    const before = await ctx.db.knex('rule_sets').count<{ c: number }[]>('* as c');
    const body = JSON.stringify(hugeAnyRuleSet(200_000)); // 8.9 MB, written before the clock starts
    const m = await measured(async () => {
      const res = await post('/v1/rule-sets', body);
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string; details: { path: string; message: string }[] } } };
    });
    // over the 1 MB a rule set may take: refused from its declared size, before it is read
    expect(m.value.status).toBe(422);
    expect(m.value.body.error.code).toBe('rule_set_too_large');
    expect(m.value.body.error.details).toEqual([{ path: 'Content-Length', message: `at most ${SMALL_BODY_BYTES} bytes` }]);
    expect(await ctx.db.knex('rule_sets').count<{ c: number }[]>('* as c')).toEqual(before);
    figures.huge_rule_set = { bytes: body.length, status: m.value.status, ms: m.ms, health_max_ms: m.healthMaxMs, event_loop_max_ms: m.loopMaxMs };
    // within the size, the contents' limits: a 5,000-item any is read and refused by the count
    const many = await post('/v1/rule-sets', JSON.stringify(hugeAnyRuleSet(5_000)));
    const refused = (await many.json()) as { error: { code: string; message: string; details: { path: string; message: string }[] } };
    expect(many.status).toBe(422);
    expect(refused.error.code).toBe('rule_set_too_large');
    expect(refused.error.details).toEqual([
      { path: 'levels[0].steps[0].rules[0].when.any', message: `5,000 items: at most ${RULE_SET_LIMITS.listItems} conditions in one any (rule-set limit)` },
    ]);
    expect(await ctx.db.knex('rule_sets').count<{ c: number }[]>('* as c')).toEqual(before);
  });

  test('the largest allowed rule set previews over ~10,000 areas in the worker; the request thread stays free', async () => {
    const created = await post('/v1/rule-sets', maximalRuleSet('maximal-bounded'));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const started = classifyWorker.started;
    const m = await measured(async () => {
      const res = await post(`/v1/rule-sets/${id}/preview?date=${END}`);
      return { status: res.status, body: (await res.json()) as { areas: number; changed: number; items: { code: string; level: string; current: string }[] } };
    });
    expect(m.value.status).toBe(200);
    expect(m.value.body.areas).toBe(areas);
    expect(m.value.body.items).toHaveLength(areas);
    // the worker did it (started for it, or already running from an earlier preview)
    expect(classifyWorker.started).toBeGreaterThanOrEqual(Math.max(1, started));
    // levels were computed, not all unknown for want of inputs
    expect(m.value.body.items.filter((i) => i.level !== 'unknown').length).toBeGreaterThan(areas / 2);
    figures.maximal_preview = { areas, preview_ms: m.ms, health_polls: m.polls, health_max_ms: m.healthMaxMs, health_p99_ms: m.healthP99Ms, event_loop_max_ms: m.loopMaxMs };
    expect(m.loopMaxMs).toBeLessThan(BOUND_MS);
    expect(m.healthMaxMs).toBeLessThan(BOUND_MS);
  }, 300_000);

  test('a worker that dies mid-preview: that preview is a 503, the next one starts a new worker and answers', async () => {
    const started = classifyWorker.started;
    const dying = post(`/v1/rule-sets/vn-moh-4800-2021@1/preview?date=${END}`);
    for (let i = 0; i < 600 && classifyWorker.pendingTasks === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(classifyWorker.pendingTasks).toBe(1);
    await classifyWorker.stop();
    const res = await dying;
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('worker_unavailable');
    const again = await post(`/v1/rule-sets/vn-moh-4800-2021@1/preview?date=${END}`);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { areas: number }).areas).toBe(areas);
    expect(classifyWorker.started).toBe(started + 1);
  }, 120_000);

  test('previews beyond the waiting room are refused with 503 and Retry-After, the others answer', async () => {
    const statuses = await Promise.all(Array.from({ length: 8 }, () => post(`/v1/rule-sets/vn-moh-4800-2021@1/preview?date=${END}`).then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), body: await r.text() }))));
    const ok = statuses.filter((s) => s.status === 200);
    const busy = statuses.filter((s) => s.status === 503);
    expect(ok.length + busy.length).toBe(8);
    expect(ok.length).toBeGreaterThanOrEqual(5); // one running and four waiting at least
    for (const b of busy) expect([b.retry, JSON.parse(b.body).error.code]).toEqual(['5', 'busy']);
  }, 300_000);

  test('five parallel year-long change feeds page through in bounded pages; the request thread stays free', async () => {
    const since = addDays(END, -365);
    const follow = async () => {
      const items: { date: string; code: string }[] = [];
      let pages = 0;
      for (let cursor: string | null = null; pages === 0 || cursor !== null; pages++) {
        const res = await get(`/v1/changes?since=${since}&until=${END}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        const page = (await res.json()) as { items: { date: string; code: string }[]; next_cursor: string | null };
        // a page covers at most CHANGES_PAGE_DAYS days
        if (page.items.length) expect(addDays(page.items[0]?.date as LocalDate, CHANGES_PAGE_DAYS - 1) >= (page.items[page.items.length - 1]?.date as string)).toBe(true);
        items.push(...page.items);
        cursor = page.next_cursor;
      }
      return { items, pages };
    };
    const m = await measured(() => Promise.all(Array.from({ length: 5 }, follow)));
    const [first] = m.value;
    // the five agree, every page continued where the last stopped (ordered by date, then code, no repeats)
    for (const r of m.value) expect(r.items).toEqual(first?.items);
    const keys = (first?.items ?? []).map((i) => `${i.date} ${i.code}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(keys);
    expect(first?.pages).toBeGreaterThanOrEqual(Math.ceil(366 / CHANGES_PAGE_DAYS));
    expect(keys.length).toBeGreaterThan(areas / 10);
    figures.year_of_changes_5_parallel = { areas, pages_each: first?.pages, changes_each: keys.length, ms: m.ms, health_polls: m.polls, health_max_ms: m.healthMaxMs, health_p99_ms: m.healthP99Ms, event_loop_max_ms: m.loopMaxMs };
    expect(m.loopMaxMs).toBeLessThan(BOUND_MS);
    expect(m.healthMaxMs).toBeLessThan(BOUND_MS);
  }, 300_000);

  test('small pages (limit) continue exactly where the last stopped, within a day too', async () => {
    const since = addDays(END, -8);
    const walk = async (limit: number | null) => {
      const items: { date: string }[] = [];
      let pages = 0;
      for (let cursor: string | null = null; pages === 0 || cursor !== null; pages++) {
        const res = await get(`/v1/changes?since=${since}&until=${END}${limit ? `&limit=${limit}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
        const page = (await res.json()) as { items: { date: string }[]; next_cursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(limit ?? 10_000);
        items.push(...page.items);
        cursor = page.next_cursor;
      }
      return { items, pages };
    };
    const whole = await walk(null);
    expect(whole.items.length).toBeGreaterThan(1000);
    const small = await walk(700);
    expect(small.pages).toBeGreaterThanOrEqual(Math.ceil(whole.items.length / 700));
    // the same changes, and several pages ended inside one day
    expect(small.items).toEqual(whole.items);
    expect(new Set(whole.items.map((i) => i.date)).size).toBeLessThan(small.pages);
  });

  test('a cursor from elsewhere is a 400 naming it', async () => {
    const res = await get(`/v1/changes?since=${addDays(END, -10)}&until=${END}&cursor=${Buffer.from('{"d":"1999-01-01","c":null,"t":"2021-01-01T00:00:00.000Z"}').toString('base64url')}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe('cursor');
  });
});
