import { Knex } from 'knex';

/**
 * The map changes (issue 17): areas valid over time, their attributes over time, their
 * lineage, and reorganisations.
 *
 * - `areas` stays one row per area over all time (its code is unique for ever) and gains
 *   `valid_from`/`valid_to`: the first and the last day the area exists, both inclusive,
 *   null = open (an area of the seed map has no start; a current one no end). The row holds
 *   the area's latest attributes (parent, name, population, geometry), in force from
 *   `attributes_from` (null: since the area began).
 * - `area_versions` keeps the attributes an area had before: each superseded version with
 *   its own days [valid_from, valid_to] (valid_from null: since the area began). A
 *   re-parenting on 1 July 2025 moves the commune's old parent here, ending 30 June 2025.
 * - `zonerisk_areas_on(d)`: the areas valid on day d with the attributes of day d — what every
 *   dated read (zones, maps, summaries) selects from. A single SELECT in SQL, so the planner
 *   inlines it into the query that calls it.
 * - `area_tree` gains `during`: the days an ancestor link holds (the intersection of every
 *   link of the path and of the area's validity). Dated reads keep the rows `during @> d`;
 *   access scopes take any.
 * - `reorganisations`: one row per map change written in one step; `area_lineage`: an
 *   area's predecessors with the event and the share of the predecessor's population it
 *   took (null: the whole).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE areas
      ADD COLUMN valid_from date,
      ADD COLUMN valid_to date,
      ADD COLUMN attributes_from date,
      ADD CONSTRAINT areas_validity CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to),
      ADD CONSTRAINT areas_attributes_from CHECK (attributes_from IS NULL OR ((valid_from IS NULL OR attributes_from > valid_from) AND (valid_to IS NULL OR attributes_from <= valid_to)))`);
  await knex.raw(`
    CREATE TABLE reorganisations (
      id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      effective_date date NOT NULL,
      actor          text NOT NULL CHECK (length(actor) BETWEEN 1 AND 100),
      note           text CHECK (length(note) <= 500),
      at             timestamptz NOT NULL DEFAULT now(),
      summary        jsonb NOT NULL
    )`);
  await knex.raw(`
    CREATE TABLE area_versions (
      area_id           integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      valid_from        date,
      valid_to          date NOT NULL,
      parent_id         integer REFERENCES areas (id),
      name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      name_search       text NOT NULL,
      population        integer CHECK (population >= 0),
      geom              geometry(MultiPolygon, 4326) NOT NULL,
      label_point       geometry(Point, 4326) NOT NULL,
      reorganisation_id integer REFERENCES reorganisations (id),
      PRIMARY KEY (area_id, valid_to),
      CHECK (valid_from IS NULL OR valid_from <= valid_to)
    )`);
  await knex.raw(`
    CREATE TABLE area_lineage (
      area_id           integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      predecessor_id    integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      event             text NOT NULL CHECK (event IN ('merge', 'split', 'boundary_change', 'rename', 'reparent', 'recode')),
      share             double precision CHECK (share > 0 AND share <= 1),
      date              date NOT NULL,
      reorganisation_id integer REFERENCES reorganisations (id),
      PRIMARY KEY (area_id, predecessor_id),
      CHECK (area_id <> predecessor_id)
    )`);
  await knex.raw('CREATE INDEX area_lineage_predecessor ON area_lineage (predecessor_id)');

  // Two branches rather than one join with CASE per column: each output column is a plain
  // column of its branch, so the planner can hash-join on parent_id (with a CASE it fell back
  // to a nested loop: 30 s for a national reorganisation's parent check).
  await knex.raw(`
    CREATE FUNCTION zonerisk_areas_on(d date)
    RETURNS TABLE (id integer, code text, name text, name_search text, kind text, parent_id integer, population integer,
                   geom geometry, label_point geometry, valid_from date, valid_to date, created_at timestamptz, updated_at timestamptz)
    LANGUAGE sql STABLE AS $$
      SELECT a.id, a.code, a.name, a.name_search, a.kind, a.parent_id, a.population, a.geom, a.label_point, a.valid_from, a.valid_to, a.created_at, a.updated_at
      FROM areas a
      WHERE (a.valid_from IS NULL OR a.valid_from <= d) AND (a.valid_to IS NULL OR a.valid_to >= d)
        AND (a.attributes_from IS NULL OR a.attributes_from <= d)
      UNION ALL
      SELECT a.id, a.code, v.name, v.name_search, a.kind, v.parent_id, v.population, v.geom, v.label_point, a.valid_from, a.valid_to, a.created_at, a.updated_at
      FROM areas a JOIN area_versions v ON v.area_id = a.id AND v.valid_to >= d AND (v.valid_from IS NULL OR v.valid_from <= d)
      WHERE (a.valid_from IS NULL OR a.valid_from <= d) AND (a.valid_to IS NULL OR a.valid_to >= d)
        AND a.attributes_from > d
    $$`);

  await knex.raw('ALTER TABLE area_tree ADD COLUMN during daterange NOT NULL DEFAULT \'(,)\'');
  await knex.raw('ALTER TABLE area_tree DROP CONSTRAINT area_tree_pkey');
  await knex.raw('ALTER TABLE area_tree ADD PRIMARY KEY (descendant, depth, during)');
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_rebuild_area_tree() RETURNS void LANGUAGE sql AS $$
      DELETE FROM area_tree;
      INSERT INTO area_tree (descendant, ancestor, depth, during)
      WITH RECURSIVE links AS (
        SELECT a.id AS child, a.parent_id AS parent, daterange(greatest(a.valid_from, a.attributes_from), a.valid_to, '[]') AS during
        FROM areas a WHERE a.parent_id IS NOT NULL
        UNION ALL
        SELECT v.area_id, v.parent_id, daterange(v.valid_from, v.valid_to, '[]') FROM area_versions v WHERE v.parent_id IS NOT NULL
      ),
      t AS (
        SELECT id AS descendant, id AS ancestor, 0 AS depth, daterange(valid_from, valid_to, '[]') AS during FROM areas
        UNION ALL
        SELECT t.descendant, l.parent, t.depth + 1, t.during * l.during
        FROM t JOIN links l ON l.child = t.ancestor AND l.during && t.during
        WHERE t.depth < 16
      )
      SELECT DISTINCT descendant, ancestor, depth, during FROM t WHERE NOT isempty(during);
    $$`);
  await knex.raw('SELECT zonerisk_rebuild_area_tree()');
  // a new area's first level is compared with its predecessors' worst level the day before
  await knex.raw(LEVEL_EVENTS_FORMED);
}

const LEVELS = "ARRAY['green', 'yellow', 'orange', 'red']";

/** The level-event trigger function of migration 20261202000014, with `join` added and `fallback` before 'unknown'. */
const levelEvents = (join: string, fallback: string) => `
    CREATE OR REPLACE FUNCTION zonerisk_level_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT max(date) FROM new_rows) < current_date - 7 THEN
        RETURN NULL;
      END IF;
      INSERT INTO level_events (area_id, date, from_level, to_level, reason, change, rule_set_id, job_id)
      SELECT n.area_id, n.date, coalesce(same.level, prev.level, ${fallback}NULL), n.level, n.reason,
             CASE WHEN same.level IS NULL THEN n.change END, n.rule_set_id, n.job_id
      FROM new_rows n
      LEFT JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = n.area_id AND z.date = n.date AND z.computed_at < n.computed_at
                         ORDER BY z.computed_at DESC LIMIT 1) same ON true
      LEFT JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = n.area_id AND z.date = n.date - 1
                         ORDER BY z.computed_at DESC LIMIT 1) prev ON same.level IS NULL${join}
      WHERE n.date >= current_date - 7
        AND coalesce(same.level, prev.level, ${fallback}'unknown') IS DISTINCT FROM n.level
      ORDER BY n.date, n.area_id;
      RETURN NULL;
    END $$`;

/** The level-event trigger function this migration installs (migration 24's `down` installs it again). */
export const LEVEL_EVENTS_FORMED = levelEvents(`
      LEFT JOIN LATERAL (SELECT (${LEVELS})[max(array_position(${LEVELS}, pz.level))] AS level
                         FROM area_lineage li
                         CROSS JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = li.predecessor_id AND z.date = li.date - 1
                                             ORDER BY z.computed_at DESC LIMIT 1) pz
                         WHERE li.area_id = n.area_id AND li.date = n.date) formed ON same.level IS NULL AND prev.level IS NULL`, 'formed.level, ');

export async function down(knex: Knex): Promise<void> {
  await knex.raw(levelEvents('', ''));
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_rebuild_area_tree() RETURNS void LANGUAGE sql AS $$
      DELETE FROM area_tree;
      INSERT INTO area_tree (descendant, ancestor, depth)
      WITH RECURSIVE t AS (
        SELECT id AS descendant, id AS ancestor, 0 AS depth FROM areas
        UNION ALL
        SELECT t.descendant, a.parent_id, t.depth + 1 FROM t JOIN areas a ON a.id = t.ancestor WHERE a.parent_id IS NOT NULL
      )
      SELECT descendant, ancestor, depth FROM t;
    $$`);
  await knex.raw('ALTER TABLE area_tree DROP CONSTRAINT area_tree_pkey');
  await knex.raw('ALTER TABLE area_tree DROP COLUMN during');
  await knex.raw('SELECT zonerisk_rebuild_area_tree()');
  await knex.raw('ALTER TABLE area_tree ADD PRIMARY KEY (descendant, depth)');
  await knex.raw('DROP FUNCTION IF EXISTS zonerisk_areas_on(date)');
  await knex.raw('DROP TABLE IF EXISTS area_lineage, area_versions, reorganisations');
  await knex.raw('ALTER TABLE areas DROP CONSTRAINT areas_attributes_from, DROP CONSTRAINT areas_validity, DROP COLUMN attributes_from, DROP COLUMN valid_to, DROP COLUMN valid_from');
}
