import { Knex } from 'knex';
import { Database } from './database';
import { arrayBindings } from './knex';
import { ByteSink, Cell, copyBinaryInto, copyText } from './copy';
import { noteWrite } from './changes';
import { Actor, audit } from './audit';
import { DetailCollector, forbidden } from '../errors';
import { log } from '../log';
import { dayNumber, fromDayNumber, LocalDate } from '../domain/dates';

export type { Cell };

/**
 * Daily facts per area (reports, metrics), upserted in bulk, all or nothing.
 *
 * Rows are validated and resolved (area code → id, duplicates) in Node as they stream in,
 * then applied in chunks of about 150,000 rows, each chunk written while the next is
 * parsed. A chunk none of whose keys can exist yet (an index probe says so) goes straight
 * into the table with COPY — the bulk-load case. Otherwise it is staged and one statement
 * inserts the new rows, archives and overwrites the changed ones (revision + 1) and leaves
 * the unchanged ones alone: sending the same rows again writes nothing.
 *
 * Rows arrive either as validated cells (JSON, and CSV rows the byte lane is unsure of) or
 * already encoded as COPY text by a byte lane (the bulk CSV path, no string per row).
 */
type PgType = 'int' | 'text' | 'date' | 'float8';
type Column = { name: string; type: PgType };

export type FactSpec = {
  table: string;
  revisions: string;
  /** Key columns besides area_id, in primary-key order; one of them is `date`. */
  keys: Column[];
  values: Column[];
  /** How the key is named in error messages. */
  label: string;
};

export type UpsertResult = { inserted: number; updated: number; unchanged: number; earliest_changed_date: LocalDate | null };

/** A validated input row: the area code, then the key cells, then the value cells. */
export type StagedRow = { idx: number; area: string; cells: Cell[] };

/**
 * A row a byte lane has parsed and checked: its area id, key tuple and day, and how to
 * write itself as COPY text. (One object, reused from row to row.)
 */
export interface EncodedRow {
  readonly id: number;
  readonly tuple: number;
  readonly day: number;
  areaCode(): string;
  write(out: ByteSink): void;
}

/** Where a row source puts its rows. Problems with values go into `errors`; nothing throws for them. */
export interface FactSink {
  readonly errors: DetailCollector;
  /** Whether encoded rows are taken (the server takes COPY); otherwise rows come as cells. */
  readonly takesEncoded: boolean;
  /** Looks up these area codes (or all areas) before rows naming them are added. */
  loadAreas(codes: Iterable<string> | 'all'): Promise<void>;
  /** The areas looked up so far, code → id. */
  areaIds(): ReadonlyMap<string, number>;
  /** The number of a key (its cells as COPY text, tab-separated) on a given date. */
  tuple(keyText: string, date: LocalDate): number;
  /** The day (see `dayNumber`) of a key tuple's date. */
  dayOf(tuple: number): number;
  add(row: StagedRow): void;
  addEncoded(idx: number, row: EncodedRow): void;
  /** Lets chunk writes catch up (back-pressure); call between input chunks. */
  settle(): Promise<void>;
}

export type RowSource = (sink: FactSink) => Promise<void>;

export type UpsertOptions = {
  pathFor: (idx: number, field: string) => string;
  /** A reporter key's areas: every row must be for one of them or below (checked in the transaction). */
  scope?: number[] | null | undefined;
  /** Who writes (for the audit trail); `system` by default. */
  actor?: Actor | undefined;
};

/** Chunks grow from FIRST_CHUNK_ROWS to CHUNK_ROWS: the server starts writing early, then takes big bites. */
const FIRST_CHUNK_ROWS = 20_000;
const CHUNK_ROWS = 150_000;
const INSERT_BATCH = 5_000;

/**
 * A chunk of rows ready to write: their binary COPY tuples (area id, keys, values) — or,
 * where the server takes no COPY, their cells — and the days and areas they cover.
 */
class Chunk {
  readonly out: ByteSink | null;
  readonly cells: Cell[][] = [];
  readonly ids = new Set<number>();
  size = 0;
  minDay = Infinity;
  maxDay = -Infinity;
  private lastId = -1;
  private lastDay = NaN;

  constructor(
    copies: boolean,
    readonly limit: number,
  ) {
    this.out = copies ? new ByteSink(limit * 64) : null;
  }

  /** Counts a row just written into `out` or `cells`. */
  note(id: number, day: number): void {
    this.size++;
    this.ids.add(id);
    if (day < this.minDay) this.minDay = day;
    if (day > this.maxDay) this.maxDay = day;
    this.lastId = id;
    this.lastDay = day;
  }

  get min(): LocalDate {
    return fromDayNumber(this.minDay);
  }

  get max(): LocalDate {
    return fromDayNumber(this.maxDay);
  }

  /**
   * A full chunk ends before a row that differs from the last one in both area and day:
   * date-major files are cut between days, area-major ones between areas, and the next
   * chunk's probe does not see this chunk's rows.
   */
  endsBefore(id: number, day: number): boolean {
    return this.size >= this.limit && id !== this.lastId && day !== this.lastDay;
  }
}

/**
 * Key tuples (e.g. a date, or a metric name and date) are numbered; a row's key is its
 * area id and tuple number. Which row first had each key is kept per tuple in a Map while
 * it is small and in an array indexed by area id once it is dense — a million keys cost
 * a few MB and no garbage. (Areas cannot be added during an ingest: see the lock.)
 */
class KeyTuples {
  private readonly numbers = new Map<string, number>();
  readonly days: number[] = [];
  private readonly firstSeen: (Map<number, number> | Int32Array)[] = [];

  constructor(private readonly radix: number) {}

  tuple(keyText: string, date: LocalDate): number {
    let t = this.numbers.get(keyText);
    if (t === undefined) {
      t = this.days.length;
      this.numbers.set(keyText, t);
      this.days.push(dayNumber(date));
    }
    return t;
  }

  /** Records row `idx` as the first with this key, or returns the row that was. */
  seen(id: number, tuple: number, idx: number): number | null {
    if (id >= this.radix) throw new Error(`area id ${id} appeared during an ingest`);
    const slot = this.firstSeen[tuple];
    if (slot instanceof Int32Array) {
      const prev = slot[id] as number;
      if (prev !== 0) return prev - 1;
      slot[id] = idx + 1;
      return null;
    }
    const map = slot ?? new Map<number, number>();
    const prev = map.get(id);
    if (prev !== undefined) return prev;
    map.set(id, idx);
    if (slot === undefined) this.firstSeen[tuple] = map;
    if (map.size > 256 && map.size * 64 > this.radix) {
      const dense = new Int32Array(this.radix);
      for (const [k, v] of map) dense[k] = v + 1;
      this.firstSeen[tuple] = dense;
    }
    return null;
  }
}

/** One row as a binary COPY tuple: the area id, then the key and value cells. */
function writeBinaryRow(out: ByteSink, id: number, types: PgType[], cells: Cell[]): void {
  out.ensure(8 + 12 * (types.length + 1));
  out.fields(types.length + 1);
  out.int4(id);
  types.forEach((type, i) => {
    const cell = cells[i] ?? null;
    if (cell === null) return out.binaryNull();
    switch (type) {
      case 'int':
        return out.int4(Number(cell));
      case 'date':
        return out.date(dayNumber(cell as LocalDate));
      case 'float8':
        return out.float8(Number(cell));
      case 'text':
        return out.textField(String(cell));
    }
  });
}

/** Serialises writers: ingests of one table, and area imports against all ingests. */
export const LOCKS = { areas: 'zonerisk:areas', reports: 'zonerisk:reports', metrics: 'zonerisk:metrics' } as const;

export function lockKey(name: string): number {
  let h = 0;
  for (const c of name) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

/** Writes chunks into one table inside the ingest's transaction. */
class ChunkWriter {
  private stage: string | null = null;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly db: Database,
    private readonly spec: FactSpec,
  ) {}

  /** Could any row of the chunk exist already? (An index range probe, no rows read.) */
  private async mayOverlap(chunk: Chunk): Promise<boolean> {
    const res = await this.trx.raw<{ rows: { found: boolean }[] }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.spec.table} WHERE date BETWEEN ? AND ? AND area_id = ANY(?::int[])) AS found`,
      arrayBindings([chunk.min, chunk.max, [...chunk.ids]]),
    );
    return res.rows[0]?.found ?? true;
  }

  /** COPY where the server takes it, batched INSERT … SELECT unnest otherwise. */
  private async insertRows(table: string, chunk: Chunk): Promise<void> {
    if (chunk.size === 0) return;
    const columns = ['area_id', ...this.spec.keys.map((k) => k.name), ...this.spec.values.map((v) => v.name)];
    if (chunk.out) {
      await copyBinaryInto(this.trx, `${table} (${columns.join(', ')})`, chunk.out.data);
      return;
    }
    const types: PgType[] = ['int', ...this.spec.keys.map((k) => k.type), ...this.spec.values.map((v) => v.type)];
    for (let start = 0; start < chunk.cells.length; start += INSERT_BATCH) {
      const batch = chunk.cells.slice(start, start + INSERT_BATCH);
      const arrays: Cell[][] = columns.map((_, i) => batch.map((r) => r[i] ?? null));
      const casts = types.map((t) => `?::${t}[]`).join(', ');
      await this.trx.raw(`INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${casts})`, arrayBindings(arrays));
    }
  }

  /**
   * The general case, all in SQL over the staged chunk: new rows are inserted; changed
   * rows have their current version archived and are overwritten with revision + 1;
   * unchanged rows are left alone. (Every CTE sees the table as it was before the statement.)
   */
  private async diffRows(chunk: Chunk, result: UpsertResult): Promise<void> {
    const { spec, trx } = this;
    const keys = spec.keys.map((k) => k.name);
    const vals = spec.values.map((v) => v.name);
    if (!this.stage) {
      this.stage = `stage_${spec.table}`;
      const cols = [{ name: 'area_id', type: 'int' }, ...spec.keys, ...spec.values].map((c) => `${c.name} ${c.type}`);
      await trx.raw(`CREATE TEMP TABLE ${this.stage} (${cols.join(', ')}) ON COMMIT DROP`);
    } else {
      await trx.raw(`TRUNCATE ${this.stage}`);
    }
    await this.insertRows(this.stage, chunk);
    await trx.raw(`ANALYZE ${this.stage}`);
    const on = ['area_id', ...keys].map((k) => `t.${k} = s.${k}`).join(' AND ');
    const list = (prefix: string, cols: string[]) => cols.map((c) => `${prefix}${c}`).join(', ');
    const res = await trx.raw<{ rows: { inserted: number; updated: number; earliest: string | null }[] }>(`
      WITH todo AS MATERIALIZED (
        SELECT s.*, t.area_id IS NOT NULL AS existed
        FROM ${this.stage} s LEFT JOIN ${spec.table} t ON ${on} AND t.date BETWEEN ?::date AND ?::date
        WHERE t.area_id IS NULL OR ROW(${list('t.', vals)}) IS DISTINCT FROM ROW(${list('s.', vals)})
      ),
      archived AS (
        INSERT INTO ${spec.revisions} (area_id, ${keys.join(', ')}, revision, ${vals.join(', ')}, recorded_at)
        SELECT t.area_id, ${list('t.', keys)}, t.revision, ${list('t.', vals)}, t.recorded_at
        FROM ${spec.table} t JOIN todo s ON s.existed AND ${on}
      ),
      updated AS (
        UPDATE ${spec.table} t SET ${vals.map((v) => `${v} = s.${v}`).join(', ')}, revision = t.revision + 1, recorded_at = now()
        FROM todo s WHERE s.existed AND ${on}
        RETURNING t.date
      ),
      inserted AS (
        INSERT INTO ${spec.table} (area_id, ${keys.join(', ')}, ${vals.join(', ')})
        SELECT s.area_id, ${list('s.', keys)}, ${list('s.', vals)} FROM todo s WHERE NOT s.existed
        RETURNING date
      )
      SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated,
             (SELECT min(date) FROM (SELECT date FROM inserted UNION ALL SELECT date FROM updated) d)::text AS earliest`,
      [chunk.min, chunk.max],
    );
    const r = res.rows[0] ?? { inserted: 0, updated: 0, earliest: null };
    result.inserted += r.inserted;
    result.updated += r.updated;
    result.unchanged += chunk.size - r.inserted - r.updated;
    noteEarliest(result, r.earliest as LocalDate | null);
  }

  /** Writes one chunk: straight COPY into the table when none of its keys can exist yet. */
  async apply(chunk: Chunk, result: UpsertResult): Promise<void> {
    const started = Date.now();
    if (await this.mayOverlap(chunk)) {
      await this.diffRows(chunk, result);
      log.debug('chunk diffed', { table: this.spec.table, rows: chunk.size, ms: Date.now() - started });
      return;
    }
    await this.insertRows(this.spec.table, chunk);
    log.debug('chunk copied', { table: this.spec.table, rows: chunk.size, ms: Date.now() - started });
    result.inserted += chunk.size;
    noteEarliest(result, chunk.min);
  }

  get copies(): boolean {
    return this.db.supportsCopy;
  }
}

function noteEarliest(result: UpsertResult, date: LocalDate | null): void {
  if (date !== null && (result.earliest_changed_date === null || date < result.earliest_changed_date)) result.earliest_changed_date = date;
}

/** Area codes → ids, looked up inside the transaction (areas are locked against change). */
class AreaResolver {
  private readonly ids = new Map<string, number>();
  private readonly looked = new Set<string>();
  private all = false;
  constructor(private readonly trx: Knex.Transaction) {}

  async load(codes: Iterable<string> | 'all'): Promise<void> {
    if (this.all) return;
    if (codes === 'all') {
      const rows = (await this.trx('areas').select('id', 'code')) as { id: number; code: string }[];
      for (const r of rows) this.ids.set(r.code, r.id);
      this.all = true;
      return;
    }
    const missing = new Set<string>();
    for (const c of codes) if (!this.looked.has(c)) missing.add(c);
    if (missing.size === 0) return;
    const rows = (await this.trx('areas').whereIn('code', [...missing]).select('id', 'code')) as { id: number; code: string }[];
    for (const c of missing) this.looked.add(c);
    for (const r of rows) this.ids.set(r.code, r.id);
  }

  get known(): ReadonlyMap<string, number> {
    return this.ids;
  }
}

/**
 * One ingest inside its transaction: takes rows, rejects unknown areas and repeated keys,
 * cuts chunks and has them written while later rows are still being read.
 */
class FactIngest implements FactSink {
  readonly errors = new DetailCollector();
  /** Rows for areas outside the caller's scope (a 403, not a 422). */
  private readonly denied = new DetailCollector();
  readonly result: UpsertResult = { inserted: 0, updated: 0, unchanged: 0, earliest_changed_date: null };
  private readonly keys: KeyTuples;
  private readonly areas: AreaResolver;
  private readonly writer: ChunkWriter;
  private readonly unknownReported = new Set<string>();
  private readonly dateIndex: number;
  private readonly types: PgType[];
  private chunk: Chunk;
  /** Areas and days the kept rows cover (for the audit trail). */
  readonly touched = new Set<number>();
  firstDay = Infinity;
  lastDay = -Infinity;
  /** Chunks handed to the writer, in order; each write starts after the previous one. */
  private inFlight: Promise<void>[] = [];

  constructor(
    trx: Knex.Transaction,
    db: Database,
    private readonly spec: FactSpec,
    maxAreaId: number,
    private readonly opts: UpsertOptions,
    private readonly allowed: ReadonlySet<number> | null,
  ) {
    this.keys = new KeyTuples(2 ** Math.ceil(Math.log2(maxAreaId + 2)));
    this.areas = new AreaResolver(trx);
    this.writer = new ChunkWriter(trx, db, spec);
    this.dateIndex = spec.keys.findIndex((k) => k.name === 'date');
    this.types = [...spec.keys, ...spec.values].map((c) => c.type);
    this.chunk = new Chunk(this.writer.copies, FIRST_CHUNK_ROWS);
  }

  get takesEncoded(): boolean {
    return this.writer.copies;
  }

  loadAreas(codes: Iterable<string> | 'all'): Promise<void> {
    return this.areas.load(codes);
  }

  areaIds(): ReadonlyMap<string, number> {
    return this.areas.known;
  }

  /** The codes of the areas the kept rows are for. */
  touchedCodes(): string[] {
    const out: string[] = [];
    for (const [code, id] of this.areas.known) if (this.touched.has(id)) out.push(code);
    return out.sort();
  }

  tuple(keyText: string, date: LocalDate): number {
    return this.keys.tuple(keyText, date);
  }

  dayOf(tuple: number): number {
    return this.keys.days[tuple] as number;
  }

  add(r: StagedRow): void {
    const id = this.areas.known.get(r.area);
    if (id === undefined) {
      if (!this.unknownReported.has(r.area)) this.errors.add(this.opts.pathFor(r.idx, 'area'), `unknown area code ${r.area}`);
      this.unknownReported.add(r.area);
      return;
    }
    if (this.allowed && !this.allowed.has(id)) return this.outside(r.idx, r.area);
    const n = this.spec.keys.length;
    const keyText = n === 1 ? copyText(r.cells[0] ?? null) : r.cells.slice(0, n).map((c) => copyText(c)).join('\t');
    const tuple = this.keys.tuple(keyText, r.cells[this.dateIndex] as LocalDate);
    if (!this.first(id, tuple, r.idx, r.area)) return;
    const day = this.keys.days[tuple] as number;
    const chunk = this.chunkFor(id, day);
    if (chunk.out) {
      writeBinaryRow(chunk.out, id, this.types, r.cells);
    } else {
      chunk.cells.push([id, ...r.cells]);
    }
    chunk.note(id, day);
  }

  addEncoded(idx: number, row: EncodedRow): void {
    if (this.allowed && !this.allowed.has(row.id)) return this.outside(idx, row.areaCode());
    if (!this.first(row.id, row.tuple, idx, row)) return;
    const chunk = this.chunkFor(row.id, row.day);
    row.write(chunk.out as ByteSink);
    chunk.note(row.id, row.day);
  }

  private outside(idx: number, code: string): void {
    this.denied.add(this.opts.pathFor(idx, 'area'), `area ${code} is outside this key's scope`);
  }

  /** Is this the first row with its key (and are rows still being kept)? */
  private first(id: number, tuple: number, idx: number, area: string | EncodedRow): boolean {
    const prev = this.keys.seen(id, tuple, idx);
    if (prev !== null) {
      const code = typeof area === 'string' ? area : area.areaCode();
      const { pathFor } = this.opts;
      this.errors.add(pathFor(idx, 'date'), `the same ${this.spec.label} for area ${code} appears twice (also at ${pathFor(prev, 'date')})`);
      return false;
    }
    return this.errors.count === 0 && this.denied.count === 0;
  }

  private chunkFor(id: number, day: number): Chunk {
    this.touched.add(id);
    if (day < this.firstDay) this.firstDay = day;
    if (day > this.lastDay) this.lastDay = day;
    if (this.chunk.endsBefore(id, day)) {
      const full = this.chunk;
      this.chunk = new Chunk(this.writer.copies, Math.min(full.limit * 2, CHUNK_ROWS));
      const previous = this.inFlight[this.inFlight.length - 1] ?? Promise.resolve();
      const write = previous.then(() => this.writer.apply(full, this.result));
      write.catch(() => undefined); // awaited in settle/finish; not an unhandled rejection meanwhile
      this.inFlight.push(write);
    }
    return this.chunk;
  }

  /** Lets at most one chunk be in flight while the next one fills. */
  async settle(): Promise<void> {
    while (this.inFlight.length > 1) await this.inFlight.shift();
  }

  async finish(): Promise<UpsertResult> {
    for (const w of this.inFlight.splice(0)) await w;
    if (this.denied.count) {
      const more = this.denied.count > this.denied.details.length ? ` (first ${this.denied.details.length} listed)` : '';
      throw forbidden(`${this.denied.count} row(s) for areas outside this key's scope; nothing was written${more}`, this.denied.details);
    }
    this.errors.throwIfAny((n) => `${n} problem(s) in ${this.spec.table}; nothing was written`);
    if (this.chunk.size) await this.writer.apply(this.chunk, this.result);
    return this.result;
  }

  /** Lets the connection finish its writes before the transaction is rolled back. */
  async abandon(): Promise<void> {
    for (const w of this.inFlight.splice(0)) await w.catch(() => undefined);
  }
}

/** All or nothing: one transaction; ingests into one table are serialised. */
export async function upsertFacts(db: Database, spec: FactSpec, source: RowSource, opts: UpsertOptions): Promise<UpsertResult> {
  const started = Date.now();
  const result = await db.knex.transaction(async (trx) => {
    // The diff is computed against what this transaction reads: no other ingest may interleave.
    await trx.raw('SELECT pg_advisory_xact_lock(?), pg_advisory_xact_lock_shared(?)', [lockKey(spec.table), lockKey(LOCKS.areas)]);
    // The chunk diff hashes up to 150,000 rows. JIT would compile every chunk's statement
    // afresh (~30 ms each) to save less than that on a hash join.
    await trx.raw("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off");
    const maxId = await trx('areas').max<{ max: number | null }[]>('id as max');
    // a reporter's scope: its areas and everything below them, as of this transaction
    const allowed = opts.scope
      ? new Set((await trx.raw<{ rows: { id: number }[] }>('SELECT DISTINCT descendant AS id FROM area_tree WHERE ancestor = ANY(?::int[])', arrayBindings([opts.scope]))).rows.map((r) => r.id))
      : null;
    const ingest = new FactIngest(trx, db, spec, maxId[0]?.max ?? 0, opts, allowed);
    try {
      await source(ingest);
    } catch (e) {
      await ingest.abandon();
      throw e;
    }
    const done = await ingest.finish();
    await audit(trx, opts.actor ?? 'system', {
      action: `${spec.table}.upsert`,
      areas: ingest.touchedCodes(),
      // the superseded values themselves are kept in the revisions table
      before: { superseded: done.updated, kept_in: spec.revisions },
      after: { ...done, rows: done.inserted + done.updated + done.unchanged, days: ingest.touched.size ? [fromDayNumber(ingest.firstDay), fromDayNumber(ingest.lastDay)] : null },
    });
    return done;
  });
  noteWrite();
  log.debug('facts upserted', { table: spec.table, ...result, ms: Date.now() - started });
  return result;
}

export const REPORTS: FactSpec = {
  table: 'reports',
  revisions: 'report_revisions',
  keys: [{ name: 'date', type: 'date' }],
  values: [
    { name: 'community_cases', type: 'int' },
    { name: 'quarantine_cases', type: 'int' },
    { name: 'deaths', type: 'int' },
    { name: 'source', type: 'text' },
  ],
  label: 'date',
};

export const METRICS: FactSpec = {
  table: 'metrics',
  revisions: 'metric_revisions',
  keys: [
    { name: 'name', type: 'text' },
    { name: 'date', type: 'date' },
  ],
  values: [{ name: 'value', type: 'float8' }],
  label: 'name and date',
};
