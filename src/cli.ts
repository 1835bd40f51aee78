import { createHash, Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, Config } from './config';
import { Database, openDatabase } from './db/database';
import type { Job } from './db/jobs';
import { migrateLatest } from './db/migrate';
import { AREA_CODE_RE } from './domain/areas';
import type { BriefingFormat } from './domain/briefing';
import { addDays, isLocalDate, LocalDate, today } from './domain/dates';
import { AppError, isDatabaseUnavailable, unprocessable } from './errors';
import { FactsInput, ingestMetrics, ingestReports, latestAcceptedDate } from './ingest/ingest';
import type { BatchSource } from './db/imports';
import type { Recomputations } from './jobs/recomputations';
import { log, setLogLevel } from './log';

// Heavy modules (express, turf, PGlite, the seeds) load only for the commands that use
// them: a cron job importing a CSV should not pay for the web server, and `--help` loads none.
const lazy = {
  server: () => import('./server'),
  seeds: () => import('../seeds'),
  areas: () => import('./db/areas'),
  features: () => import('./geo/features'),
  keys: () => import('./db/keys'),
  ruleSets: () => import('./db/rulesets'),
  ruleDefinition: () => import('./domain/rules/definition'),
  recomputations: () => import('./jobs/recomputations'),
  instances: () => import('./db/instances'),
  runtime: () => import('./runtime'),
  briefing: () => import('./services/briefing'),
  briefingFiles: () => import('./services/briefingFiles'),
  briefingMap: () => import('./services/briefingMap'),
};

type Out = { out: (line: string) => void; err: (line: string) => void };
const stdio: Out = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

export type OpenDatabase = (config: Config) => Promise<Database>;

type Ctx = { config: Config; io: Out; open: OpenDatabase };

// ---------------------------------------------------------------------------------------------
// Commands and their options. Every command is one entry of COMMANDS; every option one line of
// its `options` (its node:util parseArgs type, the placeholder of its value, its help line).
// ---------------------------------------------------------------------------------------------

/** One option of a command: `--name` (boolean) or `--name VALUE` (string; `multiple`: may repeat). */
type Opt = { type: 'string' | 'boolean'; multiple?: true; value?: string; help: string };
type Opts = Record<string, Opt>;
/** The parsed values of a command's options, typed from its option specs. */
type Values<O extends Opts> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K] extends { multiple: true } ? string[] : string };
type RawValues = Record<string, string | boolean | string[] | undefined>;

type Command = {
  /** `import-reports`, `keys create` */
  name: string;
  /** the positional arguments as the usage line shows them, one per argument taken */
  positionals: string[];
  /** one line for `zonerisk --help`, then the command's own help */
  summary: string;
  /** more lines of the command's own help */
  details?: string[];
  options: Opts;
  /** not listed in `zonerisk --help` (internal) */
  hidden?: true;
  exec(values: RawValues, positionals: string[], ctx: Ctx): Promise<number>;
};

/** A command whose handler sees its options' values typed from their specs. */
function command<const O extends Opts>(c: Omit<Command, 'options' | 'exec'> & { options: O; exec(values: Values<O>, positionals: string[], ctx: Ctx): Promise<number> }): Command {
  // parseCommand fills the values from exactly these specs: the cast states what it checked
  return { ...c, exec: (values, positionals, ctx) => c.exec(values as Values<O>, positionals, ctx) };
}

const usageError = (message: string, option: string, why: string) => new AppError(400, 'usage', message, [{ path: option, message: why }]);

/** `-h` or `--help` anywhere before a `--`: the command's help, whatever else is on the line. */
export function asksForHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * A command's arguments, strictly, tokenised by node:util parseArgs: an unknown option, an
 * option without its value (none, or the next token is another option: `--parent --format`;
 * a value starting with `-` is written `--name=-x`), a value given to a boolean option, a
 * non-repeatable option given twice, or more positionals than the command takes is a usage
 * error (exit code 2) naming it.
 */
export function parseCommand(cmd: Pick<Command, 'name' | 'options' | 'positionals'>, args: string[]): { values: RawValues; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(cmd.options).map(([k, o]) => [k, { type: o.type, multiple: o.multiple ?? false }]));
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const values: RawValues = {};
  const positionals: string[] = [];
  const known = Object.keys(cmd.options).map((k) => `--${k}`);
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (positionals.length >= cmd.positionals.length) {
        throw usageError(`Đối số thừa — ${cmd.name}: unexpected argument ${t.value}`, t.value, cmd.positionals.length ? `${cmd.name} takes ${cmd.positionals.join(' ')}` : `${cmd.name} takes no argument`);
      }
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue; // `--`: what follows is positional
    const spec = Object.hasOwn(cmd.options, t.name) ? cmd.options[t.name] : undefined;
    if (!spec) {
      throw usageError(`Không có tùy chọn này — ${cmd.name}: unknown option ${t.rawName}`, t.rawName, known.length ? `${cmd.name} takes ${known.join(', ')}` : `${cmd.name} takes no option`);
    }
    const name = `--${t.name}`;
    if (spec.type === 'boolean') {
      if (t.value !== undefined) throw usageError(`Tùy chọn không nhận giá trị — ${cmd.name}: ${name} takes no value`, name, 'takes no value');
      values[t.name] = true;
      continue;
    }
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('-'))) {
      throw usageError(`Thiếu giá trị — ${cmd.name}: ${name} needs a value`, name, `needs a value${spec.value ? ` (${spec.value})` : ''}`);
    }
    const before = values[t.name];
    if (spec.multiple) values[t.name] = [...(Array.isArray(before) ? before : []), t.value];
    else if (before !== undefined) throw usageError(`Tùy chọn lặp lại — ${cmd.name}: ${name} is given twice`, name, 'given twice');
    else values[t.name] = t.value;
  }
  return { values, positionals };
}

/** The usage of one command, from its spec. */
export function commandHelp(cmd: Command): string {
  const hasOptions = Object.keys(cmd.options).length > 0;
  const rows: [string, string][] = Object.entries(cmd.options).map(([k, o]) => [`--${k}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}${o.multiple ? ' ...' : ''}`, o.help]);
  rows.push(['-h, --help', 'this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [
    `usage: zonerisk ${[cmd.name, ...cmd.positionals].join(' ')}${hasOptions ? ' [options]' : ''}`,
    '',
    cmd.summary,
    ...(cmd.details ?? []),
    '',
    'options:',
    ...rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Helpers of the commands
// ---------------------------------------------------------------------------------------------

async function withDatabase<T>(open: OpenDatabase, config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await open(config);
  try {
    await migrateLatest(db.knex);
    return await fn(db);
  } finally {
    await db.close();
  }
}

/**
 * Runs `fn` with this process registered as a service instance (db/instances.ts), its
 * recomputations owning the jobs they create and claim: a job of a process that dies
 * mid-run is marked failed (or queued again) by the next sweep, not left running.
 */
async function registered<T>(db: Database, fn: (r: Recomputations) => Promise<T>): Promise<T> {
  const [{ Recomputations }, { registerInstance }] = await Promise.all([lazy.recomputations(), lazy.instances()]);
  const instance = await registerInstance(db);
  try {
    return await fn(new Recomputations(db, instance.id));
  } finally {
    await instance.stop();
  }
}

/** `job 12 succeeded, 7/7 days, 183 areas, 4 level changes, 1281 rows written` */
const jobSummary = (job: Job) => `job ${job.id} ${job.status}, ${job.days_done}/${job.days} days, ${job.areas} areas, ${job.changed} level changes, ${job.written} rows written`;
const seconds = (started: number) => `${((Date.now() - started) / 1000).toFixed(2)} s`;

/**
 * Runs a job queued for the service's job runner (late data, a rule-set activation) in this
 * process, now. Exit code 0 when it succeeded; a job a running service claimed first is left
 * to it (0, said so); a failed run is recorded on the job — queued again for a service while
 * it has attempts left — and is exit code 1.
 */
async function runQueued(db: Database, job: Job, label: string, io: Out): Promise<number> {
  const started = Date.now();
  const range = `${job.params.from}..${job.params.to}`;
  try {
    const done = await registered(db, (r) => r.runJob(job));
    io.out(`recompute ${range} (${label}): ${jobSummary(done)} in ${seconds(started)}`);
    return done.status === 'succeeded' ? 0 : 1;
  } catch (e) {
    if (e instanceof AppError && e.code === 'job_not_queued') {
      io.out(`recompute ${range} (${label}): job ${job.id} was taken by a running service's job runner; see GET /v1/jobs/${job.id}`);
      return 0;
    }
    const why = e instanceof Error ? e.message : String(e);
    io.err(`Tính lại thất bại — recompute ${range} (${label}) failed: job ${job.id}: ${why}`);
    return 1;
  }
}

/** A progress bar (cli-progress) on a terminal; nothing when stderr is piped (CI, cron). */
export type Progress = { update(bytes: number, lines: number): void; done(): void; stop(): void };

/**
 * A byte progress bar on `stream` when it is a terminal (else one that draws nothing). `done()`
 * draws it full — the last update of a fast import may come at any percentage, and what was
 * read may differ from the size measured before — and ends its line; `stop()` ends it as it is
 * (a failed import).
 */
export async function progressBar(label: string, totalBytes: number, stream: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  if (!stream.isTTY || totalBytes <= 0) return { update: () => undefined, done: () => undefined, stop: () => undefined };
  const { SingleBar } = await import('cli-progress');
  const started = Date.now();
  const bar = new SingleBar({ stream, format: `${label} [{bar}] {percentage}% | {rows} lines | {rate} lines/s | ETA {eta_formatted}`, hideCursor: true, fps: 5, barsize: 30 });
  let lines = 0;
  const payload = () => ({ rows: lines.toLocaleString('en'), rate: Math.round(lines / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString('en') });
  bar.start(totalBytes, 0, payload());
  let ended = false;
  return {
    update(bytes, n) {
      lines = n;
      if (bytes > bar.getTotal()) bar.setTotal(bytes);
      bar.update(bytes, payload());
    },
    done() {
      if (ended) return;
      ended = true;
      bar.update(bar.getTotal(), payload());
      bar.stop();
    },
    stop() {
      if (ended) return;
      ended = true;
      bar.stop();
    },
  };
}

/** The file in 1 MiB byte chunks, counting the bytes read and their lines for the progress bar. */
export async function* readChunks(file: string, onChunk: (bytes: number, lines: number) => void, hash?: Hash): AsyncGenerator<Buffer> {
  let bytes = 0;
  let lines = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    hash?.update(buf);
    bytes += buf.length;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
    onChunk(bytes, lines);
    yield buf;
  }
}

/** Why a file could not be read, in words, naming it (a client's mistake: exit 1, no stack). */
function readFailure(file: string, e: unknown): AppError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a directory', ENOTDIR: 'a part of the path is not a directory' };
  const reason = (code && why[code]) ?? (e instanceof Error ? e.message : String(e));
  return new AppError(400, 'cannot_read', `Tệp không đọc được — the file cannot be read: ${file}: ${reason}`, [{ path: file, message: reason }]);
}

function statFile(file: string): fs.Stats {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return st;
  } catch (e) {
    throw readFailure(file, e);
  }
}

/** Runs `fn` on the file opened for reading (a failure to open or read it said in words, naming it), and closes it. */
function withFile<T>(file: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw readFailure(file, e);
  }
  try {
    return fn(fd);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw readFailure(file, e);
  } finally {
    fs.closeSync(fd);
  }
}

/** At most `limit` bytes of a file; more is a 422 `tooLarge` naming the limit (read bounded: a file growing meanwhile changes nothing). */
function readBounded(file: string, limit: number, tooLarge: string): Buffer {
  return withFile(file, (fd) => {
    const buf = Buffer.alloc(limit + 1);
    let n = 0;
    for (let r = 1; r > 0 && n <= limit; n += r) r = fs.readSync(fd, buf, n, limit + 1 - n, null);
    if (n > limit) throw unprocessable(`Tệp quá lớn — ${file} is larger than ${limit} bytes`, [{ path: file, message: `at most ${limit} bytes` }], tooLarge);
    return buf.subarray(0, n);
  });
}

const DRY_RUN = { type: 'boolean' as const, help: 'read the whole file and resolve every area name; list each row not resolved with its candidates; write nothing (exit 1 if any)' } satisfies Opt;
const COLUMNS: Opt = { type: 'string', value: 'MAP', help: 'which column is which, e.g. "area_name=Tên đơn vị,date=Ngày báo cáo" (canonical=header text)' };
const FACT_PROFILE: Opt = { type: 'string', value: 'NAME', help: 'a saved column map (GET /v1/import-profiles)' };
const NO_RECOMPUTE: Opt = { type: 'boolean', help: 'store only: days already classified keep their levels (no recomputation is queued) until recomputed' };

/** A JSON file's content (a syntax error is the user's: exit 1 naming the file). */
function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new AppError(400, 'invalid_json', `Tệp JSON không hợp lệ — ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, [{ path: file, message: 'not valid JSON' }]);
  }
}

/** The largest file an import reads whole (a spreadsheet, a name-resolved CSV, a boundary file); a canonical CSV streams, any size. */
const WHOLE_FILE_LIMIT = 1024 * 1024 * 1024;

function readWhole(file: string): Buffer {
  const st = statFile(file);
  if (st.size > WHOLE_FILE_LIMIT) throw unprocessable(`Tệp quá lớn — ${file} is larger than ${WHOLE_FILE_LIMIT} bytes`, [{ path: file, message: `at most ${WHOLE_FILE_LIMIT} bytes` }], 'file_too_large');
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw readFailure(file, e);
  }
}

/** The first `n` bytes of a file (its header, for the choice of path). */
function head(file: string, n: number): Buffer {
  return withFile(file, (fd) => {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0));
  });
}

/** The content type a file's name says (the HTTP routes read the same types). */
function contentTypeOf(file: string): string {
  const ext = path.extname(file).toLowerCase();
  const types: Record<string, string> = {
    '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    '.csv': 'text/csv',
    '.txt': 'text/csv',
    '.json': 'application/json',
    '.geojson': 'application/geo+json',
    '.zip': 'application/zip',
    '.gpkg': 'application/geopackage+sqlite3',
    '.kml': 'application/vnd.google-earth.kml+xml',
    '.kmz': 'application/vnd.google-earth.kmz',
  };
  return types[ext] ?? 'application/octet-stream';
}

type FactOptions = { recompute: boolean; dryRun: boolean; columns?: string | undefined; profile?: string | undefined };

/** A dry run's answer, as lines: the counts, then every unresolved row listed with its candidates. */
function printDryRun(kind: string, a: { rows: number; resolved: number; unresolved_rows: number; unresolved: { row: number; area_name: string | null; parent_name: string | null; area?: string; candidates: { code: string; name: string; parent: string | null }[] }[]; matches: { area_name: string; parent_name: string | null; code: string; via: string; rows: number }[] }, io: Out): number {
  io.out(`${kind} dry run: ${a.rows} rows, ${a.resolved} resolved, ${a.unresolved_rows} unresolved; nothing written`);
  for (const m of a.matches) io.out(`  "${m.area_name}"${m.parent_name ? ` (${m.parent_name})` : ''} → ${m.code} (by ${m.via}, ${m.rows} row(s))`);
  for (const u of a.unresolved) {
    const what = u.area_name === null ? `unknown area code ${u.area}` : `"${u.area_name}"${u.parent_name ? ` (${u.parent_name})` : ''}`;
    const options = u.candidates.map((c) => `${c.code} ${c.name}${c.parent ? `, ${c.parent}` : ''}`).join('; ');
    io.out(`  line ${u.row}: ${what} not resolved${options ? ` — candidates: ${options}` : ' — no candidate'}`);
  }
  if (a.unresolved_rows > a.unresolved.length) io.out(`  … ${a.unresolved_rows - a.unresolved.length} more`);
  return a.unresolved_rows === 0 ? 0 : 1;
}

async function importCsv(ctx: Ctx, kind: 'reports' | 'metrics', file: string | undefined, o: FactOptions): Promise<number> {
  const { config, io } = ctx;
  if (!file) throw new AppError(400, 'usage', `import-${kind} needs a file`, [{ path: 'file', message: `zonerisk import-${kind} <file.csv|file.xlsx>` }]);
  const stat = statFile(file);
  const started = Date.now();
  const contentType = contentTypeOf(file) === 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' ? contentTypeOf(file) : 'text/csv';
  const { isCanonicalCsv, sniffTable } = await import('./ingest/table/dialect'); // the normaliser (iconv, the XLSX reader: 80 ms to load) only when needed
  const first = head(file, 64 * 1024);
  // a canonical CSV by codes streams straight into the ingest (any size); anything else is read whole
  const streams = !o.dryRun && o.columns === undefined && o.profile === undefined && sniffTable(first, contentType).format === 'csv' && isCanonicalCsv(first, kind);
  const ingest = kind === 'reports' ? ingestReports : ingestMetrics;
  return withDatabase(ctx.open, config, async (db) => {
    let source: FactsInput;
    let batch: BatchSource;
    const bar = await progressBar(`import-${kind}`, stat.isFile() ? stat.size : 0);
    let result;
    try {
      if (streams) {
        // hashed as it streams: the batch gets its hash when the file has been read
        const hash = createHash('sha256');
        source = { csv: readChunks(file, (bytes, lines) => bar.update(bytes, lines), hash) };
        batch = { kind, fileName: path.basename(file), sha256: () => hash.digest('hex'), bytes: stat.size, format: 'csv', profile: null };
      } else {
        const { readFacts } = await import('./services/imports');
        const bytes = readWhole(file);
        const read = await readFacts(db, kind, { contentType, bytes }, { dryRun: o.dryRun, columns: o.columns, profile: o.profile, fileName: path.basename(file) });
        if ('dryRun' in read) return printDryRun(kind, read.dryRun, io);
        ({ input: source, batch } = read);
      }
      result = await ingest(db, source, latestAcceptedDate(config.reportingTimeZone), { actor: 'cli', batch });
      bar.done();
    } finally {
      bar.stop();
    }
    const total = result.inserted + result.updated + result.unchanged;
    const secs = (Date.now() - started) / 1000;
    io.out(
      `${kind}: ${total} rows in ${secs.toFixed(2)} s (${Math.round(total / Math.max(secs, 0.001))} rows/s): inserted ${result.inserted}, updated ${result.updated}, unchanged ${result.unchanged}` +
        (result.import ? `; import ${result.import.id}${result.import.same_as ? ` (the same file as import ${result.import.same_as})` : ''}` : ''),
    );
    const earliest = result.earliest_changed_date;
    if (earliest === null) return 0;
    if (!o.recompute) {
      io.out(`recompute skipped (--no-recompute): days classified from ${earliest} on keep their levels until recomputed`);
      return 0;
    }
    // as POST /v1/reports: the classified days from the earliest change on, through the queue
    // (folded into a pending late-data job), then run here at once — a CLI has no job runner
    const { Recomputations } = await lazy.recomputations();
    const job = await new Recomputations(db).afterIngest(earliest);
    if (!job) {
      io.out(`recompute: no day from ${earliest} on is classified yet; nothing to recompute`);
      return 0;
    }
    return runQueued(db, job, 'late data', io);
  });
}

const BRIEFING_FORMATS = ['pdf', 'xlsx', 'json', 'csv'] as const satisfies readonly BriefingFormat[];

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
async function briefingFile(ctx: Ctx, o: { date?: string; parent?: string; format?: string; out?: string; version?: string }): Promise<number> {
  const { config, io } = ctx;
  const { date: dateText, parent, out, version = 'latest' } = o;
  if (dateText !== undefined && !isLocalDate(dateText)) throw new AppError(400, 'usage', '--date must be a date YYYY-MM-DD');
  if (parent !== undefined && !AREA_CODE_RE.test(parent)) throw new AppError(400, 'usage', '--parent must be an area code');
  if (!out) throw new AppError(400, 'usage', 'briefing needs --out FILE');
  const ext = path.extname(out).slice(1).toLowerCase();
  const isFormat = (f: string | undefined): f is BriefingFormat => (BRIEFING_FORMATS as readonly string[]).includes(f ?? '');
  // the format given, else the one --out's extension names
  const format = o.format ?? (isFormat(ext) ? ext : undefined);
  if (!isFormat(format)) throw new AppError(400, 'usage', `briefing needs --format ${BRIEFING_FORMATS.join('|')}, or --out FILE ending in one of them`, [{ path: '--format', message: `must be one of ${BRIEFING_FORMATS.join(', ')}` }]);
  if (ext !== '' && ext !== format) throw new AppError(400, 'usage', `--out ${out} ends in .${ext} but --format is ${format}`, [{ path: '--out', message: `must end in .${format} (or have no extension)` }]);
  if (version !== 'latest' && version !== 'published') throw new AppError(400, 'usage', '--version must be latest or published');
  const date = (dateText as LocalDate | undefined) ?? today(config.reportingTimeZone);
  const [{ createRuntime }, { briefing }, { writeBriefing }, { briefingMap }] = await Promise.all([lazy.runtime(), lazy.briefing(), lazy.briefingFiles(), lazy.briefingMap()]);
  const { b, map } = await withDatabase(ctx.open, config, async (db) => {
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

/** The demo's days: by default 90, or from 1 May 2025 when it ends on the map of 1 July 2025 or later (seeds/index.ts); fewer for a quick look or a test. */
const DEMO_DAYS = { default: 90, max: 1000 } as const;
/** The largest rule-set file `rule-sets create --file` reads: POST /v1/rule-sets's body limit (SMALL_BODY_BYTES). */
const RULE_SET_FILE_BYTES = 1024 * 1024;

/**
 * `seed --demo`'s classification, as the embedded first start does (seeds/index.ts
 * classifyDemo): vn-moh-4800-2021 put in force from the first demo day and the demo period
 * classified. On a database where a rule set is in force already that choice is kept: the
 * demo days it covers are classified under it, nothing is activated.
 */
async function classifySeed(db: Database, r: { from: LocalDate; to: LocalDate }, io: Out): Promise<number> {
  const started = Date.now();
  const [{ classifyDemo }, { ruleSetTimeline }] = await Promise.all([lazy.seeds(), lazy.ruleSets()]);
  const periods = await ruleSetTimeline(db.knex, null);
  if (periods.length === 0) {
    const job = await registered(db, (rc) => classifyDemo(db, r.from, r.to, rc));
    io.out(`demo classified with vn-moh-4800-2021, in force from ${r.from}: ${jobSummary(job)} in ${seconds(started)}`);
    return job.status === 'succeeded' ? 0 : 1;
  }
  const first = periods.map((p) => p.effective_from as LocalDate).sort()[0] as LocalDate;
  const from = first > r.from ? first : r.from;
  if (from > r.to) {
    io.out(`demo not classified: the rule sets in force begin on ${first}, after the demo's last day`);
    return 0;
  }
  const job = await registered(db, async (rc) => rc.runJob(await rc.createJob(from, r.to, 'demo')));
  io.out(`demo classified ${from}..${r.to} with the rule sets already in force (none activated): ${jobSummary(job)} in ${seconds(started)}`);
  return job.status === 'succeeded' ? 0 : 1;
}

const dateOption = (text: string | undefined, name: string): LocalDate | undefined => {
  if (text !== undefined && !isLocalDate(text)) throw usageError(`${name} must be a date YYYY-MM-DD`, name, 'a date YYYY-MM-DD');
  return text as LocalDate | undefined;
};

const COMMANDS: Command[] = [
  command({
    name: 'serve',
    positionals: [],
    summary: 'run the HTTP service (PORT, DATABASE_URL, ...)',
    options: {},
    async exec(_o, _p, { config }) {
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
    },
  }),
  command({
    name: 'run-job',
    positionals: ['<id>'],
    summary: 'run a recompute job its service has claimed from the queue (the service starts these; not for manual use)',
    options: {},
    hidden: true,
    async exec(_o, [idText], { config, open }) {
      // a job of the queue, claimed for this process by its service's dispatcher (see jobs/runner.ts)
      const id = Number(idText);
      if (!Number.isInteger(id) || id < 1) throw new AppError(400, 'usage', 'run-job needs a job id');
      const { Recomputations } = await lazy.recomputations();
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
    },
  }),
  command({
    name: 'migrate',
    positionals: [],
    summary: 'apply pending database migrations',
    options: {},
    async exec(_o, _p, { config, io, open }) {
      const db = await open(config);
      try {
        const applied = await migrateLatest(db.knex);
        io.out(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'migrations already current');
      } finally {
        await db.close();
      }
      return 0;
    },
  }),
  command({
    name: 'seed',
    positionals: [],
    summary: 'load the Đồng Nai areas and the synthetic demo series, then classify it',
    details: [
      'With no rule set in force, vn-moh-4800-2021 is activated from the first demo day (as the embedded',
      'first start does); with one, the demo days are classified under it and nothing is activated.',
    ],
    options: {
      demo: { type: 'boolean', help: 'the Đồng Nai demo (the only data set shipped; required)' },
      end: { type: 'string', value: 'YYYY-MM-DD', help: 'the last day of the series (default: today in TZ_REPORTING)' },
      days: { type: 'string', value: 'N', help: `days of the series (default ${DEMO_DAYS.default}, or from 2025-05-01 when it ends on or after 2025-07-01 — across the reorganisation; at most ${DEMO_DAYS.max})` },
      'no-classify': { type: 'boolean', help: 'load only: activate no rule set, classify nothing (the map stays grey)' },
    },
    async exec(o, _p, { config, io, open }) {
      if (!o.demo) throw usageError('seed needs --demo (the only data set shipped)', '--demo', 'required');
      const end = dateOption(o.end, '--end') ?? today(config.reportingTimeZone);
      if (end > latestAcceptedDate(config.reportingTimeZone)) throw usageError('--end must not be in the future', '--end', 'not in the future');
      const days = o.days === undefined ? undefined : Number(o.days);
      if (days !== undefined && (!/^\d+$/.test(o.days ?? '1') || !Number.isInteger(days) || days < 1 || days > DEMO_DAYS.max)) throw usageError(`--days must be a whole number from 1 to ${DEMO_DAYS.max}`, '--days', `1..${DEMO_DAYS.max}`);
      const { seedDemo } = await lazy.seeds();
      return withDatabase(open, config, async (db) => {
        const r = await seedDemo(db, end, days);
        io.out(
          `demo loaded: areas created ${r.areas.created}, updated ${r.areas.updated}, unchanged ${r.areas.unchanged}; ` +
            `reports ${r.from}..${r.to} inserted ${r.reports.inserted}, updated ${r.reports.updated}, unchanged ${r.reports.unchanged}; ` +
            `metrics inserted ${r.metrics.inserted}, updated ${r.metrics.updated}, unchanged ${r.metrics.unchanged} (synthetic case series)`,
        );
        if (o['no-classify']) {
          io.out('demo not classified (--no-classify): no rule set activated; levels stay unknown until `zonerisk rule-sets activate` and `zonerisk recompute`');
          return 0;
        }
        return classifySeed(db, r, io);
      });
    },
  }),
  command({
    name: 'import-areas',
    positionals: ['<file>'],
    summary: 'upsert areas from a boundary file: GeoJSON, zipped Shapefile, GeoPackage, KML or KMZ, in any CRS it declares',
    details: [
      'The format is taken from the file name (.geojson/.json, .zip, .gpkg, .kml, .kmz). All or nothing; the answer',
      'lists repairs (--repair), overlapping pairs and gaps between neighbours.',
    ],
    options: {
      repair: { type: 'boolean', help: 'make invalid boundaries valid (ST_MakeValid), listing each; refused if the area changes by more than 100 m² or 0.1 %' },
      fields: { type: 'string', value: 'MAP', help: 'which attribute is which, e.g. "code=Com_ID,name=Ten_Xa,population=Dan_So,kind=commune"' },
      profile: { type: 'string', value: 'NAME', help: 'a saved field map, e.g. gso-communes (GET /v1/import-profiles)' },
      crs: { type: 'string', value: 'CRS', help: "the file's coordinate system when it does not say (EPSG:32648, VN2000-TM3:107.75, WKT)" },
      layer: { type: 'string', value: 'NAME', help: 'the Shapefile of a zip or the GeoPackage table, when there are several' },
    },
    async exec(o, [file], { config, io, open }) {
      if (!file) throw new AppError(400, 'usage', 'import-areas needs a boundary file', [{ path: 'file', message: 'zonerisk import-areas <file>' }]);
      const started = Date.now();
      const { importAreas } = await lazy.areas();
      const { readAreaFile } = await import('./services/imports');
      const bytes = readWhole(file);
      const contentType = contentTypeOf(file);
      const options = { repair: o.repair === true, fields: o.fields, profile: o.profile, crs: o.crs, layer: o.layer, fileName: path.basename(file) };
      const r = await withDatabase(open, config, async (db) => {
        const { areas, batch } = await readAreaFile(db, { contentType, bytes, ...(contentType.endsWith('json') ? { parsed: parseJson(bytes, file) } : {}) }, options);
        return { n: areas.length, result: await importAreas(db, areas, { actor: 'cli', repair: options.repair, batch }) };
      });
      const { result } = r;
      for (const x of result.repairs ?? []) io.out(`repaired ${x.code} (${x.feature}): ${x.problem} → ${x.action}; area changed by ${x.area_change_m2} m²`);
      for (const w of result.warnings) io.err(`warning: ${w.message}`);
      for (const g of result.gaps.worst) io.err(`warning: a gap of ${g.area_m2} m² between ${g.areas.join(', ')} at [${g.at.join(', ')}]`);
      io.out(
        `areas: ${r.n} in ${seconds(started)}: created ${result.created}, updated ${result.updated}, unchanged ${result.unchanged}, overlapping pairs ${result.overlaps}, gaps ${result.gaps.count} (${result.gaps.area_m2} m²)` +
          (result.repairs ? `, repaired ${result.repairs.length}` : '') +
          (result.import ? `; import ${result.import.id}${result.import.same_as ? ` (the same file as import ${result.import.same_as})` : ''}` : ''),
      );
      return 0;
    },
  }),
  command({
    name: 'reorganise',
    positionals: ['<plan.json>'],
    summary: 'apply a map change on one day, all or nothing: areas retired, new areas with their predecessors, re-parentings',
    details: [
      'The plan is POST /v1/reorganisations\'s body: {"effective_date", "retire": [codes], "areas": FeatureCollection,',
      '"reparent": [{"code","parent"}], "predecessors"?: {"NEW": ["OLD", "OLD:0.5"]}, "recompute"?, "note"?}; each new',
      'feature names its predecessors (property "predecessors", or the plan\'s map). With --areas the new areas are read',
      'from a boundary file instead (any format import-areas reads; predecessors from the plan\'s map).',
    ],
    options: {
      areas: { type: 'string', value: 'FILE', help: 'the new areas as a boundary file (GeoJSON, zipped Shapefile, GeoPackage, KML, KMZ)' },
      fields: { type: 'string', value: 'MAP', help: "the boundary file's field map, as import-areas --fields" },
      crs: { type: 'string', value: 'CRS', help: "the boundary file's coordinate system when it does not say" },
      repair: { type: 'boolean', help: 'make invalid boundaries of the new areas valid (as import-areas --repair)' },
      recompute: { type: 'boolean', help: 'levels already stored on or after the date are recomputed on the new map (else refused)' },
    },
    async exec(o, [file], { config, io, open }) {
      if (!file) throw new AppError(400, 'usage', 'reorganise needs a plan file', [{ path: 'file', message: 'zonerisk reorganise <plan.json>' }]);
      const [{ reorganisationBody }, { parseBody }, { featureLineage }, { planOf }, { reorganise }, { readAreaFile }] = await Promise.all([
        import('./http/schemas'),
        import('./http/validation'),
        import('./http/routes/reorganisations'),
        import('./services/reorganisations'),
        import('./db/reorganisations'),
        import('./services/imports'),
      ]);
      const raw = parseJson(readWhole(file), file) as Record<string, unknown>;
      const body = parseBody(reorganisationBody, { ...raw, ...(o.repair ? { repair: true } : {}), ...(o.recompute ? { recompute: true } : {}) });
      return withDatabase(open, config, async (db) => {
        let inputs;
        if (o.areas) {
          const bytes = readWhole(o.areas);
          const contentType = contentTypeOf(o.areas);
          const options = { repair: body.repair, fields: o.fields, crs: o.crs, fileName: path.basename(o.areas) };
          inputs = (await readAreaFile(db, { contentType, bytes, ...(contentType.endsWith('json') ? { parsed: parseJson(bytes, o.areas) } : {}) }, options)).areas;
        } else {
          const { areasFromFeatureCollectionAsync } = await lazy.features();
          inputs = body.areas === undefined ? [] : await areasFromFeatureCollectionAsync(body.areas, { repair: body.repair });
        }
        const r = await reorganise(db, planOf(body, inputs, o.areas ? [] : featureLineage(body.areas)), { actor: 'cli', repair: body.repair });
        for (const w of r.areas.warnings) io.err(`warning: ${w.message}`);
        io.out(`reorganisation ${r.id} on ${r.effective_date}: retired ${r.retired.length}, created ${r.created.length}, re-parented ${r.reparented.length}, lineage links ${r.lineage}`);
        if (!r.recompute) return 0;
        // as POST /v1/reorganisations with recompute: the classified days from the date on, queued, then run here
        const { Recomputations } = await lazy.recomputations();
        const job = await new Recomputations(db).afterIngest(r.effective_date);
        return job ? runQueued(db, job, 'reorganisation', io) : 0;
      });
    },
  }),
  command({
    name: 'import-reports',
    positionals: ['<file.csv|file.xlsx>'],
    summary: 'upsert daily reports (CSV or XLSX, by area code or by name); recomputes the classified days they change',
    details: [
      'The canonical CSV (area,date,community_cases,quarantine_cases[,deaths][,source]) streams, any size; a CSV as a',
      'Vietnamese Excel saves it (semicolon, Windows-1258, dd/mm/yyyy, Vietnamese headers) or an XLSX is read whole.',
      'Rows may name their area (Xã/Phường and Quận/Huyện columns) instead of its code: names are resolved, never',
      'guessed; an unresolved name refuses the whole file (see --dry-run). All or nothing; a progress bar when stderr is',
      'a terminal; then a count line and, when classified days changed, the recomputation run here.',
    ],
    options: { 'no-recompute': NO_RECOMPUTE, 'dry-run': DRY_RUN, columns: COLUMNS, profile: FACT_PROFILE },
    exec: (o, [file], ctx) => importCsv(ctx, 'reports', file, { recompute: !o['no-recompute'], dryRun: o['dry-run'] === true, columns: o.columns, profile: o.profile }),
  }),
  command({
    name: 'import-metrics',
    positionals: ['<file.csv|file.xlsx>'],
    summary: 'upsert indicators (area,date,name,value; CSV or XLSX, by code or by name); recomputes the classified days they change',
    options: { 'no-recompute': NO_RECOMPUTE, 'dry-run': DRY_RUN, columns: COLUMNS, profile: FACT_PROFILE },
    exec: (o, [file], ctx) => importCsv(ctx, 'metrics', file, { recompute: !o['no-recompute'], dryRun: o['dry-run'] === true, columns: o.columns, profile: o.profile }),
  }),
  command({
    name: 'recompute',
    positionals: [],
    summary: 'classify every area with the active rule set: for day D (--date), or every day from A to B in order',
    options: {
      date: { type: 'string', value: 'YYYY-MM-DD', help: 'one day' },
      from: { type: 'string', value: 'YYYY-MM-DD', help: 'the first day of a range' },
      to: { type: 'string', value: 'YYYY-MM-DD', help: 'the last day of a range' },
      days: { type: 'string', value: 'N', help: 'the last N days (1–31) up to today in TZ_REPORTING: 2 is what the daily run does (for cron and the Kubernetes CronJob)' },
    },
    async exec(o, _p, { config, io, open }) {
      if (o.days !== undefined && (o.date !== undefined || o.from !== undefined || o.to !== undefined)) throw usageError('recompute takes --days or --date/--from/--to, not both', '--days', 'N');
      if (o.days !== undefined && !/^([1-9]|[12]\d|3[01])$/.test(o.days)) throw usageError('recompute --days must be a whole number from 1 to 31', '--days', 'N');
      const last = today(config.reportingTimeZone);
      const from = o.days !== undefined ? addDays(last, 1 - Number(o.days)) : (o.from ?? o.date);
      const to = o.days !== undefined ? last : (o.to ?? o.date);
      if (!from || !to || !isLocalDate(from) || !isLocalDate(to) || from > to) {
        throw new AppError(400, 'usage', 'recompute needs --date YYYY-MM-DD, --from YYYY-MM-DD --to YYYY-MM-DD (from ≤ to), or --days N');
      }
      const started = Date.now();
      // registered, so that the job is marked failed if this process dies mid-run
      const job = await withDatabase(open, config, (db) => registered(db, async (r) => r.runJob(await r.createJob(from, to, 'cli'))));
      io.out(`recompute ${from}..${to}: ${jobSummary(job)} in ${seconds(started)}`);
      return job.status === 'succeeded' ? 0 : 1;
    },
  }),
  command({
    name: 'keys create',
    positionals: [],
    summary: 'create an API key (reader, reporter with area scopes, admin); it is printed once',
    options: {
      role: { type: 'string', value: 'reader|reporter|admin', help: 'what the key may do' },
      scope: { type: 'string', multiple: true, value: 'CODE', help: "a reporter's area (repeat for several)" },
      name: { type: 'string', value: 'N', help: 'a name to recognise it by' },
    },
    async exec(o, _p, { config, io, open }) {
      const { createKey, ROLES } = await lazy.keys();
      const role = ROLES.find((r) => r === o.role);
      if (!role) throw usageError(`keys create needs --role ${ROLES.join('|')}`, '--role', ROLES.join('|'));
      const key = await withDatabase(open, config, (db) => createKey(db, { role, scope: o.scope ?? [], name: o.name ?? null }, 'cli'));
      io.out(key.key);
      io.err(`key ${key.id} (${key.role}${key.scope.length ? ` of ${key.scope.join(', ')}` : ''}) created; it is shown this once — store it now`);
      return 0;
    },
  }),
  command({
    name: 'keys list',
    positionals: [],
    summary: 'list API keys (never their secrets)',
    options: {},
    async exec(_o, _p, { config, io, open }) {
      const { listKeys } = await lazy.keys();
      const keys = await withDatabase(open, config, (db) => listKeys(db.knex));
      for (const k of keys) {
        io.out(`${k.id}\tzr_${k.prefix}_…\t${k.role}\t${k.scope.join(',') || '-'}\t${k.name ?? ''}\tcreated ${k.created_at}\tlast used ${k.last_used_at ?? 'never'}${k.revoked_at ? `\trevoked ${k.revoked_at}` : ''}`);
      }
      return 0;
    },
  }),
  command({
    name: 'keys revoke',
    positionals: ['<id>'],
    summary: 'revoke an API key (its id from keys list)',
    options: {},
    async exec(_o, [idText], { config, io, open }) {
      const id = Number(idText);
      if (!Number.isInteger(id) || id < 1) throw new AppError(400, 'usage', 'keys revoke needs a key id (see keys list)');
      const { revokeKey } = await lazy.keys();
      const k = await withDatabase(open, config, (db) => revokeKey(db, id, 'cli'));
      io.out(`key ${k.id} revoked at ${k.revoked_at}`);
      return 0;
    },
  }),
  command({
    name: 'rule-sets list',
    positionals: [],
    summary: 'list the stored rule sets: id, name, version, active (in force today in TZ_REPORTING), created',
    options: {},
    async exec(_o, _p, { config, io, open }) {
      const { listRuleSets } = await lazy.ruleSets();
      const items = await withDatabase(open, config, (db) => listRuleSets(db.knex, today(config.reportingTimeZone)));
      for (const r of items) io.out(`${r.id}\t${r.name}\t${r.version}\t${r.active ? 'active' : '-'}\tcreated ${r.created_at}`);
      return 0;
    },
  }),
  command({
    name: 'rule-sets presets',
    positionals: [],
    summary: 'list the shipped presets: id, title, source (reads no database)',
    options: {},
    async exec(_o, _p, { io }) {
      const { presetList } = await lazy.ruleSets();
      for (const p of presetList()) io.out(`${p.id}\t${p.title ?? p.name}\t${p.source ?? ''}`);
      return 0;
    },
  }),
  command({
    name: 'rule-sets create',
    positionals: [],
    summary: 'store a rule set (a preset, or a definition in a JSON file) as the next version of its name; an identical one is not stored again',
    options: {
      preset: { type: 'string', value: 'ID', help: 'a shipped preset (see rule-sets presets)' },
      file: { type: 'string', value: 'definition.json', help: `a definition, as POST /v1/rule-sets takes it (docs/RULES.md; at most ${RULE_SET_FILE_BYTES} bytes)` },
    },
    async exec(o, _p, { config, io, open }) {
      if ((o.preset === undefined) === (o.file === undefined)) throw usageError('rule-sets create needs --preset ID or --file definition.json (one of them)', o.preset ? '--file' : '--preset', 'one of --preset, --file');
      const { createFromPreset, createRuleSet } = await lazy.ruleSets();
      let store: (db: Database) => ReturnType<typeof createRuleSet>;
      if (o.file !== undefined) {
        const file = o.file;
        const bytes = readBounded(file, RULE_SET_FILE_BYTES, 'rule_set_too_large');
        let body: unknown;
        try {
          body = JSON.parse(bytes.toString('utf8'));
        } catch (e) {
          throw new AppError(400, 'invalid_json', `Tệp không đọc được — the file is not JSON: ${file}: ${e instanceof Error ? e.message : String(e)}`, [{ path: file, message: 'not JSON' }]);
        }
        // as services/ruleSets.ts storeRuleSet: the size limits first (a bounded pass), then the schema
        const { parseRuleSet } = await lazy.ruleDefinition();
        const parsed = parseRuleSet(body);
        if (!parsed.ok && parsed.tooLarge) throw unprocessable(`Bộ quy tắc quá lớn — the rule set is larger than a limit allows (${parsed.issues[0]?.message ?? ''}); nothing was stored`, parsed.issues, 'rule_set_too_large');
        if (!parsed.ok) throw unprocessable('Bộ quy tắc không hợp lệ — the rule set is not valid; nothing was stored', parsed.issues, 'invalid_rule_set');
        store = (db) => createRuleSet(db, parsed.value, null, 'cli');
      } else {
        const preset = o.preset as string;
        store = (db) => createFromPreset(db, preset, 'cli');
      }
      const { rule_set: r, created } = await withDatabase(open, config, store);
      io.out(`${created ? 'created' : 'unchanged (identical to the latest version of its name)'} ${r.id}\t${r.name}\tversion ${r.version}${r.active ? '\tactive' : ''}`);
      if (!r.active) io.err(`put it in force with: zonerisk rule-sets activate ${r.id} [--from YYYY-MM-DD]`);
      return 0;
    },
  }),
  command({
    name: 'rule-sets activate',
    positionals: ['<id>'],
    summary: 'put a rule set in force from a day on, and recompute the classified days from then on (here, at once)',
    options: {
      from: { type: 'string', value: 'YYYY-MM-DD', help: 'the first day it is in force (default: today in TZ_REPORTING)' },
    },
    async exec(o, [id], { config, io, open }) {
      if (!id) throw usageError('rule-sets activate needs a rule set id (see rule-sets list)', 'id', 'such as vn-moh-4800-2021@1');
      const now = today(config.reportingTimeZone);
      const from = dateOption(o.from, '--from') ?? now;
      const { activateRuleSet } = await lazy.ruleSets();
      return withDatabase(open, config, async (db) => {
        // as POST /v1/rule-sets/{id}/activate: the activation and, in the same transaction, the
        // job recomputing the classified days from `from` on; a CLI has no job runner: it runs it
        const out = await activateRuleSet(db, id, from, 'cli', now);
        const since = out.activation.effective_from ?? 'the beginning (no start date)';
        if (out.unchanged) {
          io.out(`rule set ${out.rule_set.id} is in force on ${from} already (activation ${out.activation.id}, from ${since}): nothing recorded, nothing to recompute`);
          return 0;
        }
        io.out(`rule set ${out.rule_set.id} in force from ${since} (activation ${out.activation.id})${out.rule_set.active ? '' : `; not in force today (${now})`}`);
        if (!out.job) {
          io.out(`recompute: no day from ${from} on is classified yet; nothing to recompute`);
          return 0;
        }
        return runQueued(db, out.job, 'rule set activation', io);
      });
    },
  }),
  command({
    name: 'briefing',
    positionals: [],
    summary: 'the weekly steering-committee briefing of an area (default: every commune) for the week ending D, written to FILE',
    options: {
      date: { type: 'string', value: 'YYYY-MM-DD', help: 'the last day of the week (default: today in TZ_REPORTING)' },
      parent: { type: 'string', value: 'CODE', help: 'the area whose communes it covers (default: all)' },
      format: { type: 'string', value: BRIEFING_FORMATS.join('|'), help: "the file format (default: --out's extension)" },
      out: { type: 'string', value: 'FILE', help: 'the file written (required; its extension, if any, is the format)' },
      version: { type: 'string', value: 'latest|published', help: 'the levels as last computed (default) or as published' },
    },
    exec: (o, _p, ctx) => briefingFile(ctx, o),
  }),
];

/** Commands with actions (`keys create`): the group's name and its commands. */
const GROUPS = ['keys', 'rule-sets'] as const;
const byName = new Map(COMMANDS.map((c) => [c.name, c]));

function groupHelp(group: string): string {
  const cmds = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  const width = Math.max(...cmds.map((c) => c.name.length)) + 2;
  return [`usage: zonerisk ${group} ${cmds.map((c) => c.name.slice(group.length + 1)).join('|')} [options]`, '', ...cmds.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), '', `zonerisk ${group} <action> --help: the action's options`].join('\n');
}

/** `zonerisk --help`: every command (but the internal ones), one line each. */
export function usage(): string {
  const listed = COMMANDS.filter((c) => !c.hidden);
  const heads = listed.map((c) => [c.name, ...c.positionals].join(' '));
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  return [
    'usage: zonerisk <command> [options]',
    '',
    'commands:',
    ...listed.map((c, i) => `  ${(heads[i] as string).padEnd(width)}${c.summary}`),
    '',
    "zonerisk <command> --help (or zonerisk help <command>): the command's options.",
    'Without DATABASE_URL the embedded engine in ZONERISK_DATA_DIR (default ./.zonerisk) is used.',
  ].join('\n');
}

/** Every command's name (`keys create` for an action), for tests and documentation. */
export const commandNames = (): string[] => COMMANDS.map((c) => c.name);

/**
 * Runs one command line. `--help`/`-h` on any command prints its usage and opens no
 * database; a usage error throws AppError code `usage` (exit 2 in `main`).
 */
export async function run(args: string[], config: Config, io: Out = stdio, open: OpenDatabase = openDatabase): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const topic = first === 'help' ? rest.join(' ') : '';
    const cmd = byName.get(topic);
    if (cmd) io.out(commandHelp(cmd));
    else if ((GROUPS as readonly string[]).includes(topic)) io.out(groupHelp(topic));
    else if (topic) {
      io.err(`unknown command ${topic}\n\n${usage()}`);
      return 2;
    } else io.out(usage());
    return first === undefined ? 2 : 0;
  }
  let name = first;
  let params = rest;
  if ((GROUPS as readonly string[]).includes(first)) {
    const [action, ...more] = rest;
    if (action !== undefined && byName.has(`${first} ${action}`)) {
      name = `${first} ${action}`;
      params = more;
    } else if (asksForHelp(rest)) {
      io.out(groupHelp(first));
      return 0;
    } else {
      const actions = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.slice(first.length + 1));
      throw usageError(`${first} ${actions.join('|')}`, action ?? first, action === undefined ? 'an action is needed' : `unknown action ${action}`);
    }
  }
  const cmd = byName.get(name);
  if (!cmd) {
    io.err(`unknown command ${first}\n\n${usage()}`);
    return 2;
  }
  if (asksForHelp(params)) {
    io.out(commandHelp(cmd));
    return 0;
  }
  const { values, positionals } = parseCommand(cmd, params);
  return cmd.exec(values, positionals, { config, io, open });
}

/**
 * Entry point for bin/zonerisk.js: prints client-side errors plainly, exit codes for scripts
 * (0 done, 1 failed, 2 usage). `io`, `open` and `env` are for tests.
 */
export async function main(args: string[], io: Out = stdio, open: OpenDatabase = openDatabase, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const config = loadConfig(env);
    setLogLevel(config.logLevel);
    return await run(args, config, io, open);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`zonerisk: ${e.message}`);
      return 2;
    }
    if (e instanceof AppError) {
      io.err(`zonerisk: ${e.message}`);
      for (const d of e.details) io.err(`  ${d.path}: ${d.message}`);
      return e.code === 'usage' ? 2 : 1;
    }
    if (e instanceof SyntaxError) {
      io.err(`zonerisk: ${e.message}`);
      return 1;
    }
    if (isDatabaseUnavailable(e)) {
      io.err(`zonerisk: Không kết nối được cơ sở dữ liệu — the database is unavailable: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
    throw e;
  }
}
