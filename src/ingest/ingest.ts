import { z } from 'zod';
import { Database } from '../db/database';
import { FactSpec, METRICS, REPORTS, StagedRow, upsertFacts, UpsertOptions, UpsertResult } from '../db/facts';
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

/** Validates a JSON batch; every problem is reported, nothing is staged if one exists. */
export function rowsFromJson<T>(format: RowFormat<T>, items: unknown[], maxDate: LocalDate): StagedRow[] {
  const schema = format.schema(maxDate);
  const errors = new DetailCollector();
  const rows: StagedRow[] = [];
  items.forEach((item, idx) => {
    if (errors.full) return;
    const parsed = schema.safeParse(item);
    if (parsed.success) rows.push(format.stage(idx, parsed.data));
    else addZodIssues(errors, `${format.kind}[${idx}]`, parsed.error);
  });
  errors.throwIfAny((n) => `${n} invalid value(s) in ${format.kind}`);
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
 * Reads CSV text chunks into validated batches, streaming. An invalid row stops output
 * but scanning goes on to collect the first errors; then the iterator throws, which
 * rolls back the transaction consuming it.
 */
export async function* rowsFromCsv<T>(
  format: RowFormat<T>,
  chunks: AsyncIterable<string> | string[],
  maxDate: LocalDate,
  batchSize = 10_000,
  onRecords?: (count: number) => void,
): AsyncGenerator<StagedRow[]> {
  const schema = format.schema(maxDate);
  const reader = new CsvReader();
  const errors = new DetailCollector();
  let header: string[] | null = null;
  let batch: StagedRow[] = [];
  let seen = 0;

  const take = (records: CsvRecord[]) => {
    for (const rec of records) {
      if (header === null) {
        header = csvHeader(format, rec);
        continue;
      }
      seen++;
      if (rec.fields.length !== header.length) {
        errors.add(`line[${rec.line}]`, `expected ${header.length} fields, found ${rec.fields.length}`);
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
      if (errors.full) break;
      if (batch.length >= batchSize && errors.count === 0) {
        onRecords?.(seen);
        yield batch;
        batch = [];
      }
    }
    if (!errors.full) take(reader.end());
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw badRequest(`CSV syntax error: ${e.message}`, [{ path: `line[${e.line}]`, message: e.message }], 'invalid_csv');
    throw e;
  }
  if (header === null) csvHeader(format, undefined);
  errors.throwIfAny((n) => `${n} invalid value(s) in the CSV`);
  onRecords?.(seen);
  if (batch.length) yield batch;
}

const jsonPath = (kind: string) => (idx: number, field: string) => `${kind}[${idx}].${field}`;

type Source = { json: unknown[] } | { csv: AsyncIterable<string> | string[] };

async function ingest<T>(
  db: Database,
  spec: FactSpec,
  format: RowFormat<T>,
  source: Source,
  maxDate: LocalDate,
  extra: Partial<UpsertOptions> = {},
): Promise<UpsertResult> {
  if ('json' in source) {
    const rows = rowsFromJson(format, source.json, maxDate);
    return upsertFacts(db, spec, [rows], { pathFor: jsonPath(format.kind), ...extra });
  }
  return upsertFacts(db, spec, rowsFromCsv(format, source.csv, maxDate), { pathFor: csvPath, ...extra });
}

export const ingestReports = (db: Database, source: Source, maxDate: LocalDate, extra?: Partial<UpsertOptions>) =>
  ingest(db, REPORTS, reportFormat, source, maxDate, extra);

export const ingestMetrics = (db: Database, source: Source, maxDate: LocalDate, extra?: Partial<UpsertOptions>) =>
  ingest(db, METRICS, metricFormat, source, maxDate, extra);
