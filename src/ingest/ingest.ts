import { z } from 'zod';
import { Database } from '../db/database';
import { FactSpec, METRICS, REPORTS, RowSource, StagedRow, upsertFacts, UpsertResult } from '../db/facts';
import { addDays, LocalDate, today } from '../domain/dates';
import { badRequest, DetailCollector, unprocessable } from '../errors';
import { CsvReader, CsvRecord, CsvSyntaxError } from './csv';
import { metricFormat, reportFormat, RowFormat } from './rows';

/** Reports may be dated up to tomorrow (local): a day's report is sometimes filed early. */
export function latestAcceptedDate(timeZone: string, now = new Date()): LocalDate {
  return addDays(today(timeZone, now), 1);
}

function addZodIssues(errors: DetailCollector, prefix: string, error: z.ZodError): void {
  for (const issue of error.issues) {
    const path = issue.path.length ? `${prefix}.${issue.path.join('.')}` : prefix;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
    errors.add(path, message);
  }
}

/** Validates a JSON batch; problems go into `errors`, valid rows come back. */
export function rowsFromJson<T>(format: RowFormat<T>, items: unknown[], maxDate: LocalDate, errors: DetailCollector): StagedRow[] {
  const schema = format.schema(maxDate);
  const rows: StagedRow[] = [];
  for (let idx = 0; idx < items.length && !errors.full; idx++) {
    const parsed = schema.safeParse(items[idx]);
    if (parsed.success) rows.push(format.stage(idx, parsed.data));
    else addZodIssues(errors, `${format.kind}[${idx}]`, parsed.error);
  }
  return rows;
}

const NUMBER_RE = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

function csvHeader<T>(format: RowFormat<T>, record: CsvRecord | undefined): string[] {
  if (!record) throw unprocessable('the CSV is empty: a header line is required', [{ path: 'line[1]', message: `expected header ${format.required.join(',')}` }]);
  const header = record.fields.map((h) => h.trim());
  const known = new Set([...format.required, ...format.optional]);
  const problems: { path: string; message: string }[] = [];
  for (const h of header) if (!known.has(h)) problems.push({ path: 'line[1]', message: `unknown column "${h}" (allowed: ${[...known].join(', ')})` });
  for (const r of format.required) if (!header.includes(r)) problems.push({ path: 'line[1]', message: `missing column "${r}"` });
  if (new Set(header).size !== header.length) problems.push({ path: 'line[1]', message: 'a column appears twice' });
  if (problems.length) throw unprocessable('the CSV header is not valid', problems, 'invalid_csv_header');
  return header;
}

export const csvPath = (line: number, field: string) => `line[${line}].${field}`;

/**
 * Reads CSV text chunks into validated batches, streaming. Rows go through the format's
 * fast check; a row it does not accept goes through the zod schema, which either accepts
 * it or explains what is wrong. Problems go into `errors`; after the first one no more
 * rows are produced, but scanning goes on to list the first problems.
 */
export async function* rowsFromCsv<T>(
  format: RowFormat<T>,
  chunks: AsyncIterable<string> | Iterable<string>,
  maxDate: LocalDate,
  errors: DetailCollector,
  batchSize = 10_000,
): AsyncGenerator<StagedRow[]> {
  const schema = format.schema(maxDate);
  const reader = new CsvReader();
  let header: string[] | null = null;
  let fast: ((fields: string[], idx: number) => StagedRow | null) | null = null;
  let batch: StagedRow[] = [];

  const take = (records: CsvRecord[]) => {
    for (const rec of records) {
      if (header === null) {
        header = csvHeader(format, rec);
        fast = format.fastCsv(header, maxDate);
        continue;
      }
      if (rec.fields.length !== header.length) {
        errors.add(`line[${rec.line}]`, `expected ${header.length} fields, found ${rec.fields.length}`);
        continue;
      }
      const quick = (fast as (fields: string[], idx: number) => StagedRow | null)(rec.fields, rec.line);
      if (quick !== null) {
        if (errors.count === 0) batch.push(quick);
        continue;
      }
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < header.length; i++) {
        const col = header[i] as string;
        const cell = rec.fields[i] as string;
        if (cell === '') continue; // empty cell = absent (required ones are then reported)
        obj[col] = format.numeric.has(col) && NUMBER_RE.test(cell) ? Number(cell) : cell;
      }
      const parsed = schema.safeParse(obj);
      if (parsed.success) {
        if (errors.count === 0) batch.push(format.stage(rec.line, parsed.data));
      } else {
        addZodIssues(errors, `line[${rec.line}]`, parsed.error);
      }
    }
  };

  try {
    for await (const chunk of chunks) {
      take(reader.push(chunk));
      if (errors.full) return;
      if (batch.length >= batchSize) {
        if (errors.count === 0) yield batch;
        batch = [];
      }
    }
    take(reader.end());
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw badRequest(`CSV syntax error: ${e.message}`, [{ path: `line[${e.line}]`, message: e.message }], 'invalid_csv');
    throw e;
  }
  if (header === null) csvHeader(format, undefined);
  if (batch.length && errors.count === 0) yield batch;
}

const jsonPath = (kind: string) => (idx: number, field: string) => `${kind}[${idx}].${field}`;

export type FactsInput = { json: unknown[] } | { csv: AsyncIterable<string> | Iterable<string> };

async function ingest<T>(db: Database, spec: FactSpec, format: RowFormat<T>, input: FactsInput, maxDate: LocalDate): Promise<UpsertResult> {
  if ('json' in input) {
    const source: RowSource = (errors) => [rowsFromJson(format, input.json, maxDate, errors)];
    return upsertFacts(db, spec, source, { pathFor: jsonPath(format.kind) });
  }
  return upsertFacts(db, spec, (errors) => rowsFromCsv(format, input.csv, maxDate, errors), { pathFor: csvPath });
}

export const ingestReports = (db: Database, input: FactsInput, maxDate: LocalDate) => ingest(db, REPORTS, reportFormat, input, maxDate);
export const ingestMetrics = (db: Database, input: FactsInput, maxDate: LocalDate) => ingest(db, METRICS, metricFormat, input, maxDate);
