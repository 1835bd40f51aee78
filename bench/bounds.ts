import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Position } from 'geojson';
import { connectDatabase } from '../src/db/database';
import { migrateLatest } from '../src/db/migrate';
import { activateRuleSet, createFromPreset } from '../src/db/rulesets';
import { LocalDate } from '../src/domain/dates';
import { Recomputations } from '../src/jobs/recomputations';
import { setLogLevel } from '../src/log';
import { projectRoot } from '../src/paths';
import { adminQuery, benchServiceEnv, freePort, benchUrl, buildNational, nationalOptions } from './common';
import { NationalOptions } from './national';

/**
 * `npm run bench:bounds`: bounded work per request, on the synthetic national set (10,600
 * communes, 700 districts, 63 provinces: 7.6 M vertices) against real `zonerisk serve`
 * processes on a real PostgreSQL (DATABASE_URL; database zonerisk_bench_bounds is created
 * and dropped):
 *
 * 1. maps — 50 concurrent full-detail `GET /v1/zones.geojson` (every area of every kind,
 *    about 190 MB each), read to the end by 50 clients; the service's peak resident memory
 *    (VmRSS sampled every 20 ms, after the start-up topology build) and how many were served (200) or refused (503), with the default
 *    ZONERISK_MAX_FULL_MAPS and, for comparison, with it set to 50 (no bound in effect:
 *    `BENCH_BOUNDS_UNBOUNDED=0` skips that run, which takes minutes);
 * 2. import — one 200,000-vertex polygon over the whole country (overlapping every commune)
 *    through `POST /v1/areas`, while one-row reports for an existing commune are posted
 *    one after another: the import's time and the slowest report's.
 *
 * BENCH_KEEP=1 keeps the database, BENCH_BOUNDS_REUSE=1 starts from a kept one; exit code 1
 * when a report during the import took 1 s or more, or memory exceeded the stated ceiling.
 */
const DB = 'zonerisk_bench_bounds';
const ADMIN = 'bench-bounds-admin-key-0123456789';
const O: NationalOptions = { ...nationalOptions(), days: Number(process.env.BENCH_DAYS ?? 14) };
const CONCURRENT = 50;
/**
 * The ceiling docs/RELIABILITY.md states: full-detail maps add at most this much resident
 * memory (MiB) per map streamed at once (ZONERISK_MAX_FULL_MAPS, default 2) to what the
 * service holds before them.
 */
const CEILING_PER_MAP_MIB = 150;
const DEFAULT_MAX_FULL_MAPS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The service's resident memory now and at its peak (VmRSS, VmHWM), MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

type Service = { base: string; pid: number; proc: ChildProcess; stop(): Promise<void> };

async function startService(env: Record<string, string>): Promise<Service> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [path.join(projectRoot, 'bin', 'zonerisk.js'), 'serve'], {
    env: benchServiceEnv(DB, port, ADMIN, env),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/ready`).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error('the service did not become ready');
    await sleep(100);
  }
  return {
    base,
    pid: proc.pid as number,
    proc,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/** 50 clients at once each ask for the whole country at full detail and read it to the end. */
async function fullMaps(env: Record<string, string>, label: string): Promise<{ peak: number; before: number; ok: number; refused: number; other: number; bytes: number; seconds: number }> {
  const service = await startService(env);
  try {
    // the commune topology the service builds at start (for simplified maps) is done first:
    // its build is the process's high-water mark otherwise (VmHWM), not the maps'
    await fetch(`${service.base}/v1/zones.geojson?date=${O.end}&kind=commune&zoom=6`).then((r) => r.arrayBuffer());
    const before = memoryOf(service.pid);
    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(service.pid).rss)), 20);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const res = await fetch(`${service.base}/v1/zones.geojson?date=${O.end}`);
        let bytes = 0;
        const reader = res.body?.getReader();
        for (;;) {
          const chunk = await reader?.read();
          if (!chunk || chunk.done) break;
          bytes += chunk.value.byteLength;
        }
        return { status: res.status, bytes, retryAfter: res.headers.get('retry-after') };
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    const mem = { ...memoryOf(service.pid), peak };
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 503 && r.retryAfter);
    const out = { peak: mem.peak, before: before.rss, ok: ok.length, refused: refused.length, other: results.length - ok.length - refused.length, bytes: ok[0]?.bytes ?? 0, seconds };
    console.log(
      `  ${label.padEnd(34)} peak ${mem.peak.toFixed(0)} MiB resident (sampled every 20 ms; ${before.rss.toFixed(0)} MiB before: +${(mem.peak - before.rss).toFixed(0)} MiB), ${out.ok} × 200 (${(out.bytes / 2 ** 20).toFixed(0)} MiB each), ${out.refused} × 503 with Retry-After, ${out.other} other, in ${seconds.toFixed(1)} s`,
    );
    return out;
  } finally {
    await service.stop();
  }
}

/** A wavy ring of `n` vertices around the country's middle, reaching past every commune's centre. */
function bigRing(n: number): Position[] {
  const ring: Position[] = [];
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / n;
    const r = 1 + 0.02 * Math.sin(40 * a);
    ring.push([+(105.8 + 4 * r * Math.cos(a)).toFixed(7), +(15.95 + 8 * r * Math.sin(a)).toFixed(7)]);
  }
  ring.push(ring[0] as Position);
  return ring;
}

async function importWhileReporting(vertices: number, commune: string): Promise<{ importMs: number; reports: number[]; overlaps: number }> {
  const service = await startService(process.env.BENCH_BOUNDS_TRACE === '1' ? { ZONERISK_LOG_LEVEL: 'debug' } : {});
  try {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` };
    const body = JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { code: 'BENCH.BIG', name: 'Vùng lớn', kind: 'commune', parent: null, population: 1000 }, geometry: { type: 'Polygon', coordinates: [bigRing(vertices)] } }],
    });
    // the process's first report (connections opened, code paths compiled) before the import
    const report = (n: number) => fetch(`${service.base}/v1/reports`, { method: 'POST', headers, body: JSON.stringify({ reports: [{ area: commune, date: O.end, community_cases: n % 50, quarantine_cases: 0 }] }) });
    const w = Date.now();
    await report(0).then((r) => r.arrayBuffer());
    console.log(`  first report of the service process, before the import: ${Date.now() - w} ms`);
    const started = Date.now();
    let done = false;
    // fetch gives up after 300 s without response headers: the import before these changes took longer here
    const imported = fetch(`${service.base}/v1/areas`, { method: 'POST', headers, body }).then(
      async (r) => {
        if (r.status !== 200) throw new Error(`import: ${r.status} ${await r.text()}`);
        return { ms: Date.now() - started, body: (await r.json()) as { created: number; updated: number; overlaps: number } };
      },
      (e: unknown) => ({ ms: Date.now() - started, body: { created: 0, updated: 0, overlaps: NaN }, error: String(e) }),
    );
    void imported.finally(() => (done = true)).catch(() => undefined);
    const reports: number[] = [];
    let n = 0;
    await sleep(300);
    while (!done) {
      const t = Date.now();
      const res = await report(++n);
      if (res.status !== 200) throw new Error(`report: ${res.status} ${await res.text()}`);
      if (!done) reports.push(Date.now() - t);
      if (process.env.BENCH_BOUNDS_TRACE === '1') console.log(`    report at ${t - started} ms: ${Date.now() - t} ms${done ? ' (after the import)' : ''}`);
      await sleep(200);
    }
    const r = await imported;
    if ('error' in r) console.log(`  the import did not answer: ${r.error} after ${(r.ms / 1000).toFixed(0)} s`);
    return { importMs: r.ms, reports, overlaps: r.body.overlaps };
  } finally {
    await service.stop();
  }
}

async function main(): Promise<void> {
  setLogLevel('warn');
  console.log(`zonerisk bounds bench — ${new Date().toISOString()} — ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const reuse = process.env.BENCH_BOUNDS_REUSE === '1';
  if (!reuse) {
    await adminQuery(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE ${DB}`);
  }
  const db = connectDatabase(benchUrl(DB), 4, false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-bounds-'));
  let failed = false;
  try {
    await migrateLatest(db.knex);
    if (reuse && Number((await db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c) > 0) {
      console.log('reusing the national set kept by an earlier run (BENCH_BOUNDS_REUSE=1)');
      await db.knex('areas').where('code', 'BENCH.BIG').delete();
    } else {
      console.log(`national set: ${O.communes} communes, ${O.districts} districts, ${O.provinces} provinces, ${O.days} days of reports`);
      await buildNational(db, O, dir, DB, (name, value) => console.log(`  ${name.padEnd(56)} ${value}`));
      const { rule_set } = await createFromPreset(db, 'vn-moh-4800-2021');
      await activateRuleSet(db, rule_set.id, '2000-01-01' as LocalDate);
      await new Recomputations(db).day(O.end as LocalDate);
    }
    const sizes = await db.knex.raw<{ rows: { kind: string; n: number; v: number }[] }>(`SELECT kind, count(*)::int AS n, sum(ST_NPoints(geom))::int AS v FROM areas GROUP BY kind ORDER BY kind`);
    console.log(`areas: ${sizes.rows.map((r) => `${r.n.toLocaleString('en')} ${r.kind} (${(r.v / 1e6).toFixed(2)} M vertices)`).join(', ')}`);
    const commune = ((await db.knex('areas').where('kind', 'commune').orderBy('code').first('code')) as { code: string }).code;

    if (process.env.BENCH_BOUNDS_IMPORT !== '0') {
      console.log('\nimport: one 200,000-vertex commune polygon over the country while one-row reports are posted');
      const r = await importWhileReporting(200_000, commune);
      const slowest = Math.max(0, ...r.reports);
      console.log(`  import ${(r.importMs / 1000).toFixed(1)} s (${r.overlaps.toLocaleString('en')} overlapping pairs); ${r.reports.length} reports during it, slowest ${slowest} ms, median ${[...r.reports].sort((a, b) => a - b)[Math.floor(r.reports.length / 2)] ?? 0} ms${slowest >= 1000 ? '  [TARGET MISSED: < 1 s]' : '  [target met: < 1 s]'}`);
      if (slowest >= 1000 || r.reports.length === 0) failed = true;
      await db.knex('areas').where('code', 'BENCH.BIG').delete();
    }

    if (process.env.BENCH_BOUNDS_MAPS !== '0') {
      console.log(`\nmaps: ${CONCURRENT} concurrent full-detail zones.geojson (every area), each read to the end`);
      const bounded = await fullMaps({}, 'ZONERISK_MAX_FULL_MAPS default');
      const ceiling = DEFAULT_MAX_FULL_MAPS * CEILING_PER_MAP_MIB;
      const added = bounded.peak - bounded.before;
      if (added > ceiling || bounded.other > 0 || bounded.ok === 0) failed = true;
      console.log(`  maps added ${added.toFixed(0)} MiB to the service's memory; ceiling ${ceiling} MiB (${DEFAULT_MAX_FULL_MAPS} × ${CEILING_PER_MAP_MIB} MiB): ${added <= ceiling ? 'met' : 'MISSED'}`);
      if (process.env.BENCH_BOUNDS_UNBOUNDED !== '0') await fullMaps({ ZONERISK_MAX_FULL_MAPS: String(CONCURRENT) }, 'ZONERISK_MAX_FULL_MAPS=50 (no bound)');
    }
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (process.env.BENCH_KEEP !== '1') await adminQuery(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  }
  if (failed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
