/**
 * The one date type of zonerisk: a local calendar date "YYYY-MM-DD" in the reporting
 * time zone (Asia/Ho_Chi_Minh by default). Dates are never instants; arithmetic is done
 * on the proleptic Gregorian calendar in UTC so that no time zone or DST can shift a day.
 */
export type LocalDate = string & { readonly __brand: 'LocalDate' };

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The years a date may have: 1900 to 2999 — no report predates the first, and arithmetic near 9999 (a range's next day, a week before) would leave four-digit years. */
export const FIRST_YEAR = 1900;
export const LAST_YEAR = 2999;

export function isLocalDate(text: string): text is LocalDate {
  const m = DATE_RE.exec(text);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < FIRST_YEAR || y > LAST_YEAR || mo < 1 || mo > 12 || d < 1) return false;
  return d <= daysInMonth(y, mo);
}

export function parseLocalDate(text: string): LocalDate | null {
  return isLocalDate(text) ? text : null;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function toUtcMillis(date: LocalDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
}

function fromUtcMillis(ms: number): LocalDate {
  return new Date(ms).toISOString().slice(0, 10) as LocalDate;
}

export function addDays(date: LocalDate, days: number): LocalDate {
  return fromUtcMillis(toUtcMillis(date) + days * 86_400_000);
}

/** Whole days from `a` to `b` (positive when b is later). */
export function daysBetween(a: LocalDate, b: LocalDate): number {
  return Math.round((toUtcMillis(b) - toUtcMillis(a)) / 86_400_000);
}

/** The calendar date of instant `at` in time zone `timeZone`. */
export function localDateAt(at: Date, timeZone: string): LocalDate {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at) as LocalDate;
}

export function today(timeZone: string, now: Date = new Date()): LocalDate {
  return localDateAt(now, timeZone);
}

/** Inclusive list of dates from `from` to `to`. */
export function dateRange(from: LocalDate, to: LocalDate): LocalDate[] {
  const out: LocalDate[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Days since 1970-01-01: a compact key for a date (bulk paths compare and index by it). */
export function dayNumber(date: LocalDate): number {
  // Arithmetic on the digits (days from civil): bulk paths call this millions of times.
  const digit = (i: number) => date.charCodeAt(i) - 48;
  let y = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const m = digit(5) * 10 + digit(6);
  const d = digit(8) * 10 + digit(9);
  if (m <= 2) y--;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

export function fromDayNumber(day: number): LocalDate {
  return fromUtcMillis(day * 86_400_000);
}
