import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { connectDatabase } from '../src/db/database';
import { migrateLatest } from '../src/db/migrate';
import { activateRuleSet, createFromPreset } from '../src/db/rulesets';
import { addDays, LocalDate } from '../src/domain/dates';
import { Recomputations } from '../src/jobs/recomputations';
import { setLogLevel } from '../src/log';
import { projectRoot } from '../src/paths';
import { adminQuery, benchServiceEnv, freePort, benchUrl, buildNational, nationalOptions } from './common';
import { NationalOptions } from './national';

/**
 * `npm run bench:load`: autocannon against a real `zonerisk serve` process on the synthetic
 * national set (a real PostgreSQL on loopback: DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres; database zonerisk_bench_load is created and
 * dropped). Each route alone while the service is idle, then all of them together with
 * report ingest while a 365-day backfill runs. Prints req/s, p50/p99, errors and the
 * service's peak memory; BENCH_LOAD_SECONDS sets the idle runs' length; BENCH_KEEP=1 keeps the
 * database and BENCH_LOAD_REUSE=1 starts from a kept one; BENCH_LOAD_MIXED=zones/{code},tiles (parts
 * of route names) keeps only those routes in the mixed phase, to find what disturbs what;
 * BENCH_NODE_FLAGS adds node flags to the service (to try garbage-collector settings).
 */
const DB = 'zonerisk_bench_load';
const ADMIN = 'bench-load-admin-key-0123456789';
const O: NationalOptions = nationalOptions();
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);

type Row = { phase: string; route: string; conns: number; rps: number; p50: number; p99: number; max: number; requests: number; errors: number; non2xx: number; target?: string; ok?: boolean };
const rows: Row[] = [];

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The service's resident memory now and at its peak (VmRSS, VmHWM), MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Prometheus text → value of each sample line (name{labels} → number). */
async function scrape(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/**
 * What the service saw of a phase, from its /metrics (read at the phase's start, which resets
 * the event-loop histogram, and at its end): the longest and p99 event-loop delay, and the
 * garbage collector's pauses by kind (count, total, share of the phase).
 */
function serviceSide(before: Map<string, number>, after: Map<string, number>, seconds: number): string {
  // prom-client's default metrics, as the service serves them (unprefixed: test/http/metrics.test.ts); one not served is said so, not read as 0
  const ms = (k: string) => (after.has(k) ? `${((after.get(k) as number) * 1000).toFixed(0)} ms` : `(not served: ${k})`);
  const lines = [`event-loop delay in the service: p99 ${ms('nodejs_eventloop_lag_p99_seconds')}, max ${ms('nodejs_eventloop_lag_max_seconds')}`];
  for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
    const key = (what: string) => `nodejs_gc_duration_seconds_${what}{kind="${kind}"}`;
    const n = (after.get(key('count')) ?? 0) - (before.get(key('count')) ?? 0);
    const total = (after.get(key('sum')) ?? 0) - (before.get(key('sum')) ?? 0);
    if (n > 0) lines.push(`GC ${kind}: ${n} pauses, ${(total * 1000).toFixed(0)} ms in all, ${((total / n) * 1000).toFixed(1)} ms each on average (${((total / seconds) * 100).toFixed(1)} % of the phase), longest ≤ ${longestBucket(before, after, kind)}`);
  }
  return lines.join('\n');
}

/** The smallest histogram bound that holds every observation of the phase. */
function longestBucket(before: Map<string, number>, after: Map<string, number>, kind: string): string {
  const total = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const buckets = [...after.keys()]
    .filter((k) => k.startsWith('nodejs_gc_duration_seconds_bucket{') && k.includes(`kind="${kind}"`))
    .map((k) => ({ k, le: /le="([^"]+)"/.exec(k)?.[1] ?? '+Inf' }));
  const all = total(buckets.find((b) => b.le === '+Inf')?.k ?? '');
  const hit = buckets.filter((b) => b.le !== '+Inf').sort((a, b) => Number(a.le) - Number(b.le)).find((b) => total(b.k) >= all);
  return hit ? `${Number(hit.le) * 1000} ms` : 'the largest bound';
}

type Route = { route: string; conns: number; request: () => autocannon.Request };

function run(base: string, r: Route, seconds: number, phase: string, amount?: number): { done: Promise<Row>; stop(): void } {
  let instance: autocannon.Instance | null = null;
  const done = new Promise<Row>((resolve, reject) => {
    instance = autocannon(
      {
        url: base,
        connections: r.conns,
        ...(amount ? { amount } : { duration: seconds }),
        timeout: 30,
        requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, ...r.request() }) }],
      },
      (err: Error | null, res: autocannon.Result) => {
        if (err) return reject(err);
        resolve({
          phase,
          route: r.route,
          conns: r.conns,
          rps: res.requests.total / (res.duration || seconds),
          p50: res.latency.p50,
          p99: res.latency.p99,
          max: res.latency.max,
          requests: res.requests.total,
          errors: res.errors + res.timeouts,
          non2xx: res.non2xx,
        });
      },
    );
  });
  return { done, stop: () => (instance as unknown as { stop(): void } | null)?.stop() };
}

function print(r: Row): void {
  const mark = r.ok === undefined ? '' : r.ok ? '  [target met]' : '  [TARGET MISSED]';
  console.log(
    `${r.phase.padEnd(16)} ${r.route.padEnd(22)} ${String(r.conns).padStart(3)} conns ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${String(r.p50).padStart(4)} ms  p99 ${String(r.p99).padStart(5)} ms  max ${String(r.max).padStart(5)} ms  ${r.requests} requests, ${r.errors} errors, ${r.non2xx} non-2xx${r.target ? `  (target: ${r.target})` : ''}${mark}`,
  );
}

async function main(): Promise<void> {
  setLogLevel('warn');
  console.log(`zonerisk load bench — ${new Date().toISOString()} — ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  if (process.env.BENCH_LOAD_REUSE !== '1') {
    await adminQuery(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE ${DB}`);
  }
  const db = connectDatabase(benchUrl(DB), 4, false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-load-'));
  let service: ChildProcess | null = null;
  try {
    await migrateLatest(db.knex);
    const version = await db.knex.raw<{ rows: { v: string }[] }>(`SELECT split_part(version(), ',', 1) || ', PostGIS ' || postgis_lib_version() AS v`);
    console.log(`database: ${version.rows[0]?.v}`);
    console.log(`national set: ${O.communes} communes, ${O.districts} districts, ${O.provinces} provinces, ${O.days} days of reports (building it takes a minute or two)`);
    const reuse = process.env.BENCH_LOAD_REUSE === '1' && Number((await db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c) > 0;
    if (reuse) {
      // BENCH_KEEP=1 kept it from an earlier run: start again from no levels
      console.log('  reusing the national set kept by an earlier run (BENCH_LOAD_REUSE=1)');
      await db.knex.raw('TRUNCATE level_chunks, level_events, jobs');
    } else {
      await buildNational(db, O, dir, DB, (name, value) => console.log(`  ${name.padEnd(56)} ${value}`));
      const { rule_set } = await createFromPreset(db, 'vn-moh-4800-2021');
      await activateRuleSet(db, rule_set.id, '2000-01-01' as LocalDate);
    }
    await new Recomputations(db).day(O.end); // the day the reads ask for
    const codes = ((await db.knex('areas').select('code')) as { code: string }[]).map((r) => r.code);
    const communes = codes.filter((c) => c.split('.').length === 3);
    const provinces = codes.filter((c) => !c.includes('.'));
    const ext = (await db.knex.raw<{ rows: { x1: number; y1: number; x2: number; y2: number }[] }>(`SELECT ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2 FROM (SELECT ST_Extent(geom) AS e FROM areas) x`)).rows[0] as { x1: number; y1: number; x2: number; y2: number };
    const tiles: string[] = [];
    for (const z of [8, 9]) {
      const tx = (lon: number) => Math.floor(((lon + 180) / 360) * 2 ** z);
      const ty = (lat: number) => Math.floor(((1 - Math.log(Math.tan((lat * Math.PI) / 180) + 1 / Math.cos((lat * Math.PI) / 180)) / Math.PI) / 2) * 2 ** z);
      for (let x = tx(ext.x1); x <= tx(ext.x2); x++) for (let y = ty(ext.y2); y <= ty(ext.y1); y++) tiles.push(`/tiles/zones/${z}/${x}/${y}.mvt?date=${O.end}&kind=commune`);
    }

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    service = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), path.join(projectRoot, 'bin', 'zonerisk.js'), 'serve'], {
      env: benchServiceEnv(DB, port, ADMIN),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const pid = service.pid as number;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 600) throw new Error('the service did not become ready');
      await sleep(100);
    }
    const t = Date.now();
    await fetch(`${base}/v1/zones.geojson?date=${O.end}&kind=commune&zoom=6`, { headers: { 'accept-encoding': 'gzip' } }).then((r) => r.arrayBuffer());
    console.log(`service ready (pid ${pid}); first zoom-6 GeoJSON ${((Date.now() - t) / 1000).toFixed(1)} s (the shared-border topology); RSS ${memoryOf(pid).rss.toFixed(0)} MiB\n`);

    let day = 0;
    const ingestBody = () => {
      // 100 corrections for a day after the backfilled year: no recomputation is triggered
      const date = addDays('2022-01-01' as LocalDate, day++ % 180);
      const start = Math.floor(Math.random() * (communes.length - 100));
      const reports = communes.slice(start, start + 100).map((area) => ({ area, date, community_cases: Math.floor(Math.random() * 20), quarantine_cases: Math.floor(Math.random() * 10) }));
      return JSON.stringify({ reports });
    };
    const routes: Route[] = [
      { route: 'GET /v1/zones/{code}', conns: 16, request: () => ({ method: 'GET', path: `/v1/zones/${pick(communes)}?date=${O.end}` }) },
      { route: 'GET /v1/zones', conns: 8, request: () => ({ method: 'GET', path: `/v1/zones?date=${O.end}&parent=${pick(provinces)}` }) },
      { route: 'zones.geojson z6', conns: 2, request: () => ({ method: 'GET', path: `/v1/zones.geojson?date=${O.end}&kind=commune&zoom=6`, headers: { 'accept-encoding': 'gzip' } }) },
      { route: 'tiles z8-z9', conns: 4, request: () => ({ method: 'GET', path: pick(tiles) }) },
      { route: 'POST /v1/reports', conns: 2, request: () => ({ method: 'POST', path: '/v1/reports', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: ingestBody() }) },
    ];

    // each route alone on an idle service; the single-zone read twice: every commune once, so
    // that each answer is built (cold), then at random, served under ETags until data change (warm)
    let next = 0;
    const sweep: Route = { route: 'GET /v1/zones/{code}', conns: 16, request: () => ({ method: 'GET', path: `/v1/zones/${communes[next++ % communes.length]}?date=${O.end}` }) };
    const cold = await run(base, sweep, SECONDS, 'idle, cold', communes.length).done;
    rows.push(cold);
    print(cold);
    for (const r of routes) {
      const row = await run(base, r, SECONDS, 'idle').done;
      if (r.route === 'GET /v1/zones/{code}') Object.assign(row, { target: '≥ 2,000 req/s, p99 < 50 ms', ok: row.rps >= 2000 && row.p99 < 50 && row.errors === 0 && row.non2xx === 0 });
      rows.push(row);
      print(row);
    }

    // all together, with ingest, while a 365-day backfill of every area runs in the service
    const from = addDays(O.end, -(O.days - 1));
    const started = Date.now();
    const res = await fetch(`${base}/v1/recompute`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ from, to: O.end }) });
    if (res.status !== 202) throw new Error(`recompute: ${res.status} ${await res.text()}`);
    const job = ((await res.json()) as { job: { id: number } }).job.id;
    const only = process.env.BENCH_LOAD_MIXED?.split(',');
    const before = await scrape(base);
    const mixed = routes.filter((r) => !only || only.some((o) => r.route.includes(o))).map((r) => run(base, { ...r, conns: r.route === 'GET /v1/zones/{code}' ? 16 : Math.max(1, r.conns / 2) }, 3600, 'during backfill'));
    let status = 'running';
    let days = 0;
    while (status === 'running' || status === 'queued') {
      await sleep(500);
      const j = (await (await fetch(`${base}/v1/jobs/${job}`)).json()) as { status: string; days_done: number };
      status = j.status;
      days = j.days_done;
    }
    const backfillMs = Date.now() - started;
    const after = await scrape(base);
    for (const m of mixed) m.stop();
    for (const m of mixed) {
      const row = await m.done;
      if (row.route === 'GET /v1/zones/{code}') Object.assign(row, { target: 'p99 < 250 ms', ok: row.p99 < 250 && row.errors === 0 && row.non2xx === 0 });
      rows.push(row);
      print(row);
    }
    console.log(serviceSide(before, after, backfillMs / 1000));
    const mem = memoryOf(pid);
    console.log(`\nbackfill under load: job ${job} ${status}, ${days} days × ${codes.length.toLocaleString('en')} areas in ${(backfillMs / 1000).toFixed(1)} s`);
    console.log(`service memory: peak ${mem.peak.toFixed(0)} MiB resident (VmHWM), ${mem.rss.toFixed(0)} MiB now`);
    const errors = rows.reduce((s, r) => s + r.errors + r.non2xx, 0);
    const missed = rows.filter((r) => r.ok === false).length;
    console.log(`errors and non-2xx answers in all runs: ${errors}${errors ? '  [TARGET MISSED: must be 0]' : '  [target met: 0]'}`);
    console.log(`${rows.filter((r) => r.ok).length} targets met, ${missed} missed`);
    if (status !== 'succeeded' || errors || missed) process.exitCode = 1;
  } finally {
    if (service) {
      service.kill('SIGTERM');
      await new Promise((r) => service?.once('exit', r));
    }
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (process.env.BENCH_KEEP !== '1') await adminQuery(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
