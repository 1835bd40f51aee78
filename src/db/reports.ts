import { Knex } from 'knex';
import type { LocalDate } from '../domain/dates';
import { notFound } from '../errors';
import { areaId } from './areas';

export type ReportItem = {
  date: LocalDate;
  community_cases: number;
  quarantine_cases: number;
  deaths: number | null;
  source: string | null;
  revision: number;
  recorded_at: string;
  revisions?: ReportRevision[];
};

export type ReportRevision = Omit<ReportItem, 'date' | 'revisions'> & { superseded_at: string };

export type MetricItem = { date: LocalDate; name: string; value: number; revision: number; recorded_at: string };

type Range = { from?: LocalDate | undefined; to?: LocalDate | undefined };

async function requireArea(knex: Knex, code: string): Promise<number> {
  const id = await areaId(knex, code);
  if (id === null) throw notFound(`no area has code ${code}`);
  return id;
}

function inRange(q: Knex.QueryBuilder, range: Range): void {
  if (range.from) q.where('date', '>=', range.from);
  if (range.to) q.where('date', '<=', range.to);
}

const iso = (d: Date) => d.toISOString();

/**
 * An area's reports over a range (open ends: the first and last day any report has), with
 * their revisions if asked. The reports' key is (date, area_id): they are read by one probe
 * of it per day of the range, which stays a few ms for a year (read by area alone, the whole
 * table was scanned: 0.4 s for a year of the national bench set, whatever the range).
 */
export async function listReports(knex: Knex, code: string, range: Range, withRevisions: boolean): Promise<ReportItem[]> {
  const id = await requireArea(knex, code);
  const res = await knex.raw<{ rows: (Omit<ReportItem, 'recorded_at'> & { recorded_at: Date })[] }>(
    `SELECT r.date, r.community_cases, r.quarantine_cases, r.deaths, r.source, r.revision, r.recorded_at
     FROM generate_series(greatest(?::date, (SELECT min(date) FROM reports)), least(?::date, (SELECT max(date) FROM reports)), interval '1 day') AS d(day)
     CROSS JOIN LATERAL (SELECT * FROM reports WHERE date = d.day::date AND area_id = ?) r
     ORDER BY r.date`,
    [range.from ?? null, range.to ?? null, id],
  );
  const rows = res.rows;
  const items: ReportItem[] = rows.map((r) => ({ ...r, recorded_at: iso(r.recorded_at) }));
  if (!withRevisions) return items;
  const rq = knex('report_revisions')
    .where('area_id', id)
    .orderBy(['date', 'revision'])
    .select('date', 'revision', 'community_cases', 'quarantine_cases', 'deaths', 'source', 'recorded_at', 'superseded_at');
  inRange(rq, range);
  const revs = (await rq) as (Omit<ReportRevision, 'recorded_at' | 'superseded_at'> & { date: LocalDate; recorded_at: Date; superseded_at: Date })[];
  const byDate = new Map<string, ReportRevision[]>();
  for (const { date, ...r } of revs) {
    const list = byDate.get(date) ?? [];
    list.push({ ...r, recorded_at: iso(r.recorded_at), superseded_at: iso(r.superseded_at) });
    byDate.set(date, list);
  }
  return items.map((i) => ({ ...i, revisions: byDate.get(i.date) ?? [] }));
}

export async function listMetrics(knex: Knex, code: string, range: Range, name?: string): Promise<MetricItem[]> {
  const id = await requireArea(knex, code);
  const q = knex('metrics').where('area_id', id).orderBy(['name', 'date']).select('date', 'name', 'value', 'revision', 'recorded_at');
  if (name) q.where('name', name);
  inRange(q, range);
  const rows = (await q) as (Omit<MetricItem, 'recorded_at'> & { recorded_at: Date })[];
  return rows.map((r) => ({ ...r, recorded_at: iso(r.recorded_at) }));
}
