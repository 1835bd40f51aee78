import type { MultiPolygon } from 'geojson';
import type { Database } from '../src/db/database';
import { NewArea, reorganise } from '../src/db/reorganisations';
import { addDays, LocalDate } from '../src/domain/dates';
import { Record, timed } from './common';
import { NationalOptions } from './national';

/**
 * Issue 17's figure: the national set reorganised in the middle of its year — in every
 * district, the first third of its communes (by code) merged in threes into new communes
 * under the same district — the way a province's round of mergers looks. The retired
 * communes' reports from the day on are moved to their merged commune (summed), as a
 * province would send them after the change. Answers the day and the counts.
 */
export async function reorganiseNational(db: Database, o: NationalOptions, record: Record): Promise<{ date: LocalDate; retired: number; created: number }> {
  const from = addDays(o.end, -(o.days - 1));
  const E = addDays(from, Math.floor(o.days / 2));
  const k = db.knex;
  const groups = await k.raw<{ rows: { code: string; name: string; parent: string; population: number; predecessors: string[]; g: string }[] }>(
    `WITH c AS (
       SELECT a.id, a.code, a.population, a.geom, p.code AS parent,
              row_number() OVER (PARTITION BY a.parent_id ORDER BY a.code) - 1 AS i, count(*) OVER (PARTITION BY a.parent_id) AS n
       FROM areas a JOIN areas p ON p.id = a.parent_id WHERE a.kind = 'commune'),
     g AS (SELECT *, i / 3 AS grp FROM c WHERE i < 3 * round(n / 9.0))
     SELECT parent || '.M' || grp AS code, 'Xã hợp nhất ' || parent || '.' || grp AS name, parent, sum(population)::int AS population,
            array_agg(code ORDER BY code) AS predecessors,
            ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(geom)), 3)), 7) AS g
     FROM g GROUP BY parent, grp HAVING count(*) = 3 ORDER BY 1`,
  );
  const retire = groups.rows.flatMap((r) => r.predecessors);
  // the retired communes' reports from the day on are their merged commune's
  const moved = await timed(async () => {
    await k.raw(`DROP TABLE IF EXISTS bench_moved`);
    await k.raw(
      `CREATE TABLE bench_moved AS
       SELECT m.new_code, r.date, sum(r.community_cases)::int AS community_cases, sum(r.quarantine_cases)::int AS quarantine_cases, sum(r.deaths)::int AS deaths
       FROM reports r JOIN areas a ON a.id = r.area_id
       JOIN unnest(?::text[], ?::text[]) AS m(old_code, new_code) ON m.old_code = a.code
       WHERE r.date >= ?::date GROUP BY m.new_code, r.date`,
      [groups.rows.flatMap((r) => r.predecessors), groups.rows.flatMap((r) => r.predecessors.map(() => r.code)), E],
    );
    await k.raw(`DELETE FROM reports r USING areas a WHERE a.id = r.area_id AND a.code = ANY(?::text[]) AND r.date >= ?::date`, [retire, E]);
  });
  const areas: NewArea[] = groups.rows.map((r) => ({
    code: r.code,
    name: r.name,
    kind: 'commune',
    parent: r.parent,
    population: r.population,
    geometry: JSON.parse(r.g) as MultiPolygon,
    predecessors: r.predecessors.map((code) => ({ code, share: null })),
    newTerritory: false,
  }));
  const reorg = await timed(() => reorganise(db, { effective_date: E, retire, areas, reparent: [], recompute: true }, { actor: 'bench' }));
  await k.raw(
    `INSERT INTO reports (area_id, date, community_cases, quarantine_cases, deaths)
     SELECT a.id, m.date, m.community_cases, m.quarantine_cases, m.deaths FROM bench_moved m JOIN areas a ON a.code = m.new_code`,
  );
  await k.raw('DROP TABLE bench_moved');
  await k.raw('VACUUM ANALYZE reports');
  record(
    `national: reorganisation on ${E}: ${retire.length.toLocaleString('en')} communes merged into ${areas.length.toLocaleString('en')}`,
    `${(reorg.ms / 1000).toFixed(1)} s in one transaction (moving their reports from the day: ${(moved.ms / 1000).toFixed(1)} s)`,
  );
  return { date: E, retired: retire.length, created: areas.length };
}
