import { AppError, badRequest } from '../../errors';

/**
 * A streaming reader of delimited text (`,` `;` or TAB) that keeps line structure: every
 * source line gives one record, except that a quoted field may hold line breaks — that
 * record then spans as many lines, and the break stays inside the field. Lines end at LF
 * or CRLF; a lone CR is text (old Mac files are not read as several lines). An empty line is
 * a record of one empty field. `quoted[i]` says whether field i was quoted (null: none was).
 * After a closing quote, text up to the next delimiter is kept (as Excel does: `"a"b` → `ab`).
 */
export type DelimitedRecord = { line: number; fields: string[]; quoted: boolean[] | null };

/** A record longer than this (an unclosed quote swallowing the file, say) is refused. */
export const MAX_RECORD_CHARS = 1 << 20;

export class DelimitedReader {
  private carry = '';
  private line = 1;

  constructor(private readonly delimiter: string) {}

  /** Reads whole records of `text` (after what is carried from before); the rest waits for more. */
  push(text: string, out: DelimitedRecord[]): void {
    const buf = this.carry === '' ? text : this.carry + text;
    const used = this.records(buf, out, false);
    this.carry = buf.slice(used);
    if (this.carry.length > MAX_RECORD_CHARS) throw new AppError(413, 'payload_too_large', `Dòng ${this.line} quá dài — line ${this.line} is longer than ${MAX_RECORD_CHARS} characters (an unclosed quote?)`, [{ path: `line[${this.line}]`, message: 'the record is too long' }]);
  }

  /** The end of input: the last record (without a final newline) if there is one. */
  end(out: DelimitedRecord[]): void {
    if (this.carry !== '') this.records(this.carry, out, true);
    this.carry = '';
  }

  /** Parses records from buf; returns how many characters were used. */
  private records(buf: string, out: DelimitedRecord[], final: boolean): number {
    const d = this.delimiter;
    let s = 0;
    while (s < buf.length) {
      const nl = buf.indexOf('\n', s);
      if (nl < 0 && !final) break;
      const e = nl < 0 ? buf.length : nl;
      const q = buf.indexOf('"', s);
      if (q < 0 || q > e) {
        const lineEnd = e > s && buf.charCodeAt(e - 1) === 13 ? e - 1 : e;
        out.push({ line: this.line++, fields: buf.slice(s, lineEnd).split(d), quoted: null });
        s = e + 1;
        continue;
      }
      const used = this.quotedRecord(buf, s, out, final);
      if (used < 0) break;
      s = used;
    }
    return Math.min(s, buf.length);
  }

  /** A record with quotes from `s`: returns the index after its line end, or -1 if it is not complete yet. */
  private quotedRecord(buf: string, s: number, out: DelimitedRecord[], final: boolean): number {
    const d = this.delimiter.charCodeAt(0);
    const fields: string[] = [];
    const quoted: boolean[] = [];
    let i = s;
    let breaks = 0;
    for (;;) {
      let field = '';
      let wasQuoted = false;
      if (buf.charCodeAt(i) === 34) {
        wasQuoted = true;
        let j = i + 1;
        for (;;) {
          const k = buf.indexOf('"', j);
          if (k < 0 || (k + 1 >= buf.length && !final)) {
            if (!final) return -1;
            throw badRequest(`Lỗi cú pháp CSV dòng ${this.line} — CSV syntax error: a quoted field is not closed`, [{ path: `line[${this.line}]`, message: 'a quoted field is not closed' }], 'invalid_csv');
          }
          field += buf.slice(j, k);
          if (buf.charCodeAt(k + 1) === 34) {
            field += '"';
            j = k + 2;
            continue;
          }
          i = k + 1;
          break;
        }
        for (let b = field.indexOf('\n'); b >= 0; b = field.indexOf('\n', b + 1)) breaks++;
      }
      // the unquoted part: up to the delimiter or the line end
      let j = i;
      while (j < buf.length) {
        const c = buf.charCodeAt(j);
        if (c === d || c === 10) break;
        j++;
      }
      if (j >= buf.length && !final) return -1;
      let rest = buf.slice(i, j);
      const atLineEnd = j >= buf.length || buf.charCodeAt(j) === 10;
      if (atLineEnd && rest.endsWith('\r')) rest = rest.slice(0, -1);
      field += rest;
      fields.push(field);
      quoted.push(wasQuoted);
      if (atLineEnd) {
        out.push({ line: this.line, fields, quoted });
        this.line += 1 + breaks;
        return j + 1;
      }
      i = j + 1;
    }
  }
}
