import { Knex } from 'knex';

/**
 * The check that every new row of zone_levels refers to an area, a rule set and a job that
 * exist (the statement trigger over the transition table; migrations 20261123000002 and
 * 20261203000020) proves the areas by their range, not id by id (issue 19):
 *
 * - one pass over the day's rows takes the lowest and highest area id, rule set and job (no
 *   DISTINCT: the rows are not sorted; rule sets compared bytewise, COLLATE "C", as only their
 *   equality is used);
 * - when every integer from the lowest to the highest area id is an area (their count from
 *   the primary key equals the range's length), every row's area exists; otherwise (areas'
 *   ids with gaps: an area deleted, an import rolled back) each row's area is looked up;
 * - one rule set and one job (a run's day) are each found with one lookup; several are
 *   checked row by row, as before.
 *
 * Measured on the national bench set (one day's 11,360 rows COPYed ten times into a copy of
 * zone_levels with each version of the trigger; the best five): no trigger 18.5–20.0 ms a
 * statement; migration 20's check 26.2–33.1 ms (+12 ms); this one 21.4–24.5 ms (+2–3 ms), of
 * which the one pass is ~0.5 ms and the range count ~1 ms. With `track_functions = 'pl'` over
 * a 365-day backfill, migration 20's function took 5.8 s of the server's time, this one 1.45 s.
 *
 * Where the range has a gap, the row-by-row lookup costs what migration 20's check did (+7–12
 * ms a day; tried instead: listing the gaps' ids with a window over the key and looking rows
 * up in that list, +16–20 ms). Ids have gaps where an area was made in a transaction that
 * rolled back; an area import no longer takes an id for each area it updates (src/db/areas.ts:
 * an update and an insert rather than an upsert, which drew an id for every row).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_check_zone_level_refs() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      s record;
    BEGIN
      SELECT min(area_id) AS a0, max(area_id) AS a1, min(rule_set_id COLLATE "C") AS r0, max(rule_set_id COLLATE "C") AS r1,
             min(job_id) AS j0, max(job_id) AS j1
        INTO s FROM new_rows;
      IF s.a0 IS NULL THEN
        RETURN NULL; -- no rows
      END IF;
      IF ((SELECT count(*) FROM areas WHERE id BETWEEN s.a0 AND s.a1) <> s.a1::bigint - s.a0 + 1
          AND EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.id = n.area_id)))
         OR (s.r0 = s.r1 AND NOT EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = s.r0))
         OR (s.r0 <> s.r1 AND EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = n.rule_set_id)))
         OR (s.j0 = s.j1 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.j0))
         OR (s.j0 <> s.j1 AND EXISTS (SELECT 1 FROM new_rows n WHERE n.job_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = n.job_id))) THEN
        RAISE EXCEPTION 'insert on table "zone_levels" refers to an area, rule set or job that does not exist' USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
}

/** Migration 20's check again. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_check_zone_level_refs() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      s record;
    BEGIN
      SELECT array_agg(DISTINCT area_id) AS areas, min(rule_set_id) AS r0, max(rule_set_id) AS r1, min(job_id) AS j0, max(job_id) AS j1
        INTO s FROM new_rows;
      IF cardinality(s.areas) <> (SELECT count(*) FROM areas WHERE id = ANY (s.areas))
         OR (s.r0 = s.r1 AND NOT EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = s.r0))
         OR (s.r0 <> s.r1 AND EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = n.rule_set_id)))
         OR (s.j0 = s.j1 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.j0))
         OR (s.j0 <> s.j1 AND EXISTS (SELECT 1 FROM new_rows n WHERE n.job_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = n.job_id))) THEN
        RAISE EXCEPTION 'insert on table "zone_levels" refers to an area, rule set or job that does not exist' USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
}
