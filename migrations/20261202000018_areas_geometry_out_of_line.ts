import { Knex } from 'knex';

/**
 * Area geometries are kept out of line (TOAST storage EXTENDED), not in the row (issue 19).
 * PostGIS gives `geometry` the storage MAIN: a polygon compressed to under a page stays in
 * the table's own rows, so `areas` was 82 MB for the national set's 12,541 areas (6.5 KB a
 * row) and every read of the areas' attributes — the map history a recomputation starts
 * from, the day's zones every list, map, tile and OGC page joins — read all of it: 65 ms for
 * the attributes of every area against 6 ms once the geometry is out of line (2 MB of rows).
 * Reads of the geometry itself fetch it from the TOAST table, as they already did for every
 * polygon over a page. `area_versions` (earlier geometries) likewise. CLUSTER rewrites the
 * existing rows (in this transaction, under an exclusive lock: seconds for a country).
 */
export async function up(knex: Knex): Promise<void> {
  await storage(knex, 'EXTENDED');
}

export async function down(knex: Knex): Promise<void> {
  await storage(knex, 'MAIN');
}

async function storage(knex: Knex, how: 'EXTENDED' | 'MAIN'): Promise<void> {
  for (const table of ['areas', 'area_versions']) {
    await knex.raw(`ALTER TABLE ${table} ALTER COLUMN geom SET STORAGE ${how}`);
  }
  await knex.raw('CLUSTER areas USING areas_pkey');
  await knex.raw('ALTER TABLE areas SET WITHOUT CLUSTER');
  const pk = await knex.raw<{ rows: { name: string }[] }>(`SELECT conname AS name FROM pg_constraint WHERE conrelid = 'area_versions'::regclass AND contype = 'p'`);
  const name = pk.rows[0]?.name;
  if (name) {
    await knex.raw(`CLUSTER area_versions USING "${name}"`);
    await knex.raw('ALTER TABLE area_versions SET WITHOUT CLUSTER');
  }
}
