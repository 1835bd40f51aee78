import { Knex } from 'knex';

/**
 * zone_levels keeps one index, `zone_levels_key (date, area_id, computed_at DESC)`; the index
 * by area first (`zone_levels_area_date`) is dropped (issue 19). A day's rows go to the right
 * end of the date-first index (a day is written after the one before it), but they land on
 * 11,000 different pages of an area-first one: on the national set the server wrote a
 * backfill's 4.1 million rows in 27 s with both indexes and in 12.6 s without the second
 * (INSERT … SELECT of the same rows into copies of the table, measured on this machine).
 *
 * Nothing read it but two checks, rewritten here and in db/levels.ts to read by day:
 * - an area's delete is refused while facts or levels refer to it: the levels part is one
 *   semi-join of the deleted ids with the table for the statement (rather than a probe per
 *   deleted area), as for the facts;
 * - whether an area had a level before a day (`levelsBefore`) walks the classified days
 *   (one index probe each, newest first) and stops at the first with a row of the area.
 * Every other read of zone_levels names its days.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS zone_levels_area_date');
  await restrictDelete(knex, `OR EXISTS (SELECT 1 FROM zone_levels z WHERE z.area_id IN (SELECT id FROM old_rows))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX zone_levels_area_date ON zone_levels (area_id, date)');
  await restrictDelete(knex, `OR EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM zone_levels z WHERE z.area_id = o.id))`);
}

/** The area-delete check with `levels` as its levels part (also migration 25's). */
export async function restrictDelete(knex: Knex, levels: string): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_restrict_area_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM reports r WHERE r.area_id = o.id)
                                             OR EXISTS (SELECT 1 FROM metrics m WHERE m.area_id = o.id))
         ${levels} THEN
        RAISE EXCEPTION 'delete on table "areas" is refused: reports, metrics or levels still refer to the area'
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
}
