import { dayNumber, LocalDate } from '../../domain/dates';

/**
 * Key tuples (e.g. a date, or a metric name and date) are numbered; a row's key is its
 * area id and tuple number. Which row first had each key is kept per tuple in a Map while
 * it is small and in an array indexed by area id once it is dense — a million keys cost
 * a few MB and no garbage. (Areas cannot be added during an ingest: see the lock.)
 */
export class KeyTuples {
  private readonly numbers = new Map<string, number>();
  readonly days: number[] = [];
  private readonly firstSeen: (Map<number, number> | Int32Array)[] = [];

  /** `radix`: more than the largest area id. */
  constructor(private readonly radix: number) {}

  /** The number of a key (its cells as COPY text, tab-separated) on `date`. */
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
