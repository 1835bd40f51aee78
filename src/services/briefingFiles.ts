import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  Briefing,
  BRIEFING_LEVELS,
  BriefingFormat,
  Cell,
  COMMUNE_COLUMNS,
  communeRow,
  DIRECTION_LABEL,
  levelLabelVi,
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
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Writes the briefing to `out` in `format`, and ends it; resolves once everything is written,
 * rejects when `out` fails or closes first (a client that hung up, a disk that is full).
 */
export async function writeBriefing(b: Briefing, format: BriefingFormat, out: Writable): Promise<void> {
  const done = finished(out);
  done.catch(() => undefined); // awaited below: this only keeps an early failure from going unhandled
  await Promise.race([writeBody(b, format, out), done]);
  await done;
}

function writeBody(b: Briefing, format: BriefingFormat, out: Writable): Promise<void> {
  switch (format) {
    case 'json':
      return writeText(out, [JSON.stringify(b, null, 2) + '\n']);
    case 'csv':
      return writeText(out, csvPieces(b));
    case 'xlsx':
      return writeXlsx(b, out);
    case 'pdf':
      return writePdf(b, out);
  }
}

/** Pieces of text with back-pressure (one drain listener for the whole body), then the end. */
async function writeText(out: Writable, pieces: Iterable<string>): Promise<void> {
  let waiting: (() => void) | null = null;
  const wake = () => {
    const w = waiting;
    waiting = null;
    w?.();
  };
  out.on('drain', wake);
  out.on('close', wake);
  let n = 0;
  for (const piece of pieces) {
    if (out.destroyed) return;
    if (!out.write(piece)) await new Promise<void>((resolve) => (waiting = resolve));
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

/** Number formats: whole numbers grouped, rates with two decimals (Excel shows them in the reader's locale: 2.944.027 / 65,10 in vi-VN). */
const NUM_FMT = { integer: '#,##0', decimal: '#,##0.00' } as const;

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
  line('Số liệu tính đến', b.data_as_of_text ?? 'chưa tính cấp độ');
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
      if (f && typeof v === 'number') cell.numFmt = NUM_FMT[f];
      if (r.bold) cell.font = { bold: true };
    });
    row.commit();
  };

  const summary = book.addWorksheet('Tổng hợp');
  summary.columns = [{ width: 34 }, { width: 16 }, { width: 16 }, { width: 22 }, { width: 22 }, { width: 20 }, { width: 18 }];
  for (const r of summaryRows(b)) add(summary, r);
  summary.commit();

  const list = book.addWorksheet('Danh sách xã, phường', { views: [{ state: 'frozen', ySplit: 1 }] });
  list.columns = [{ width: 7 }, { width: 24 }, { width: 16 }, { width: 28 }, { width: 28 }, { width: 14 }, { width: 16 }, { width: 12 }, { width: 12 }];
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
    add(moved, { values: changeRow(b, i), formats: ['integer'] });
    if ((i + 1) % BATCH === 0) await yieldToOthers();
  }
  moved.commit();
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

type Column = { title: string; width: number; align?: 'left' | 'right' };

const LEVEL_SHORT: Record<LevelOrUnknown, string> = { red: 'Cấp 4 (đỏ)', orange: 'Cấp 3 (cam)', yellow: 'Cấp 2 (vàng)', green: 'Cấp 1 (xanh)', unknown: 'Chưa đủ dữ liệu' };
const num = (v: number | null): string => (v === null ? '–' : viNumber(v));
const signed = (v: number | null): string => (v === null ? '–' : v > 0 ? `+${viNumber(v)}` : viNumber(v));

async function writePdf(b: Briefing, out: Writable): Promise<void> {
  const PDFDocument = (await import('pdfkit')).default;
  const doc = new PDFDocument({
    size: A4,
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    info: { Title: `${b.title.vi} — ${b.area.name} — ${viDate(b.date)}`, Author: 'zonerisk', Subject: b.last_24h.sentence.vi },
    lang: 'vi-VN',
    compress: true,
  });
  doc.registerFont('body', fontFile('DejaVuSans.ttf'));
  doc.registerFont('bold', fontFile('DejaVuSans-Bold.ttf'));
  doc.pipe(out);
  const width = A4[0] - 2 * MARGIN;
  const bottom = A4[1] - MARGIN;

  const heading = (text: string) => {
    if (doc.y + 40 > bottom) doc.addPage();
    doc.moveDown(0.6).font('bold').fontSize(11.5).fillColor('#000').text(text, MARGIN, doc.y, { width });
    doc.moveDown(0.3);
  };
  const para = (text: string, size = 9.5, font = 'body') => {
    doc.font(font).fontSize(size).fillColor('#000').text(text, MARGIN, doc.y, { width });
  };

  /** A table: the header again on every page it runs onto; the event loop given back every few rows. */
  const table = async (cols: Column[], rows: (string | { text: string; color?: string })[][]) => {
    const size = 8.5;
    const pad = 2.5;
    const scale = width / cols.reduce((s, c) => s + c.width, 0);
    const ws = cols.map((c) => c.width * scale);
    const cellText = (v: string | { text: string; color?: string }) => (typeof v === 'string' ? v : v.text);
    const heightOf = (cells: string[], font: string) => {
      doc.font(font).fontSize(size);
      return Math.max(...cells.map((t, i) => doc.heightOfString(t || ' ', { width: (ws[i] as number) - 2 * pad }))) + 2 * pad;
    };
    const draw = (cells: (string | { text: string; color?: string })[], font: string, fill: string | null) => {
      const texts = cells.map(cellText);
      const h = heightOf(texts, font);
      const y = doc.y;
      let x = MARGIN;
      if (fill) doc.rect(MARGIN, y, width, h).fill(fill);
      cells.forEach((v, i) => {
        const w = ws[i] as number;
        const color = typeof v === 'string' ? '#000' : (v.color ?? '#000');
        doc.font(font).fontSize(size).fillColor(color).text(texts[i] || '', x + pad, y + pad, { width: w - 2 * pad, align: cols[i]?.align ?? 'left', lineBreak: true });
        x += w;
      });
      doc.moveTo(MARGIN, y + h).lineTo(MARGIN + width, y + h).lineWidth(0.4).strokeColor('#999').stroke();
      doc.x = MARGIN;
      doc.y = y + h;
    };
    const header = () => draw(cols.map((c) => c.title), 'bold', '#e8e8e8');
    if (doc.y + heightOf(cols.map((c) => c.title), 'bold') + 20 > bottom) doc.addPage();
    header();
    for (let i = 0; i < rows.length; i++) {
      const cells = rows[i] as (string | { text: string; color?: string })[];
      if (doc.y + heightOf(cells.map(cellText), 'body') > bottom) {
        doc.addPage();
        header();
      }
      draw(cells, 'body', null);
      if ((i + 1) % 10 === 0) await yieldToOthers();
    }
    doc.x = MARGIN;
  };

  // heading
  doc.font('bold').fontSize(15).text(b.title.vi.toUpperCase(), { width, align: 'center' });
  doc.font('bold').fontSize(12).text(b.area.name, { width, align: 'center' });
  doc.moveDown(0.4);
  para(`Ngày ${viDate(b.date)} — tuần từ ${viDate(b.week.from)} đến ${viDate(b.week.to)} (${VERSION_LABEL[b.version].vi})`);
  para(`Số liệu tính đến: ${b.data_as_of_text ?? 'chưa tính cấp độ cho ngày này'}`);
  para(`Bộ tiêu chí áp dụng: ${b.rule_set ? `${b.rule_set.name} (${b.rule_set.id}${b.rule_set.effective_from ? `, hiệu lực từ ${viDate(b.rule_set.effective_from)}` : ''})` : 'chưa có bộ tiêu chí có hiệu lực'}`);

  heading('1. Tình hình 24 giờ qua');
  para(b.last_24h.sentence.vi, 10.5, 'bold');
  doc.moveDown(0.4);
  await table(
    [{ title: 'Cấp độ', width: 150 }, { title: 'Số xã, phường', width: 80, align: 'right' }, { title: 'Không có ca mắc mới trong cộng đồng', width: 120, align: 'right' }, { title: 'Chưa báo cáo', width: 80, align: 'right' }],
    [
      ...BRIEFING_LEVELS.map((l) => {
        const c = b.last_24h.by_level[l];
        return [{ text: LEVEL_INFO[l].vi, color: l === 'unknown' ? '#555' : LEVEL_INFO[l].color === '#f2c230' ? '#8a6d00' : LEVEL_INFO[l].color }, num(c.areas), num(c.no_new_community_cases_24h), num(c.not_reported_24h)];
      }),
      ['Tổng', num(b.last_24h.total.areas), num(b.last_24h.total.no_new_community_cases_24h), num(b.last_24h.total.not_reported_24h)],
    ],
  );

  heading(`2. Số xã, phường và dân số theo cấp độ (so với ngày ${viDate(b.counts.week_before_date)})`);
  await table(
    [
      { title: 'Cấp độ', width: 130 },
      { title: 'Số xã, phường', width: 60, align: 'right' },
      { title: 'Dân số', width: 75, align: 'right' },
      { title: 'Tuần trước: số xã, phường', width: 65, align: 'right' },
      { title: 'Tuần trước: dân số', width: 75, align: 'right' },
      { title: 'Thay đổi số xã, phường', width: 60, align: 'right' },
      { title: 'Thay đổi dân số', width: 70, align: 'right' },
    ],
    [
      ...BRIEFING_LEVELS.map((l) => {
        const c = b.counts.by_level[l];
        return [LEVEL_INFO[l].vi, num(c.areas), num(c.population), num(c.week_before?.areas ?? null), num(c.week_before?.population ?? null), signed(c.change?.areas ?? null), signed(c.change?.population ?? null)];
      }),
      ((t) => ['Tổng', num(t.areas), num(t.population), num(t.week_before?.areas ?? null), num(t.week_before?.population ?? null), signed(t.change?.areas ?? null), signed(t.change?.population ?? null)])(b.counts.total),
    ],
  );

  heading(`3. Xã, phường vùng đỏ (Cấp 4) và vùng cam (Cấp 3): ${viNumber(b.hotspots.length)}`);
  if (b.hotspots.length === 0) para('Không có xã, phường nào ở Cấp 3 hoặc Cấp 4.');
  else
    await table(
      [
        { title: 'STT', width: 28, align: 'right' },
        { title: 'Huyện', width: 90 },
        { title: 'Xã/phường', width: 110 },
        { title: 'Cấp độ', width: 62 },
        { title: 'Ca cộng đồng 7 ngày', width: 55, align: 'right' },
        { title: 'Tỷ lệ/100.000 dân', width: 55, align: 'right' },
        { title: 'Từ ngày', width: 58 },
        { title: 'Quyết định điều chỉnh', width: 80 },
      ],
      b.hotspots.map((c, i) => [
        String(i + 1),
        c.district?.name ?? '',
        c.name,
        { text: LEVEL_SHORT[c.level], color: LEVEL_INFO[c.level].color },
        num(c.community_cases_7d),
        num(c.incidence_per_100k_7d),
        c.since ? viDate(c.since) : '',
        c.override ? `${c.override.reason}` : '',
      ]),
    );

  heading(`4. Thay đổi cấp độ trong tuần: ${viNumber(b.changes.escalated)} tăng cấp, ${viNumber(b.changes.deescalated)} giảm cấp`);
  if (b.changes.items.length === 0) para('Không có xã, phường nào thay đổi cấp độ trong tuần.');
  else
    await table(
      [
        { title: 'Ngày', width: 58 },
        { title: 'Huyện', width: 85 },
        { title: 'Xã/phường', width: 100 },
        { title: 'Từ', width: 62 },
        { title: 'Sang', width: 62 },
        { title: 'Lý do', width: 170 },
      ],
      b.changes.items.map((c) => [viDate(c.date), c.district?.name ?? '', c.name, LEVEL_SHORT[c.from], { text: LEVEL_SHORT[c.to], color: LEVEL_INFO[c.to].color }, c.reason_text.vi]),
    );

  heading(`5. Quyết định điều chỉnh cấp độ đang có hiệu lực: ${viNumber(b.overrides.length)}`);
  if (b.overrides.length === 0) para('Không có quyết định điều chỉnh nào có hiệu lực trong ngày.');
  else
    await table(
      [
        { title: 'Địa bàn', width: 120 },
        { title: 'Cấp độ', width: 62 },
        { title: 'Lý do', width: 150 },
        { title: 'Người quyết định', width: 80 },
        { title: 'Từ ngày', width: 58 },
        { title: 'Đến ngày', width: 58 },
      ],
      b.overrides.map((o) => [`${o.name}${o.district ? `, ${o.district.name}` : ''}`, LEVEL_SHORT[o.level], o.reason, o.author ?? '', viDate(o.from), o.until ? viDate(o.until) : 'chưa hết hạn']),
    );

  heading(`6. Xã, phường chưa báo cáo ngày ${viDate(b.date)}: ${viNumber(b.not_reporting.length)}`);
  if (b.not_reporting.length === 0) para('Tất cả xã, phường đã báo cáo.');
  else
    await table(
      [
        { title: 'STT', width: 30, align: 'right' },
        { title: 'Huyện', width: 160 },
        { title: 'Xã/phường', width: 200 },
        { title: 'Mã', width: 110 },
      ],
      b.not_reporting.map((c, i) => [String(i + 1), c.district?.name ?? '', c.name, c.code]),
    );

  doc.moveDown(1);
  para(`Tạo bởi zonerisk — số liệu đọc lúc ${b.as_of_text}`, 7.5);
  doc.end();
}
