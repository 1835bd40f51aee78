import { TextDecoder } from 'node:util';
import iconv from 'iconv-lite';
import { AppError, badRequest, unprocessable } from '../../errors';
import { csvField, excelSerialDate, normaliseDate, normaliseNumber } from './cells';
import { DelimitedReader, DelimitedRecord } from './delimited';
import type { TableDialect } from './dialect';
import { CanonicalColumn, ColumnMap, INTEGER_COLUMNS, KIND_COLUMNS, mapHeader, NUMBER_COLUMNS, TableKind } from './headers';
import { NUMBER, openXlsx, TEXT, XlsxLimits } from './xlsx';

/** A cell as a source gives it: text (1 = it was quoted in a CSV; XLSX text counts as quoted) or a number (XLSX). */
const QUOTED = 1;

/**
 * The name stage, run on each row as it is normalised (see ingest/names.ts): `name` gives
 * the code of a row naming its area (`area_name`, `parent_name`) or null — the row is then
 * left out, as an empty line; `code` sees a row that gives its code (a dry run looks at those too).
 */
export type RowNames = {
  /** `date`: the row's day as normalised (an ISO date when it reads as one): names resolve among the areas of that day. */
  name(line: number, areaName: string, parentName: string | null, date: string | null): string | null;
  code?(line: number, code: string): void;
};

export type NormaliseOptions = {
  /** Resolve rows that name their area: the output then has `area` in place of `area_name` and `parent_name`. */
  names?: RowNames;
  /** XLSX: the worksheet to read (default: the first). */
  sheet?: string;
  /** XLSX limits (tests lower them). */
  limits?: Partial<XlsxLimits>;
};

type Plan = {
  names: CanonicalColumn[];
  sources: number[];
  width: number;
  /** with a name stage: where area, area_name and parent_name are among `names` (-1: absent), and the others */
  resolve: { area: number; name: number; parent: number; date: number; rest: number[] } | null;
};

/**
 * Turns source rows into canonical CSV lines. The header is the first row with two non-empty
 * cells or more (rows before it — empty, or a title in one cell — become empty lines); it is mapped with mapHeader and the output
 * header lists the kind's canonical columns that are present, in canonical order
 * (area, area_name, parent_name, date, …). Each later row becomes one line:
 * - cells trimmed (a cell holding a line break is left as it is, so lines stay aligned)
 *   and NFC-normalised; dates → ISO (an XLSX number in the date column is an Excel serial
 *   date); count and value cells → decimal-point numbers (see cells.ts);
 * - a row whose mapped cells are all empty → an empty line (the ingest skips it);
 * - a row with non-empty cells beyond the header's width keeps them as extra fields, so the
 *   ingest reports "expected N fields, found M" at that line instead of dropping them.
 */
class RowWriter {
  private plan: Plan | null = null;
  /** Serial dates repeat row after row: their ISO text, remembered (bounded). */
  private readonly serials = new Map<string, string>();
  constructor(
    private readonly kind: TableKind,
    private readonly columnMap: ColumnMap | undefined,
    private readonly decimalComma: boolean,
    private readonly date1904: boolean,
    private readonly rowNames: RowNames | undefined = undefined,
  ) {}

  /** The output line (without newline) for a source row, on line (row) `at` of the source. */
  line(cells: string[], types: ArrayLike<number> | null, at = 0): string {
    if (this.plan === null) {
      // the header has a cell per column (a report sheet has at least three): rows above it with
      // fewer than two cells — the sheet's title ("BÁO CÁO CA MẮC COVID-19 THEO XÃ"), a date
      // line — are left out as empty lines
      let filled = 0;
      for (let i = 0; i < cells.length; i++) if ((cells[i] as string).trim() !== '') filled++;
      if (filled < 2) return '';
      const header = cells.map((c) => c.trim().normalize('NFC'));
      const { columns } = mapHeader(header, this.kind, this.columnMap);
      const names: CanonicalColumn[] = [];
      const sources: number[] = [];
      for (const col of KIND_COLUMNS[this.kind]) {
        const i = columns.indexOf(col);
        if (i >= 0) {
          names.push(col);
          sources.push(i);
        }
      }
      const name = names.indexOf('area_name');
      const resolve =
        this.rowNames && (name >= 0 || this.rowNames.code)
          ? { area: names.indexOf('area'), name, parent: names.indexOf('parent_name'), date: names.indexOf('date'), rest: names.flatMap((n, j) => (n === 'area' || n === 'area_name' || n === 'parent_name' ? [] : [j])) }
          : null;
      this.plan = { names, sources, width: cells.length, resolve };
      return resolve ? ['area', ...resolve.rest.map((j) => names[j])].join(',') : names.join(',');
    }
    const { names, sources, width } = this.plan;
    if (this.plan.resolve) return this.resolved(cells, types, at, this.plan.resolve);
    let out = '';
    let any = false;
    for (let j = 0; j < names.length; j++) {
      const i = sources[j] as number;
      const cell = this.cell(names[j] as CanonicalColumn, cells[i] ?? '', types === null ? TEXT : (types[i] ?? TEXT));
      if (cell !== '') any = true;
      out += j === 0 ? cell : `,${cell}`;
    }
    if (cells.length > width) {
      let extra = '';
      let extraAny = false;
      for (let i = width; i < cells.length; i++) {
        const t = (cells[i] as string).trim();
        if (t !== '') extraAny = true;
        extra += `,${csvField(t)}`;
      }
      if (extraAny) return out + extra;
    }
    return any ? out : '';
  }

  /** A row through the name stage: `area` from its code or its names, then the other columns. */
  private resolved(cells: string[], types: ArrayLike<number> | null, at: number, r: NonNullable<Plan['resolve']>): string {
    const { names, sources, width } = this.plan as Plan;
    const vals: string[] = new Array<string>(names.length);
    let any = false;
    for (let j = 0; j < names.length; j++) {
      const i = sources[j] as number;
      vals[j] = this.cell(names[j] as CanonicalColumn, cells[i] ?? '', types === null ? TEXT : (types[i] ?? TEXT));
      if (vals[j] !== '') any = true;
    }
    if (cells.length > width) for (let i = width; i < cells.length; i++) if ((cells[i] as string).trim() !== '') return `${vals.join(',')},extra`; // the ingest names the wrong field count
    if (!any) return '';
    const plain = (j: number) => (j < 0 ? '' : unquote(vals[j] as string));
    let area = plain(r.area);
    const rowNames = this.rowNames as RowNames;
    if (area !== '') rowNames.code?.(at, area);
    else if (plain(r.name) !== '') {
      const code = rowNames.name(at, plain(r.name), plain(r.parent) || null, plain(r.date) || null);
      if (code === null) return '';
      area = code;
    }
    let out = csvField(area);
    for (const j of r.rest) out += `,${vals[j] as string}`;
    return out;
  }

  private cell(col: CanonicalColumn, raw: string, type: number): string {
    if (type === NUMBER) {
      if (col === 'date') {
        let iso = this.serials.get(raw);
        if (iso === undefined) {
          iso = excelSerialDate(Number(raw), this.date1904) ?? raw;
          if (this.serials.size < 100_000) this.serials.set(raw, iso);
        }
        return iso;
      }
      return raw;
    }
    let t = raw.indexOf('\n') >= 0 ? raw : raw.trim();
    if (t === '') return '';
    if (!isAscii(t)) t = t.normalize('NFC');
    if (col === 'date') t = normaliseDate(t);
    else if (NUMBER_COLUMNS.has(col)) t = normaliseNumber(t, this.decimalComma || type === QUOTED, INTEGER_COLUMNS.has(col));
    return csvField(t);
  }

  get started(): boolean {
    return this.plan !== null;
  }
}

/** A cell as csvField wrote it → its text. */
const unquote = (field: string) => (field.charCodeAt(0) === 34 ? field.slice(1, -1).replace(/""/g, '"') : field);

const NON_ASCII_RE = /[^\x00-\x7f]/;
const isAscii = (s: string) => !NON_ASCII_RE.test(s);

/** Output is gathered into pieces of about this many characters before it is yielded. */
const OUT_CHUNK = 1 << 16;

const emptyTable = () => unprocessable('Bảng trống: cần một dòng tiêu đề — the table is empty: a header row is required', [{ path: 'line[1]', message: 'no header row' }], 'invalid_table_header');

/**
 * A spreadsheet upload (`chunks`, as sniffTable described it) → canonical UTF-8 CSV for the
 * ingest (reports or metrics): comma, RFC 4180 quoting where needed, `\n` line ends, no BOM.
 * Exactly one output line per source line (CSV) or worksheet row (XLSX), in order, so
 * that `line[N]` in the ingest's errors is the user's line/row N: empty or missing rows
 * become empty lines; a CSV record whose quoted field holds line breaks keeps them (quoted)
 * and so spans the same lines in the output. XLSX cells holding a line break (Alt+Enter)
 * get a space instead (they would shift the lines).
 * - CSV: decoded as UTF-8 (a BOM dropped; bytes that are not UTF-8 → 400 `invalid_utf8`)
 *   or Windows-1258 (iconv-lite), then NFC; split on the dialect's delimiter.
 * - XLSX: the first worksheet (or `opts.sheet`), read by xlsx.ts (its limits apply); the
 *   whole upload is held (compressed) first.
 * Errors: header problems → 422 (mapHeader); an empty table → 422 `invalid_table_header`.
 */
export async function* normaliseTable(chunks: AsyncIterable<Buffer>, dialect: TableDialect, kind: TableKind, columnMap?: ColumnMap, opts: NormaliseOptions = {}): AsyncGenerator<Buffer> {
  if (dialect.format === 'xlsx') yield* normaliseXlsx(chunks, kind, columnMap, opts);
  else yield* normaliseCsv(chunks, dialect, kind, columnMap, opts);
}

async function* normaliseCsv(chunks: AsyncIterable<Buffer>, dialect: TableDialect, kind: TableKind, columnMap: ColumnMap | undefined, opts: NormaliseOptions): AsyncGenerator<Buffer> {
  const writer = new RowWriter(kind, columnMap, dialect.delimiter !== ',', false, opts.names);
  const reader = new DelimitedReader(dialect.delimiter);
  const utf8 = dialect.encoding === 'utf8' ? new TextDecoder('utf-8', { fatal: true }) : null;
  const cp1258 = utf8 ? null : iconv.getDecoder('windows1258');
  let lines = 0;
  const decode = (buf: Buffer | null): string => {
    if (cp1258) return buf ? cp1258.write(buf) : (cp1258.end() ?? '');
    try {
      return (utf8 as TextDecoder).decode(buf ?? undefined, { stream: buf !== null });
    } catch {
      throw badRequest(`Tệp CSV không phải UTF-8 (sau dòng ${lines}) — the CSV is not UTF-8 after line ${lines}: save it as "CSV UTF-8", or as Windows-1258 throughout`, [{ path: `line[${lines + 1}]`, message: 'bytes that are not UTF-8' }], 'invalid_utf8');
    }
  };
  let out = '';
  const records: DelimitedRecord[] = [];
  const emit = () => {
    for (const rec of records) {
      out += writer.line(rec.fields, rec.quoted === null ? null : rec.quoted.map((q) => (q ? QUOTED : TEXT)), rec.line);
      out += '\n';
      lines = rec.line;
    }
    records.length = 0;
  };
  for await (const chunk of chunks) {
    reader.push(decode(chunk), records);
    emit();
    if (out.length >= OUT_CHUNK) {
      yield Buffer.from(out, 'utf8');
      out = '';
    }
  }
  reader.push(decode(null), records);
  reader.end(records);
  emit();
  if (!writer.started) throw emptyTable();
  if (out) yield Buffer.from(out, 'utf8');
}

const LINE_BREAK_RE = /\r\n|[\r\n]/g;

async function* normaliseXlsx(chunks: AsyncIterable<Buffer>, kind: TableKind, columnMap: ColumnMap | undefined, opts: NormaliseOptions): AsyncGenerator<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  const max = opts.limits?.maxZipBytes ?? 256 * 2 ** 20;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > max) throw new AppError(413, 'payload_too_large', `Tệp XLSX quá lớn — the XLSX file is larger than ${max} bytes`, [{ path: 'file', message: `at most ${max} bytes` }]);
    parts.push(chunk);
  }
  const { date1904, rows } = await openXlsx(Buffer.concat(parts, size), { sheet: opts.sheet, limits: opts.limits });
  const writer = new RowWriter(kind, columnMap, true, date1904, opts.names);
  let next = 1; // the row number of the next output line
  let out = '';
  let slice = performance.now();
  for await (const batch of rows) {
    for (const row of batch) {
      while (next < row.row) {
        out += '\n';
        next++;
      }
      const cells = row.cells;
      for (let i = 0; i < cells.length; i++) {
        const c = cells[i] as string;
        if (c.indexOf('\n') >= 0 || c.indexOf('\r') >= 0) cells[i] = c.replace(LINE_BREAK_RE, ' ');
      }
      out += writer.line(cells, row.types, row.row);
      out += '\n';
      next++;
    }
    if (out.length >= OUT_CHUNK) {
      yield Buffer.from(out, 'utf8');
      out = '';
    }
    // a name stage may be slow on unknown names: other requests run between batches
    if (opts.names && performance.now() - slice > 10) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  if (!writer.started) throw emptyTable();
  if (out) yield Buffer.from(out, 'utf8');
}
