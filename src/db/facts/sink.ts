import type { BulkRow, Cell } from '../bulk';
import type { DetailCollector } from '../../errors';
import type { LocalDate } from '../../domain/dates';

/**
 * The contract between a row source (the ingest's JSON and CSV readers) and the fact
 * writer: the source validates rows and hands them over; the sink resolves areas, rejects
 * repeated keys and writes. Problems with values go into `errors`; nothing throws for them.
 */

/** A validated input row: the area code, then the key cells, then the value cells. */
export type StagedRow = { idx: number; area: string; cells: Cell[] };

/**
 * A row a byte lane has parsed and checked: its area id, key tuple and day, and how to
 * write itself (area id, keys, values) as a binary COPY tuple or as cells. (One object,
 * reused from row to row.)
 */
export interface EncodedRow extends BulkRow {
  readonly id: number;
  readonly tuple: number;
  readonly day: number;
  areaCode(): string;
}

/** Where a row source puts its rows. */
export interface FactSink {
  readonly errors: DetailCollector;
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

/** Reads rows into a sink (see ingest/ingest.ts). */
export type RowSource = (sink: FactSink) => Promise<void>;
