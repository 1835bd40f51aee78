import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { AppError, badRequest } from '../../errors';

/**
 * A streaming reader of the first (or a named) worksheet of an XLSX workbook: rows of cell
 * texts, in order, with their row numbers.
 *
 * Inflating: node's zlib (a stream). fflate's streaming Inflate took 1,121 ms (1 MiB
 * steps; 1,521 ms in 256 KiB steps) for the 210 MB sheet XML of 1,000,000 rows, zlib 335 ms:
 * with fflate the whole reader made 84,303 rows/s, short of the target.
 *
 * Why not exceljs: its streaming reader (`new ExcelJS.stream.xlsx.WorkbookReader`,
 * sharedStrings 'cache', styles/hyperlinks ignored) only iterated a 200,000-row sheet of
 * `Mã xã, Ngày, Ca cộng đồng, Ca trong khu cách ly/phong tỏa, Tử vong` (written by exceljs's
 * streaming writer) at 63,573 rows/s — before any normalising (node 20, this machine) — short
 * of the 100,000 rows/s the issue asks for. This reader inflates with zlib and scans the
 * sheet XML with indexOf: several times that (end to end through the CLI: bench/imports.ts, `npm run bench`).
 *
 * The zip is read through its central directory (a sheet is usually stored before
 * sharedStrings.xml, so a front-to-back stream would have to hold the sheet). The upload is
 * held compressed (at most `maxZipBytes`); entries are inflated as a stream, 1 MiB of input at a time.
 *
 * Limits (an upload is hostile until read): at most 10,000 zip entries; the declared
 * uncompressed sizes at most 1 GiB in total; an entry that inflates past its declared size
 * or past the 1 GiB total is refused there (inflating stops); shared strings at most
 * 2,000,000 and 128 Mi characters (≈ 256 MiB); a cell at most 32,767 characters (Excel's
 * own limit); columns up to XFD (16,384); rows up to 1,048,576; a DOCTYPE is refused (no
 * entity expansion ever happens: only the five XML entities and character references are
 * read). Too large → 413 `payload_too_large`; not an XLSX → 400 `invalid_xlsx`.
 */
export type XlsxLimits = {
  maxZipBytes: number;
  maxEntries: number;
  maxUncompressed: number;
  maxSharedStrings: number;
  maxSharedChars: number;
};

export const XLSX_LIMITS: XlsxLimits = {
  maxZipBytes: 256 * 2 ** 20,
  maxEntries: 10_000,
  maxUncompressed: 2 ** 30,
  maxSharedStrings: 2_000_000,
  maxSharedChars: 128 * 2 ** 20,
};

/** A cell's type: text (a string cell, shared or inline, a boolean, an error, a formula's text) or a number (Excel keeps dates as serial numbers). */
export const TEXT = 0;
export const NUMBER = 2;

/** One worksheet row: its 1-based row number, cell texts by column (gaps are ''), and each cell's type. */
export type XlsxRow = { row: number; cells: string[]; types: number[] };

export type XlsxOptions = { sheet?: string; limits?: Partial<XlsxLimits> };

const invalid = (why: string) => badRequest(`Tệp XLSX không đọc được — the XLSX file cannot be read: ${why}`, [{ path: 'file', message: why }], 'invalid_xlsx');
const tooLarge = (why: string) => new AppError(413, 'payload_too_large', `Tệp XLSX quá lớn — the XLSX file is too large: ${why}`, [{ path: 'file', message: why }]);

type Entry = { name: string; method: number; compressed: number; size: number; offset: number };

/** The central directory of a zip: every entry's name, method, sizes and local header offset. */
function centralDirectory(zip: Buffer, limits: XlsxLimits): Map<string, Entry> {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw invalid('not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw tooLarge('ZIP64 archives are not read');
  if (count > limits.maxEntries) throw tooLarge(`${count} zip entries (at most ${limits.maxEntries})`);
  if (cdOffset + cdSize > zip.length) throw invalid('the zip central directory lies outside the file');
  const entries = new Map<string, Entry>();
  let total = 0;
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== 0x02014b50) throw invalid('a damaged zip central directory');
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const skip = nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    const offset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    if (flags & 1) throw invalid(`${name} is encrypted`);
    total += size;
    if (size === 0xffffffff || total > limits.maxUncompressed) throw tooLarge(`the entries would unpack to more than ${limits.maxUncompressed} bytes`);
    entries.set(name.replace(/\\/g, '/'), { name, method, compressed, size, offset });
    p += 46 + skip;
  }
  return entries;
}

/** Inflates one entry, calling `onText` with decoded UTF-8 text pieces; counts bytes against the limits. */
class EntryReader {
  inflated = 0;
  constructor(
    private readonly zip: Buffer,
    private readonly limits: XlsxLimits,
  ) {}

  /** The entry's text in pieces (a generator: the caller consumes each before the next is inflated). */
  async *text(e: Entry): AsyncGenerator<string> {
    const { zip } = this;
    if (e.offset + 30 > zip.length || zip.readUInt32LE(e.offset) !== 0x04034b50) throw invalid(`${e.name}: no local header`);
    const start = e.offset + 30 + zip.readUInt16LE(e.offset + 26) + zip.readUInt16LE(e.offset + 28);
    if (start + e.compressed > zip.length) throw invalid(`${e.name} lies outside the file`);
    const data = zip.subarray(start, start + e.compressed);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let produced = 0;
    const decode = (bytes: Uint8Array, final: boolean): string => {
      try {
        return decoder.decode(bytes, { stream: !final });
      } catch {
        throw invalid(`${e.name} is not UTF-8`);
      }
    };
    const count = (n: number) => {
      produced += n;
      this.inflated += n;
      if (produced > e.size) throw tooLarge(`${e.name} unpacks to more than the ${e.size} bytes it declares`);
      if (this.inflated > this.limits.maxUncompressed) throw tooLarge(`the entries unpack to more than ${this.limits.maxUncompressed} bytes`);
    };
    if (e.method === 0) {
      count(data.length);
      for (let s = 0; s < data.length; s += 1 << 20) yield decode(data.subarray(s, Math.min(s + (1 << 20), data.length)), s + (1 << 20) >= data.length);
      return;
    }
    if (e.method !== 8) throw invalid(`${e.name} uses zip method ${e.method} (only stored and deflate are read)`);
    const STEP = 1 << 20;
    const input = Readable.from((function* () {
      for (let s = 0; s < data.length; s += STEP) yield data.subarray(s, Math.min(s + STEP, data.length));
    })());
    const inflater = createInflateRaw({ chunkSize: 1 << 18 });
    input.on('error', (err) => inflater.destroy(err));
    input.pipe(inflater);
    try {
      for await (const chunk of inflater as AsyncIterable<Buffer>) {
        count(chunk.length);
        yield decode(chunk, false);
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw invalid(`${e.name} is damaged (${(err as Error).message})`);
    } finally {
      input.destroy();
      inflater.destroy();
    }
    const tail = decode(new Uint8Array(0), true);
    if (tail) yield tail;
    if (produced !== e.size) throw invalid(`${e.name} unpacks to ${produced} bytes, not the ${e.size} it declares`);
  }

  /** A small entry (workbook, relationships) whole: at most 16 MiB. */
  async whole(e: Entry): Promise<string> {
    if (e.size > 16 * 2 ** 20) throw tooLarge(`${e.name} is larger than 16 MiB`);
    let s = '';
    for await (const t of this.text(e)) s += t;
    return s;
  }
}

const ENTITY_RE = /&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|amp|lt|gt|quot|apos);|_x([0-9A-Fa-f]{4})_/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML text → its characters: the five entities, character references and Excel's `_xHHHH_` escapes (unknown `&name;` stays as it is). */
export function xmlText(s: string): string {
  if (s.indexOf('&') < 0 && s.indexOf('_x') < 0) return s;
  return s.replace(ENTITY_RE, (m, ent: string | undefined, hex: string | undefined) => {
    const code = hex !== undefined ? parseInt(hex, 16) : ent?.startsWith('#x') ? parseInt(ent.slice(2), 16) : ent?.startsWith('#') ? parseInt(ent.slice(1), 10) : -1;
    if (code < 0) return NAMED[ent as string] ?? m;
    return code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : m;
  });
}

const attr = (tag: string, name: string): string | null => {
  const re = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`);
  const m = re.exec(tag);
  return m ? xmlText(m[1] ?? m[2] ?? '') : null;
};

/** `<?xml?>` fine, `<!DOCTYPE` never: an entity declaration is how XML bombs start. */
function refuseDoctype(text: string, name: string): void {
  if (text.indexOf('<!DOCTYPE') >= 0 || text.indexOf('<!ENTITY') >= 0) throw invalid(`${name} declares a DOCTYPE`);
}

/** Resolves a relationship target against the folder of the part that names it. */
function resolveTarget(base: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  const parts = base.split('/').slice(0, -1);
  for (const seg of target.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.' && seg !== '') parts.push(seg);
  }
  return parts.join('/');
}

async function relationships(reader: EntryReader, entries: Map<string, Entry>, part: string): Promise<Map<string, { type: string; target: string }>> {
  const slash = part.lastIndexOf('/');
  const relsName = `${part.slice(0, slash + 1)}_rels/${part.slice(slash + 1)}.rels`;
  const e = entries.get(relsName);
  const out = new Map<string, { type: string; target: string }>();
  if (!e) return out;
  const xml = await reader.whole(e);
  refuseDoctype(xml, relsName);
  for (const m of xml.matchAll(/<(?:\w+:)?Relationship\b[^>]*>/g)) {
    const id = attr(m[0], 'Id');
    const target = attr(m[0], 'Target');
    if (id && target) out.set(id, { type: attr(m[0], 'Type') ?? '', target: resolveTarget(part, target) });
  }
  return out;
}

// Linear: the attributes of <t …> are `[^<>]*` (a body of "<t <t <t …" without a ">" made
// `[^>]*` backtrack to its end from every "<t": quadratic), phonetic runs hold no "<rPh".
const T_RE = /<(?:\w+:)?t(?:\s[^<>]*)?>([^<]*)<\/(?:\w+:)?t>/g;
const RPH_RE = /<(?:\w+:)?rPh\b[^<>]*>(?:(?!<(?:\w+:)?rPh\b)[\s\S])*?<\/(?:\w+:)?rPh>/g;

/** The text of an `<si>` / `<is>` body: its `<t>` runs (rich text included), phonetic runs left out. */
function runText(body: string): string {
  const b = body.indexOf('rPh') >= 0 ? body.replace(RPH_RE, '') : body;
  let s = '';
  for (const m of b.matchAll(T_RE)) s += m[1];
  return xmlText(s);
}

async function sharedStrings(reader: EntryReader, e: Entry, limits: XlsxLimits): Promise<string[]> {
  const out: string[] = [];
  let chars = 0;
  let carry = '';
  let checked = false;
  for await (const piece of reader.text(e)) {
    let text = carry + piece;
    if (!checked) {
      refuseDoctype(text.slice(0, 4096), e.name);
      checked = true;
    }
    let p = 0;
    for (;;) {
      const open = text.indexOf('<', p);
      if (open < 0) break;
      // an <si> element: <si> … </si> or <si/>; prefixes allowed
      const m = /^<(\w+:)?si\b/.exec(text.slice(open, open + 16));
      if (!m) {
        p = open + 1;
        continue;
      }
      const gt = text.indexOf('>', open);
      if (gt < 0) break;
      let end: number;
      let body: string;
      if (text[gt - 1] === '/') {
        end = gt + 1;
        body = '';
      } else {
        const close = text.indexOf(`</${m[1] ?? ''}si>`, gt);
        if (close < 0) break;
        body = text.slice(gt + 1, close);
        end = close + 5 + (m[1]?.length ?? 0);
      }
      const s = runText(body);
      chars += s.length;
      out.push(s);
      if (out.length > limits.maxSharedStrings) throw tooLarge(`more than ${limits.maxSharedStrings} shared strings`);
      if (chars > limits.maxSharedChars) throw tooLarge(`shared strings of more than ${limits.maxSharedChars} characters`);
      p = end;
    }
    text = text.slice(p);
    if (text.length > 1 << 20) throw tooLarge('a shared string larger than 1 MiB');
    carry = text;
  }
  return out;
}

/** "B12" → 1 (0-based column), or -1. */
function columnIndex(ref: string): number {
  let n = 0;
  let i = 0;
  for (; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c >= 65 && c <= 90) n = n * 26 + (c - 64);
    else if (c >= 97 && c <= 122) n = n * 26 + (c - 96);
    else break;
  }
  return i === 0 ? -1 : n - 1;
}

const MAX_COLUMNS = 16_384;
/**
 * Cells read per row: a report sheet has a handful of columns. An empty cell beyond (a
 * format dragged to the right) is skipped; a value beyond is refused — a small file of rows
 * with a value at column XFC would otherwise make 16,384 cells a row.
 */
export const MAX_READ_COLUMNS = 256;
const MAX_ROWS = 1_048_576;
/**
 * A row's XML, and the text of its cells: a report row is well under a kilobyte. Without a cap
 * per row, a shared string of 32,000 characters referenced by 250 cells of 400 rows — a 9 KB
 * file — became gigabytes of text.
 */
const MAX_ROW_XML = 2 * 2 ** 20;
export const MAX_ROW_CHARS = 64 * 1024;
const MAX_CELL = 32_767;

/** Reads one `<row>` element's cells. `p`: the namespace prefix ('' or 'x:'). */
function parseRow(xml: string, p: string, shared: string[], row: XlsxRow): void {
  const { cells, types } = row;
  let rowChars = 0;
  const cOpen = `<${p}c`;
  const cClose = `</${p}c>`;
  let next = 0;
  let at = xml.indexOf(cOpen);
  while (at >= 0) {
    const after = xml.charCodeAt(at + cOpen.length);
    if (after !== 32 && after !== 62 && after !== 47 && after !== 9 && after !== 10 && after !== 13) {
      at = xml.indexOf(cOpen, at + 1);
      continue;
    }
    const gt = xml.indexOf('>', at);
    if (gt < 0) throw invalid(`row ${row.row}: a cell tag is not closed`);
    const tag = xml.slice(at, gt);
    let col = next;
    const r = tag.indexOf(' r="');
    if (r >= 0) {
      const c = columnIndex(tag.slice(r + 4, r + 12));
      if (c >= 0) col = c;
    }
    if (col >= MAX_COLUMNS) throw invalid(`row ${row.row}: a cell beyond column XFD`);
    next = col + 1;
    let end = gt + 1;
    let text = '';
    let type = TEXT;
    if (xml.charCodeAt(gt - 1) !== 47) {
      const close = xml.indexOf(cClose, gt);
      if (close < 0) throw invalid(`row ${row.row}: a cell is not closed`);
      end = close + cClose.length;
      const body = xml.slice(gt + 1, close);
      const ti = tag.indexOf(' t="');
      const t = ti >= 0 ? tag.slice(ti + 4, tag.indexOf('"', ti + 4)) : 'n';
      if (t === 'inlineStr') text = runText(body);
      else {
        const vs = body.indexOf(`<${p}v`);
        let v = '';
        if (vs >= 0) {
          const vgt = body.indexOf('>', vs);
          if (body.charCodeAt(vgt - 1) !== 47) {
            const ve = body.indexOf(`</${p}v>`, vgt);
            v = body.slice(vgt + 1, ve < 0 ? body.length : ve);
          }
        }
        if (t === 's') {
          const s = shared[Number(v)];
          if (s === undefined) throw invalid(`row ${row.row}: shared string ${v} does not exist`);
          text = s;
        } else if (t === 'b') text = v === '1' ? 'TRUE' : v === '0' ? 'FALSE' : v;
        else if (t === 'n') {
          text = v;
          type = v === '' ? TEXT : NUMBER;
        } else text = xmlText(v); // str (a formula's text), e (an error such as #N/A), d (ISO date)
      }
      if (text.length > MAX_CELL) throw invalid(`row ${row.row}: a cell longer than ${MAX_CELL} characters`);
    }
    rowChars += text.length;
    if (rowChars > MAX_ROW_CHARS) throw invalid(`row ${row.row}: more than ${MAX_ROW_CHARS} characters of text in one row`);
    if (col >= MAX_READ_COLUMNS) {
      if (text !== '') throw invalid(`row ${row.row}: a value in column ${col + 1}, beyond the ${MAX_READ_COLUMNS} columns a report sheet is read in`);
      at = xml.indexOf(cOpen, end);
      continue;
    }
    while (cells.length < col) {
      cells.push('');
      types.push(TEXT);
    }
    cells[col] = text;
    types[col] = type;
    at = xml.indexOf(cOpen, end);
  }
}

/**
 * The rows of the first worksheet (in workbook order), or of the one named `opts.sheet`,
 * in batches as they are inflated. Rows the sheet leaves out are not yielded (the caller
 * sees the gap in `row`). Also returns whether the workbook uses the 1904 date system.
 */
export async function openXlsx(zip: Buffer, opts: XlsxOptions = {}): Promise<{ date1904: boolean; rows: AsyncGenerator<XlsxRow[]> }> {
  const limits = { ...XLSX_LIMITS, ...opts.limits };
  if (zip.length > limits.maxZipBytes) throw tooLarge(`more than ${limits.maxZipBytes} bytes`);
  const entries = centralDirectory(zip, limits);
  const reader = new EntryReader(zip, limits);
  const root = await relationships(reader, entries, '');
  const wbPath = [...root.values()].find((r) => r.type.endsWith('/officeDocument'))?.target ?? 'xl/workbook.xml';
  const wbEntry = entries.get(wbPath);
  if (!wbEntry) throw invalid('no workbook (xl/workbook.xml)');
  const wb = await reader.whole(wbEntry);
  refuseDoctype(wb, wbPath);
  const date1904 = /<(?:\w+:)?workbookPr\b[^>]*\sdate1904\s*=\s*["'](1|true)["']/.test(wb);
  const rels = await relationships(reader, entries, wbPath);
  const sheets = [...wb.matchAll(/<(?:\w+:)?sheet\b[^>]*>/g)].map((m) => ({ name: attr(m[0], 'name') ?? '', id: attr(m[0], 'r:id') ?? attr(m[0], '[\\w]+:id') ?? '' }));
  const sheet = opts.sheet === undefined ? sheets[0] : sheets.find((s) => s.name === opts.sheet) ?? sheets.find((s) => s.name.trim().toLowerCase() === opts.sheet?.trim().toLowerCase());
  if (!sheet)
    throw opts.sheet === undefined
      ? invalid('the workbook has no worksheet')
      : badRequest(`Không có trang tính "${opts.sheet}" — no worksheet named "${opts.sheet}" (the workbook has: ${sheets.map((s) => s.name).join(', ')})`, [{ path: 'sheet', message: `no worksheet named "${opts.sheet}"` }], 'invalid_xlsx');
  const sheetPath = rels.get(sheet.id)?.target;
  const sheetEntry = sheetPath === undefined ? undefined : entries.get(sheetPath);
  if (!sheetEntry) throw invalid(`worksheet "${sheet.name}" is missing`);
  const ssRel = [...rels.values()].find((r) => r.type.endsWith('/sharedStrings'));
  const ssEntry = entries.get(ssRel?.target ?? 'xl/sharedStrings.xml');
  const shared = ssEntry ? await sharedStrings(reader, ssEntry, limits) : [];
  return { date1904, rows: sheetRows(reader, sheetEntry, shared) };
}

async function* sheetRows(reader: EntryReader, e: Entry, shared: string[]): AsyncGenerator<XlsxRow[]> {
  let carry = '';
  let p: string | null = null; // the namespace prefix of the sheet's elements
  let rowOpen = '';
  let rowClose = '';
  let last = 0;
  let done = false;
  for await (const piece of reader.text(e)) {
    if (done) continue;
    let text = carry + piece;
    if (p === null) {
      const m = /<(\w+:)?sheetData\b/.exec(text);
      if (!m) {
        if (text.length > 16 * 2 ** 20) throw invalid('no sheetData in the first 16 MiB of the worksheet');
        carry = text;
        continue;
      }
      refuseDoctype(text.slice(0, m.index), e.name);
      p = m[1] ?? '';
      rowOpen = `<${p}row`;
      rowClose = `</${p}row>`;
      const gt = text.indexOf('>', m.index);
      if (gt < 0) {
        carry = text;
        p = null;
        continue;
      }
      if (text.charCodeAt(gt - 1) === 47) {
        done = true; // <sheetData/>: no rows
        continue;
      }
      text = text.slice(gt + 1);
    }
    const batch: XlsxRow[] = [];
    let at = 0;
    const endData = text.indexOf(`</${p}sheetData>`);
    for (;;) {
      const open = text.indexOf(rowOpen, at);
      if (endData >= 0 && (open < 0 || endData < open)) {
        done = true;
        at = text.length;
        break;
      }
      if (open < 0) break;
      const gt = text.indexOf('>', open);
      if (gt < 0) break;
      const tag = text.slice(open, gt);
      let end: number;
      let inner = '';
      if (text.charCodeAt(gt - 1) === 47) end = gt + 1;
      else {
        const close = text.indexOf(rowClose, gt);
        if (close < 0) break;
        inner = text.slice(gt + 1, close);
        end = close + rowClose.length;
      }
      const r = tag.indexOf(' r="');
      const n = r >= 0 ? parseInt(tag.slice(r + 4, tag.indexOf('"', r + 4)), 10) : last + 1;
      if (!(n > last) || n > MAX_ROWS) throw invalid(`row numbers out of order or beyond ${MAX_ROWS} (row ${n} after ${last})`);
      last = n;
      const row: XlsxRow = { row: n, cells: [], types: [] };
      if (inner) parseRow(inner, p, shared, row);
      batch.push(row);
      at = end;
    }
    carry = text.slice(at);
    if (carry.length > MAX_ROW_XML) throw invalid(`a row larger than ${MAX_ROW_XML / 2 ** 20} MiB of XML`);
    if (batch.length) yield batch;
  }
  if (!done) throw invalid('the worksheet ends before </sheetData>');
}
