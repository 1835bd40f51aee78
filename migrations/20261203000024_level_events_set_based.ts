import { Knex } from 'knex';
import { LEVEL_EVENTS_FORMED } from './20261202000016_areas_over_time';

/**
 * The level-event trigger (`zonerisk_level_events`, migrations 20261123000007, 14 and 16)
 * reads the levels it compares with once per day of the statement, not twice per row (issue
 * 19). A day is recomputed in one statement of ~11,000 rows for a country; for the days of
 * the last week (the only ones that raise events: the daily job's every day) the trigger
 * looked each new row's area up twice in `zone_levels` — its earlier version of the day, its
 * level the day before — and the plan's estimated cost made PostgreSQL compile it with JIT
 * each time.
 *
 * Now, for each day of the statement within the last week:
 *
 * - `same`: the day as it stood before the statement — each area's latest version written
 *   before the statement's rows (a statement's rows share one instant: `computed_at` is the
 *   transaction's, never given by the writer; versions before the earliest of them if not);
 * - `prev`: each area's latest version of the day before (this statement's rows included,
 *   as before);
 * - `formed`: for an area formed that day, its predecessors' worst level the day before
 *   (migration 16), looked up per lineage row as before (a handful);
 *
 * each read once for the day (the day and the day before by the `(date, area_id,
 * computed_at DESC)` index), then joined with the new rows. An event is raised where the
 * level moved, as before:
 * from `coalesce(same, prev, formed)` ('unknown' when none) to the new level, with `change`
 * only when the day was not written before; in day, then area order. The function runs with
 * `jit = off`: a day's rows cost less to handle than to compile for.
 *
 * Measured on the national bench set (one day's 11,360 rows inserted as today with the day
 * before stored, rolled back, `VACUUM` between; four inserts a session, five sessions each,
 * interleaved): a day's insert took 105–234 ms with migration 16's trigger, 50–128 ms with
 * this one, 34–88 ms with none — the trigger's own share cut to a third or less. A statement
 * with no day of the last week (a backfill's older days) costs what it did: one pass over its
 * dates.
 */
const LEVELS = "ARRAY['green', 'yellow', 'orange', 'red']";

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_level_events() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
    DECLARE
      d date;
      first_written timestamptz;
    BEGIN
      FOR d, first_written IN SELECT date, min(computed_at) FROM new_rows WHERE date >= current_date - 7 GROUP BY date ORDER BY date LOOP
        INSERT INTO level_events (area_id, date, from_level, to_level, reason, change, rule_set_id, job_id)
        SELECT n.area_id, n.date, coalesce(s.level, p.level, f.level), n.level, n.reason,
               CASE WHEN s.level IS NULL THEN n.change END, n.rule_set_id, n.job_id
        FROM (SELECT area_id, date, level, reason, change, rule_set_id, job_id FROM new_rows WHERE date = d) n
        LEFT JOIN (SELECT DISTINCT ON (z.area_id) z.area_id, z.level FROM zone_levels z
                   WHERE z.date = d AND z.computed_at < first_written ORDER BY z.area_id, z.computed_at DESC) s ON s.area_id = n.area_id
        LEFT JOIN (SELECT DISTINCT ON (z.area_id) z.area_id, z.level FROM zone_levels z
                   WHERE z.date = d - 1 ORDER BY z.area_id, z.computed_at DESC) p ON s.level IS NULL AND p.area_id = n.area_id
        LEFT JOIN (SELECT li.area_id, (${LEVELS})[max(array_position(${LEVELS}, pz.level))] AS level
                   FROM area_lineage li
                   CROSS JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = li.predecessor_id AND z.date = d - 1
                                       ORDER BY z.computed_at DESC LIMIT 1) pz
                   WHERE li.date = d GROUP BY li.area_id) f ON s.level IS NULL AND p.level IS NULL AND f.area_id = n.area_id
        WHERE coalesce(s.level, p.level, f.level, 'unknown') IS DISTINCT FROM n.level
        ORDER BY n.area_id;
      END LOOP;
      RETURN NULL;
    END $$`);
}

/** Migration 16's trigger function again. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(LEVEL_EVENTS_FORMED);
}
