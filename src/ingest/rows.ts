import { z } from 'zod';
import { AREA_CODE_RE } from '../domain/areas';
import { isLocalDate, LocalDate } from '../domain/dates';
import { KNOWN_METRICS, METRIC_NAME_RE } from '../domain/metrics';
import type { StagedRow } from '../db/facts';

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
  stage: (idx: number, row: T) => StagedRow;
};

export const areaCodeSchema = z
  .string({ error: 'must be an area code (string)' })
  .regex(AREA_CODE_RE, 'must be 1–64 characters from A-Z a-z 0-9 . _ -');

export function dateSchema(maxDate: LocalDate) {
  return z
    .string({ error: 'must be a date YYYY-MM-DD' })
    .refine(isLocalDate, 'must be a real calendar date YYYY-MM-DD (year 1900 or later)')
    .refine((d) => d <= maxDate, { message: `must not be in the future (latest accepted: ${maxDate})` })
    .transform((d) => d as LocalDate);
}

const countSchema = z
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be ≥ 0')
  .max(2_147_483_647, 'is too large');

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
      source: z.string().max(200, 'must be at most 200 characters').nullable().optional(),
    }),
  stage: (idx, r) => ({
    idx,
    area: r.area,
    cells: [r.date, r.community_cases, r.quarantine_cases, r.deaths ?? null, r.source ?? null],
  }),
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
        name: z.string({ error: 'must be a metric name' }).regex(METRIC_NAME_RE, 'must be 1–64 characters from A-Z a-z 0-9 . _ -'),
        value: z.number({ error: 'must be a finite number' }).refine(Number.isFinite, 'must be a finite number'),
      })
      .superRefine((row, ctx) => {
        const spec = KNOWN_METRICS[row.name];
        const problem = spec?.check(row.value);
        if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: `${row.name} ${problem}` });
      }),
  stage: (idx, r) => ({ idx, area: r.area, cells: [r.name, r.date, r.value] }),
};
