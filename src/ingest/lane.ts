import type { ByteSink } from '../db/copy';
import type { Cell, EncodedRow, FactSink } from '../db/facts';
import { fromDayNumber, isLocalDate, LocalDate } from '../domain/dates';

/**
 * The byte lane of the bulk CSV path: a plain line (no quotes, valid UTF-8) is checked and
 * written as a binary COPY tuple straight from the input bytes, with no string or object per
 * row (where the engine takes no COPY, the bulk writer asks it for its cells instead).
 * It accepts only what is certainly valid; anything else (a bad value, an unknown area,
 * a long source) goes back to the general path, which decides and explains. It must never
 * accept what the zod schema rejects.
 */
export interface ByteLane extends EncodedRow {
  /** Parses line [s, e) of `buf`; true when the row is certainly valid (then it can be written). */
  parse(buf: Buffer, s: number, e: number): boolean;
}

const COMMA = 44;
const DIGIT_0 = 48;
const DASH = 45;

/** Area codes as bytes → ids, by open addressing on an FNV-1a hash: no string per lookup. */
export class AreaCodeTable {
  private readonly slots: Int32Array; // entry + 1, 0 = empty
  private readonly mask: number;
  private readonly codes: Buffer;
  private readonly starts: Int32Array;
  readonly ids: Int32Array;
  readonly names: string[];

  constructor(areas: ReadonlyMap<string, number>) {
    const n = areas.size;
    let size = 16;
    while (size < n * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    this.names = [...areas.keys()];
    this.codes = Buffer.from(this.names.join(''), 'latin1');
    this.starts = new Int32Array(n + 1);
    this.ids = new Int32Array(n);
    let at = 0;
    this.names.forEach((code, i) => {
      this.starts[i] = at;
      at += code.length;
      this.ids[i] = areas.get(code) as number;
      let slot = AreaCodeTable.hash(this.codes, this.starts[i] as number, at) & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = i + 1;
    });
    this.starts[n] = at;
  }

  private static hash(buf: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    return h >>> 0;
  }

  /** The entry of the code in bytes [s, e), or -1. */
  find(buf: Uint8Array, s: number, e: number): number {
    const len = e - s;
    let slot = AreaCodeTable.hash(buf, s, e) & this.mask;
    for (;;) {
      const entry = (this.slots[slot] as number) - 1;
      if (entry < 0) return -1;
      const cs = this.starts[entry] as number;
      if ((this.starts[entry + 1] as number) - cs === len) {
        let i = 0;
        while (i < len && this.codes[cs + i] === buf[s + i]) i++;
        if (i === len) return entry;
      }
      slot = (slot + 1) & this.mask;
    }
  }
}

/** The value of bytes [s, e) if they are 1–9 digits (an accepted count), else -1. */
function smallInt(buf: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 9) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = (buf[i] as number) - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** YYYY-MM-DD in bytes [s, s+10) as the number YYYYMMDD, or -1 (validity is checked by the caller). */
function dateDigits(buf: Uint8Array, s: number, e: number): number {
  if (e - s !== 10 || buf[s + 4] !== DASH || buf[s + 7] !== DASH) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    if (i === s + 4 || i === s + 7) continue;
    const d = (buf[i] as number) - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Dates in bytes → the ingest's key tuple and day; each distinct date is checked once
 * (a real calendar date, not after `maxDate`) and remembered, valid or not.
 */
class DateKeys {
  private readonly known = new Map<number, number>(); // YYYYMMDD → tuple, or -1 if refused
  constructor(
    private readonly sink: FactSink,
    private readonly maxDate: LocalDate,
  ) {}

  tuple(digits: number): number {
    let t = this.known.get(digits);
    if (t === undefined) {
      const y = Math.floor(digits / 10_000);
      const text = `${String(y).padStart(4, '0')}-${String(Math.floor(digits / 100) % 100).padStart(2, '0')}-${String(digits % 100).padStart(2, '0')}`;
      t = isLocalDate(text) && text <= this.maxDate ? this.sink.tuple(text, text) : -1;
      this.known.set(digits, t);
    }
    return t;
  }
}

/** The reports lane: area,date,community_cases,quarantine_cases[,deaths][,source] in any column order. */
export class ReportLane implements ByteLane {
  id = 0;
  tuple = 0;
  day = 0;
  private entry = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Community, quarantine and deaths (-1: none) of the last parsed line. */
  private readonly counts = new Int32Array(3);
  /** Field bounds of the last parsed line: start of field i at 2i, end at 2i+1. */
  private readonly f: Int32Array;
  private readonly areas: AreaCodeTable;
  private readonly dates: DateKeys;
  private readonly days: (tuple: number) => number;

  constructor(
    header: string[],
    maxDate: LocalDate,
    sink: FactSink,
    private readonly col = {
      area: header.indexOf('area'),
      date: header.indexOf('date'),
      cc: header.indexOf('community_cases'),
      qc: header.indexOf('quarantine_cases'),
      deaths: header.indexOf('deaths'),
      source: header.indexOf('source'),
    },
  ) {
    this.f = new Int32Array(header.length * 2);
    this.areas = new AreaCodeTable(sink.areaIds());
    this.dates = new DateKeys(sink, maxDate);
    this.days = (t) => sink.dayOf(t);
  }

  parse(buf: Buffer, s: number, e: number): boolean {
    const f = this.f;
    const n = f.length >> 1;
    let field = 0;
    f[0] = s;
    for (let i = s; i < e; i++) {
      if (buf[i] === COMMA) {
        if (field + 1 >= n) return false;
        f[2 * field + 1] = i;
        field++;
        f[2 * field] = i + 1;
      }
    }
    if (field !== n - 1) return false;
    f[2 * field + 1] = e;
    const { col } = this;
    const entry = this.areas.find(buf, f[2 * col.area] as number, f[2 * col.area + 1] as number);
    if (entry < 0) return false;
    const digits = dateDigits(buf, f[2 * col.date] as number, f[2 * col.date + 1] as number);
    if (digits < 0) return false;
    const tuple = this.dates.tuple(digits);
    if (tuple < 0) return false;
    const cc = smallInt(buf, f[2 * col.cc] as number, f[2 * col.cc + 1] as number);
    const qc = smallInt(buf, f[2 * col.qc] as number, f[2 * col.qc + 1] as number);
    if (cc < 0 || qc < 0) return false;
    let deaths = -1; // none
    if (col.deaths >= 0) {
      const ds = f[2 * col.deaths] as number;
      const de = f[2 * col.deaths + 1] as number;
      if (de > ds && (deaths = smallInt(buf, ds, de)) < 0) return false;
    }
    if (col.source >= 0) {
      const ss = f[2 * col.source] as number;
      const se = f[2 * col.source + 1] as number;
      if (se - ss > 200) return false; // ≤ 200 bytes is surely ≤ 200 characters; longer ones are counted by the schema
      if (buf.subarray(ss, se).includes(0)) return false; // a NUL: the schema refuses it by name
    }
    this.buf = buf;
    this.entry = entry;
    this.id = this.areas.ids[entry] as number;
    this.tuple = tuple;
    this.day = this.days(tuple);
    this.counts[0] = cc;
    this.counts[1] = qc;
    this.counts[2] = deaths;
    return true;
  }

  areaCode(): string {
    return this.areas.names[this.entry] as string;
  }

  /** The row's cells: id, date, community, quarantine, deaths, source. */
  cells(): Cell[] {
    const { f, col, counts } = this;
    const deaths = counts[2] as number;
    const ss = col.source < 0 ? 0 : (f[2 * col.source] as number);
    const se = col.source < 0 ? 0 : (f[2 * col.source + 1] as number);
    return [this.id, fromDayNumber(this.day), counts[0] as number, counts[1] as number, deaths >= 0 ? deaths : null, se > ss ? this.buf.toString('utf8', ss, se) : null];
  }

  /** The row as a binary COPY tuple: id, date, community, quarantine, deaths, source. */
  write(out: ByteSink): void {
    const { f, col, counts } = this;
    out.ensure((f[f.length - 1] as number) - (f[0] as number) + 64);
    out.fields(6);
    out.int4(this.id);
    out.date(this.day);
    out.int4(counts[0] as number);
    out.int4(counts[1] as number);
    if ((counts[2] as number) >= 0) out.int4(counts[2] as number);
    else out.binaryNull();
    const ss = col.source < 0 ? 0 : (f[2 * col.source] as number);
    const se = col.source < 0 ? 0 : (f[2 * col.source + 1] as number);
    if (se > ss) out.textBytes(this.buf, ss, se);
    else out.binaryNull();
  }
}
