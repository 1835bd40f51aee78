import { Database } from '../src/db/database';
import { importAreas, ImportAreasResult } from '../src/db/areas';
import { UpsertResult } from '../src/db/facts';
import { LocalDate } from '../src/domain/dates';
import { ingestMetrics, ingestReports } from '../src/ingest/ingest';
import { reorganise } from '../src/db/reorganisations';
import { arrayBindings } from '../src/db/knex';
import { DemoCommune, generateDemoSeries } from './demo-series';
import { dongNaiAreas } from './dong-nai';
import { demo2025Days, dongNai2025Mapping, dongNai2025Plan, metricsOnNewMap, REORGANISATION_DATE, reportsOnNewMap } from './dong-nai-2025';
import { activateRuleSet, createFromPreset } from '../src/db/rulesets';
import { Job } from '../src/db/jobs';
import type { Recomputations } from '../src/jobs/recomputations';

/** `reorganised`: the demo ends on today's map, reorganised on 1 July 2025 (seeds/dong-nai-2025.ts) by this call or an earlier one. */
export type SeedResult = { areas: ImportAreasResult; reports: UpsertResult; metrics: UpsertResult; from: LocalDate; to: LocalDate; seeds: string[]; reorganised: boolean };

/** Communes that touch (or nearly touch: the coarse polygons leave gaps) are neighbours. */
async function demoCommunes(db: Database): Promise<DemoCommune[]> {
  const rows = await db.knex.raw<{ rows: { code: string; district: string; population: number; neighbours: string[] | null }[] }>(
    `SELECT a.code, d.code AS district, a.population,
            (SELECT array_agg(b.code ORDER BY b.code) FROM areas b
              WHERE b.kind = 'commune' AND b.id <> a.id AND ST_DWithin(a.geom, b.geom, 0.002)) AS neighbours
     FROM areas a JOIN areas d ON d.id = a.parent_id
     WHERE a.kind = 'commune' AND a.population > 0
     ORDER BY a.code`,
  );
  return rows.rows.map((r) => ({ ...r, neighbours: r.neighbours ?? [] }));
}

/**
 * Loads the real Đồng Nai areas and the synthetic demo series ending on `end`.
 *
 * A series ending before 1 July 2025 is the 2021 demo on the old map: `days` (default 90)
 * days on the 171 communes, indicators on the 11 districts. One ending on or after it is
 * today's map (seedDemo2025).
 */
export async function seedDemo(db: Database, end: LocalDate, days?: number): Promise<SeedResult> {
  if (end >= REORGANISATION_DATE) return seedDemo2025(db, end, days);
  const areas = await importAreas(db, await dongNaiAreas(db.knex));
  const communes = await demoCommunes(db);
  const series = generateDemoSeries(communes, { end, days: days ?? 90 });
  const reports = await ingestReports(db, { json: series.reports }, end);
  const metrics = await ingestMetrics(db, { json: series.metrics }, end);
  const dates = series.reports.map((r) => r.date).sort();
  return { areas, reports, metrics, from: dates[0] as LocalDate, to: dates[dates.length - 1] as LocalDate, seeds: series.seeds, reorganised: false };
}

/** As demoCommunes, over these communes only (the old map's, retired or not: the series is generated on them). */
async function demoCommunesAmong(db: Database, codes: string[]): Promise<DemoCommune[]> {
  const rows = await db.knex.raw<{ rows: { code: string; district: string; population: number; neighbours: string[] | null }[] }>(
    `SELECT a.code, d.code AS district, a.population,
            (SELECT array_agg(b.code ORDER BY b.code) FROM areas b
              WHERE b.code = ANY(?::text[]) AND b.id <> a.id AND ST_DWithin(a.geom, b.geom, 0.002)) AS neighbours
     FROM areas a JOIN areas d ON d.id = a.parent_id
     WHERE a.code = ANY(?::text[]) AND a.kind = 'commune' AND a.population > 0
     ORDER BY a.code`,
    arrayBindings([codes, codes]),
  );
  return rows.rows.map((r) => ({ ...r, neighbours: r.neighbours ?? [] }));
}

const ZERO: UpsertResult = { inserted: 0, updated: 0, unchanged: 0, earliest_changed_date: null };

function addUpserts(a: UpsertResult, b: UpsertResult): UpsertResult {
  const dates = [a.earliest_changed_date, b.earliest_changed_date].filter((d): d is LocalDate => d !== null).sort();
  return { inserted: a.inserted + b.inserted, updated: a.updated + b.updated, unchanged: a.unchanged + b.unchanged, earliest_changed_date: dates[0] ?? null };
}

/**
 * The demo on today's map: the old areas imported, the series generated on the old
 * communes over the whole span (so that the waves run on across the date), the old
 * communes' reports and the districts' indicators dated before 1 July 2025 ingested, the
 * map reorganised (dong-nai-2025.ts), then the later reports summed onto the 55 new
 * communes and their indicators (weekly from 1 July 2025) derived from the districts'.
 * In that order: the reorganisation refuses facts of retired areas on or after the date.
 * Run again over a database already reorganised, it skips the reorganisation (the facts are
 * upserted as before).
 */
async function seedDemo2025(db: Database, end: LocalDate, daysIn?: number): Promise<SeedResult> {
  const days = demo2025Days(end, daysIn);
  const E = REORGANISATION_DATE;
  const mapping = dongNai2025Mapping();
  const oldAreas = await dongNaiAreas(db.knex);
  const oldCommuneCodes = oldAreas.filter((a) => a.kind === 'commune').map((a) => a.code);
  const newCodes = mapping.communes.map((c) => c.code);
  const existing = await db.knex.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM areas WHERE code = ANY(?::text[])', arrayBindings([newCodes]));
  const done = (existing.rows[0]?.n ?? 0) === newCodes.length;
  const areas = await importAreas(db, oldAreas);
  const communes = await demoCommunesAmong(db, oldCommuneCodes);
  const series = generateDemoSeries(communes, { end, days, weeklyOn: E });

  const oldReports = series.reports.filter((r) => r.date < E);
  const oldMetrics = series.metrics.filter((m) => m.date < E);
  let reports = oldReports.length ? await ingestReports(db, { json: oldReports }, end) : ZERO;
  let metrics = oldMetrics.length ? await ingestMetrics(db, { json: oldMetrics }, end) : ZERO;

  if (!done) await reorganise(db, await dongNai2025Plan(db.knex, oldAreas, mapping), { actor: 'seed' });

  const newReports = reportsOnNewMap(series.reports, mapping);
  const newMetrics = metricsOnNewMap(series.metrics, communes, mapping);
  if (newReports.length) reports = addUpserts(reports, await ingestReports(db, { json: newReports }, end));
  if (newMetrics.length) metrics = addUpserts(metrics, await ingestMetrics(db, { json: newMetrics }, end));
  const dates = series.reports.map((r) => r.date).sort();
  return { areas, reports, metrics, from: dates[0] as LocalDate, to: dates[dates.length - 1] as LocalDate, seeds: series.seeds, reorganised: true };
}

/**
 * Puts vn-moh-4800-2021 in force from the first demo day and classifies the demo period, so
 * that a fresh install has levels to show.
 */
export async function classifyDemo(db: Database, from: LocalDate, to: LocalDate, recomputations: Recomputations): Promise<Job> {
  const { rule_set } = await createFromPreset(db, 'vn-moh-4800-2021');
  await activateRuleSet(db, rule_set.id, from);
  return recomputations.runJob(await recomputations.createJob(from, to, 'demo'));
}
