import { Knex } from 'knex';

/**
 * zone_levels is the largest table (a country's backfill appends millions of rows), and
 * its surrogate id was read by nothing: it cost an index entry per row. The natural key
 * (date, area_id, computed_at) — one row per area per day per recomputation — becomes a
 * unique index in the order every "latest as of" read walks it. Inputs are now stored
 * compactly (see domain/inputs.ts); rows written before keep theirs verbatim and are
 * read as they are.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE zone_levels DROP COLUMN id');
  await knex.raw('DROP INDEX zone_levels_date_area_time');
  await knex.raw('CREATE UNIQUE INDEX zone_levels_key ON zone_levels (date, area_id, computed_at DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX zone_levels_key');
  await knex.raw('CREATE INDEX zone_levels_date_area_time ON zone_levels (date, area_id, computed_at DESC)');
  await knex.raw('ALTER TABLE zone_levels ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY');
}
