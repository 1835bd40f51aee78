import { Knex } from 'knex';
import pg from 'pg';
import { ByteSink, Cell, copyBinaryInto, openBinaryCopy } from './copy';
import { arrayBindings } from './knex';
import type { Database } from './database';
import { dayNumber, LocalDate } from '../domain/dates';

/**
 * The bulk writer: one way to write many rows, on both engines.
 *
 * - Describe the rows once: a `BulkColumns` list names each column and its type, in the
 *   order of every row's cells. The same columns may be written into their table or into a
 *   staging table made from them (`createStage`).
 * - Collect rows in a `BulkRows` made by `bulkRows(db, columns)`. It holds them in the form
 *   the engine takes, chosen once by `db.supportsCopy`: on PostgreSQL, binary COPY tuples in
 *   one growing buffer (no string per row; the server parses no numbers or dates); on the
 *   embedded engine, one array per column.
 *   - `add(cells)`: a row's cells, in column order. null is NULL; an `int`/`bigint`/`float8`
 *     is a number (or its decimal text); a `date` is 'YYYY-MM-DD'; a `json` or `jsonb` is its JSON text.
 *   - `addRow(row)`: a row that writes itself (`BulkRow`): as a binary tuple on PostgreSQL
 *     (the ingest's byte lanes, straight from the input bytes), else as its cells.
 * - `writeRows(on, table, rows)` writes them, in the order added, into `table` on `on` — a
 *   transaction, or a connection of its own (a session connection), where each statement
 *   commits by itself: one `COPY table (columns) FROM STDIN (FORMAT binary)`, or
 *   `INSERT INTO table (columns) SELECT * FROM unnest($1::type[], …)` in batches of
 *   INSERT_BATCH rows — so rows that must be stored whole go through a transaction on the
 *   embedded engine. An empty `BulkRows` writes nothing. A `BulkRows` may be written more
 *   than once (into a stage, then into the table).
 *
 * Counting the write for caches is the caller's: inside `db.write`, or `db.committed()` after
 * a session connection's statement.
 */
export type BulkType = 'int' | 'bigint' | 'float8' | 'text' | 'date' | 'json' | 'jsonb';
export type BulkColumn = { readonly name: string; readonly type: BulkType };
export type BulkColumns = readonly BulkColumn[];

const BULK_TYPES: readonly BulkType[] = ['int', 'bigint', 'float8', 'text', 'date', 'json', 'jsonb'];

/**
 * Columns written as a column list is in SQL: `columns('area_id int, date date, note text')`.
 * An unknown type or a malformed entry throws (at module load, where the lists are made).
 */
export function columns(list: string): BulkColumns {
  return list.split(',').map((entry) => {
    const [name, type, ...rest] = entry.trim().split(/\s+/);
    if (!name || !/^[a-z_][a-z0-9_]*$/.test(name) || rest.length || !BULK_TYPES.includes(type as BulkType)) throw new Error(`bulk column "${entry.trim()}": expected "name type" with a type among ${BULK_TYPES.join(', ')}`);
    return { name, type: type as BulkType };
  });
}

export type { Cell };

/** A row that writes itself, in either form (the same values both ways). */
export interface BulkRow {
  /** The row as one binary COPY tuple: its field count, then one field per column (it makes room for itself: `out.ensure`). */
  write(out: ByteSink): void;
  /** The row's cells, in column order (as for `BulkRows.add`). */
  cells(): Cell[];
}

/** Where rows are written: a transaction, or a connection outside any (each statement its own transaction). */
export type BulkTarget = Knex.Transaction | pg.ClientBase;

/** Rows per INSERT … unnest statement on the embedded engine. */
const INSERT_BATCH = 5_000;

/** Rows of known columns, held as binary COPY tuples or as column arrays (see the spec above). */
export class BulkRows {
  private readonly types: BulkType[];
  /** Binary COPY tuples (PostgreSQL), else null. */
  private readonly sink: ByteSink | null;
  /** Column arrays (the embedded engine), else empty. */
  private readonly arrays: Cell[][];
  private n = 0;

  /** `copies`: binary COPY tuples (PostgreSQL) or column arrays; `expectedRows` sizes the first buffer. */
  constructor(
    readonly columns: BulkColumns,
    copies: boolean,
    expectedRows = 1_024,
  ) {
    this.types = columns.map((c) => c.type);
    this.sink = copies ? new ByteSink(Math.max(1 << 10, expectedRows * (2 + 12 * columns.length))) : null;
    this.arrays = copies ? [] : columns.map(() => []);
  }

  /** The number of rows added. */
  get size(): number {
    return this.n;
  }

  /** Adds a row: its cells in column order (a missing cell is NULL). */
  add(cells: readonly Cell[]): void {
    this.n++;
    const out = this.sink;
    if (out === null) {
      const { arrays } = this;
      for (let i = 0; i < arrays.length; i++) (arrays[i] as Cell[]).push(cells[i] ?? null);
      return;
    }
    const { types } = this;
    out.ensure(2 + 12 * types.length);
    out.fields(types.length);
    for (let i = 0; i < types.length; i++) {
      const cell = cells[i] ?? null;
      if (cell === null) {
        out.binaryNull();
        continue;
      }
      switch (types[i] as BulkType) {
        case 'int':
          out.int4(Number(cell));
          break;
        case 'bigint':
          out.int8(Number(cell));
          break;
        case 'float8':
          out.float8(Number(cell));
          break;
        case 'date':
          out.date(dayNumber(cell as LocalDate));
          break;
        case 'text':
        case 'json': // json's binary form is its text
          out.textField(String(cell));
          out.ensure(12 * (types.length - i)); // room again for the fields after it
          break;
        case 'jsonb':
          out.jsonbField(String(cell));
          out.ensure(12 * (types.length - i));
          break;
      }
    }
  }

  /** Adds a row that writes itself: its binary tuple (PostgreSQL), else its cells. */
  addRow(row: BulkRow): void {
    if (this.sink === null) return this.add(row.cells());
    this.n++;
    row.write(this.sink);
  }

  /** The rows as binary COPY tuples, or null where they are held as column arrays. */
  tuples(): Buffer | null {
    return this.sink?.data ?? null;
  }

  /** Rows [start, end) as one array per column (the embedded engine). */
  columnSlice(start: number, end: number): Cell[][] {
    return this.arrays.map((a) => a.slice(start, end));
  }
}

/** A `BulkRows` in the form `db`'s engine takes. */
export function bulkRows(db: Pick<Database, 'supportsCopy'>, columns: BulkColumns, expectedRows?: number): BulkRows {
  return new BulkRows(columns, db.supportsCopy, expectedRows);
}

const isKnex = (on: BulkTarget): on is Knex.Transaction => typeof on === 'function';

/** Writes the rows into `table` (see the spec at the top). */
export async function writeRows(on: BulkTarget, table: string, rows: BulkRows): Promise<void> {
  if (rows.size === 0) return;
  const target = `${table} (${rows.columns.map((c) => c.name).join(', ')})`;
  const tuples = rows.tuples();
  if (tuples !== null) {
    await copyBinaryInto(on, target, tuples);
    return;
  }
  const casts = rows.columns.map((c, i) => `${isKnex(on) ? '?' : `$${i + 1}`}::${c.type}[]`).join(', ');
  const sql = `INSERT INTO ${target} SELECT * FROM unnest(${casts})`;
  for (let start = 0; start < rows.size; start += INSERT_BATCH) {
    const arrays = rows.columnSlice(start, start + INSERT_BATCH);
    if (isKnex(on)) await on.raw(sql, arrayBindings(arrays));
    else await on.query(sql, arrays);
  }
}

/**
 * Rows written while they are made, into `table`, as one statement: on PostgreSQL a binary
 * COPY opened at once on connection `on` (copy.ts `openBinaryCopy`) and fed in pieces of
 * FEED_BYTES as rows are added; on the embedded engine the rows are collected and written by
 * `writeRows` in one transaction at `end` (`write`). `abort` writes nothing.
 */
export interface BulkFeed {
  /** Settles when rows added go out at once (a COPY the server has answered); at once where rows are collected. */
  readonly ready: Promise<void>;
  addRow(row: BulkRow): void;
  readonly size: number;
  end(): Promise<void>;
  abort(reason: Error): Promise<void>;
}

/**
 * Bytes of tuples handed to the COPY at a time: the server takes in one while the next is
 * made. Measured over a 365-day national backfill (`node --cpu-prof`): Node's socket writes
 * took 1.25 s in pieces of 64 KiB, 0.87 s in pieces of 256 KiB; the daily job (a day is
 * ~1.7 MB) was no slower with the larger pieces.
 */
const FEED_BYTES = 1 << 18;

export function feedRows(on: pg.ClientBase, table: string, columns: BulkColumns): BulkFeed {
  const copy = openBinaryCopy(on, `${table} (${columns.map((c) => c.name).join(', ')})`);
  let sink = new ByteSink(FEED_BYTES + (1 << 12));
  let n = 0;
  return {
    ready: copy.ready,
    get size() {
      return n;
    },
    addRow(row) {
      n++;
      row.write(sink);
      if (sink.pos >= FEED_BYTES) {
        copy.put(sink.data);
        sink = new ByteSink(FEED_BYTES + (1 << 12)); // the last piece may still be queued
      }
    },
    async end() {
      if (sink.pos > 0) copy.put(sink.data);
      await copy.end();
    },
    abort: (reason) => copy.abort(reason),
  };
}

/** A `BulkFeed` that collects its rows and writes them at `end` with `write` (the embedded engine). */
export function collectRows(db: Pick<Database, 'supportsCopy'>, columns: BulkColumns, write: (rows: BulkRows) => Promise<void>): BulkFeed {
  const rows = bulkRows(db, columns);
  return {
    ready: Promise.resolve(),
    get size() {
      return rows.size;
    },
    addRow: (row) => rows.addRow(row),
    end: () => write(rows),
    abort: async () => undefined,
  };
}

/** A temporary table with these columns, dropped at the transaction's end. */
export async function createStage(trx: Knex.Transaction, name: string, columns: BulkColumns): Promise<void> {
  await trx.raw(`CREATE TEMP TABLE ${name} (${columns.map((c) => `${c.name} ${c.type}`).join(', ')}) ON COMMIT DROP`);
}
