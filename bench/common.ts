import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { Database } from '../src/db/database';
import { LocalDate } from '../src/domain/dates';
import { importAreas, rebuildAreaTree } from '../src/db/areas';
import { projectRoot } from '../src/paths';
import { generateNational, nationalMetrics, nationalReports, NationalOptions, NationalSet } from './national';

/** What the benchmarks share: the server they run on, timing, the CLI, the national data set. */
export const baseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const BENCH_DB = 'zonerisk_bench';

/** The national set's sizes (BENCH_COMMUNES, BENCH_DISTRICTS, BENCH_PROVINCES, BENCH_DAYS), a year ending 2021-12-31. */
export function nationalOptions(): NationalOptions {
  return {
    communes: Number(process.env.BENCH_COMMUNES ?? 10_600),
    districts: Number(process.env.BENCH_DISTRICTS ?? 700),
    provinces: Number(process.env.BENCH_PROVINCES ?? 63),
    days: Number(process.env.BENCH_DAYS ?? 365),
    end: '2021-12-31' as LocalDate,
  };
}

export type Record = (name: string, value: string, target?: string, ok?: boolean) => void;

export async function adminQuery(sql: string): Promise<void> {
  const c = new Client({ connectionString: baseUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The URL of database `db` on the bench's server. */
export function benchUrl(db = BENCH_DB): string {
  const u = new URL(baseUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

/** `zonerisk <args>` as its own process against database `db`. */
export function runCli(args: string[], db = BENCH_DB): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [path.join(projectRoot, 'bin', 'zonerisk.js'), ...args], {
      env: { ...process.env, DATABASE_URL: benchUrl(db), ZONERISK_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => resolve({ code, out, err }));
  });
}

/**
 * Fills an empty migrated database with the synthetic national set: communes imported
 * through the app, districts and provinces as PostGIS unions of their children, a year of
 * reports and the weekly indicators through the CLI.
 */
export async function buildNational(db: Database, o: NationalOptions, dir: string, dbName: string, record: Record): Promise<NationalSet> {
  const gen = await timed(async () => generateNational(o));
  const set = gen.value;
  const vertices = set.communes.reduce((s, c) => s + (c.geometry.coordinates[0]?.[0]?.length ?? 0), 0);
  record('national: generate communes (Voronoi, shared bent borders)', `${(gen.ms / 1000).toFixed(1)} s, ${Math.round(vertices / set.communes.length)} vertices per commune on average`);

  const imp = await timed(() => importAreas(db, set.communes));
  record(`national: import ${set.communes.length.toLocaleString('en')} commune polygons (${(vertices / 1e6).toFixed(1)}M vertices)`, `${(imp.ms / 1000).toFixed(1)} s (overlapping pairs: ${imp.value.overlaps})`);

  // districts and provinces: the union of their children, then the parent links (bench set-up)
  const parents = await timed(async () => {
    for (const kind of ['district', 'province'] as const) {
      const groups = set.parents.filter((p) => p.kind === kind);
      await db.knex.raw(
        `INSERT INTO areas (code, name, name_search, kind, population, geom, label_point)
         SELECT g.code, g.name, lower(g.name), ?, sum(c.population), u.geom, ST_PointOnSurface(u.geom)
         FROM jsonb_to_recordset(?::jsonb) AS g(code text, name text, children text[])
         JOIN areas c ON c.code = ANY(g.children)
         CROSS JOIN LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(x.geom)), 3)) AS geom FROM areas x WHERE x.code = ANY(g.children)) u
         GROUP BY g.code, g.name, u.geom`,
        [kind, JSON.stringify(groups.map((g) => ({ code: g.code, name: g.name, children: g.children })))],
      );
    }
    await db.knex.raw(
      `UPDATE areas c SET parent_id = p.id FROM jsonb_to_recordset(?::jsonb) AS g(code text, children text[]) JOIN areas p ON p.code = g.code
       WHERE c.code = ANY(g.children)`,
      [JSON.stringify(set.parents.map((g) => ({ code: g.code, children: g.children })))],
    );
    await db.write((trx) => rebuildAreaTree(trx));
  });
  record('national: districts and provinces as PostGIS unions of their children', `${(parents.ms / 1000).toFixed(1)} s`);

  const reportsFile = path.join(dir, 'reports.csv');
  const fd = fs.openSync(reportsFile, 'w');
  fs.writeSync(fd, 'area,date,community_cases,quarantine_cases,deaths,source\n');
  for (const chunk of nationalReports(set, o)) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  const rows = set.communes.length * o.days;
  const ingest = await timed(() => runCli(['import-reports', reportsFile], dbName));
  if (ingest.value.code !== 0) throw new Error(ingest.value.err);
  record(`national: import-reports ${rows.toLocaleString('en')} rows`, `${(ingest.ms / 1000).toFixed(1)} s = ${Math.round(rows / (ingest.ms / 1000)).toLocaleString('en')} rows/s`);
  const metricsFile = path.join(dir, 'metrics.csv');
  fs.writeFileSync(metricsFile, `area,date,name,value\n${nationalMetrics(set, o)}`);
  const m = await runCli(['import-metrics', metricsFile], dbName);
  if (m.code !== 0) throw new Error(m.err);
  await db.knex.raw('VACUUM ANALYZE');
  return set;
}

/**
 * The environment of a `zonerisk serve` a bench starts on database `db`: its own port, an
 * admin key, no schedule, and per-client limits out of the way (one load generator is one
 * client: they would otherwise answer 429).
 */
export function benchServiceEnv(db: string, port: number, adminKey: string, extra: { [name: string]: string } = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: benchUrl(db),
    PORT: String(port),
    HOST: '127.0.0.1',
    ZONERISK_LOG_LEVEL: 'warn',
    ZONERISK_SCHEDULE: 'off',
    ZONERISK_ADMIN_KEY: adminKey,
    ZONERISK_READ_RATE: '10000000',
    ZONERISK_WRITE_RATE: '1000000',
    ...extra,
  };
}

/** A loopback port free at the moment of asking (for a service a bench starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
