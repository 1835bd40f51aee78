import { z } from 'zod';
import { AREA_CODE_RE, areaCodeSchema } from '../domain/areas';
import { isLocalDate, LocalDate } from '../domain/dates';
import { METRIC_NAME_RE, metricSpec } from '../domain/metrics';
import type { FactSink, StagedRow } from '../db/facts';
import { ByteLane, ReportLane } from './lane';
import { freeText } from '../domain/text';

/**
 * Row formats for daily facts (reports, metrics): the JSON row schema, the CSV columns and
 * how a valid row is staged. Both JSON and CSV go through the same zod schema.
 */
export type RowFormat<T> = {
  kind: 'reports' | 'metrics';
  required: readonly string[];
  optional: readonly string[];
  /** CSV cells that hold numbers (parsed before validation). */
  numeric: ReadonlySet<string>;
  schema: (maxDate: LocalDate) => z.ZodType<T>;
  /**
   * A fast acceptor for CSV rows (the bulk path): returns the row when it is certainly valid
   * under `schema`, null when unsure — the schema then decides and explains. It must never
   * accept what the schema rejects.
   */
  fastCsv: (header: string[], maxDate: LocalDate) => (fields: string[], idx: number) => StagedRow | null;
  stage: (idx: number, row: T) => StagedRow;
  /** The byte lane for plain CSV lines, if the format has one (see lane.ts). */
  byteLane?: (header: string[], maxDate: LocalDate, sink: FactSink) => ByteLane;
};

const SMALL_INT_RE = /^\d{1,9}$/;
const DECIMAL_RE = /^-?\d{1,15}(\.\d{1,15})?$/;

/** Dates repeat across rows: remember which strings were valid (bounded). */
function dateChecker(maxDate: LocalDate): (text: string) => boolean {
  const seen = new Map<string, boolean>();
  return (text) => {
    let ok = seen.get(text);
    if (ok === undefined) {
      ok = isLocalDate(text) && text <= maxDate;
      if (seen.size < 100_000) seen.set(text, ok);
    }
    return ok;
  };
}

function column(header: string[], name: string): number {
  return header.indexOf(name);
}

export function dateSchema(maxDate: LocalDate) {
  // dates repeat across a body's rows: each string is checked once (bounded), as in dateChecker
  const real = new Map<string, boolean>();
  const isReal = (d: string) => {
    let ok = real.get(d);
    if (ok === undefined) {
      ok = isLocalDate(d);
      if (real.size < 100_000) real.set(d, ok);
    }
    return ok;
  };
  return z
    .string({ error: 'phải là ngày dạng YYYY-MM-DD — must be a date YYYY-MM-DD' })
    .refine(isReal, 'phải là ngày có thật dạng YYYY-MM-DD (từ năm 1900) — must be a real calendar date YYYY-MM-DD (year 1900 or later)')
    .refine((d) => !isReal(d) || d <= maxDate, { message: `không được ở tương lai (muộn nhất: ${maxDate}) — must not be in the future (latest accepted: ${maxDate})` })
    .transform((d) => d as LocalDate);
}

const countSchema = z
  .number({ error: 'phải là số — must be a number' })
  .int('phải là số nguyên — must be a whole number')
  .min(0, 'phải ≥ 0 — must be ≥ 0')
  .max(2_147_483_647, 'quá lớn — is too large');

export type ReportRow = {
  area: string;
  date: LocalDate;
  community_cases: number;
  quarantine_cases: number;
  deaths?: number | null | undefined;
  source?: string | null | undefined;
};

export const reportFormat: RowFormat<ReportRow> = {
  kind: 'reports',
  required: ['area', 'date', 'community_cases', 'quarantine_cases'],
  optional: ['deaths', 'source'],
  numeric: new Set(['community_cases', 'quarantine_cases', 'deaths']),
  schema: (maxDate) =>
    z.strictObject({
      area: areaCodeSchema,
      date: dateSchema(maxDate),
      community_cases: countSchema,
      quarantine_cases: countSchema,
      deaths: countSchema.nullable().optional(),
      source: freeText(200).nullable().optional(),
    }),
  fastCsv: (header, maxDate) => {
    const [ia, id, ic, iq, ix, is] = ['area', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source'].map((c) => column(header, c)) as [number, number, number, number, number, number];
    const dateOk = dateChecker(maxDate);
    return (f, idx) => {
      const area = f[ia] as string;
      const date = f[id] as string;
      const cc = f[ic] as string;
      const qc = f[iq] as string;
      const deaths = ix < 0 ? '' : (f[ix] as string);
      const source = is < 0 ? '' : (f[is] as string);
      if (!AREA_CODE_RE.test(area) || !dateOk(date) || !SMALL_INT_RE.test(cc) || !SMALL_INT_RE.test(qc)) return null;
      if (deaths !== '' && !SMALL_INT_RE.test(deaths)) return null;
      if (source.length > 200 || source.includes('\u0000')) return null;
      return { idx, area, cells: [date, Number(cc), Number(qc), deaths === '' ? null : Number(deaths), source === '' ? null : source] };
    };
  },
  stage: (idx, r) => ({
    idx,
    area: r.area,
    cells: [r.date, r.community_cases, r.quarantine_cases, r.deaths ?? null, r.source ?? null],
  }),
  byteLane: (header, maxDate, sink) => new ReportLane(header, maxDate, sink),
};

export type MetricRow = { area: string; date: LocalDate; name: string; value: number };

export const metricFormat: RowFormat<MetricRow> = {
  kind: 'metrics',
  required: ['area', 'date', 'name', 'value'],
  optional: [],
  numeric: new Set(['value']),
  schema: (maxDate) =>
    z
      .strictObject({
        area: areaCodeSchema,
        date: dateSchema(maxDate),
        name: z.string({ error: 'phải là tên chỉ số — must be a metric name' }).regex(METRIC_NAME_RE, 'phải gồm 1–64 ký tự A-Z a-z 0-9 . _ - — must be 1–64 characters from A-Z a-z 0-9 . _ -'),
        value: z.number({ error: 'phải là số hữu hạn — must be a finite number' }).refine(Number.isFinite, 'phải là số hữu hạn — must be a finite number'),
      })
      .superRefine((row, ctx) => {
        const problem = metricSpec(row.name)?.check(row.value);
        if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: `${row.name} ${problem}` });
      }),
  fastCsv: (header, maxDate) => {
    const [ia, id, iname, iv] = ['area', 'date', 'name', 'value'].map((c) => column(header, c)) as [number, number, number, number];
    const dateOk = dateChecker(maxDate);
    return (f, idx) => {
      const area = f[ia] as string;
      const date = f[id] as string;
      const name = f[iname] as string;
      const text = f[iv] as string;
      if (!AREA_CODE_RE.test(area) || !dateOk(date) || !METRIC_NAME_RE.test(name) || !DECIMAL_RE.test(text)) return null;
      const value = Number(text);
      if (metricSpec(name)?.check(value)) return null;
      return { idx, area, cells: [name, date, value] };
    };
  },
  stage: (idx, r) => ({ idx, area: r.area, cells: [r.name, r.date, r.value] }),
};
