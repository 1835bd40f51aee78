import { ByteSink, Cell } from '../../src/db/copy';
import type { EncodedRow, FactSink, StagedRow } from '../../src/db/facts';
import { dayNumber, fromDayNumber, LocalDate } from '../../src/domain/dates';
import { DetailCollector } from '../../src/errors';
import { AreaCodeTable, ReportLane } from '../../src/ingest/lane';
import { reportFormat } from '../../src/ingest/rows';

/**
 * The byte lane may only accept rows the zod schema accepts, and must write them (as binary
 * COPY tuples) with exactly the cells the schema stages. Checked over every single-field variation of a valid row
 * and a few thousand random combinations, in three column layouts.
 */

const AREAS = new Map<string, number>([
  ['C11', 1],
  ['C12', 2],
  ['VNM.17.1.28_1', 300],
  ['a-b_c.9', 4097],
]);
const MAX_DATE = '2100-01-01' as LocalDate;

/** The sink's bookkeeping a lane uses (areas, key tuples); rows themselves are not kept here. */
function keySink(): FactSink {
  const tuples = new Map<string, number>();
  const days: number[] = [];
  return {
    errors: new DetailCollector(),
    loadAreas: async () => undefined,
    areaIds: () => AREAS,
    tuple(key, date) {
      let t = tuples.get(key);
      if (t === undefined) {
        t = days.length;
        tuples.set(key, t);
        days.push(dayNumber(date));
      }
      return t;
    },
    dayOf: (t) => days[t] as number,
    add: () => undefined,
    addEncoded: () => undefined,
    settle: async () => undefined,
  };
}

/** What the general path makes of a quote-free line: a staged row, or null if it is refused. */
function viaSchema(header: string[], line: string): StagedRow | null {
  const fields = line.split(',');
  if (fields.length !== header.length) return null;
  const quick = reportFormat.fastCsv(header, MAX_DATE)(fields, 2);
  const staged = quick ?? schemaRow(header, fields);
  return staged && AREAS.has(staged.area) ? staged : null;
}

function schemaRow(header: string[], fields: string[]): StagedRow | null {
  const obj: Record<string, unknown> = {};
  header.forEach((col, i) => {
    const cell = fields[i] as string;
    if (cell === '') return;
    obj[col] = reportFormat.numeric.has(col) && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(cell) ? Number(cell) : cell;
  });
  const parsed = reportFormat.schema(MAX_DATE).safeParse(obj);
  return parsed.success ? reportFormat.stage(2, parsed.data) : null;
}

/** A binary COPY tuple of the reports columns back as cells: id, date, counts, deaths, source. */
function decodeTuple(buf: Buffer): Cell[] {
  expect(buf.readInt16BE(0)).toBe(6);
  const cells: Cell[] = [];
  let at = 2;
  for (let i = 0; i < 6; i++) {
    const len = buf.readInt32BE(at);
    at += 4;
    if (len < 0) {
      cells.push(null);
      continue;
    }
    if (i === 5) cells.push(buf.toString('utf8', at, at + len));
    else if (i === 1) cells.push(fromDayNumber(buf.readInt32BE(at) + dayNumber('2000-01-01' as LocalDate)));
    else cells.push(buf.readInt32BE(at));
    at += len;
  }
  expect(at).toBe(buf.length);
  return cells;
}

const VARIANTS: Record<string, string[]> = {
  area: ['C11', 'VNM.17.1.28_1', 'a-b_c.9', 'C1', 'C111', 'c11', ' C11', 'C11 ', '', 'ZZ9', 'C11\t', 'VNM.17.1.28_'],
  date: ['2021-07-01', '2020-02-29', '2021-02-29', '2021-04-31', '2021-13-01', '2021-00-10', '1899-12-31', '1900-01-01', '2100-01-01', '2100-01-02', '2021-7-1', '20210701', ' 2021-07-01', '2021-07-01 ', '', '2021/07/01', '２０２１-07-01'],
  community_cases: ['0', '7', '007', '123456789', '1234567890', '2147483648', '-1', '1.0', '1.5', '1e3', ' 5', '5 ', '', '+5', '٣', 'x'],
  quarantine_cases: ['0', '12', '000000001', '0000000001', '-0', '.5', '', ' '],
  deaths: ['', '0', '3', '1234567890', '-2', '2.0', 'n/a'],
  source: ['', 'Sở Y tế Đồng Nai', 'a'.repeat(200), 'a'.repeat(201), 'ễ'.repeat(66), 'ễ'.repeat(67), 'ễ'.repeat(201), 'tab\there', 'back\\slash', ' spaced ', 'x\ry', '\\N', 'nul\u0000here'],
};

const LAYOUTS = [
  ['area', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source'],
  ['source', 'quarantine_cases', 'date', 'deaths', 'area', 'community_cases'],
  ['date', 'area', 'community_cases', 'quarantine_cases'],
];

const BASE: Record<string, string> = { area: 'C12', date: '2021-07-01', community_cases: '3', quarantine_cases: '4', deaths: '1', source: 'Trạm y tế' };

/** A deterministic generator (the test must be repeatable). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function candidates(header: string[]): string[] {
  const out: string[] = [];
  const line = (row: Record<string, string>) => header.map((c) => row[c]).join(',');
  for (const col of header) for (const v of VARIANTS[col] as string[]) out.push(line({ ...BASE, [col]: v }));
  const rnd = lcg(header.length);
  for (let i = 0; i < 3000; i++) {
    const row: Record<string, string> = {};
    for (const col of header) {
      const vs = VARIANTS[col] as string[];
      row[col] = rnd() < 0.5 ? (BASE[col] as string) : (vs[Math.floor(rnd() * vs.length)] as string);
    }
    out.push(line(row));
  }
  out.push(`${line(BASE)},extra`, header.slice(1).map((c) => BASE[c]).join(','));
  return out;
}

describe.each(LAYOUTS)('report lane, columns %s…', (...header) => {
  test('accepts only what the schema accepts, and encodes the same cells', () => {
    const sink = keySink();
    const lane = new ReportLane(header, MAX_DATE, sink);
    let accepted = 0;
    let refused = 0;
    for (const text of candidates(header)) {
      const buf = Buffer.from(`#${text}\n`); // the line sits inside a larger buffer
      const ok = lane.parse(buf, 1, buf.length - 1);
      const staged = viaSchema(header, text);
      if (!ok) {
        refused++;
        continue;
      }
      accepted++;
      expect({ text, staged: staged !== null }).toEqual({ text, staged: true });
      const s = staged as StagedRow;
      const out = new ByteSink(16);
      lane.write(out);
      expect({ text, cells: decodeTuple(out.data) }).toEqual({ text, cells: [AREAS.get(s.area), ...s.cells] });
      expect({ text, cells: lane.cells() }).toEqual({ text, cells: [AREAS.get(s.area), ...s.cells] });
      expect(lane.id).toBe(AREAS.get(s.area));
      expect(lane.areaCode()).toBe(s.area);
      expect(lane.day).toBe(dayNumber(s.cells[0] as LocalDate));
    }
    // the lane must take the common case, and refuse a good share of the variations
    expect(accepted).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });
});

test('the same date gets the same key tuple; a refused date never gets one', () => {
  const sink = keySink();
  const header = LAYOUTS[0] as string[];
  const lane = new ReportLane(header, MAX_DATE, sink);
  const tupleOf = (date: string, area = 'C11') => {
    const buf = Buffer.from(`${area},${date},1,1,,`);
    return lane.parse(buf, 0, buf.length) ? (lane as EncodedRow).tuple : null;
  };
  expect(tupleOf('2021-07-01')).toBe(0);
  expect(tupleOf('2021-07-02')).toBe(1);
  expect(tupleOf('2021-07-01', 'C12')).toBe(0);
  expect(tupleOf('2021-02-29')).toBeNull();
  expect(tupleOf('2100-01-02')).toBeNull();
  expect(sink.tuple('2021-07-03', '2021-07-03' as LocalDate)).toBe(2);
});

test('area code table: every code found, near misses not, across hash collisions', () => {
  const codes = new Map<string, number>();
  for (let i = 0; i < 5000; i++) codes.set(`VNM.${i % 63}.${i % 700}.${i}_1`, i + 1);
  const table = new AreaCodeTable(codes);
  const find = (code: string) => {
    const buf = Buffer.from(`,${code},`);
    const entry = table.find(buf, 1, buf.length - 1);
    return entry < 0 ? null : table.ids[entry];
  };
  for (const [code, id] of codes) expect(find(code)).toBe(id);
  expect(find('VNM.1.1.1_')).toBeNull();
  expect(find('VNM.1.1.1_11')).toBeNull();
  expect(find('vnm.1.1.1_1')).toBeNull();
  expect(find('')).toBeNull();
});
