import { Knex } from 'knex';

/**
 * Map and zone answers carry an ETag built from the versions of what they show; the areas'
 * part (count and latest change) was a scan of the whole table — geometry and all, a tenth
 * of a second for a country — asked every second under load. An index on updated_at
 * answers it from the index alone.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX areas_updated_at ON areas (updated_at)');
  await knex.raw('ANALYZE areas');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS areas_updated_at');
}
