import { decodeCursor, getAreaFeature, importAreas, ImportAreasOptions, listAreas, ListAreasQuery } from '../db/areas';
import type { AreaInput } from '../geo/features';
import type { Actor } from '../db/audit';
import { listMetrics, listReports } from '../db/reports';
import { LocalDate, today } from '../domain/dates';
import { FactsInput, IngestBy, ingestMetrics, ingestReports, latestAcceptedDate } from '../ingest/ingest';
import type { Runtime } from '../runtime';

/** Areas (polygons with hierarchy and population), their daily reports and indicators. */

export function storeAreas(rt: Runtime, areas: AreaInput[], actor: Actor, options: Omit<ImportAreasOptions, 'actor'> = {}) {
  return importAreas(rt.db, areas, { ...options, actor });
}

/** The areas in force on `date` (default today in TZ_REPORTING), with that day's parents. */
export function areas(rt: Runtime, q: Omit<ListAreasQuery, 'cursor' | 'date'> & { cursor?: string | undefined; date?: LocalDate | undefined }) {
  return listAreas(rt.db.read, { ...q, date: q.date ?? today(rt.config.reportingTimeZone), cursor: q.cursor === undefined ? undefined : decodeCursor(q.cursor) });
}

export function areaFeature(rt: Runtime, code: string, date?: LocalDate) {
  return getAreaFeature(rt.db.read, code, date);
}

type Range = { from?: LocalDate | undefined; to?: LocalDate | undefined };

export async function reports(rt: Runtime, code: string, range: Range, withRevisions: boolean) {
  return { items: await listReports(rt.db.read, code, range, withRevisions) };
}

export async function metrics(rt: Runtime, code: string, range: Range, name: string | undefined) {
  return { items: await listMetrics(rt.db.read, code, range, name) };
}

/**
 * Late or corrected data: the classified days it affects are queued for recomputation (one
 * pending job per affected range, however many writes) and run by a job process.
 */
async function lateData(rt: Runtime, earliest: LocalDate | null) {
  const job = await rt.recomputations.afterIngest(earliest);
  if (job) rt.jobs.kick();
  return job ? { job: job.id, from: job.params.from, to: job.params.to } : null;
}

/** Daily reports, JSON or CSV, upserted all or nothing (dates up to tomorrow in TZ_REPORTING). */
export async function storeReports(rt: Runtime, input: FactsInput, by: IngestBy) {
  const result = await ingestReports(rt.db, input, latestAcceptedDate(rt.config.reportingTimeZone), by);
  return { ...result, recompute: await lateData(rt, result.earliest_changed_date) };
}

/** Indicators, JSON or CSV, upserted all or nothing. */
export async function storeMetrics(rt: Runtime, input: FactsInput, by: IngestBy) {
  const result = await ingestMetrics(rt.db, input, latestAcceptedDate(rt.config.reportingTimeZone), by);
  return { ...result, recompute: await lateData(rt, result.earliest_changed_date) };
}
