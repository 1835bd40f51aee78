import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { connectDatabase, Database } from '../src/db/database';
import { importAreas } from '../src/db/areas';
import { migrateLatest } from '../src/db/migrate';
import { addDays, LocalDate } from '../src/domain/dates';
import { setLogLevel } from '../src/log';
import { projectRoot } from '../src/paths';
import { dongNaiAreas } from '../seeds/dong-nai';

/**
 * `npm run bench`: prints the figures the issues name, on a real PostgreSQL+PostGIS
 * (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres). A fresh database
 * zonerisk_bench is created and dropped. Each figure is printed next to its floor.
 */
const baseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BENCH_DB = 'zonerisk_bench';
const REPORT_ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 1_000_000);

const results: { name: string; value: string; target?: string; ok?: boolean }[] = [];
function record(name: string, value: string, target?: string, ok?: boolean): void {
  results.push({ name, value, target, ok });
  const mark = ok === undefined ? '' : ok ? '  [target met]' : '  [TARGET MISSED]';
  console.log(`${name.padEnd(58)} ${value}${target ? `   (target: ${target})` : ''}${mark}`);
}

async function adminQuery(sql: string): Promise<void> {
  const c = new Client({ connectionString: baseUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function benchUrl(): string {
  const u = new URL(baseUrl);
  u.pathname = `/${BENCH_DB}`;
  return u.toString();
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [path.join(projectRoot, 'bin', 'zonerisk.js'), ...args], {
      env: { ...process.env, DATABASE_URL: benchUrl(), ZONERISK_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** A deterministic CSV of `rows` reports over the communes, day after day. */
function writeReportsCsv(file: string, communes: string[], rows: number, variant: number): void {
  const fd = fs.openSync(file, 'w');
  let buf = 'area,date,community_cases,quarantine_cases,deaths,source\n';
  const days = Math.ceil(rows / communes.length);
  let n = 0;
  for (let d = 0; d < days && n < rows; d++) {
    const date = addDays('2000-01-01' as LocalDate, d);
    for (let c = 0; c < communes.length && n < rows; c++, n++) {
      // every 10th row differs between variants: a realistic share of corrections
      const bump = n % 10 === 0 ? variant : 0;
      buf += `${communes[c]},${date},${(n * 7 + bump) % 23},${(n * 3) % 11},${n % 97 === 0 ? 1 : 0},Sở Y tế Đồng Nai\n`;
      if (buf.length > 1 << 20) {
        fs.writeSync(fd, buf);
        buf = '';
      }
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
}

async function benchAreas(db: Database): Promise<string[]> {
  const { ms: deriveMs, value: areas } = await timed(() => dongNaiAreas(db.knex));
  record('areas: derive 11 districts + province (PostGIS unions)', `${deriveMs.toFixed(0)} ms`);
  const first = await timed(() => importAreas(db.knex, areas));
  record(`areas: import real Đồng Nai file (${areas.length} features)`, `${first.ms.toFixed(0)} ms (created ${first.value.created}, ${first.value.overlaps} overlap warnings)`);
  const again = await timed(() => importAreas(db.knex, areas));
  record('areas: re-import, all unchanged', `${again.ms.toFixed(0)} ms (unchanged ${again.value.unchanged})`);
  return areas.filter((a) => a.kind === 'commune').map((a) => a.code);
}

async function benchReports(db: Database, communes: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-bench-'));
  try {
    const fileA = path.join(dir, 'reports-a.csv');
    const fileB = path.join(dir, 'reports-b.csv');
    writeReportsCsv(fileA, communes, REPORT_ROWS, 0);
    writeReportsCsv(fileB, communes, REPORT_ROWS, 1);
    const mb = (fs.statSync(fileA).size / 1e6).toFixed(1);

    // Each timed step starts from a checkpoint, so that no step pays for another's WAL.
    const checkpoint = () => db.knex.raw('CHECKPOINT');
    const REPEAT = 3;

    // The floor: PostgreSQL's own COPY of the same file into a bare table, no checks.
    const client = new Client({ connectionString: benchUrl() });
    await client.connect();
    let bareMs = Infinity;
    for (let i = 0; i < REPEAT; i++) {
      await client.query('DROP TABLE IF EXISTS bench_bare');
      await client.query('CREATE TABLE bench_bare (area text, date date, community_cases int, quarantine_cases int, deaths int, source text)');
      await checkpoint();
      const bare = await timed(() => pipeline(fs.createReadStream(fileA), client.query(copyFrom('COPY bench_bare FROM STDIN (FORMAT csv, HEADER true)'))));
      bareMs = Math.min(bareMs, bare.ms);
    }
    await client.query('DROP TABLE bench_bare');
    await client.end();
    const bareRate = REPORT_ROWS / (bareMs / 1000);
    record(`reports: bare COPY of ${REPORT_ROWS.toLocaleString('en')} rows (${mb} MB), the floor`, `${(bareMs / 1000).toFixed(2)} s = ${Math.round(bareRate).toLocaleString('en')} rows/s (best of ${REPEAT})`);

    const importOnce = async (file: string) => {
      await checkpoint();
      const r = await timed(() => runCli(['import-reports', file]));
      if (r.value.code !== 0) throw new Error(`import-reports failed: ${r.value.err}`);
      return { ms: r.ms, out: r.value.out.trim() };
    };
    const report = (label: string, ms: number, out: string, runs: number) => {
      const rate = REPORT_ROWS / (ms / 1000);
      const ratio = rate / bareRate;
      record(
        `reports: zonerisk import-reports, ${label}`,
        `${(ms / 1000).toFixed(2)} s = ${Math.round(rate).toLocaleString('en')} rows/s, ${ratio.toFixed(2)}× bare COPY${runs > 1 ? ` (best of ${runs})` : ''}`,
        '≥ 50,000 rows/s and ≥ 0.3× COPY',
        rate >= 50_000 && ratio >= 0.3,
      );
      console.log(`    ${out}`);
    };

    // First load into an empty table (the whole process, start to exit), best of REPEAT.
    let first = { ms: Infinity, out: '' };
    for (let i = 0; i < REPEAT; i++) {
      await db.knex.raw('TRUNCATE reports, report_revisions');
      const r = await importOnce(fileA);
      if (r.ms < first.ms) first = r;
    }
    report('first load, all inserted', first.ms, first.out, REPEAT);
    const again = await importOnce(fileA);
    report('same file again, all unchanged', again.ms, again.out, 1);
    const corrected = await importOnce(fileB);
    report('10% of rows corrected, revisions kept', corrected.ms, corrected.out, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  setLogLevel('warn');
  console.log(`zonerisk bench — ${new Date().toISOString()} — ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  await adminQuery(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${BENCH_DB}`);
  const db = connectDatabase(benchUrl(), 4, false);
  try {
    await migrateLatest(db.knex);
    const version = await db.knex.raw<{ rows: { v: string }[] }>(`SELECT split_part(version(), ',', 1) || ', PostGIS ' || postgis_lib_version() AS v`);
    console.log(`database: ${version.rows[0]?.v}\n`);
    const communes = await benchAreas(db);
    await benchReports(db, communes);
  } finally {
    await db.close();
    await adminQuery(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
  }
  const missed = results.filter((r) => r.ok === false);
  console.log(`\n${results.filter((r) => r.ok).length} targets met, ${missed.length} missed; peak RSS of the bench process ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
