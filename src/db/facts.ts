import { Knex } from 'knex';
import { Database } from './database';
import { arrayBindings, Cell, copyLinesInto, copyText } from './knex';

export type { Cell };
import { DetailCollector } from '../errors';
import { log } from '../log';
import type { LocalDate } from '../domain/dates';

/**
 * Daily facts per area (reports, metrics), upserted in bulk, all or nothing.
 *
 * Rows are validated and resolved (area code → id, duplicates) in Node as they stream in,
 * then applied in chunks of about 150,000 rows, each chunk written while the next is
 * parsed. A chunk none of whose keys can exist yet (an index probe says so) goes straight
 * into the table with COPY — the bulk-load case. Otherwise it is staged and one statement
 * inserts the new rows, archives and overwrites the changed ones (revision + 1) and leaves
 * the unchanged ones alone: sending the same rows again writes nothing.
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

/** Produces validated rows; problems with values go into `errors` (it never throws for them). */
export type RowSource = (errors: DetailCollector) => AsyncIterable<StagedRow[]> | Iterable<StagedRow[]>;

export type UpsertOptions = { pathFor: (idx: number, field: string) => string };

/**
 * A chunk of rows ready to write: their COPY text (area id, keys, values), the date span
 * and areas they cover, and — only where COPY is not available — their cells.
 */
class Chunk {
  readonly lines: string[] = [];
  readonly cells: Cell[][] = [];
  readonly ids = new Set<number>();
  min = '';
  max = '';
  lastId = -1;
  lastDate = '';

  add(id: number, date: string, line: string, cells: Cell[] | null): void {
    this.lines.push(line);
    if (cells) this.cells.push([id, ...cells]);
    this.ids.add(id);
    if (this.min === '' || date < this.min) this.min = date;
    if (date > this.max) this.max = date;
    this.lastId = id;
    this.lastDate = date;
  }

  get size(): number {
    return this.lines.length;
  }

  /**
   * A full chunk ends before a row that differs from the last one in both area and date:
   * date-major files are cut between days, area-major ones between areas, and the next
   * chunk's probe does not see this chunk's rows.
   */
  endsBefore(id: number, date: string, limit: number): boolean {
    return this.size >= limit && id !== this.lastId && date !== this.lastDate;
  }
}

const CHUNK_ROWS = 150_000;
const INSERT_BATCH = 5_000;

/**
 * Numeric row keys: the key cells (e.g. the date) are interned to a small number t and
 * combined with the area id as id + radix·t, radix being the power of two above the
 * largest area id. Such keys are small integers, and maps keyed by them are far cheaper
 * than by strings at a million rows. (Areas cannot be added during an ingest: see the lock.)
 */
class KeyInterner {
  private readonly tuples = new Map<string, number>();
  constructor(private readonly radix: number) {}

  /** The key of an input row (interning its key cells). */
  make(areaId: number, keyText: string): number {
    if (areaId >= this.radix) throw new Error(`area id ${areaId} appeared during an ingest`);
    let t = this.tuples.get(keyText);
    if (t === undefined) {
      t = this.tuples.size;
      this.tuples.set(keyText, t);
    }
    return areaId + this.radix * t;
  }
}

/** Serialises writers: ingests of one table, and area imports against all ingests. */
export const LOCKS = { areas: 'zonerisk:areas', reports: 'zonerisk:reports', metrics: 'zonerisk:metrics' } as const;

export function lockKey(name: string): number {
  let h = 0;
  for (const c of name) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

export class FactWriter {
  private readonly valueStart: number;
  private readonly dateIndex: number;
  private stage: string | null = null;
  private readonly keys: KeyInterner;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly db: Database,
    private readonly spec: FactSpec,
    maxAreaId: number,
  ) {
    this.keys = new KeyInterner(2 ** Math.ceil(Math.log2(maxAreaId + 2)));
    this.valueStart = spec.keys.length;
    this.dateIndex = spec.keys.findIndex((k) => k.name === 'date');
  }

  /** An input row's key (for duplicates) and its COPY text. */
  prepare(id: number, cells: Cell[]): { key: number; date: string; line: string } {
    const n = this.valueStart;
    const keyText = n === 1 ? copyText(cells[0] ?? null) : cells.slice(0, n).map(copyText).join('\t');
    let values = '';
    for (let i = n; i < cells.length; i++) values += (i > n ? '\t' : '') + copyText(cells[i] ?? null);
    return { key: this.keys.make(id, keyText), date: cells[this.dateIndex] as string, line: `${id}\t${keyText}\t${values}\n` };
  }

  newChunk(): Chunk {
    return new Chunk();
  }

  /** Cells are kept only for the embedded engine, which takes no COPY. */
  get keepsCells(): boolean {
    return !this.db.supportsCopy;
  }

  /** Could any row of the chunk exist already? (An index range probe, no rows read.) */
  private async mayOverlap({ min, max, ids }: Chunk): Promise<boolean> {
    const res = await this.trx.raw<{ rows: { found: boolean }[] }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.spec.table} WHERE date BETWEEN ? AND ? AND area_id = ANY(?::int[])) AS found`,
      arrayBindings([min, max, [...ids]]),
    );
    return res.rows[0]?.found ?? true;
  }

  /** COPY where the server takes it, batched INSERT … SELECT unnest otherwise. */
  private async insertRows(table: string, chunk: Chunk): Promise<void> {
    if (chunk.size === 0) return;
    const columns = ['area_id', ...this.spec.keys.map((k) => k.name), ...this.spec.values.map((v) => v.name)];
    if (this.db.supportsCopy) {
      await copyLinesInto(this.trx, `${table} (${columns.join(', ')})`, chunk.lines, INSERT_BATCH);
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
    const { min, max } = chunk;
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
      [min, max],
    );
    const r = res.rows[0] ?? { inserted: 0, updated: 0, earliest: null };
    result.inserted += r.inserted;
    result.updated += r.updated;
    result.unchanged += chunk.size - r.inserted - r.updated;
    this.noteEarliest(result, r.earliest as LocalDate | null);
  }

  private noteEarliest(result: UpsertResult, date: LocalDate | null): void {
    if (date !== null && (result.earliest_changed_date === null || date < result.earliest_changed_date)) result.earliest_changed_date = date;
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
    this.noteEarliest(result, chunk.min as LocalDate);
  }
}

/** Area codes → ids, looked up once per code inside the transaction. */
class AreaResolver {
  private readonly ids = new Map<string, number | null>();
  constructor(private readonly trx: Knex.Transaction) {}

  async load(batch: StagedRow[]): Promise<void> {
    const missing = new Set<string>();
    for (const r of batch) if (!this.ids.has(r.area)) missing.add(r.area);
    if (missing.size === 0) return;
    const rows = (await this.trx('areas').whereIn('code', [...missing]).select('id', 'code')) as { id: number; code: string }[];
    for (const c of missing) this.ids.set(c, null);
    for (const r of rows) this.ids.set(r.code, r.id);
  }

  get(code: string): number | null {
    return this.ids.get(code) ?? null;
  }
}

/** All or nothing: one transaction; ingests into one table are serialised. */
export async function upsertFacts(db: Database, spec: FactSpec, source: RowSource, opts: UpsertOptions): Promise<UpsertResult> {
  const started = Date.now();
  const result = await db.knex.transaction(async (trx) => {
    // The diff is computed against what this transaction reads: no other ingest may interleave.
    await trx.raw('SELECT pg_advisory_xact_lock(?), pg_advisory_xact_lock_shared(?)', [lockKey(spec.table), lockKey(LOCKS.areas)]);
    await trx.raw("SET LOCAL work_mem = '64MB'"); // the chunk diff hashes up to 250,000 rows
    const result: UpsertResult = { inserted: 0, updated: 0, unchanged: 0, earliest_changed_date: null };
    const errors = new DetailCollector();
    const maxId = await trx('areas').max<{ max: number | null }[]>('id as max');
    const writer = new FactWriter(trx, db, spec, maxId[0]?.max ?? 0);
    const resolver = new AreaResolver(trx);
    const firstSeen = new Map<number, number>();
    const unknownReported = new Set<string>();
    let chunk = writer.newChunk();
    // One chunk is written while the next one is parsed (the server and Node work in parallel).
    let writing: Promise<void> = Promise.resolve();
    const keepCells = writer.keepsCells;

    try {
      for await (const batch of source(errors)) {
        await resolver.load(batch);
        for (const r of batch) {
          const id = resolver.get(r.area);
          if (id === null) {
            if (!unknownReported.has(r.area)) errors.add(opts.pathFor(r.idx, 'area'), `unknown area code ${r.area}`);
            unknownReported.add(r.area);
            continue;
          }
          const row = writer.prepare(id, r.cells);
          const first = firstSeen.get(row.key);
          if (first !== undefined) {
            errors.add(opts.pathFor(r.idx, 'date'), `the same ${spec.label} for area ${r.area} appears twice (also at ${opts.pathFor(first, 'date')})`);
            continue;
          }
          firstSeen.set(row.key, r.idx);
          if (errors.count > 0) continue;
          if (chunk.endsBefore(id, row.date, CHUNK_ROWS)) {
            const full = chunk;
            chunk = writer.newChunk();
            await writing;
            writing = writer.apply(full, result);
            writing.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
          }
          chunk.add(id, row.date, row.line, keepCells ? r.cells : null);
        }
        if (errors.full) break;
      }
    } catch (e) {
      await writing.catch(() => undefined); // let the connection finish before the rollback
      throw e;
    }
    await writing;
    errors.throwIfAny((n) => `${n} problem(s) in ${spec.table}; nothing was written`);
    if (chunk.size) await writer.apply(chunk, result);
    return result;
  });
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
