import type { Candidate, NameIndex } from '../domain/names';
import { DetailCollector, unprocessable } from '../errors';

/**
 * The name stage of a fact import: rows that name their area (`area_name`, optionally
 * `parent_name`) instead of giving its code get the code the NameIndex resolves — never a
 * guess (the normaliser calls it row by row: ingest/table/normalise.ts `RowNames`; JSON rows:
 * services/imports.ts). What it finds is kept in NameFindings: the dry run answers with it; a
 * real import with an unresolved row is refused (`unresolvedError`) and writes nothing.
 */
export type Unresolved = { row: number; area_name: string | null; parent_name: string | null; area?: string; candidates: Candidate[] };
export type Match = { area_name: string; parent_name: string | null; code: string; via: 'name' | 'alias'; rows: number };

/** Unresolved rows listed in full (a dry run's answer); beyond it they are counted. */
export const MAX_UNRESOLVED_LISTED = 1000;
/** Distinct resolved names listed (for the user to confirm); beyond it they are counted. */
export const MAX_MATCHES_LISTED = 1000;

/** Names echoed back (answers, errors) are cut here: an input of megabytes is not sent back whole. */
const ECHO_CHARS = 200;
const clip = (s: string | null): string | null => (s === null || s.length <= ECHO_CHARS ? s : `${s.slice(0, ECHO_CHARS)}…`);

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
    else this.miss({ row, area_name: null, parent_name: null, area: clip(code) as string, candidates: [] });
    return code;
  }

  /** A row that names its area: its code among the areas of the row's `date` (when it is one), or null (kept as unresolved). */
  name(row: number, areaName: string, parentName: string | null, date: string | null = null): string | null {
    this.rows++;
    const r = this.index.resolve(areaName, parentName, 'commune', date);
    if (r.status === 'resolved') {
      this.resolved++;
      const key = `${areaName}\u0000${parentName ?? ''}\u0000${r.code}`;
      const m = this.matches.get(key);
      if (m) m.rows++;
      else if (this.matches.size < MAX_MATCHES_LISTED) this.matches.set(key, { area_name: clip(areaName) as string, parent_name: clip(parentName), code: r.code, via: r.via, rows: 1 });
      return r.code;
    }
    this.miss({ row, area_name: clip(areaName), parent_name: clip(parentName), candidates: r.candidates });
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
