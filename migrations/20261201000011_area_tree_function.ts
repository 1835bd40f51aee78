import { Knex } from 'knex';

/**
 * The area tree (area_tree: every area's ancestors with their depth) is rebuilt by a
 * function of the database, zonerisk_rebuild_area_tree(), so that the data layer calls it
 * instead of keeping a copy of the statement migration 20261123000002 first built it with
 * (migrations are history: the code never imports them).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION zonerisk_rebuild_area_tree() RETURNS void LANGUAGE sql AS $$
      DELETE FROM area_tree;
      INSERT INTO area_tree (descendant, ancestor, depth)
      WITH RECURSIVE t AS (
        SELECT id AS descendant, id AS ancestor, 0 AS depth FROM areas
        UNION ALL
        SELECT t.descendant, a.parent_id, t.depth + 1 FROM t JOIN areas a ON a.id = t.ancestor WHERE a.parent_id IS NOT NULL
      )
      SELECT descendant, ancestor, depth FROM t;
    $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS zonerisk_rebuild_area_tree()');
}
