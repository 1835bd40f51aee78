import { z } from 'zod';
import { Database } from '../db/database';
import { FactSink, FactSpec, METRICS, REPORTS, RowSource, StagedRow, upsertFacts, UpsertResult } from '../db/facts';
import type { ByteLane } from './lane';
import { addDays, LocalDate, today } from '../domain/dates';
import { badRequest, DetailCollector, unprocessable } from '../errors';
import type { Actor } from '../db/audit';
import type { BatchSource } from '../db/imports';
import { countLineEnds, CsvReader, CsvRecord, CsvSyntaxError, Utf8Problem, utf8Problem } from './csv';
import { metricFormat, reportFormat, RowFormat } from './rows';
import { slicer } from '../streams';
import { issueText } from '../domain/issues';

/** Reports may be dated up to tomorrow (local): a day's report is sometimes filed early. */
export function latestAcceptedDate(timeZone: string, now = new Date()): LocalDate {
  return addDays(today(timeZone, now), 1);
}

function addZodIssues(errors: DetailCollector, prefix: string, error: z.ZodError): void {
  for (const issue of error.issues) {
    const path = issue.path.length ? `${prefix}.${issue.path.join('.')}` : prefix;
    errors.add(path, issue.message); // Vietnamese — English (issueText), or the schema's own
  }
}

/** Validates a JSON batch; problems go into `errors`, valid rows come back. */
export async function rowsFromJson<T>(format: RowFormat<T>, items: unknown[], maxDate: LocalDate, errors: DetailCollector): Promise<StagedRow[]> {
  const schema = format.schema(maxDate);
  const rows: StagedRow[] = [];
  const slice = slicer();
  for (let idx = 0; idx < items.length && !errors.full; idx++) {
    const parsed = schema.safeParse(items[idx], { error: issueText });
    if (parsed.success) rows.push(format.stage(idx, parsed.data));
    else addZodIssues(errors, `${format.kind}[${idx}]`, parsed.error);
    if ((idx & 255) === 255) await slice();
  }
  return rows;
}

/*
 * Measured (a 31 MB JSON body of 360,847 reports, /health asked every 10 ms): checking the
 * rows held the event loop 0.6–0.8 s at once, staging them 0.14–0.28 s; both now pause every
 * SLICE_MS (streams.ts slicer).
 */

const NUMBER_RE = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

function csvHeader<T>(format: RowFormat<T>, record: CsvRecord | undefined): string[] {
  if (!record) throw unprocessable('Tệp CSV trống: cần một dòng tiêu đề — the CSV is empty: a header line is required', [{ path: 'line[1]', message: `expected header ${format.required.join(',')}` }]);
  const header = record.fields.map((h) => h.trim());
  const known = new Set([...format.required, ...format.optional]);
  const problems: { path: string; message: string }[] = [];
  for (const h of header) if (!known.has(h)) problems.push({ path: 'line[1]', message: `unknown column "${h}" (allowed: ${[...known].join(', ')})` });
  for (const r of format.required) if (!header.includes(r)) problems.push({ path: 'line[1]', message: `missing column "${r}"` });
  if (new Set(header).size !== header.length) problems.push({ path: 'line[1]', message: 'a column appears twice' });
  if (problems.length) throw unprocessable('Dòng tiêu đề CSV không hợp lệ — the CSV header is not valid', problems, 'invalid_csv_header');
  return header;
}

export const csvPath = (line: number, field: string) => `line[${line}].${field}`;

type Chunks = AsyncIterable<string | Buffer> | Iterable<string | Buffer>;

/**
 * Whether lines (valid UTF-8) can be read byte-wise: no quotes (so a comma always
 * separates fields and a newline always ends a record), no lone CR. Otherwise the full
 * RFC 4180 reader takes over from there.
 */
function plainLines(buf: Buffer): boolean {
  if (buf.indexOf(34) >= 0) return false;
  for (let i = buf.indexOf(13); i >= 0; i = buf.indexOf(13, i + 1)) if (buf[i + 1] !== 10) return false;
  return true;
}

/** Bytes that are not UTF-8: the whole input is refused, naming the line (never stored as U+FFFD). */
export class CsvEncodingError extends Error {
  constructor(readonly problem: Utf8Problem) {
    const hex = problem.byte.toString(16).toUpperCase().padStart(2, '0');
    super(`line ${problem.line}: byte 0x${hex} at byte ${problem.column} of the line is not UTF-8`);
  }
}

/**
 * Reads a CSV byte stream into the sink. The input is cut after its last newline so far;
 * those whole lines must be UTF-8 (else the whole input is refused, naming the first bad
 * line). Plain lines are split on commas where they lie;
 * a row goes through the format's byte lane (no strings made) or its fast string check,
 * and what neither accepts goes through the zod schema, which accepts it or explains what
 * is wrong. Once the input has a quote or a lone CR, the rest goes through
 * the RFC 4180 reader. After the first problem no more rows are kept, but reading goes
 * on to list the first problems.
 */
class CsvRows<T> {
  private readonly schema: z.ZodType<T>;
  private header: string[] | null = null;
  private fast: ((fields: string[], idx: number) => StagedRow | null) | null = null;
  private lane: ByteLane | null = null;
  private general: CsvReader | null = null;
  private carry: Buffer | null = null;
  private line = 1; // the number of the next line (of the next byte given to whole())
  private atStart = true;

  constructor(
    private readonly format: RowFormat<T>,
    private readonly maxDate: LocalDate,
    private readonly sink: FactSink,
  ) {
    this.schema = format.schema(maxDate);
  }

  push(chunk: Buffer): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const end = buf.lastIndexOf(10) + 1;
    this.carry = end < buf.length ? buf.subarray(end) : null;
    if (end > 0) this.whole(buf.subarray(0, end));
  }

  end(): void {
    if (this.carry) this.whole(this.carry);
    this.carry = null;
    if (this.general) this.records(this.general.end());
    if (this.header === null) csvHeader(this.format, undefined);
  }

  /** Whole lines (the last may lack its newline only at the end of input): UTF-8 or refused, then read. */
  private whole(buf: Buffer): void {
    let bytes = buf;
    if (this.atStart && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) bytes = buf.subarray(3);
    this.atStart = false;
    const bad = utf8Problem(bytes, this.line);
    if (bad) throw new CsvEncodingError(bad);
    if (this.general) {
      this.line += countLineEnds(bytes);
      this.records(this.general.push(bytes.toString('utf8')));
    } else this.lines(bytes);
  }

  /** Whole lines of valid UTF-8, read byte-wise while they are plain. */
  private lines(buf: Buffer): void {
    let s = 0;
    if (!plainLines(buf)) {
      this.general = new CsvReader(this.line, false);
      this.line += countLineEnds(buf);
      this.records(this.general.push(buf.toString('utf8')));
      return;
    }
    const { errors } = this.sink;
    while (s < buf.length && !errors.full) {
      const nl = buf.indexOf(10, s);
      const next = nl < 0 ? buf.length : nl + 1;
      let e = nl < 0 ? buf.length : nl;
      if (e > s && buf[e - 1] === 13) e--;
      const line = this.line++;
      if (e > s) {
        if (this.lane?.parse(buf, s, e)) this.sink.addEncoded(line, this.lane);
        else this.record({ line, fields: buf.toString('utf8', s, e).split(',') });
      }
      s = next;
    }
  }

  private records(records: CsvRecord[]): void {
    for (const rec of records) this.record(rec);
  }

  private record(rec: CsvRecord): void {
    const { format, sink } = this;
    if (this.header === null) {
      this.header = csvHeader(format, rec);
      this.fast = format.fastCsv(this.header, this.maxDate);
      if (format.byteLane) this.lane = format.byteLane(this.header, this.maxDate, sink);
      return;
    }
    const header = this.header;
    if (rec.fields.length !== header.length) {
      sink.errors.add(`line[${rec.line}]`, `expected ${header.length} fields, found ${rec.fields.length}`);
      return;
    }
    const quick = (this.fast as (fields: string[], idx: number) => StagedRow | null)(rec.fields, rec.line);
    if (quick !== null) return sink.add(quick);
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) {
      const col = header[i] as string;
      const cell = rec.fields[i] as string;
      if (cell === '') continue; // empty cell = absent (required ones are then reported)
      obj[col] = format.numeric.has(col) && NUMBER_RE.test(cell) ? Number(cell) : cell;
    }
    const parsed = this.schema.safeParse(obj, { error: issueText });
    if (parsed.success) sink.add(format.stage(rec.line, parsed.data));
    else addZodIssues(sink.errors, `line[${rec.line}]`, parsed.error);
  }
}

function notUtf8(e: CsvEncodingError) {
  const { line } = e.problem;
  return badRequest(`Tệp CSV không phải UTF-8 (dòng ${line}); nothing was written — the CSV is not UTF-8: save it as "CSV UTF-8"`, [{ path: `line[${line}]`, message: e.message }], 'invalid_utf8');
}

/** A whole CSV's refusal as not UTF-8 (the same as the ingest's), or null when it is UTF-8. */
export function utf8Refusal(bytes: Buffer) {
  const bad = utf8Problem(bytes.subarray(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0));
  return bad ? notUtf8(new CsvEncodingError(bad)) : null;
}

/** A CSV stream (text or bytes, in chunks of any size) as a row source. */
export function csvSource<T>(format: RowFormat<T>, chunks: Chunks, maxDate: LocalDate): RowSource {
  return async (sink) => {
    await sink.loadAreas('all');
    const rows = new CsvRows(format, maxDate, sink);
    try {
      for await (const chunk of chunks) {
        rows.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        if (sink.errors.full) return;
        await sink.settle();
      }
      rows.end();
    } catch (e) {
      if (e instanceof CsvSyntaxError) throw badRequest(`CSV syntax error: ${e.message}`, [{ path: `line[${e.line}]`, message: e.message }], 'invalid_csv');
      if (e instanceof CsvEncodingError) throw notUtf8(e);
      throw e;
    }
  };
}

const jsonPath = (kind: string) => (idx: number, field: string) => `${kind}[${idx}].${field}`;

export type FactsInput = { json: unknown[] } | { csv: Chunks };

/** Who writes, (for a reporter key) the areas it may write, and the file read (recorded as the import's batch). */
export type IngestBy = { actor?: Actor; scope?: number[] | null; batch?: BatchSource };

async function ingest<T>(db: Database, spec: FactSpec, format: RowFormat<T>, input: FactsInput, maxDate: LocalDate, by: IngestBy): Promise<UpsertResult> {
  const { scope, actor, batch } = by;
  if ('json' in input) {
    const json = input.json;
    const source: RowSource = async (sink) => {
      const rows = await rowsFromJson(format, json, maxDate, sink.errors);
      await sink.loadAreas(rows.map((r) => r.area));
      const slice = slicer();
      for (let k = 0; k < rows.length; k++) {
        sink.add(rows[k] as StagedRow);
        if ((k & 255) === 255) await slice();
      }
    };
    return upsertFacts(db, spec, source, { pathFor: jsonPath(format.kind), scope, actor, batch });
  }
  return upsertFacts(db, spec, csvSource(format, input.csv, maxDate), { pathFor: csvPath, scope, actor, batch });
}

/** `by.scope`: a reporter key's areas (rows outside them are refused, 403); `by.actor` for the audit trail. */
export const ingestReports = (db: Database, input: FactsInput, maxDate: LocalDate, by: IngestBy = {}) => ingest(db, REPORTS, reportFormat, input, maxDate, by);
export const ingestMetrics = (db: Database, input: FactsInput, maxDate: LocalDate, by: IngestBy = {}) => ingest(db, METRICS, metricFormat, input, maxDate, by);
