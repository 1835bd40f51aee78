import { isLocalDate } from '../../domain/dates';

/**
 * Cell rewriting: what a Vietnamese spreadsheet writes → what the canonical CSV reads.
 * Each function takes one cell (text, already trimmed unless it says otherwise) and never
 * throws: a cell it cannot read is left as it is, so that the row schema downstream names
 * the line and the field.
 */

const DMY_RE = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;
const ISO_TIME_RE = /^(\d{4}-\d{2}-\d{2})[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A date cell → ISO `YYYY-MM-DD`. `dd/mm/yyyy`, `d/m/yyyy`, `dd-mm-yyyy`, `dd.mm.yyyy`
 * (same separator twice) are always day first — Vietnam writes the day first, and a
 * month-first reading is never tried, not even when the "month" is over 12. A midnight-style
 * time after the date (`01/09/2021 0:00`, `2021-09-01T00:00:00`) is dropped. An impossible
 * date (`29/02/2021`, `31/04/2021`), a two-digit year and anything else stay as they are.
 */
export function normaliseDate(text: string): string {
  const m = DMY_RE.exec(text);
  if (m) {
    const iso = `${m[4]}-${(m[3] as string).padStart(2, '0')}-${(m[1] as string).padStart(2, '0')}`;
    return isLocalDate(iso) ? iso : text;
  }
  const t = ISO_TIME_RE.exec(text);
  if (t) return t[1] as string;
  return text;
}

const DAY_MS = 86_400_000;
const BASE_1900 = Date.UTC(1899, 11, 30);
const BASE_1900_EARLY = Date.UTC(1899, 11, 31);
const BASE_1904 = Date.UTC(1904, 0, 1);

/**
 * An Excel serial date → ISO `YYYY-MM-DD`, or null. The 1900 date system (the default):
 * 1 = 1900-01-01, 60 = Excel's fictitious 1900-02-29 (null), 61 = 1900-03-01,
 * 44440 = 2021-09-01; the 1904 system (`date1904` workbooks): 0 = 1904-01-01. The time of
 * day (the fraction) is dropped. Null for a serial before day 1 (0 in 1904) or past 9999.
 */
export function excelSerialDate(serial: number, date1904 = false): string | null {
  if (!Number.isFinite(serial)) return null;
  const day = Math.floor(serial);
  let ms: number;
  if (date1904) ms = BASE_1904 + day * DAY_MS;
  else if (day < 1 || day === 60) return null;
  else ms = (day < 60 ? BASE_1900_EARLY : BASE_1900) + day * DAY_MS;
  if (day < 0 || ms > Date.UTC(9999, 11, 31)) return null;
  return new Date(ms).toISOString().slice(0, 10);
}

const THOUSANDS_RE = /^\d{1,3}(\.\d{3})+$/;
const DECIMAL_COMMA_RE = /^[-+]?\d+,\d+$/;

/**
 * A number cell → decimal-point text.
 * - `integer` (count columns only): `1.234` / `12.345.678` (strictly 1–3 digits, then groups
 *   of exactly three after dots) is read as thousands → `1234`. A count cannot have a
 *   fraction, so the dots can only be grouping; `1.5`, `1.2345` or `1,234.5` stay as they
 *   are (the schema then says "must be a whole number" / "must be a number").
 *   Non-count columns (metric values) never read dots as thousands: `1.234` is 1.234.
 * - `decimalComma` (the delimiter is not a comma, or the cell was quoted, or it is an
 *   XLSX cell): `12,5` → `12.5` (digits, one comma, digits). `1.234,5` stays as it is.
 * Anything else is returned unchanged.
 */
export function normaliseNumber(text: string, decimalComma: boolean, integer: boolean): string {
  if (integer && THOUSANDS_RE.test(text)) return text.replace(/\./g, '');
  if (decimalComma && DECIMAL_COMMA_RE.test(text)) return text.replace(',', '.');
  return text;
}

const NEEDS_QUOTES_RE = /[",\n\r]/;

/** A cell as an RFC 4180 field: quoted (quotes doubled) only when it holds a comma, a quote or a line break. */
export function csvField(text: string): string {
  return NEEDS_QUOTES_RE.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
