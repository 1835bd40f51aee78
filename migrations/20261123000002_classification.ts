import { Knex } from 'knex';

/**
 * Classification: versioned rule sets, recomputation jobs and the append-only level store.
 *
 * zone_levels is bitemporal: `date` is the day a level applies to, `computed_at` when it was
 * computed. Nothing is updated in place: "the level on day D as known at time T" is the
 * latest row for D with computed_at ≤ T. A row is only written when something changed.
 */
export async function up(knex: Knex): Promise<void> {
  // Ancestor closure of the area hierarchy (each area is its own ancestor at depth 0),
  // rebuilt by every area import that changes something; read by every recomputation.
  await knex.raw(`
    CREATE TABLE area_tree (
      descendant integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      ancestor   integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      depth      integer NOT NULL CHECK (depth >= 0),
      PRIMARY KEY (descendant, depth)
    )`);
  await knex.raw('CREATE INDEX area_tree_ancestor ON area_tree (ancestor)');
  await knex.raw(REBUILD_AREA_TREE);
  await knex.raw(`
    CREATE TABLE rule_sets (
      id             text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,80}@[0-9]{1,6}$'),
      name           text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-]{1,80}$'),
      version        integer NOT NULL CHECK (version >= 1),
      definition     jsonb NOT NULL,
      effective_from date,
      preset         text,
      created_at     timestamptz NOT NULL DEFAULT now(),
      UNIQUE (name, version)
    )`);
  // The active set is the latest activation; earlier ones stay as the record.
  await knex.raw(`
    CREATE TABLE rule_set_activations (
      id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      rule_set_id  text NOT NULL REFERENCES rule_sets (id),
      activated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
  await knex.raw(`
    CREATE TABLE jobs (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      kind        text NOT NULL CHECK (kind IN ('recompute')),
      params      jsonb NOT NULL,
      status      text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
      created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
      started_at  timestamptz,
      finished_at timestamptz,
      days        integer NOT NULL DEFAULT 0,
      days_done   integer NOT NULL DEFAULT 0,
      areas       integer NOT NULL DEFAULT 0,
      changed     integer NOT NULL DEFAULT 0,
      written     integer NOT NULL DEFAULT 0,
      error       text
    )`);
  await knex.raw(`
    CREATE TABLE zone_levels (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      area_id      integer NOT NULL,
      date         date NOT NULL,
      level        text NOT NULL CHECK (level IN ('green', 'yellow', 'orange', 'red', 'unknown')),
      raw_level    text NOT NULL CHECK (raw_level IN ('green', 'yellow', 'orange', 'red', 'unknown')),
      reason       text,
      since        date,
      rule_set_id  text NOT NULL,
      -- the metric values the rule set was given; the explanation is re-derived from them
      -- (the engine is pure and rule sets are immutable), which keeps the store compact
      inputs       jsonb NOT NULL,
      -- for roll-up levels: how many children were at each level
      children     jsonb,
      pending      jsonb,
      persistence  jsonb,
      -- one instant per recomputed day (its transaction's), so a day is seen whole or not at all
      computed_at  timestamptz NOT NULL DEFAULT now(),
      job_id       bigint
    )`);
  // A day is ~11,000 rows for a country: references are checked once per statement
  // (as for reports and metrics), not by three per-row foreign keys.
  await knex.raw(`
    CREATE FUNCTION zonerisk_check_zone_level_refs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM (SELECT DISTINCT area_id FROM new_rows) n WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.id = n.area_id))
         OR EXISTS (SELECT 1 FROM (SELECT DISTINCT rule_set_id FROM new_rows) n WHERE NOT EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = n.rule_set_id))
         OR EXISTS (SELECT 1 FROM (SELECT DISTINCT job_id FROM new_rows WHERE job_id IS NOT NULL) n WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = n.job_id)) THEN
        RAISE EXCEPTION 'insert on table "zone_levels" refers to an area, rule set or job that does not exist' USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER zone_levels_refs_exist AFTER INSERT ON zone_levels
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_check_zone_level_refs()`);
  // History is appended, never rewritten.
  await knex.raw(`
    CREATE FUNCTION zonerisk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'table "%" is append-only: % is refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$`);
  await knex.raw(`CREATE TRIGGER zone_levels_append_only BEFORE UPDATE OR DELETE ON zone_levels FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_append_only()`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_restrict_area_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM reports r WHERE r.area_id = o.id)
                                             OR EXISTS (SELECT 1 FROM metrics m WHERE m.area_id = o.id)
                                             OR EXISTS (SELECT 1 FROM zone_levels z WHERE z.area_id = o.id)) THEN
        RAISE EXCEPTION 'delete on table "areas" is refused: reports, metrics or levels still refer to the area'
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw('CREATE INDEX zone_levels_date_area_time ON zone_levels (date, area_id, computed_at DESC)');
  await knex.raw('CREATE INDEX zone_levels_area_date ON zone_levels (area_id, date)');

  await knex.raw(`
    CREATE TABLE overrides (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      area_id     integer NOT NULL REFERENCES areas (id),
      level       text NOT NULL CHECK (level IN ('green', 'yellow', 'orange', 'red')),
      reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
      note        text CHECK (length(note) <= 2000),
      author      text,
      date_from   date NOT NULL,
      date_until  date CHECK (date_until >= date_from),
      created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
      ended_at    timestamptz
    )`);
  await knex.raw('CREATE INDEX overrides_area ON overrides (area_id, date_from)');

  await knex.raw(`
    CREATE TABLE publications (
      id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      date         date NOT NULL,
      published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      note         text CHECK (length(note) <= 2000)
    )`);
  await knex.raw('CREATE INDEX publications_date ON publications (date, published_at DESC)');
}

export const REBUILD_AREA_TREE = `
  DELETE FROM area_tree;
  INSERT INTO area_tree (descendant, ancestor, depth)
  WITH RECURSIVE t AS (
    SELECT id AS descendant, id AS ancestor, 0 AS depth FROM areas
    UNION ALL
    SELECT t.descendant, a.parent_id, t.depth + 1 FROM t JOIN areas a ON a.id = t.ancestor WHERE a.parent_id IS NOT NULL
  )
  SELECT descendant, ancestor, depth FROM t`;

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS publications, overrides, zone_levels, jobs, rule_set_activations, rule_sets, area_tree');
  await knex.raw('DROP FUNCTION IF EXISTS zonerisk_check_zone_level_refs(), zonerisk_append_only()');
}
