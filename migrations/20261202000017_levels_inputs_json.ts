import { Knex } from 'knex';

/**
 * `zone_levels.inputs` is stored as `json`, not `jsonb` (issue 19). Every row of a backfill
 * carries its inputs (~150 bytes of packed values), and PostgreSQL parsed each into jsonb's
 * binary form on the way in: measured on the national set (3.7 million rows, binary COPY
 * into the table with its two indexes), 28.0 s as jsonb against 20.3 s as json — the
 * largest single cost of writing a backfill. Nothing queries inside the inputs in SQL: they
 * are read whole by the service (domain/inputs.ts reads the packed form), and a recomputed
 * day is compared with the stored one as jsonb (db/levels.ts `appendDay`), where the cast
 * costs one day's rows. The values are unchanged: json keeps the text as written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE zone_levels ALTER COLUMN inputs TYPE json USING inputs::json');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE zone_levels ALTER COLUMN inputs TYPE jsonb USING inputs::jsonb');
}
