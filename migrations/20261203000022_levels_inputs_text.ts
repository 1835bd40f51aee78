import { Knex } from 'knex';

/**
 * `zone_levels.inputs` is stored as `text` holding JSON, not `json` (issue 19). PostgreSQL
 * checks every json value it is given by parsing it: measured on the national bench set (13
 * days, 147,680 rows, binary COPY into copies of the table, four rounds), 328–361 ms into
 * json against 257–287 ms into text — a fifth of writing a row, for a value the service
 * makes itself (JSON.stringify of the packed inputs, db/levels.ts) and alone writes
 * (recomputation is zone_levels' only writer). The service parses it when it reads it
 * (db/levels.ts `storedInputs`); SQL reads it with a cast (`inputs::jsonb`). The text is kept
 * as written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE zone_levels ALTER COLUMN inputs TYPE text USING inputs::text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE zone_levels ALTER COLUMN inputs TYPE json USING inputs::json');
}
