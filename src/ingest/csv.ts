import { isUtf8 } from 'node:buffer';

/**
 * A streaming RFC 4180 CSV reader: feed it text chunks, it yields records with the line
 * on which each starts. Handles quotes, doubled quotes, CRLF and a UTF-8 BOM.
 */
export type CsvRecord = { line: number; fields: string[] };

export class CsvReader {
  private field = '';
  private fields: string[] = [];
  private inQuotes = false;
  private quoteSeen = false; // the previous char was a quote inside a quoted field
  private line: number;
  private recordLine: number;
  private started: boolean;
  private sawAnything = false;
  private afterCR = false; // a record ended on CR at the end of the previous chunk

  /** `firstLine`: the number of the first line it is given; `atStart`: whether a BOM may come first. */
  constructor(firstLine = 1, atStart = true) {
    this.line = firstLine;
    this.recordLine = firstLine;
    this.started = !atStart;
  }

  /** Parses a chunk and returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let text = chunk;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let fieldStart = 0;
    const flushField = (end: number) => {
      this.field += text.slice(fieldStart, end);
    };
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.afterCR) {
        this.afterCR = false;
        if (c === 10) {
          fieldStart = i + 1; // the LF of a CRLF split across chunks
          continue;
        }
      }
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (c === 34) {
            // doubled quote → one quote character
            this.field += '"';
            fieldStart = i + 1;
            continue;
          }
          this.inQuotes = false; // the quote closed the field; handle c below
        } else {
          if (c === 34) {
            flushField(i);
            this.quoteSeen = true;
            fieldStart = i + 1;
          } else if (c === 10) {
            this.line++;
          }
          continue;
        }
      }
      if (c === 34 && this.field === '' && i === fieldStart) {
        this.inQuotes = true;
        this.sawAnything = true;
        fieldStart = i + 1;
      } else if (c === 44) {
        flushField(i);
        this.fields.push(this.field);
        this.field = '';
        this.sawAnything = true;
        fieldStart = i + 1;
      } else if (c === 10 || c === 13) {
        flushField(i);
        if (c === 13 && i + 1 === text.length) this.afterCR = true;
        else if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        this.endRecord(out);
        this.line++;
        this.recordLine = this.line;
        fieldStart = i + 1;
      } else {
        this.sawAnything = true;
      }
    }
    if (this.inQuotes && !this.quoteSeen) flushField(text.length);
    else if (!this.inQuotes) flushField(text.length);
    return out;
  }

  /** Ends the input; returns the last record if the text did not end with a newline. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.inQuotes && !this.quoteSeen) throw new CsvSyntaxError(this.recordLine, 'a quoted field is not closed');
    this.inQuotes = false;
    this.quoteSeen = false;
    this.endRecord(out);
    return out;
  }

  private endRecord(out: CsvRecord[]): void {
    if (this.sawAnything || this.field !== '' || this.fields.length > 0) {
      this.fields.push(this.field);
      out.push({ line: this.recordLine, fields: this.fields });
    }
    this.fields = [];
    this.field = '';
    this.sawAnything = false;
  }
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export function parseCsv(text: string): CsvRecord[] {
  const r = new CsvReader();
  return [...r.push(text), ...r.end()];
}

/**
 * The offset of the first byte in [start, end) of `buf` that does not begin or continue a
 * well-formed UTF-8 sequence (Unicode Table 3-7: no overlong forms, no surrogates, nothing
 * past U+10FFFF; a sequence cut off by `end` is ill-formed at its first byte), or -1.
 */
export function invalidUtf8At(buf: Uint8Array, start = 0, end = buf.length): number {
  let i = start;
  while (i < end) {
    const b = buf[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number; // continuation bytes
    let lo = 0x80; // bounds of the first continuation byte
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n >= end) return i;
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k] as number;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

/**
 * Line ends in bytes [s, e) of `buf` as the CSV reader counts them: LF, CRLF or a lone CR
 * each end one line (a CR as the last byte counts; the caller cuts buffers after an LF).
 */
export function countLineEnds(buf: Uint8Array, s = 0, e = buf.length): number {
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c === 10) n++;
    else if (c === 13 && (i + 1 >= e || buf[i + 1] !== 10)) n++;
  }
  return n;
}

/** Where a CSV's bytes stop being UTF-8: the line (numbered from `firstLine`), the byte's column (1-based, in bytes) and value. */
export type Utf8Problem = { line: number; column: number; byte: number };

/**
 * The first ill-formed UTF-8 byte of `buf` — whole lines: a newline byte never occurs inside
 * a UTF-8 sequence, so a line can be judged on its own — or null. A valid buffer costs one
 * pass of node's validator; the search runs only when that fails.
 */
export function utf8Problem(buf: Buffer, firstLine = 1): Utf8Problem | null {
  if (isUtf8(buf)) return null;
  for (let s = 0; s < buf.length; ) {
    const nl = buf.indexOf(10, s);
    const e = nl < 0 ? buf.length : nl;
    const at = invalidUtf8At(buf, s, e);
    if (at >= 0) {
      let from = at;
      while (from > 0 && buf[from - 1] !== 10 && buf[from - 1] !== 13) from--;
      return { line: firstLine + countLineEnds(buf, 0, from), column: at - from + 1, byte: buf[at] as number };
    }
    s = e + 1;
  }
  return null; // not reached: isUtf8 said otherwise
}
