import { z } from 'zod';
import { badRequest, ErrorDetail, MAX_ERROR_DETAILS, unprocessable } from '../../errors';
import { issueText, keyShown, listed } from '../../domain/issues';

/**
 * Header mapping: the column names provinces type (Vietnamese or English, with or without
 * diacritics, any case, any spacing) → the canonical columns of the ingest CSV.
 */
export type TableKind = 'reports' | 'metrics';

export const CANONICAL_COLUMNS = ['area', 'area_name', 'parent_name', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source', 'name', 'value'] as const;
export type CanonicalColumn = (typeof CANONICAL_COLUMNS)[number];

/** canonical column → the source header text that holds it (overrides the alias table). */
export type ColumnMap = Partial<Record<CanonicalColumn, string>>;

/** The canonical columns of each kind, in output order. */
export const KIND_COLUMNS: Record<TableKind, readonly CanonicalColumn[]> = {
  reports: ['area', 'area_name', 'parent_name', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source'],
  metrics: ['area', 'area_name', 'parent_name', 'date', 'name', 'value'],
};

/** Columns whose cells are whole counts (thousands dots `1.234` are read there, see cells.ts). */
export const INTEGER_COLUMNS: ReadonlySet<CanonicalColumn> = new Set(['community_cases', 'quarantine_cases', 'deaths']);
/** Columns whose cells are numbers (decimal comma is read there). */
export const NUMBER_COLUMNS: ReadonlySet<CanonicalColumn> = new Set(['community_cases', 'quarantine_cases', 'deaths', 'value']);

/**
 * A header cell folded for matching: NFD, combining marks stripped, đ/Đ → d, lower case,
 * everything but a–z and 0–9 removed. "Quận/Huyện" → "quanhuyen", "Mã  xã" → "maxa".
 */
export function foldHeader(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** Known header texts per canonical column (folded before use; order within a column does not matter). */
const ALIASES: Record<CanonicalColumn, readonly string[]> = {
  area: ['area', 'area code', 'area_code', 'code', 'commune code', 'Mã xã', 'Mã xã/phường', 'Mã xã, phường', 'Mã', 'Mã địa bàn', 'Mã đơn vị', 'Mã ĐVHC', 'Mã hành chính', 'Mã đơn vị hành chính'],
  area_name: ['area_name', 'area name', 'commune', 'commune name', 'Xã/Phường', 'Xã/Phường/Thị trấn', 'Xã, phường, thị trấn', 'Xã', 'Phường', 'Tên xã', 'Tên xã/phường', 'Tên xã, phường', 'Tên đơn vị', 'Tên địa bàn', 'Địa bàn', 'Đơn vị'],
  parent_name: ['parent_name', 'parent name', 'parent', 'district', 'Huyện', 'Quận/Huyện', 'Quận, huyện', 'Quận', 'Huyện/Thị xã/Thành phố', 'Quận/Huyện/Thị xã/Thành phố', 'Tên huyện', 'Tên quận/huyện'],
  date: ['date', 'day', 'Ngày', 'Ngày báo cáo', 'Ngày ghi nhận', 'Ngày tháng', 'Ngày/tháng/năm', 'Thời gian'],
  community_cases: ['community_cases', 'community cases', 'Ca cộng đồng', 'Số ca cộng đồng', 'Ca trong cộng đồng', 'Ca mắc trong cộng đồng', 'Ca mắc mới trong cộng đồng', 'Cộng đồng'],
  quarantine_cases: ['quarantine_cases', 'quarantine cases', 'Ca trong khu cách ly/phong tỏa', 'Ca trong khu cách ly, phong tỏa', 'Ca trong khu cách ly', 'Ca trong khu phong tỏa', 'Ca cách ly', 'Ca cách ly/phong tỏa', 'Số ca cách ly', 'Số ca trong khu cách ly/phong tỏa', 'Cách ly/phong tỏa'],
  deaths: ['deaths', 'death', 'Tử vong', 'Ca tử vong', 'Số ca tử vong', 'Số tử vong'],
  source: ['source', 'Nguồn', 'Nguồn số liệu', 'Nguồn dữ liệu', 'Đơn vị báo cáo'],
  name: ['name', 'metric', 'metric name', 'Chỉ số', 'Tên chỉ số', 'Chỉ tiêu'],
  value: ['value', 'Giá trị', 'Số liệu'],
};

/** Province columns: recognised, but a district column is the parent when both are there. */
const PROVINCE_ALIASES = ['province', 'Tỉnh', 'Tỉnh/Thành phố', 'Tỉnh/TP', 'Tên tỉnh'];
/** Row-number columns ("STT" = số thứ tự): recognised and dropped. */
const IGNORED_ALIASES = ['STT', 'TT', 'Số TT', 'Số thứ tự', 'No', 'No.', '#'];

const aliasTable = (): Map<string, CanonicalColumn> => {
  const m = new Map<string, CanonicalColumn>();
  for (const col of CANONICAL_COLUMNS) for (const a of ALIASES[col]) m.set(foldHeader(a), col);
  return m;
};
const ALIAS = aliasTable();
const PROVINCE = new Set(PROVINCE_ALIASES.map(foldHeader));
const IGNORED = new Set(IGNORED_ALIASES.map(foldHeader));

/** zod schema of a column map: known canonical names only, each naming a header of 1–200 characters. */
export const columnMapSchema = z.strictObject(
  Object.fromEntries(CANONICAL_COLUMNS.map((c) => [c, z.string().trim().min(1).max(200).optional()])) as Record<CanonicalColumn, z.ZodOptional<z.ZodString>>,
);

/**
 * "area_name=Tên đơn vị,date=Ngày báo cáo" → { area_name: 'Tên đơn vị', date: 'Ngày báo cáo' }
 * (pairs separated by commas, so a header text cannot hold a comma here; use the JSON form).
 * Anything else → 400 naming the pair.
 */
export function parseColumnMapText(text: string): ColumnMap {
  if (text.length > 4000) throw badRequest('Bảng ánh xạ cột quá dài — the column map is too long (at most 4000 characters)', [], 'invalid_column_map');
  const obj: Record<string, string> = {};
  const details: ErrorDetail[] = [];
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) {
      details.push({ path: 'columns', message: `"${pair.trim()}" is not canonical=header` });
      continue;
    }
    const key = pair.slice(0, eq).trim();
    if (Object.hasOwn(obj, key)) details.push({ path: `columns.${keyShown(key)}`, message: 'được cho hai lần — is given twice' });
    obj[key] = pair.slice(eq + 1).trim();
  }
  const parsed = columnMapSchema.safeParse(obj, { error: issueText });
  if (!parsed.success)
    for (const issue of parsed.error.issues)
      details.push({ path: ['columns', ...issue.path].join('.'), message: issue.code === 'unrecognized_keys' ? `cột không xác định: ${listed(issue.keys, (n) => ` và ${n} cột khác`)} (các cột: ${CANONICAL_COLUMNS.join(', ')}) — unknown column(s): ${listed(issue.keys, (n) => ` and ${n} more`)} (known: ${CANONICAL_COLUMNS.join(', ')})` : issue.message });
  if (details.length) throw badRequest('Bảng ánh xạ cột không hợp lệ — the column map is not valid', details, 'invalid_column_map');
  return parsed.data as ColumnMap;
}

/** The first Vietnamese alias of a column, for messages. */
const example = (col: CanonicalColumn): string => ALIASES[col].find((a) => /[^\x00-\x7f]/.test(a)) ?? col;

const REQUIRED: Record<TableKind, readonly CanonicalColumn[]> = {
  reports: ['date', 'community_cases', 'quarantine_cases'],
  metrics: ['date', 'name', 'value'],
};

/**
 * Maps a header row to canonical columns: `columns[i]` is the canonical column of source
 * column i, or null for a column that is dropped — an empty header cell, a row-number
 * column (STT), or a province column when a district column is there too (the district is
 * the parent). A `columnMap` entry wins over the alias table (matched folded, too).
 * Headers are matched folded (see foldHeader) against the aliases of the kind's columns.
 * 422 (`invalid_table_header`, every detail at `line[1]`) for any unknown header (listing
 * the known names), a column given twice, a column map naming a header that is not there,
 * or a missing required column (reports: date, community_cases, quarantine_cases and area
 * or area_name; metrics: date, name, value and area or area_name).
 */
export function mapHeader(header: string[], kind: TableKind, columnMap?: ColumnMap): { columns: (CanonicalColumn | null)[] } {
  const allowed = new Set(KIND_COLUMNS[kind]);
  const folded = header.map((h) => foldHeader(h));
  const columns: (CanonicalColumn | null)[] = new Array(header.length).fill(null);
  const taken = new Set<number>();
  const problems: ErrorDetail[] = [];
  for (const [col, text] of Object.entries(columnMap ?? {}) as [CanonicalColumn, string | undefined][]) {
    if (text === undefined) continue;
    if (!allowed.has(col)) {
      problems.push({ path: 'line[1]', message: `cột "${col}" không dùng cho ${kind} — column "${col}" is not a ${kind} column (known: ${[...allowed].join(', ')})` });
      continue;
    }
    const i = folded.indexOf(foldHeader(text));
    if (i < 0) problems.push({ path: 'line[1]', message: `không có cột "${text}" — the column map names "${text}" for ${col}, but the header has no such column` });
    else {
      columns[i] = col;
      taken.add(i);
    }
  }
  const provinces: number[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < header.length; i++) {
    if (taken.has(i)) continue;
    const f = folded[i] as string;
    if (f === '' || IGNORED.has(f)) continue;
    const col = ALIAS.get(f);
    if (col !== undefined && allowed.has(col) && !(columnMap && columnMap[col] !== undefined)) columns[i] = col;
    else if (PROVINCE.has(f)) provinces.push(i);
    else unknown.push(header[i] as string);
  }
  if (!columns.includes('parent_name') && provinces.length === 1) columns[provinces[0] as number] = 'parent_name';
  // a header cell is echoed cut to 100 characters, and at most MAX_ERROR_DETAILS of them: a sheet of huge header cells is not sent back
  for (const raw of unknown.slice(0, MAX_ERROR_DETAILS)) {
    const h = raw.length > 100 ? `${raw.slice(0, 100)}…` : raw;
    problems.push({ path: 'line[1]', message: `cột không rõ "${h}" — unknown column "${h}" (known for ${kind}: ${KIND_COLUMNS[kind].map((c) => `${c} ("${example(c)}")`).join(', ')}; map it with a column map, e.g. area_name=${h})` });
  }
  for (const col of allowed) {
    const n = columns.filter((c) => c === col).length;
    if (n > 1) problems.push({ path: 'line[1]', message: `cột "${col}" xuất hiện ${n} lần — column ${col} appears ${n} times: ${header.filter((_, i) => columns[i] === col).map((h) => `"${h}"`).join(', ')}` });
  }
  for (const col of REQUIRED[kind]) if (!columns.includes(col)) problems.push({ path: 'line[1]', message: `thiếu cột ${col} — missing column ${col} (e.g. "${example(col)}")` });
  if (!columns.includes('area') && !columns.includes('area_name')) problems.push({ path: 'line[1]', message: 'thiếu cột mã xã hoặc tên xã — missing column area ("Mã xã") or area_name ("Tên xã")' });
  if (problems.length) throw unprocessable('Tiêu đề bảng không hợp lệ — the table header is not valid', problems, 'invalid_table_header');
  return { columns };
}
