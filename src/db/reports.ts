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

export async function listReports(knex: Knex, code: string, range: Range, withRevisions: boolean): Promise<ReportItem[]> {
  const id = await requireArea(knex, code);
  const q = knex('reports')
    .where('area_id', id)
    .orderBy('date')
    .select('date', 'community_cases', 'quarantine_cases', 'deaths', 'source', 'revision', 'recorded_at');
  inRange(q, range);
  const rows = (await q) as (Omit<ReportItem, 'recorded_at'> & { recorded_at: Date })[];
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
