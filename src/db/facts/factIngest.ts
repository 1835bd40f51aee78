import { Knex } from 'knex';
import type { BatchSource } from '../imports';
import type { Actor } from '../audit';
import { BulkColumns, bulkRows } from '../bulk';
import { copyText } from '../copy';
import type { Database } from '../database';
import { DetailCollector, forbidden } from '../../errors';
import { AreaResolver, Validity } from './areaResolver';
import { predecessorsOf, successorsOf } from '../reorganisations';
import { Chunk, CHUNK_ROWS, FIRST_CHUNK_ROWS } from './chunk';
import { ChunkWriter } from './chunkWriter';
import { KeyTuples } from './keyTuples';
import { EncodedRow, FactSink, StagedRow } from './sink';
import { factColumns, FactSpec, UpsertResult } from './spec';
import { fromDayNumber, LocalDate } from '../../domain/dates';

/** A reporter key's areas: those under its own on each day (upsert.ts). */
export type Scope = { has(id: number, day: number): boolean };

export type UpsertOptions = {
  pathFor: (idx: number, field: string) => string;
  /** A reporter key's areas: every row must be for one of them or below (checked in the transaction). */
  scope?: number[] | null | undefined;
  /** Who writes (for the audit trail); `system` by default. */
  actor?: Actor | undefined;
  /** The file this import reads, recorded as its batch (db/imports.ts) in the same transaction. */
  batch?: BatchSource | undefined;
};

/**
 * One ingest inside its transaction: takes rows, rejects unknown areas and repeated keys,
 * cuts chunks and has them written while later rows are still being read (one chunk in
 * flight while the next fills). After the first problem no row is kept.
 */
export class FactIngest implements FactSink {
  readonly errors = new DetailCollector();
  /** Rows for areas outside the caller's scope (a 403, not a 422). */
  private readonly denied = new DetailCollector();
  readonly result: UpsertResult = { inserted: 0, updated: 0, unchanged: 0, earliest_changed_date: null };
  private readonly keys: KeyTuples;
  private readonly areas: AreaResolver;
  private readonly writer: ChunkWriter;
  private readonly unknownReported = new Set<string>();
  /** Rows dated outside their area's days (before it began, after it ended): the first per area, told with its successors or predecessors at the end. */
  private readonly outOfDays = new Map<number, { idx: number; day: number; v: Validity }>();
  private readonly dateIndex: number;
  private readonly columns: BulkColumns;
  private chunk: Chunk;
  /** Areas and days the kept rows cover (for the audit trail). */
  readonly touched = new Set<number>();
  firstDay = Infinity;
  lastDay = -Infinity;
  /** Chunks handed to the writer, in order; each write starts after the previous one. */
  private inFlight: Promise<void>[] = [];

  private readonly trx: Knex.Transaction;

  constructor(
    trx: Knex.Transaction,
    private readonly db: Pick<Database, 'supportsCopy'>,
    private readonly spec: FactSpec,
    maxAreaId: number,
    private readonly opts: UpsertOptions,
    private readonly allowed: Scope | null,
  ) {
    this.keys = new KeyTuples(2 ** Math.ceil(Math.log2(maxAreaId + 2)));
    this.areas = new AreaResolver(trx);
    this.trx = trx;
    this.writer = new ChunkWriter(trx, spec);
    this.dateIndex = spec.keys.findIndex((k) => k.name === 'date');
    this.columns = factColumns(spec);
    this.chunk = this.newChunk(FIRST_CHUNK_ROWS);
  }

  private newChunk(limit: number): Chunk {
    return new Chunk(bulkRows(this.db, this.columns, limit), limit);
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
    const n = this.spec.keys.length;
    const keyText = n === 1 ? copyText(r.cells[0] ?? null) : r.cells.slice(0, n).map((c) => copyText(c)).join('\t');
    const tuple = this.keys.tuple(keyText, r.cells[this.dateIndex] as LocalDate);
    const day = this.keys.days[tuple] as number;
    if (this.allowed && !this.allowed.has(id, day)) return this.outside(r.idx, r.area);
    if (!this.exists(id, day, r.idx)) return;
    if (!this.first(id, tuple, r.idx, r.area)) return;
    const chunk = this.chunkFor(id, day);
    chunk.rows.add([id, ...r.cells]);
    chunk.note(id, day);
  }

  addEncoded(idx: number, row: EncodedRow): void {
    if (this.allowed && !this.allowed.has(row.id, row.day)) return this.outside(idx, row.areaCode());
    if (!this.exists(row.id, row.day, idx)) return;
    if (!this.first(row.id, row.tuple, idx, row)) return;
    const chunk = this.chunkFor(row.id, row.day);
    chunk.rows.addRow(row);
    chunk.note(row.id, row.day);
  }

  /** Does the area exist on this day? A row outside its days is refused (told in `finish`). */
  private exists(id: number, day: number, idx: number): boolean {
    const v = this.areas.validity(id);
    if (v === undefined || (day >= v.from && day <= v.to)) return true;
    if (!this.outOfDays.has(id)) this.outOfDays.set(id, { idx, day, v });
    return false;
  }

  /** Rows dated outside their area's days, each area once, naming where its territory went (or came from). */
  private async tellOutOfDays(): Promise<void> {
    if (this.outOfDays.size === 0) return;
    const codes = [...this.outOfDays.values()].map((o) => o.v.code);
    const [after, before] = await Promise.all([successorsOf(this.trx, codes), predecessorsOf(this.trx, codes)]);
    for (const { idx, day, v } of this.outOfDays.values()) {
      const date = fromDayNumber(day);
      if (day > v.to) {
        const to = after.get(v.code);
        this.errors.add(
          this.opts.pathFor(idx, 'date'),
          `khu vực ${v.code} đã kết thúc ngày ${v.validTo} — area ${v.code} ended on ${v.validTo}, before ${date}` +
            (to?.length ? `: its successor${to.length > 1 ? 's are' : ' is'} ${to.join(', ')}; report for ${to.length > 1 ? 'them' : 'it'} instead` : ''),
        );
      } else {
        const from = before.get(v.code);
        this.errors.add(
          this.opts.pathFor(idx, 'date'),
          `khu vực ${v.code} bắt đầu từ ngày ${v.validFrom} — area ${v.code} begins on ${v.validFrom}, after ${date}` +
            (from?.length ? `: before that, report for its predecessor${from.length > 1 ? 's' : ''} ${from.join(', ')}` : ''),
        );
      }
    }
  }

  private outside(idx: number, code: string): void {
    this.denied.add(this.opts.pathFor(idx, 'area'), `area ${code} is outside this key's scope on that day`);
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
    return this.errors.count === 0 && this.denied.count === 0 && this.outOfDays.size === 0;
  }

  private chunkFor(id: number, day: number): Chunk {
    this.touched.add(id);
    if (day < this.firstDay) this.firstDay = day;
    if (day > this.lastDay) this.lastDay = day;
    if (this.chunk.endsBefore(id, day)) {
      const full = this.chunk;
      this.chunk = this.newChunk(Math.min(full.limit * 2, CHUNK_ROWS));
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

  /** Writes what is left, or refuses the whole ingest (403 for rows out of scope, else 422 for problems). */
  async finish(): Promise<UpsertResult> {
    for (const w of this.inFlight.splice(0)) await w;
    if (this.denied.count) {
      const more = this.denied.count > this.denied.details.length ? ` (first ${this.denied.details.length} listed)` : '';
      const n = this.denied.count;
      throw forbidden(`${n.toLocaleString('vi-VN')} dòng thuộc đơn vị ngoài phạm vi của khoá này; không có gì được ghi — ${n} row(s) for areas outside this key's scope; nothing was written${more}`, this.denied.details);
    }
    await this.tellOutOfDays();
    this.errors.throwIfAny((n) => `${n.toLocaleString('vi-VN')} lỗi trong dữ liệu ${this.spec.rowsVi}; không có gì được ghi — ${n} problem(s) in ${this.spec.table}; nothing was written`);
    if (this.chunk.size) await this.writer.apply(this.chunk, this.result);
    return this.result;
  }

  /** Lets the connection finish its writes before the transaction is rolled back. */
  async abandon(): Promise<void> {
    for (const w of this.inFlight.splice(0)) await w.catch(() => undefined);
  }
}
