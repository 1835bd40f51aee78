import { BulkRows } from '../bulk';
import { fromDayNumber, LocalDate } from '../../domain/dates';

/** Chunks grow from FIRST_CHUNK_ROWS to CHUNK_ROWS: the server starts writing early, then takes big bites. */
export const FIRST_CHUNK_ROWS = 20_000;
export const CHUNK_ROWS = 150_000;

/** A chunk of rows ready to write (area id, keys, values), and the days and areas they cover. */
export class Chunk {
  readonly ids = new Set<number>();
  minDay = Infinity;
  maxDay = -Infinity;
  private lastId = -1;
  private lastDay = NaN;

  constructor(
    readonly rows: BulkRows,
    readonly limit: number,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  /** Counts a row just added to `rows`. */
  note(id: number, day: number): void {
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
