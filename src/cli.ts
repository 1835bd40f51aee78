import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, Config } from './config';
import { Database, openDatabase } from './db/database';
import { migrateLatest } from './db/migrate';
import { AREA_CODE_RE } from './domain/areas';
import type { BriefingFormat } from './domain/briefing';
import { isLocalDate, LocalDate, today } from './domain/dates';
import { AppError, isDatabaseUnavailable } from './errors';
import { ingestMetrics, ingestReports, latestAcceptedDate } from './ingest/ingest';
import { log, setLogLevel } from './log';

// Heavy modules (express, turf, PGlite, the seeds) load only for the commands that use
// them: a cron job importing a CSV should not pay for the web server.
const lazy = {
  server: () => import('./server'),
  seeds: () => import('../seeds'),
  areas: () => import('./db/areas'),
  features: () => import('./geo/features'),
  keys: () => import('./db/keys'),
  runtime: () => import('./runtime'),
  briefing: () => import('./services/briefing'),
  briefingFiles: () => import('./services/briefingFiles'),
  briefingMap: () => import('./services/briefingMap'),
};

const USAGE = `usage: zonerisk <command> [options]

commands:
  serve                          run the HTTP service (PORT, DATABASE_URL, ...)
  migrate                        apply pending database migrations
  seed --demo [--end YYYY-MM-DD] load the Đồng Nai areas and the synthetic demo series
  import-areas <file.geojson>    upsert areas from a GeoJSON FeatureCollection
  import-reports <file.csv>      upsert daily reports (area,date,community_cases,quarantine_cases[,deaths][,source])
  import-metrics <file.csv>      upsert indicators (area,date,name,value)
  recompute --date D             classify every area for day D with the active rule set
  recompute --from A --to B      ... for every day from A to B, in order
  keys create --role R [--scope CODE ...] [--name N]
                                 create an API key (reader, reporter with area scopes, admin); printed once
  keys list                      list keys (never their secrets)
  keys revoke <id>               revoke a key
  briefing [--date D] [--parent CODE] --format pdf|xlsx|json|csv --out FILE [--version latest|published]
                                 the weekly steering-committee briefing of an area (default: every
                                 commune) for the week ending D (default today) written to FILE

Without DATABASE_URL the embedded engine in ZONERISK_DATA_DIR (default ./.zonerisk) is used.`;

type Out = { out: (line: string) => void; err: (line: string) => void };
const stdio: Out = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Every value of a repeated option (`--scope A --scope B`). */
function options(args: string[], name: string): string[] {
  return args.flatMap((a, i) => (a === name && args[i + 1] !== undefined ? [args[i + 1] as string] : []));
}

export type OpenDatabase = (config: Config) => Promise<Database>;

async function withDatabase<T>(open: OpenDatabase, config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await open(config);
  try {
    await migrateLatest(db.knex);
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** A progress line on a terminal; nothing when output is piped (CI, cron). */
function progress(label: string, totalBytes: number) {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let last = 0;
  return {
    update(bytes: number, records: number) {
      if (!tty || Date.now() - last < 200) return;
      last = Date.now();
      const pct = totalBytes ? Math.min(100, (bytes * 100) / totalBytes) : 0;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      const rate = Math.round(records / Math.max(0.001, (Date.now() - started) / 1000));
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0)}% ${records.toLocaleString('en')} rows ${rate.toLocaleString('en')}/s `);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}

/** The file in 1 MiB byte chunks, counting bytes and lines for the progress bar. */
async function* readChunks(file: string, onChunk: (bytes: number, lines: number) => void): AsyncGenerator<Buffer> {
  let bytes = 0;
  let lines = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
    onChunk(bytes, lines);
    yield buf;
  }
}

async function importCsv(open: OpenDatabase, config: Config, kind: 'reports' | 'metrics', file: string, io: Out): Promise<number> {
  if (!file) throw new AppError(400, 'usage', `import-${kind} needs a file`);
  const size = fs.statSync(file).size;
  const bar = progress(`import-${kind}`, size);
  const started = Date.now();
  const source = { csv: readChunks(file, (bytes, lines) => bar.update(bytes, lines)) };
  const ingest = kind === 'reports' ? ingestReports : ingestMetrics;
  const result = await withDatabase(open, config, (db) => ingest(db, source, latestAcceptedDate(config.reportingTimeZone), { actor: 'cli' }));
  bar.done();
  const total = result.inserted + result.updated + result.unchanged;
  const secs = (Date.now() - started) / 1000;
  io.out(
    `${kind}: ${total} rows in ${secs.toFixed(2)} s (${Math.round(total / Math.max(secs, 0.001))} rows/s): inserted ${result.inserted}, updated ${result.updated}, unchanged ${result.unchanged}`,
  );
  return 0;
}

const BRIEFING_FORMATS = ['pdf', 'xlsx', 'json', 'csv'] as const satisfies readonly BriefingFormat[];

/**
 * The briefing command's options, strictly: an unknown option, an option without its value
 * (`--parent --format pdf`: the next token is another option) or given twice is a usage
 * error naming it (exit code 2).
 */
function briefingOptions(args: string[]): { date?: string; parent?: string; format?: string; out?: string; version?: string } {
  const names = ['date', 'parent', 'format', 'out', 'version'] as const;
  const values: Partial<Record<(typeof names)[number], string>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const name = names.find((n) => arg === `--${n}`);
    if (!name) {
      throw new AppError(400, 'usage', arg.startsWith('-') ? `briefing: unknown option ${arg}` : `briefing: unexpected argument ${arg}`, [{ path: arg, message: `briefing takes ${names.map((n) => `--${n}`).join(', ')}` }]);
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new AppError(400, 'usage', `briefing: --${name} needs a value`, [{ path: `--${name}`, message: 'needs a value' }]);
    if (values[name] !== undefined) throw new AppError(400, 'usage', `briefing: --${name} is given twice`, [{ path: `--${name}`, message: 'given twice' }]);
    values[name] = value;
    i++;
  }
  return values;
}

/** Why a file could not be written, in words, naming the user's path (never the temporary one beside it). */
function writeFailure(out: string, e: unknown): AppError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const why: Record<string, string> = {
    ENOENT: 'no such directory',
    ENOTDIR: 'a part of the path is not a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'it is a directory',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
  };
  const reason = (code && why[code]) ?? (e instanceof Error ? e.message : String(e));
  return new AppError(400, 'cannot_write', `cannot write ${out}: ${reason}`, [{ path: '--out', message: reason }]);
}

/** `briefing`: the weekly briefing (services/briefing.ts) written to a file, as GET /v1/briefing.<format> answers it. */
async function briefingFile(open: OpenDatabase, config: Config, args: string[], io: Out): Promise<number> {
  const { date: dateText, parent, format, out, version = 'latest' } = briefingOptions(args);
  if (dateText !== undefined && !isLocalDate(dateText)) throw new AppError(400, 'usage', '--date must be a date YYYY-MM-DD');
  if (parent !== undefined && !AREA_CODE_RE.test(parent)) throw new AppError(400, 'usage', '--parent must be an area code');
  if (!format || !(BRIEFING_FORMATS as readonly string[]).includes(format)) throw new AppError(400, 'usage', `briefing needs --format ${BRIEFING_FORMATS.join('|')}`);
  if (!out) throw new AppError(400, 'usage', 'briefing needs --out FILE');
  const ext = path.extname(out).slice(1).toLowerCase();
  if (ext !== '' && ext !== format) throw new AppError(400, 'usage', `--out ${out} ends in .${ext} but --format is ${format}`, [{ path: '--out', message: `must end in .${format} (or have no extension)` }]);
  if (version !== 'latest' && version !== 'published') throw new AppError(400, 'usage', '--version must be latest or published');
  const date = (dateText as LocalDate | undefined) ?? today(config.reportingTimeZone);
  const [{ createRuntime }, { briefing }, { writeBriefing }, { briefingMap }] = await Promise.all([lazy.runtime(), lazy.briefing(), lazy.briefingFiles(), lazy.briefingMap()]);
  const { b, map } = await withDatabase(open, config, async (db) => {
    const rt = createRuntime(config, db);
    try {
      const b = await briefing(rt, { date, parent, version, asOf: null });
      return { b, map: format === 'pdf' ? await briefingMap(rt, b) : null };
    } finally {
      await rt.close();
    }
  });
  // written next to the target, then moved over it: a failed run leaves no half file
  const partial = `${out}.partial`;
  try {
    await writeBriefing(b, format as BriefingFormat, fs.createWriteStream(partial), { map });
    fs.renameSync(partial, out);
  } catch (e) {
    fs.rmSync(partial, { force: true });
    throw writeFailure(out, e);
  }
  io.out(`briefing ${b.area.code ?? 'all'} ${b.date} (${b.week.from}..${b.week.to}, ${b.version}): ${b.communes.length} communes, ${b.hotspots.length} red or orange, ${b.changes.items.length} changes → ${out} (${format}, ${fs.statSync(out).size} bytes)`);
  return 0;
}

export async function run(args: string[], config: Config, io: Out = stdio, open: OpenDatabase = openDatabase): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'serve': {
      const { startService } = await lazy.server();
      const svc = await startService(config);
      const stop = async (signal: string) => {
        log.info('shutting down', { signal });
        await svc.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
      // node-postgres can raise a dead connection's error past every listener when the server
      // goes away mid-statement: that must not end a service whose pool will reconnect
      process.on('uncaughtException', (e) => {
        if (isDatabaseUnavailable(e)) return log.warn('a database connection failed outside any request', { error: e.message });
        log.error('uncaught exception', { error: e.message, stack: e.stack });
        process.exit(1);
      });
      return new Promise<number>(() => undefined); // runs until a signal
    }
    case 'run-job': {
      // a job of the queue, claimed for this process by its service's dispatcher (see jobs/runner.ts)
      const id = Number(rest[0]);
      if (!Number.isInteger(id) || id < 1) throw new AppError(400, 'usage', 'run-job needs a job id');
      const { Recomputations } = await import('./jobs/recomputations');
      const { outageMessage } = await import('./jobs/jobRun');
      const { getJob } = await import('./db/jobs');
      // the service that started this job died: stop at once (the sweep ends the job's attempt)
      const orphaned = () => process.exit(70);
      process.once('disconnect', orphaned);
      const sigterm = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
      const db = await open(config);
      const recomputations = new Recomputations(db);
      void sigterm.then(() => recomputations.stop());
      // the same, in a job process: the attempt is recorded as failed for the outage, then it ends
      process.on('uncaughtException', (e) => {
        log.warn('job process: uncaught exception', { job: id, error: e.message });
        const record = isDatabaseUnavailable(e) ? recomputations.fail(id, outageMessage(e)) : recomputations.fail(id, e.message);
        void record.finally(() => process.exit(1));
      });
      try {
        const job = await getJob(db, id);
        if (!job) throw new AppError(404, 'not_found', `no job ${id}`);
        if (job.status !== 'running') throw new AppError(409, 'job_not_running', `job ${id} is ${job.status}: run-job runs a job its service has claimed`);
        const done = await recomputations.execute(job).catch(() => null);
        await recomputations.endsRecorded(); // an outage's failure is recorded before this process goes
        return done?.status === 'succeeded' ? 0 : 1;
      } finally {
        await db.close();
        process.off('disconnect', orphaned);
        process.disconnect?.(); // the channel would keep this process alive
      }
    }
    case 'migrate': {
      const db = await open(config);
      try {
        const applied = await migrateLatest(db.knex);
        io.out(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'migrations already current');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'seed': {
      if (!rest.includes('--demo')) throw new AppError(400, 'usage', 'seed needs --demo (the only data set shipped)');
      const endText = option(rest, '--end');
      if (endText !== undefined && !isLocalDate(endText)) throw new AppError(400, 'usage', '--end must be a date YYYY-MM-DD');
      const end = (endText as LocalDate | undefined) ?? today(config.reportingTimeZone);
      if (end > latestAcceptedDate(config.reportingTimeZone)) throw new AppError(400, 'usage', '--end must not be in the future');
      const { seedDemo } = await lazy.seeds();
      const r = await withDatabase(open, config, (db) => seedDemo(db, end));
      io.out(
        `demo loaded: areas created ${r.areas.created}, updated ${r.areas.updated}, unchanged ${r.areas.unchanged}; ` +
          `reports ${r.from}..${r.to} inserted ${r.reports.inserted}, updated ${r.reports.updated}, unchanged ${r.reports.unchanged}; ` +
          `metrics inserted ${r.metrics.inserted}, updated ${r.metrics.updated}, unchanged ${r.metrics.unchanged} (synthetic case series)`,
      );
      return 0;
    }
    case 'import-areas': {
      const file = rest[0];
      if (!file) throw new AppError(400, 'usage', 'import-areas needs a GeoJSON file');
      const started = Date.now();
      const { areasFromFeatureCollection } = await lazy.features();
      const { importAreas } = await lazy.areas();
      const areas = areasFromFeatureCollection(JSON.parse(fs.readFileSync(file, 'utf8')));
      const r = await withDatabase(open, config, (db) => importAreas(db, areas, undefined, 'cli'));
      for (const w of r.warnings) io.err(`warning: ${w.message}`);
      io.out(
        `areas: ${areas.length} in ${((Date.now() - started) / 1000).toFixed(2)} s: created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, overlapping pairs ${r.overlaps}`,
      );
      return 0;
    }
    case 'recompute': {
      const date = option(rest, '--date');
      const from = option(rest, '--from') ?? date;
      const to = option(rest, '--to') ?? date;
      if (!from || !to || !isLocalDate(from) || !isLocalDate(to) || from > to) {
        throw new AppError(400, 'usage', 'recompute needs --date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD (from ≤ to)');
      }
      const { Recomputations } = await import('./jobs/recomputations');
      const started = Date.now();
      const { registerInstance } = await import('./db/instances');
      const job = await withDatabase(open, config, async (db) => {
        // registered, so that the job is marked failed if this process dies mid-run
        const instance = await registerInstance(db);
        try {
          const recomputations = new Recomputations(db, instance.id);
          return await recomputations.runJob(await recomputations.createJob(from as LocalDate, to as LocalDate, 'cli'));
        } finally {
          await instance.stop();
        }
      });
      io.out(
        `recompute ${from}..${to}: job ${job.id} ${job.status}, ${job.days_done}/${job.days} days, ${job.areas} areas, ${job.changed} level changes, ${job.written} rows written in ${((Date.now() - started) / 1000).toFixed(2)} s`,
      );
      return job.status === 'succeeded' ? 0 : 1;
    }
    case 'keys': {
      const { createKey, listKeys, revokeKey, ROLES } = await lazy.keys();
      const [action, ...params] = rest;
      if (action === 'create') {
        const role = option(params, '--role');
        if (!role || !(ROLES as readonly string[]).includes(role)) throw new AppError(400, 'usage', `keys create needs --role ${ROLES.join('|')}`);
        const key = await withDatabase(open, config, (db) => createKey(db, { role: role as (typeof ROLES)[number], scope: options(params, '--scope'), name: option(params, '--name') ?? null }, 'cli'));
        io.out(key.key);
        io.err(`key ${key.id} (${key.role}${key.scope.length ? ` of ${key.scope.join(', ')}` : ''}) created; it is shown this once — store it now`);
        return 0;
      }
      if (action === 'list') {
        const keys = await withDatabase(open, config, (db) => listKeys(db.knex));
        for (const k of keys) {
          io.out(`${k.id}\tzr_${k.prefix}_…\t${k.role}\t${k.scope.join(',') || '-'}\t${k.name ?? ''}\tcreated ${k.created_at}\tlast used ${k.last_used_at ?? 'never'}${k.revoked_at ? `\trevoked ${k.revoked_at}` : ''}`);
        }
        return 0;
      }
      if (action === 'revoke') {
        const id = Number(params[0]);
        if (!Number.isInteger(id) || id < 1) throw new AppError(400, 'usage', 'keys revoke needs a key id (see keys list)');
        const k = await withDatabase(open, config, (db) => revokeKey(db, id, 'cli'));
        io.out(`key ${k.id} revoked at ${k.revoked_at}`);
        return 0;
      }
      throw new AppError(400, 'usage', 'keys create|list|revoke');
    }
    case 'briefing':
      return briefingFile(open, config, rest, io);
    case 'import-reports':
      return importCsv(open, config, 'reports', rest[0] ?? '', io);
    case 'import-metrics':
      return importCsv(open, config, 'metrics', rest[0] ?? '', io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.err(`unknown command ${command}\n\n${USAGE}`);
      return 2;
  }
}

/** Entry point for bin/zonerisk.js: prints client-side errors plainly, exit codes for scripts. */
export async function main(args: string[]): Promise<number> {
  try {
    const config = loadConfig();
    setLogLevel(config.logLevel);
    return await run(args, config);
  } catch (e) {
    if (e instanceof ConfigError) {
      stdio.err(`zonerisk: ${e.message}`);
      return 2;
    }
    if (e instanceof AppError) {
      stdio.err(`zonerisk: ${e.message}`);
      for (const d of e.details) stdio.err(`  ${d.path}: ${d.message}`);
      return e.code === 'usage' ? 2 : 1;
    }
    if (e instanceof SyntaxError) {
      stdio.err(`zonerisk: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
