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
