import type { Candidate, NameIndex } from '../domain/names';
import { DetailCollector, unprocessable } from '../errors';
import { CsvReader, CsvRecord } from './csv';

/**
 * The name stage of a fact import: rows that name their area (`area_name`, optionally
 * `parent_name`) instead of giving its code get the code the NameIndex resolves — never a
 * guess. What it finds is kept in NameFindings: the dry run answers with it; a real import
 * with an unresolved row is refused (`unresolvedError`) and writes nothing.
 */
export type Unresolved = { row: number; area_name: string | null; parent_name: string | null; area?: string; candidates: Candidate[] };
export type Match = { area_name: string; parent_name: string | null; code: string; via: 'name' | 'alias'; rows: number };

/** Unresolved rows listed in full (a dry run's answer); beyond it they are counted. */
export const MAX_UNRESOLVED_LISTED = 1000;
/** Distinct resolved names listed (for the user to confirm); beyond it they are counted. */
export const MAX_MATCHES_LISTED = 1000;

export class NameFindings {
  rows = 0;
  resolved = 0;
  unresolvedRows = 0;
  readonly unresolved: Unresolved[] = [];
  private readonly matches = new Map<string, Match>();

  constructor(
    private readonly index: NameIndex,
    private readonly codes: ReadonlySet<string>,
  ) {}

  /** A row that gives its code: known or not (unknown codes are the ingest's to refuse; the dry run lists them). */
  code(row: number, code: string): string {
    this.rows++;
    if (this.codes.has(code)) this.resolved++;
    else this.miss({ row, area_name: null, parent_name: null, area: code, candidates: [] });
    return code;
  }

  /** A row that names its area: its code, or null (kept as unresolved). */
  name(row: number, areaName: string, parentName: string | null): string | null {
    this.rows++;
    const r = this.index.resolve(areaName, parentName);
    if (r.status === 'resolved') {
      this.resolved++;
      const key = `${areaName}\u0000${parentName ?? ''}`;
      const m = this.matches.get(key);
      if (m) m.rows++;
      else if (this.matches.size < MAX_MATCHES_LISTED) this.matches.set(key, { area_name: areaName, parent_name: parentName, code: r.code, via: r.via, rows: 1 });
      return r.code;
    }
    this.miss({ row, area_name: areaName, parent_name: parentName, candidates: r.candidates });
    return null;
  }

  private miss(u: Unresolved): void {
    this.unresolvedRows++;
    if (this.unresolved.length < MAX_UNRESOLVED_LISTED) this.unresolved.push(u);
  }

  /** The dry run's answer (CONTRACT: rows, resolved, unresolved), with the distinct names resolved. */
  answer() {
    return {
      rows: this.rows,
      resolved: this.resolved,
      unresolved: this.unresolved,
      unresolved_rows: this.unresolvedRows,
      matches: [...this.matches.values()],
    };
  }

  /** The refusal of a real import with unresolved names (or null): every unresolved row, up to the error's detail limit. */
  unresolvedError(pathOf: (row: number) => string): Error | null {
    if (this.unresolvedRows === 0) return null;
    const errors = new DetailCollector();
    for (const u of this.unresolved) {
      if (u.area_name === null) continue; // an unknown code: the ingest names it
      const who = `"${u.area_name}"${u.parent_name ? ` (${u.parent_name})` : ''}`;
      const list = u.candidates.map((c) => `${c.code} ${c.name}${c.parent ? `, ${c.parent}` : ''}`).join('; ');
      const vi = u.candidates.length ? `tên chưa xác định được, có thể là: ${list}` : 'không tìm thấy tên này';
      const en = u.candidates.length ? `is not resolved: it could be ${list} — give parent_name, or confirm one as an alias` : 'matches no area';
      errors.add(pathOf(u.row), `${who}: ${vi} — ${who} ${en}`);
    }
    if (errors.count === 0) return null;
    const n = this.unresolvedRows;
    return unprocessable(
      `${n.toLocaleString('vi-VN')} dòng có tên đơn vị chưa xác định được; không có gì được ghi (gửi với dry_run=true để xem từng dòng) — ${n} row(s) name an area that cannot be resolved; nothing was written (send with dry_run=true for every row and its candidates)`,
      errors.details,
      'unresolved_names',
    );
  }
}

/** Time a name stage spends on the request thread before it lets other requests run (unknown names cost a near-name search each). */
export const SLICE_MS = 10;

/** Joins output lines in pieces of about this many characters. */
const PIECE_CHARS = 1 << 20;

const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * Canonical CSV (text) whose header has `area_name` → canonical CSV with `area` in its place
 * (and no `parent_name`), line for line: line N of the output is line N of the input, so
 * that the ingest's `line[N]` still points at the user's row. A row given by name that does
 * not resolve becomes an empty line (the ingest skips it) and is kept in `found`. Input
 * without an `area_name` column passes through untouched — unless `inspect` (a dry run:
 * every row's code is looked at too).
 */
export async function* resolveCsvNames(chunks: AsyncIterable<Buffer>, found: NameFindings, inspect = false): AsyncGenerator<Buffer> {
  const reader = new CsvReader();
  let header: string[] | null = null;
  let out: string[] = [];
  let outChars = 0;
  let line = 1; // the next output line's number
  let plan: { area: number; name: number; parent: number; keep: number[] } | null = null;
  let passThrough = false;

  const emit = (rec: CsvRecord, text: string) => {
    while (line < rec.line) {
      out.push('\n');
      line++;
    }
    out.push(text, '\n');
    outChars += text.length + 1;
    line++;
  };
  const handle = (rec: CsvRecord) => {
    if (header === null) {
      header = rec.fields;
      const at = (c: string) => header?.indexOf(c) ?? -1;
      const name = at('area_name');
      if (name < 0 && !inspect) {
        passThrough = true;
        return;
      }
      const parent = at('parent_name');
      const area = at('area');
      const keep = header.map((_, i) => i).filter((i) => i !== name && i !== parent && i !== area);
      plan = { area, name, parent, keep };
      emit(rec, ['area', ...keep.map((i) => header?.[i] as string)].join(','));
      return;
    }
    const p = plan as NonNullable<typeof plan>;
    const f = rec.fields;
    if (f.length === 1 && f[0] === '') return; // an empty line stays empty
    const given = p.area >= 0 ? (f[p.area] ?? '').trim() : '';
    const areaName = p.name >= 0 ? (f[p.name] ?? '').trim() : '';
    const parentName = p.parent >= 0 ? (f[p.parent] ?? '').trim() || null : null;
    let code: string | null;
    if (given !== '') code = found.code(rec.line, given);
    else if (areaName !== '') code = found.name(rec.line, areaName, parentName);
    else code = ''; // neither: the ingest names the missing area
    if (code === null) return;
    emit(rec, [quote(code), ...p.keep.map((i) => quote(f[i] ?? ''))].join(','));
  };

  const pieces: Buffer[] = []; // the input until the header decides
  for await (const chunk of chunks) {
    if (passThrough) {
      yield chunk;
      continue;
    }
    if (header === null) pieces.push(chunk);
    const records = reader.push(chunk.toString('utf8'));
    let slice = performance.now();
    for (let i = 0; i < records.length; i++) {
      handle(records[i] as CsvRecord);
      if (passThrough) break;
      if ((i & 255) === 255 && performance.now() - slice > SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    if (passThrough) {
      yield Buffer.concat(pieces); // no name column: what came so far, as it came
      continue;
    }
    if (header !== null) pieces.length = 0;
    if (outChars >= PIECE_CHARS) {
      yield Buffer.from(out.join(''));
      out = [];
      outChars = 0;
    }
  }
  if (passThrough) return;
  for (const rec of reader.end()) if (!passThrough) handle(rec);
  // no header at all (the ingest says so), or a header without names that only ended here: as it came
  if (header === null || passThrough) {
    if (pieces.length) yield Buffer.concat(pieces);
  } else if (out.length) yield Buffer.from(out.join(''));
}
