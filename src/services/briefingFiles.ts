import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { MapDrawing } from '../domain/briefingMap';
import { backpressureWriter, yieldToOthers } from '../streams';
import {
  Briefing,
  BRIEFING_LEVELS,
  BriefingChange,
  BriefingFormat,
  Cell,
  COMMUNE_COLUMNS,
  communeRow,
  DIRECTION_LABEL,
  levelLabelVi,
  OVERRIDE_COLUMNS,
  overrideRow,
  sentenceCase,
  VERSION_LABEL,
  viDate,
  viNumber,
} from '../domain/briefing';
import { LEVEL_INFO, LevelOrUnknown } from '../domain/levels';

/**
 * A briefing (services/briefing.ts) written as a file: JSON, XLSX (exceljs, streamed), PDF
 * (pdfkit, A4, DejaVu Sans embedded: it covers Vietnamese, and the text extracts with its
 * diacritics) or CSV (UTF-8 with a BOM). Every format is written from the same `Briefing`;
 * exceljs and pdfkit load only when a file of theirs is asked for. Long lists are written a
 * batch at a time, giving the event loop back between batches: a country's 10,600 communes
 * never hold it for long.
 */

export const BRIEFING_MEDIA_TYPES: Record<BriefingFormat, string> = {
  json: 'application/json; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
  csv: 'text/csv; charset=utf-8',
};

/** briefing-<area code, or "all">-<date>.<format> */
export const briefingFileName = (b: Pick<Briefing, 'area' | 'date'>, format: BriefingFormat): string => `briefing-${b.area.code ?? 'all'}-${b.date}.${format}`;

const BATCH = 500;

/** What a file may show besides the briefing itself: its static map (the PDF draws it on the first page). */
export type BriefingExtras = { map?: MapDrawing | null };

/**
 * Writes the briefing to `out` in `format`, and ends it; resolves once everything is written,
 * rejects when `out` fails or closes first (a client that hung up, a disk that is full).
 */
export async function writeBriefing(b: Briefing, format: BriefingFormat, out: Writable, extras: BriefingExtras = {}): Promise<void> {
  const done = finished(out);
  done.catch(() => undefined); // awaited below: this only keeps an early failure from going unhandled
  await Promise.race([writeBody(b, format, out, extras), done]);
  await done;
}

function writeBody(b: Briefing, format: BriefingFormat, out: Writable, extras: BriefingExtras): Promise<void> {
  switch (format) {
    case 'json':
      return writeText(out, [JSON.stringify(b, null, 2) + '\n']);
    case 'csv':
      return writeText(out, csvPieces(b));
    case 'xlsx':
      return writeXlsx(b, out);
    case 'pdf':
      return writePdf(b, out, extras.map ?? null);
  }
}

/** Pieces of text with back-pressure (src/streams.ts), the event loop given back every few pieces, then the end. */
async function writeText(out: Writable, pieces: Iterable<string>): Promise<void> {
  const write = backpressureWriter(out);
  let n = 0;
  for (const piece of pieces) {
    if (!(await write(piece))) return;
    if (++n % 20 === 0) await yieldToOthers();
  }
  out.end();
}

// ─── CSV ──────────────────────────────────────────────────────────────────────────────

/**
 * A CSV field. Text that a spreadsheet would take for a formula (it begins with =, +, -, @,
 * a tab or a carriage return: an area's name, an override's reason) is written with a
 * leading ' (OWASP, CSV injection); numbers are written as they are.
 */
const csvField = (v: Cell): string => {
  if (v === null) return '';
  const s = typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * The commune list as CSV: a BOM (Excel then reads UTF-8), the Vietnamese header, one row
 * per commune, CRLF line ends (RFC 4180). Numbers plain (a dot for decimals, no grouping:
 * machine-readable), dates dd/mm/yyyy, a missing figure empty.
 */
function* csvPieces(b: Briefing): Generator<string> {
  yield '\uFEFF' + COMMUNE_COLUMNS.map((c) => csvField(c.vi)).join(',') + '\r\n';
  for (let i = 0; i < b.communes.length; i += BATCH) {
    yield b.communes
      .slice(i, i + BATCH)
      .map((c, j) => communeRow(c, i + j).map(csvField).join(',') + '\r\n')
      .join('');
  }
}

// ─── XLSX ─────────────────────────────────────────────────────────────────────────────

/**
 * Number formats: whole numbers grouped, rates with two decimals (Excel shows them in the
 * reader's locale: 2.944.027 / 65,10 in vi-VN); dates as dd/mm/yyyy — date cells, so that a
 * column of them sorts and filters by date (the rows carry them as dd/mm/yyyy text, as the CSV writes them).
 */
const NUM_FMT = { integer: '#,##0', decimal: '#,##0.00', date: 'dd/mm/yyyy' } as const;

/** A dd/mm/yyyy date of a row as the date cell's value (midnight UTC: Excel's day number of that date), else null. */
function dateCell(text: string): Date | null {
  const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text);
  return m ? new Date(Date.UTC(Number(m[3]), Number(m[2]) - 1, Number(m[1]))) : null;
}

type SheetRow = { values: Cell[]; formats?: (keyof typeof NUM_FMT | null)[]; bold?: boolean };

/** Which format each column of the commune table takes. */
const COMMUNE_FORMATS = COMMUNE_COLUMNS.map((c) => (c.kind === 'text' ? null : c.kind));

function summaryRows(b: Briefing): SheetRow[] {
  const rows: SheetRow[] = [];
  const line = (...values: Cell[]) => rows.push({ values });
  rows.push({ values: [`${b.title.vi} — ${b.area.name}`], bold: true });
  line('Địa bàn', b.area.code === null ? b.area.name : `${b.area.name} (${b.area.code})`);
  line('Ngày', viDate(b.date));
  line('Tuần', `${viDate(b.week.from)} – ${viDate(b.week.to)}`);
  line('Phiên bản', VERSION_LABEL[b.version].vi);
  line('Tính toán lúc (computed at)', b.data_as_of_text ?? 'chưa tính cấp độ');
  if (b.version === 'published') line('So với lần công bố trước', b.changes.compared_with ? viDate(b.changes.compared_with) : 'không có lần công bố trước');
  for (const m of b.map_changes) line('Bản đồ thay đổi (map changed)', m.text.vi);
  line('Bộ tiêu chí', b.rule_set ? `${b.rule_set.name} (${b.rule_set.id})` : 'chưa có bộ tiêu chí có hiệu lực');
  line();
  const counts = ['Cấp độ', 'Số xã, phường', 'Dân số', `Số xã, phường ngày ${viDate(b.counts.week_before_date)}`, `Dân số ngày ${viDate(b.counts.week_before_date)}`, 'Thay đổi số xã, phường', 'Thay đổi dân số'];
  rows.push({ values: counts, bold: true });
  const ints = counts.map((_c, i) => (i === 0 ? null : 'integer' as const));
  for (const l of BRIEFING_LEVELS) {
    const c = b.counts.by_level[l];
    rows.push({ values: [levelLabelVi(l), c.areas, c.population, c.week_before?.areas ?? null, c.week_before?.population ?? null, c.change?.areas ?? null, c.change?.population ?? null], formats: ints });
  }
  const t = b.counts.total;
  rows.push({ values: ['Tổng', t.areas, t.population, t.week_before?.areas ?? null, t.week_before?.population ?? null, t.change?.areas ?? null, t.change?.population ?? null], formats: ints, bold: true });
  line();
  rows.push({ values: ['Cấp độ', 'Số xã, phường', 'Không có ca mắc mới trong cộng đồng (24 giờ)', 'Chưa báo cáo (24 giờ)'], bold: true });
  for (const l of BRIEFING_LEVELS) {
    const c = b.last_24h.by_level[l];
    rows.push({ values: [levelLabelVi(l), c.areas, c.no_new_community_cases_24h, c.not_reported_24h], formats: ints });
  }
  const d = b.last_24h.total;
  rows.push({ values: ['Tổng', d.areas, d.no_new_community_cases_24h, d.not_reported_24h], formats: ints, bold: true });
  line();
  line('Nhận định 24 giờ', b.last_24h.sentence.vi);
  line('In English', b.last_24h.sentence.en);
  return rows;
}

const CHANGE_HEADER = ['STT', 'Ngày', 'Huyện', 'Mã xã/phường', 'Xã/phường', 'Từ cấp độ', 'Sang cấp độ', 'Chiều', 'Lý do'];

function changeRow(b: Briefing, i: number): Cell[] {
  const c = b.changes.items[i];
  if (!c) return [];
  return [i + 1, viDate(c.date), c.district?.name ?? null, c.code, c.name, levelLabelVi(c.from), levelLabelVi(c.to), DIRECTION_LABEL[c.direction].vi, c.reason_text.vi];
}

async function writeXlsx(b: Briefing, out: Writable): Promise<void> {
  const ExcelJS = await import('exceljs');
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  book.creator = 'zonerisk';
  book.title = `${b.title.vi} ${b.area.name} ${viDate(b.date)}`;
  type Sheet = ReturnType<typeof book.addWorksheet>;

  const add = (ws: Sheet, r: SheetRow) => {
    const row = ws.addRow(r.values);
    r.values.forEach((v, i) => {
      const f = r.formats?.[i];
      const cell = row.getCell(i + 1);
      const day = f === 'date' && typeof v === 'string' ? dateCell(v) : null;
      if (day) cell.value = day;
      if (f && (typeof v === 'number' || day)) cell.numFmt = NUM_FMT[f];
      if (r.bold) cell.font = { bold: true };
    });
    row.commit();
  };

  const summary = book.addWorksheet('Tổng hợp');
  summary.columns = [{ width: 34 }, { width: 16 }, { width: 16 }, { width: 22 }, { width: 22 }, { width: 20 }, { width: 18 }];
  for (const r of summaryRows(b)) add(summary, r);
  summary.commit();

  const list = book.addWorksheet('Danh sách xã, phường', { views: [{ state: 'frozen', ySplit: 1 }] });
  list.columns = [{ width: 7 }, { width: 24 }, { width: 16 }, { width: 28 }, { width: 28 }, { width: 14 }, { width: 16 }, { width: 12 }, { width: 12 }, { width: 40 }];
  add(list, { values: COMMUNE_COLUMNS.map((c) => c.vi), bold: true });
  for (let i = 0; i < b.communes.length; i++) {
    add(list, { values: communeRow(b.communes[i] as Briefing['communes'][number], i), formats: COMMUNE_FORMATS });
    if ((i + 1) % BATCH === 0) await yieldToOthers();
  }
  list.commit();

  const moved = book.addWorksheet('Thay đổi', { views: [{ state: 'frozen', ySplit: 1 }] });
  moved.columns = [{ width: 7 }, { width: 12 }, { width: 24 }, { width: 16 }, { width: 28 }, { width: 26 }, { width: 26 }, { width: 10 }, { width: 60 }];
  add(moved, { values: CHANGE_HEADER, bold: true });
  for (let i = 0; i < b.changes.items.length; i++) {
    add(moved, { values: changeRow(b, i), formats: ['integer', 'date'] });
    if ((i + 1) % BATCH === 0) await yieldToOthers();
  }
  moved.commit();

  const decided = book.addWorksheet('Quyết định BCĐ', { views: [{ state: 'frozen', ySplit: 1 }] });
  decided.columns = [{ width: 7 }, { width: 16 }, { width: 28 }, { width: 14 }, { width: 24 }, { width: 26 }, { width: 50 }, { width: 30 }, { width: 22 }, { width: 12 }, { width: 12 }];
  add(decided, { values: OVERRIDE_COLUMNS.map((c) => c.vi), bold: true });
  const overrideFormats = OVERRIDE_COLUMNS.map((c, i) => (i === 0 ? ('integer' as const) : c.key === 'from' || c.key === 'until' ? ('date' as const) : null));
  b.overrides.forEach((o, i) => add(decided, { values: overrideRow(o, i), formats: overrideFormats }));
  decided.commit();
  // ends `out` (the zip is piped into it)
  await book.commit();
}

// ─── PDF ──────────────────────────────────────────────────────────────────────────────

/** DejaVu Sans (npm dejavu-fonts-ttf): TrueType with every Vietnamese letter. */
function fontFile(name: string): string {
  return path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', name);
}

const MARGIN = 40;
const A4: [number, number] = [595.28, 841.89];
/** Where the content of a page begins and ends: above it the running header, below it the page number. */
const CONTENT_TOP = 50;
const CONTENT_BOTTOM = A4[1] - MARGIN;
const WIDTH = A4[0] - 2 * MARGIN;
/** The map on the first page: at most this high (points). */
const MAP_MAX_HEIGHT_PT = 330;
/** Table rows drawn between two looks at the event loop and the client's pace. */
const ROWS_PER_SLICE = 40;

type PdfCell = string | { text: string; color?: string };
/** A table column: a relative width, the alignment, and the widest text it must hold unbroken (a number's largest). */
type Column = { title: string; width: number; align?: 'left' | 'right'; sample?: string };
type Font = 'body' | 'bold';

/**
 * The parts of the PDF in reading order. Laid out twice by the same code: once measuring
 * (every height, the page breaks, so the number of pages), once drawing with those heights —
 * so every page can say "Trang 3/12" while the file streams out page by page.
 */
type Block =
  | { kind: 'text'; text: string; size: number; font: Font; align?: 'left' | 'center'; color?: string; after?: number }
  | { kind: 'heading'; text: string }
  | { kind: 'map'; map: MapDrawing }
  | { kind: 'table'; cols: Column[]; count: number; row: (i: number) => PdfCell[] };

type Table = Extract<Block, { kind: 'table' }>;

/**
 * `table` without its district column (`at`) when none of its rows names a district —
 * communes lie directly under their province since 1 July 2025, and an empty "Huyện"
 * column only takes room — its width given to the column after it.
 */
function districtsIfAny(table: Table, at: number, any: boolean): Table {
  if (any) return table;
  const gone = table.cols[at]?.width ?? 0;
  const cols = table.cols.filter((_c, i) => i !== at).map((c, i) => (i === at ? { ...c, width: c.width + gone } : c));
  return { ...table, cols, row: (i) => table.row(i).filter((_c, j) => j !== at) };
}

const LEVEL_SHORT: Record<LevelOrUnknown, string> = { red: 'Cấp 4 (đỏ)', orange: 'Cấp 3 (cam)', yellow: 'Cấp 2 (vàng)', green: 'Cấp 1 (xanh)', unknown: 'Chưa đủ dữ liệu' };
/** Level colours as text on white (yellow darkened to stay legible). */
const LEVEL_TEXT: Record<LevelOrUnknown, string> = { red: LEVEL_INFO.red.color, orange: LEVEL_INFO.orange.color, yellow: '#8a6d00', green: LEVEL_INFO.green.color, unknown: '#555555' };
const num = (v: number | null): string => (v === null ? '–' : viNumber(v));
const signed = (v: number | null): string => (v === null ? '–' : v > 0 ? `+${viNumber(v)}` : viNumber(v));

/** The blocks of a briefing's PDF, in the order a steering committee reads it (as the HTML page). */
function pdfBlocks(b: Briefing, map: MapDrawing | null): Block[] {
  const out: Block[] = [];
  const text = (t: string, size = 9.5, font: Font = 'body', after = 0) => out.push({ kind: 'text', text: t, size, font, after });
  out.push({ kind: 'text', text: b.title.vi.toUpperCase(), size: 15, font: 'bold', align: 'center' });
  out.push({ kind: 'text', text: b.area.name, size: 12, font: 'bold', align: 'center', after: 6 });
  text(`Ngày ${viDate(b.date)} — tuần từ ${viDate(b.week.from)} đến ${viDate(b.week.to)} (${VERSION_LABEL[b.version].vi})`);
  text(`Tính toán lúc (computed at): ${b.data_as_of_text ?? 'chưa tính cấp độ cho ngày này'}`);
  if (b.version === 'published') text(`Thay đổi so với lần công bố trước (${b.changes.compared_with ? viDate(b.changes.compared_with) : 'không có'})`);
  for (const m of b.map_changes) text(m.text.vi, 9.5, 'bold');
  if (map && map.communes.length > 0) out.push({ kind: 'map', map });

  out.push({ kind: 'heading', text: `1. Số xã, phường và dân số theo cấp độ (so với ngày ${viDate(b.counts.week_before_date)})` });
  const countRows: PdfCell[][] = [
    ...BRIEFING_LEVELS.map((l) => {
      const c = b.counts.by_level[l];
      return [{ text: LEVEL_INFO[l].vi, color: LEVEL_TEXT[l] }, num(c.areas), num(c.population), num(c.week_before?.areas ?? null), num(c.week_before?.population ?? null), signed(c.change?.areas ?? null), signed(c.change?.population ?? null)];
    }),
    ((t) => ['Tổng', num(t.areas), num(t.population), num(t.week_before?.areas ?? null), num(t.week_before?.population ?? null), signed(t.change?.areas ?? null), signed(t.change?.population ?? null)])(b.counts.total),
  ];
  out.push({
    kind: 'table',
    cols: [
      { title: 'Cấp độ', width: 130 },
      { title: 'Số xã, phường', width: 55, align: 'right', sample: '10.600' },
      { title: 'Dân số', width: 70, align: 'right', sample: '100.000.000' },
      { title: 'Tuần trước: số xã, phường', width: 60, align: 'right', sample: '10.600' },
      { title: 'Tuần trước: dân số', width: 70, align: 'right', sample: '100.000.000' },
      { title: 'Thay đổi số xã, phường', width: 55, align: 'right', sample: '+10.600' },
      { title: 'Thay đổi dân số', width: 70, align: 'right', sample: '+100.000.000' },
    ],
    count: countRows.length,
    row: (i) => countRows[i] as PdfCell[],
  });

  out.push({ kind: 'heading', text: '2. Tình hình 24 giờ qua' });
  text(b.last_24h.sentence.vi, 10.5, 'bold');
  text(b.last_24h.sentence.en, 8, 'body', 4);
  const dayRows: PdfCell[][] = [
    ...BRIEFING_LEVELS.map((l) => {
      const c = b.last_24h.by_level[l];
      return [{ text: LEVEL_INFO[l].vi, color: LEVEL_TEXT[l] }, num(c.areas), num(c.no_new_community_cases_24h), num(c.not_reported_24h)];
    }),
    ['Tổng', num(b.last_24h.total.areas), num(b.last_24h.total.no_new_community_cases_24h), num(b.last_24h.total.not_reported_24h)],
  ];
  out.push({
    kind: 'table',
    cols: [
      { title: 'Cấp độ', width: 150 },
      { title: 'Số xã, phường', width: 80, align: 'right', sample: '10.600' },
      { title: 'Không có ca mắc mới trong cộng đồng', width: 120, align: 'right', sample: '10.600' },
      { title: 'Chưa báo cáo', width: 80, align: 'right', sample: '10.600' },
    ],
    count: dayRows.length,
    row: (i) => dayRows[i] as PdfCell[],
  });

  out.push({ kind: 'heading', text: `3. Xã, phường vùng đỏ (Cấp 4) và vùng cam (Cấp 3): ${viNumber(b.hotspots.length)}` });
  if (b.hotspots.length === 0) text('Không có xã, phường nào ở Cấp 3 hoặc Cấp 4.');
  else
    out.push(districtsIfAny({
      kind: 'table',
      cols: [
        { title: 'STT', width: 28, align: 'right', sample: '10.600' },
        { title: 'Huyện', width: 90 },
        { title: 'Xã/phường', width: 105 },
        { title: 'Cấp độ', width: 62 },
        { title: 'Ca cộng đồng 7 ngày', width: 55, align: 'right', sample: '100.000' },
        { title: 'Tỷ lệ/100.000 dân', width: 62, align: 'right', sample: '100.000,00' },
        { title: 'Từ ngày', width: 58, sample: '00/00/0000' },
        { title: 'Quyết định BCĐ', width: 80 },
      ],
      count: b.hotspots.length,
      row: (i) => {
        const c = b.hotspots[i] as Briefing['hotspots'][number];
        return [String(i + 1), c.district?.name ?? '', c.name, { text: LEVEL_SHORT[c.level], color: LEVEL_TEXT[c.level] }, num(c.community_cases_7d), num(c.incidence_per_100k_7d), c.since ? viDate(c.since) : '', c.override ? c.override.reason : ''];
      },
    }, 1, b.hotspots.some((c) => c.district !== null)));

  out.push({ kind: 'heading', text: `4. Thay đổi cấp độ trong tuần: ${viNumber(b.changes.escalated)} tăng cấp, ${viNumber(b.changes.deescalated)} giảm cấp` });
  if (b.version === 'published') text(`Số liệu đã công bố: mỗi ngày công bố được so với lần công bố trước đó${b.changes.compared_with ? ` — ngày đầu tiên so với lần công bố trước (${viDate(b.changes.compared_with)})` : ''}.`, 8.5, 'body', 4);
  if (b.changes.items.length === 0) text('Không có xã, phường nào thay đổi cấp độ trong tuần.');
  else
    out.push(districtsIfAny({
      kind: 'table',
      cols: [
        { title: 'Ngày', width: 58, sample: '00/00/0000' },
        { title: 'Huyện', width: 85 },
        { title: 'Xã/phường', width: 100 },
        { title: 'Từ', width: 62 },
        { title: 'Sang', width: 62 },
        { title: 'Lý do', width: 170 },
      ],
      count: b.changes.items.length,
      row: (i) => {
        const c = b.changes.items[i] as BriefingChange;
        return [viDate(c.date), c.district?.name ?? '', c.name, LEVEL_SHORT[c.from], { text: LEVEL_SHORT[c.to], color: LEVEL_TEXT[c.to] }, sentenceCase(c.reason_text.vi)];
      },
    }, 1, b.changes.items.some((c) => c.district !== null)));

  out.push({ kind: 'heading', text: `5. Quyết định điều chỉnh cấp độ của Ban chỉ đạo đang có hiệu lực: ${viNumber(b.overrides.length)}` });
  if (b.overrides.length === 0) text('Không có quyết định điều chỉnh nào có hiệu lực trong ngày.');
  else
    out.push({
      kind: 'table',
      cols: [
        { title: 'Địa bàn', width: 120 },
        { title: 'Cấp độ', width: 62 },
        { title: 'Lý do', width: 150 },
        { title: 'Người quyết định', width: 80 },
        { title: 'Từ ngày', width: 58, sample: '00/00/0000' },
        { title: 'Đến ngày', width: 58, sample: '00/00/0000' },
      ],
      count: b.overrides.length,
      row: (i) => {
        const o = b.overrides[i] as Briefing['overrides'][number];
        return [`${o.name}${o.district ? `, ${o.district.name}` : ''}`, LEVEL_SHORT[o.level], o.reason, o.author ?? '', viDate(o.from), o.until ? viDate(o.until) : 'chưa hết hạn'];
      },
    });

  out.push({ kind: 'heading', text: '6. Bộ tiêu chí áp dụng' });
  text(b.rule_set ? `${b.rule_set.name} (${b.rule_set.id}${b.rule_set.effective_from ? `, hiệu lực từ ${viDate(b.rule_set.effective_from)}` : ''})` : 'Chưa có bộ tiêu chí có hiệu lực.');

  out.push({ kind: 'heading', text: `7. Xã, phường chưa báo cáo ngày ${viDate(b.date)}: ${viNumber(b.not_reporting.length)}` });
  if (b.not_reporting.length === 0) text('Tất cả xã, phường đã báo cáo.');
  else
    out.push(districtsIfAny({
      kind: 'table',
      cols: [
        { title: 'STT', width: 30, align: 'right', sample: '10.600' },
        { title: 'Huyện', width: 160 },
        { title: 'Xã/phường', width: 200 },
        { title: 'Mã', width: 110 },
      ],
      count: b.not_reporting.length,
      row: (i) => {
        const c = b.not_reporting[i] as Briefing['not_reporting'][number];
        return [String(i + 1), c.district?.name ?? '', c.name, c.code];
      },
    }, 1, b.not_reporting.some((c) => c.district !== null)));
  text(`Tạo bởi zonerisk — số liệu đọc lúc ${b.as_of_text}`, 7.5, 'body');
  return out;
}

/**
 * The PDF: A4, DejaVu Sans embedded, a running header (title, area, date) and "Trang i/N" on
 * every page. Laid out once measuring (heights kept, page breaks found), then drawn; the
 * document streams into `out` page by page as it is drawn, waiting while the client is
 * behind, and gives the event loop back every ROWS_PER_SLICE rows.
 */
async function writePdf(b: Briefing, out: Writable, map: MapDrawing | null): Promise<void> {
  const PDFDocument = (await import('pdfkit')).default;
  const doc = new PDFDocument({
    size: A4,
    // the layout below places everything itself; these keep pdfkit from breaking pages on its own
    margins: { top: 10, bottom: 10, left: MARGIN, right: MARGIN },
    info: { Title: `${b.title.vi} — ${b.area.name} — ${viDate(b.date)}`, Author: 'zonerisk', Subject: b.last_24h.sentence.vi },
    lang: 'vi-VN',
    compress: true,
  });
  doc.registerFont('body', fontFile('DejaVuSans.ttf'));
  doc.registerFont('bold', fontFile('DejaVuSans-Bold.ttf'));
  doc.pipe(out);

  /** Waits while the client is behind (the pipe paused the document), and lets other work run. */
  const keepPace = async () => {
    await yieldToOthers();
    while (doc.readableFlowing === false && !out.destroyed && !out.writableEnded) {
      await new Promise<void>((resolve) => {
        const go = () => {
          clearTimeout(timer);
          out.off('drain', go);
          out.off('close', go);
          resolve();
        };
        const timer = setTimeout(go, 20);
        out.on('drain', go);
        out.on('close', go);
      });
    }
  };

  const blocks = pdfBlocks(b, map);
  const pad = 2.5;
  const cellSize = 8.5;
  const lineHeight = (font: Font, size: number) => doc.font(font).fontSize(size).currentLineHeight(true);
  /** A text's height in a width: one line when it fits (no wrapping measured), else as pdfkit wraps it. */
  const textHeight = (t: string, font: Font, size: number, w: number) => {
    doc.font(font).fontSize(size);
    if (!t.includes('\n') && doc.widthOfString(t) <= w) return doc.currentLineHeight(true);
    return doc.heightOfString(t || ' ', { width: w });
  };
  /** Column widths: proportional, but each at least as wide as its header's longest word and its sample (so "100.000" never breaks). */
  const widthsOf = (cols: Column[]): number[] => {
    const scale = WIDTH / cols.reduce((s, c) => s + c.width, 0);
    const min = cols.map((c) => {
      doc.font('bold').fontSize(cellSize);
      const words = c.title.split(/\s+/).map((w) => doc.widthOfString(w));
      doc.font('body').fontSize(cellSize);
      return Math.max(...words, c.sample ? doc.widthOfString(c.sample) : 0) + 2 * pad + 0.5;
    });
    const ws = cols.map((c, i) => Math.max(c.width * scale, min[i] as number));
    const excess = ws.reduce((s, w) => s + w, 0) - WIDTH;
    if (excess > 0) {
      // taken from the columns with room to spare, in proportion to it
      const slack = ws.map((w, i) => w - (min[i] as number));
      const total = slack.reduce((s, v) => s + v, 0);
      return ws.map((w, i) => (total > 0 ? w - (excess * (slack[i] as number)) / total : w));
    }
    return ws;
  };
  const cellText = (v: PdfCell) => (typeof v === 'string' ? v : v.text);
  const rowHeight = (cells: PdfCell[], font: Font, ws: number[]) => Math.max(...cells.map((v, i) => textHeight(cellText(v), font, cellSize, (ws[i] as number) - 2 * pad))) + 2 * pad;

  // what the measuring pass keeps for the drawing pass
  const widths = new Map<Block, number[]>();
  const rowHeights = new Map<Block, Float32Array>();
  const headerHeights = new Map<Block, number>();
  const mapScale = (m: MapDrawing) => Math.min(WIDTH / m.width, MAP_MAX_HEIGHT_PT / m.height);

  /**
   * One pass over the blocks: `draw` false measures (and keeps what it measured), true draws
   * with the kept heights. Both take the same page breaks. Returns the number of pages.
   */
  const pass = async (draw: boolean, pages: number): Promise<number> => {
    let page = 1;
    let y = CONTENT_TOP;
    const decorate = () => {
      // the running header and the page number
      doc.font('body').fontSize(7.5).fillColor('#555555');
      doc.text(`${b.title.vi} — ${b.area.name} — ngày ${viDate(b.date)}`, MARGIN, 24, { lineBreak: false });
      doc.moveTo(MARGIN, 36).lineTo(MARGIN + WIDTH, 36).lineWidth(0.4).strokeColor('#999999').stroke();
      const n = `Trang ${page}/${pages}`;
      doc.text(n, MARGIN + WIDTH - doc.widthOfString(n), A4[1] - 28, { lineBreak: false });
    };
    const newPage = () => {
      page++;
      y = CONTENT_TOP;
      if (draw) {
        doc.addPage();
        decorate();
      }
    };
    if (draw) decorate();
    for (const block of blocks) {
      switch (block.kind) {
        case 'text': {
          const h = textHeight(block.text, block.font, block.size, WIDTH);
          if (y + h > CONTENT_BOTTOM) newPage();
          if (draw) doc.font(block.font).fontSize(block.size).fillColor(block.color ?? '#000000').text(block.text, MARGIN, y, { width: WIDTH, align: block.align ?? 'left' });
          y += h + (block.after ?? 0);
          break;
        }
        case 'heading': {
          const h = textHeight(block.text, 'bold', 11.5, WIDTH);
          // a heading keeps at least a few lines of what follows with it
          if (y + 10 + h + 40 > CONTENT_BOTTOM) newPage();
          else y += 10;
          if (draw) doc.font('bold').fontSize(11.5).fillColor('#000000').text(block.text, MARGIN, y, { width: WIDTH });
          y += h + 4;
          break;
        }
        case 'map': {
          const m = block.map;
          const s = mapScale(m);
          const h = m.height * s;
          if (y + 8 + h > CONTENT_BOTTOM) newPage();
          else y += 8;
          if (draw) await drawMapPdf(m, MARGIN + (WIDTH - m.width * s) / 2, y, s);
          y += h;
          break;
        }
        case 'table': {
          if (!draw) {
            const ws = widthsOf(block.cols);
            widths.set(block, ws);
            headerHeights.set(block, rowHeight(block.cols.map((c) => c.title), 'bold', ws));
            const hs = new Float32Array(block.count);
            for (let i = 0; i < block.count; i++) {
              hs[i] = rowHeight(block.row(i), 'body', ws);
              if ((i + 1) % 200 === 0) await yieldToOthers();
            }
            rowHeights.set(block, hs);
          }
          const ws = widths.get(block) as number[];
          const hh = headerHeights.get(block) as number;
          const hs = rowHeights.get(block) as Float32Array;
          const header = () => {
            if (draw) drawRow(block.cols, block.cols.map((c) => c.title), 'bold', '#e8e8e8', ws, y, hh);
            y += hh;
          };
          // the header and at least one row together
          if (y + hh + (hs[0] ?? 0) > CONTENT_BOTTOM) newPage();
          header();
          for (let i = 0; i < block.count; i++) {
            const h = hs[i] as number;
            if (y + h > CONTENT_BOTTOM) {
              newPage();
              header();
            }
            if (draw) {
              drawRow(block.cols, block.row(i), 'body', null, ws, y, h);
              if ((i + 1) % ROWS_PER_SLICE === 0) await keepPace();
            }
            y += h;
          }
          y += 2;
          break;
        }
      }
    }
    return page;
  };

  /** One row of a table at `y`, `h` high: single-line cells placed directly, longer ones wrapped. */
  const drawRow = (cols: Column[], cells: PdfCell[], font: Font, fill: string | null, ws: number[], y: number, h: number) => {
    if (fill) doc.rect(MARGIN, y, WIDTH, h).fill(fill);
    let x = MARGIN;
    doc.font(font).fontSize(cellSize);
    cells.forEach((v, i) => {
      const w = (ws[i] as number) - 2 * pad;
      const t = cellText(v);
      const color = typeof v === 'string' ? '#000000' : (v.color ?? '#000000');
      const right = cols[i]?.align === 'right';
      const tw = doc.widthOfString(t);
      doc.fillColor(color);
      if (!t.includes('\n') && tw <= w) doc.text(t, right ? x + pad + w - tw : x + pad, y + pad, { lineBreak: false });
      else doc.text(t, x + pad, y + pad, { width: w, align: right ? 'right' : 'left' });
      x += ws[i] as number;
    });
    doc.moveTo(MARGIN, y + h).lineTo(MARGIN + WIDTH, y + h).lineWidth(0.4).strokeColor('#999999').stroke();
  };

  /** The static map: communes filled in their level colours (white borders), district outlines, the legend. */
  const drawMapPdf = async (m: MapDrawing, x0: number, y0: number, s: number) => {
    doc.save();
    doc.translate(x0, y0).scale(s);
    doc.lineJoin('round');
    for (let i = 0; i < m.communes.length; i++) {
      const c = m.communes[i] as MapDrawing['communes'][number];
      doc.path(c.d).lineWidth(0.6).fillColor(c.color).strokeColor('#ffffff').fillAndStroke();
      if ((i + 1) % 500 === 0) await keepPace();
    }
    for (const o of m.districts) doc.path(o.d).lineWidth(1.6).strokeColor('#333333').stroke();
    doc.restore();
    // the legend in the band below the map
    const ly = y0 + m.mapHeight * s + 6;
    const step = WIDTH / Math.max(m.legend.length, 1);
    m.legend.forEach((l, i) => {
      const lx = MARGIN + i * step;
      doc.rect(lx, ly, 12, 9).fillColor(l.color).strokeColor('#555555').lineWidth(0.4).fillAndStroke();
      doc.font('body').fontSize(8).fillColor('#000000').text(`${l.label}: ${viNumber(l.areas)}`, lx + 16, ly, { lineBreak: false });
    });
  };

  const pages = await pass(false, 0);
  await pass(true, pages);
  doc.end();
}
