/**
 * Text going into a spreadsheet (every CSV or XLSX export): stored values are kept exactly
 * as sent, and made harmless only on the way out. A spreadsheet program reads a cell that
 * begins with `=`, `+`, `-` or `@` — or with a tab or carriage return before one — as a
 * formula (`=cmd|' /C calc'!A0`, `=HYPERLINK(...)` leaking the sheet), so such text is
 * written with a leading apostrophe, which the program shows as text and does not display.
 * Pure functions; the rules are the table in test/domain/spreadsheet.test.ts.
 */

/**
 * Characters that make a cell a formula when they come first: = + - @, tab and CR (OWASP
 * "CSV injection"), and their full-width forms (＝ ＋ － ＠), which some programs and input
 * methods turn into the ASCII ones.
 */
const TRIGGER = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** A plain decimal number (`-5`, `+84`, `-0.25`, `1e-3`): a value, not a formula; left alone. */
const PLAIN_NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Whether a spreadsheet could take `text` for a formula: it begins — after any spaces — with
 * a trigger (see TRIGGER) and is not a plain number. An XLSX writer that sets the cell's
 * quotePrefix style instead of adding the apostrophe asks this.
 */
export function looksLikeFormula(text: string): boolean {
  const t = text.replace(/^ +/, '');
  return TRIGGER.test(t) && !PLAIN_NUMBER.test(t);
}

/**
 * `text` as a spreadsheet must receive it: unchanged, unless it looks like a formula; then
 * with `'` in front (`=1+1` → `'=1+1`, `  @SUM(A1)` → `'  @SUM(A1)`, `-5` stays `-5`,
 * `-5+cmd` → `'-5+cmd`). In an XLSX file, text goes in string cells (never formula cells)
 * and through this too.
 */
export function neutraliseFormula(text: string): string {
  return looksLikeFormula(text) ? `'${text}` : text;
}

export type Cell = string | number | boolean | null | undefined;

/**
 * One CSV field (RFC 4180): null/undefined → empty; finite numbers and booleans as they are;
 * text neutralised (see neutraliseFormula) and always quoted, quotes doubled — quoted, so
 * that a `;` or tab in it cannot start a new cell where a spreadsheet splits on those
 * (Vietnamese Excel splits CSV on `;`).
 */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return `"${neutraliseFormula(value).replaceAll('"', '""')}"`;
}

/** One CSV record, CRLF-terminated (RFC 4180). */
export function csvRecord(values: readonly Cell[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
