import { Database } from '../src/db/database';
import { importAreas, ImportAreasResult } from '../src/db/areas';
import { UpsertResult } from '../src/db/facts';
import { LocalDate } from '../src/domain/dates';
import { ingestMetrics, ingestReports } from '../src/ingest/ingest';
import { DemoCommune, generateDemoSeries } from './demo-series';
import { dongNaiAreas } from './dong-nai';
import { activateRuleSet, createFromPreset } from '../src/db/rulesets';
import { Job } from '../src/db/jobs';
import type { Recomputations } from '../src/jobs/recomputations';

export type SeedResult = { areas: ImportAreasResult; reports: UpsertResult; metrics: UpsertResult; from: LocalDate; to: LocalDate; seeds: string[] };

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

/** Loads the real Đồng Nai areas and the synthetic demo series ending on `end`. */
export async function seedDemo(db: Database, end: LocalDate, days = 90): Promise<SeedResult> {
  const areas = await importAreas(db, await dongNaiAreas(db.knex));
  const communes = await demoCommunes(db);
  const series = generateDemoSeries(communes, { end, days });
  const reports = await ingestReports(db, { json: series.reports }, end);
  const metrics = await ingestMetrics(db, { json: series.metrics }, end);
  const dates = series.reports.map((r) => r.date).sort();
  return { areas, reports, metrics, from: dates[0] as LocalDate, to: dates[dates.length - 1] as LocalDate, seeds: series.seeds };
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
