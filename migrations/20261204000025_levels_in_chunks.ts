import { Knex } from 'knex';
import { up as refsByRange } from './20261203000021_level_refs_by_range';
import { up as eventsSetBased } from './20261203000024_level_events_set_based';
import { restrictDelete } from './20261202000019_levels_one_index';

/**
 * The levels are stored in chunks of 128 areas (issue 19): `level_chunks` holds one row per
 * day, chunk (`area_id >> 7`: areas 0–127 are chunk 0, 128–255 chunk 1, …) and version
 * (`computed_at`), each column of the areas' rows an array in area order (a statement's rows
 * of one chunk share one rule set and job: they are columns of the chunk). `zone_levels` is
 * now a view of its rows, one per area, day and version, with the same columns as the table
 * had (and `chunk`): readers read it as before; a reader of some areas names their chunks
 * (`z.chunk = area_id >> 7`), so that only those are read.
 *
 * Measured on the national bench set (`npm run bench:storage`: a year's 3.7 million levels
 * written with the server alone): rows 7.9–8.4 s (726 MB), chunks 0.7 s (134 MB) — one tuple,
 * index entry and WAL record per 128 areas, the arrays compressed. Reads, chunks against rows:
 * one area on a day 1.0–1.35×, one area over 30 days 2.4–2.9×, every area of a day 3.1–3.5×
 * (2.6 → 8.7 ms); chunks of 64 or 256 areas wrote in 0.9 and 0.6 s.
 *
 * What the table's triggers did, the chunks' do, over the statement's chunks unnested:
 * references checked (migration 21's check), level events raised (migration 24's), history
 * append-only (an UPDATE or DELETE of the view is refused the same way), an area's delete
 * refused while levels refer to it. Rows inserted into the view (a one-off, a test) are
 * written as chunks at the end of their statement. Each chunk's arrays are checked to be one per area, of areas of the
 * chunk, with a level and an area each; the key (day, area, version) is checked to be
 * unique among a transaction's rows (a trigger, not an index: two transactions never share a
 * version, `computed_at` being each one's own instant, and recomputation — the one writer —
 * writes under the recompute lock).
 */
const CHUNK_ARRAYS = 'area_id, level, raw_level, reason, since, inputs, children, pending, persistence, change';

/** A statement's new chunks (`new_chunks`) as the rows they hold. */
const NEW_ROWS = `(SELECT n.date, n.computed_at, n.rule_set_id, n.job_id, u.* FROM new_chunks n
                   CROSS JOIN LATERAL unnest(n.area_id, n.level, n.raw_level, n.reason, n.change) AS u(area_id, level, raw_level, reason, change))`;

export async function up(knex: Knex): Promise<void> {
  // a chunk's area ids: all of one chunk, ascending (so distinct), none null — its number, else null
  await knex.raw(`
    CREATE FUNCTION zonerisk_chunk_of(ids integer[]) RETURNS integer LANGUAGE plpgsql IMMUTABLE STRICT AS $$
    DECLARE
      c integer := ids[1] >> 7;
      prev integer;
      x integer;
    BEGIN
      FOREACH x IN ARRAY ids LOOP
        IF x IS NULL OR x >> 7 <> c OR x <= prev THEN
          RETURN NULL;
        END IF;
        prev := x;
      END LOOP;
      RETURN c;
    END $$`);
  await knex.raw(`
    CREATE TABLE level_chunks (
      date         date NOT NULL,
      chunk        integer NOT NULL,
      -- one instant per recomputed day (its transaction's), so a day is seen whole or not at all
      computed_at  timestamptz NOT NULL DEFAULT now(),
      rule_set_id  text NOT NULL,
      job_id       bigint,
      area_id      integer[] NOT NULL,
      level        text[] NOT NULL,
      raw_level    text[] NOT NULL,
      reason       text[] NOT NULL,
      since        date[] NOT NULL,
      -- the metric values the rule set was given, as JSON text (migration 22)
      inputs       text[] NOT NULL,
      children     jsonb[] NOT NULL,
      pending      jsonb[] NOT NULL,
      persistence  jsonb[] NOT NULL,
      change       jsonb[] NOT NULL,
      CONSTRAINT level_chunks_areas CHECK (cardinality(area_id) > 0 AND array_ndims(area_id) = 1 AND array_lower(area_id, 1) = 1 AND zonerisk_chunk_of(area_id) IS NOT DISTINCT FROM chunk),
      CONSTRAINT level_chunks_lengths CHECK (
        cardinality(level) = cardinality(area_id) AND cardinality(raw_level) = cardinality(area_id) AND cardinality(reason) = cardinality(area_id)
        AND cardinality(since) = cardinality(area_id) AND cardinality(inputs) = cardinality(area_id) AND cardinality(children) = cardinality(area_id)
        AND cardinality(pending) = cardinality(area_id) AND cardinality(persistence) = cardinality(area_id) AND cardinality(change) = cardinality(area_id)),
      CONSTRAINT level_chunks_levels CHECK (level <@ ARRAY['green', 'yellow', 'orange', 'red', 'unknown'] AND raw_level <@ ARRAY['green', 'yellow', 'orange', 'red', 'unknown']
        AND array_position(inputs, NULL) IS NULL)
    )`);
  await knex.raw('CREATE INDEX level_chunks_key ON level_chunks (date, chunk, computed_at DESC)');
  // lz4 where the server has it (the embedded engine may not): compressed as fast as read
  await knex.raw(`
    DO $$ BEGIN
      ALTER TABLE level_chunks ${CHUNK_ARRAYS.split(', ').map((c) => `ALTER COLUMN ${c} SET COMPRESSION lz4`).join(', ')};
    EXCEPTION WHEN OTHERS THEN NULL;
    END $$`);
  await knex.raw(`
    INSERT INTO level_chunks (date, chunk, computed_at, rule_set_id, job_id, ${CHUNK_ARRAYS})
    SELECT date, area_id >> 7, computed_at, rule_set_id, job_id,
           ${CHUNK_ARRAYS.split(', ').map((c) => `array_agg(${c} ORDER BY area_id)`).join(', ')}
    FROM zone_levels GROUP BY date, area_id >> 7, computed_at, rule_set_id, job_id ORDER BY date, 2, computed_at`);
  await knex.raw('ANALYZE level_chunks'); // planned from its statistics at once, not from a guess
  await knex.raw('DROP TABLE zone_levels');
  await knex.raw(`
    CREATE VIEW zone_levels AS
    SELECT u.area_id, c.date, u.level, u.raw_level, u.reason, u.since, c.rule_set_id, u.inputs, u.children, u.pending, u.persistence,
           c.computed_at, c.job_id, u.change, c.chunk
    FROM level_chunks c CROSS JOIN LATERAL unnest(${CHUNK_ARRAYS.split(', ').map((col) => `c.${col}`).join(', ')}) AS u(${CHUNK_ARRAYS})`);
  await knex.raw('ALTER VIEW zone_levels ALTER COLUMN computed_at SET DEFAULT now()');
  // rows inserted into the view: kept for the statement (a temporary table), then written as
  // the statement's chunks at its end, so that its triggers see one statement's rows as before
  await knex.raw(`
    CREATE FUNCTION zonerisk_zone_levels_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.area_id IS NULL OR NEW.date IS NULL OR NEW.level IS NULL OR NEW.raw_level IS NULL OR NEW.rule_set_id IS NULL OR NEW.inputs IS NULL THEN
        RAISE EXCEPTION 'insert on view "zone_levels": area_id, date, level, raw_level, rule_set_id and inputs are required' USING ERRCODE = 'not_null_violation';
      END IF;
      IF to_regclass('pg_temp.zone_levels_inserted') IS NULL THEN
        CREATE TEMPORARY TABLE zone_levels_inserted (LIKE zone_levels) ON COMMIT DELETE ROWS;
      END IF;
      INSERT INTO pg_temp.zone_levels_inserted VALUES (NEW.*);
      RETURN NEW;
    END $$`);
  await knex.raw('CREATE TRIGGER zone_levels_insert INSTEAD OF INSERT ON zone_levels FOR EACH ROW EXECUTE FUNCTION zonerisk_zone_levels_insert()');
  await knex.raw(`
    CREATE FUNCTION zonerisk_zone_levels_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF to_regclass('pg_temp.zone_levels_inserted') IS NULL THEN
        RETURN NULL; -- no row
      END IF;
      IF EXISTS (SELECT 1 FROM pg_temp.zone_levels_inserted GROUP BY date, area_id, coalesce(computed_at, now()) HAVING count(*) > 1) THEN
        DELETE FROM pg_temp.zone_levels_inserted;
        RAISE EXCEPTION 'insert on view "zone_levels": an area has two rows for one day and version' USING ERRCODE = 'unique_violation';
      END IF;
      INSERT INTO level_chunks (date, chunk, computed_at, rule_set_id, job_id, ${CHUNK_ARRAYS})
      SELECT date, area_id >> 7, coalesce(computed_at, now()), rule_set_id, job_id, ${CHUNK_ARRAYS.split(', ').map((c) => `array_agg(${c} ORDER BY area_id)`).join(', ')}
      FROM pg_temp.zone_levels_inserted GROUP BY date, area_id >> 7, coalesce(computed_at, now()), rule_set_id, job_id;
      DELETE FROM pg_temp.zone_levels_inserted;
      RETURN NULL;
    END $$`);
  await knex.raw('CREATE TRIGGER zone_levels_inserted AFTER INSERT ON zone_levels FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_zone_levels_inserted()');
  await knex.raw(`
    CREATE FUNCTION zonerisk_zone_levels_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'table "zone_levels" is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$`);
  await knex.raw('CREATE TRIGGER zone_levels_append_only INSTEAD OF UPDATE OR DELETE ON zone_levels FOR EACH ROW EXECUTE FUNCTION zonerisk_zone_levels_append_only()');
  await knex.raw('CREATE TRIGGER level_chunks_append_only BEFORE UPDATE OR DELETE ON level_chunks FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_append_only()');

  // migration 21's check over the chunks: each chunk's area ids by their range, rule sets and jobs by chunk
  // migration 21's check over the chunks: the areas by their range (a chunk's ids ascend), rule sets and jobs by chunk;
  // and no two rows of one area, day and version (a chunk's ids are distinct: two chunks of one key are compared)
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_check_zone_level_refs() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
    DECLARE
      s record;
    BEGIN
      SELECT min(area_id[1]) AS a0, max(area_id[cardinality(area_id)]) AS a1, min(rule_set_id COLLATE "C") AS r0, max(rule_set_id COLLATE "C") AS r1,
             min(job_id) AS j0, max(job_id) AS j1
        INTO s FROM new_chunks;
      IF s.a0 IS NULL THEN
        RETURN NULL; -- no rows
      END IF;
      IF EXISTS (SELECT 1 FROM (SELECT DISTINCT date, chunk, computed_at FROM new_chunks) k
                 WHERE (SELECT count(*) FROM level_chunks c WHERE c.date = k.date AND c.chunk = k.chunk AND c.computed_at = k.computed_at) > 1
                   AND EXISTS (SELECT 1 FROM level_chunks c CROSS JOIN LATERAL unnest(c.area_id) a
                               WHERE c.date = k.date AND c.chunk = k.chunk AND c.computed_at = k.computed_at GROUP BY a HAVING count(*) > 1)) THEN
        RAISE EXCEPTION 'insert on table "zone_levels": an area has two rows for one day and version' USING ERRCODE = 'unique_violation';
      END IF;
      IF ((SELECT count(*) FROM areas WHERE id BETWEEN s.a0 AND s.a1) <> s.a1::bigint - s.a0 + 1
          AND EXISTS (SELECT 1 FROM new_chunks n CROSS JOIN LATERAL unnest(n.area_id) a WHERE NOT EXISTS (SELECT 1 FROM areas x WHERE x.id = a)))
         OR (s.r0 = s.r1 AND NOT EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = s.r0))
         OR (s.r0 <> s.r1 AND EXISTS (SELECT 1 FROM new_chunks n WHERE NOT EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = n.rule_set_id)))
         OR (s.j0 = s.j1 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.j0))
         OR (s.j0 <> s.j1 AND EXISTS (SELECT 1 FROM new_chunks n WHERE n.job_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = n.job_id))) THEN
        RAISE EXCEPTION 'insert on table "zone_levels" refers to an area, rule set or job that does not exist' USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER level_chunks_refs_exist AFTER INSERT ON level_chunks
    REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_check_zone_level_refs()`);
  await knex.raw(eventsOver('new_chunks', NEW_ROWS));
  await knex.raw(`
    CREATE TRIGGER level_chunks_events AFTER INSERT ON level_chunks
    REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_level_events()`);
  await restrictDelete(knex, `OR EXISTS (SELECT 1 FROM level_chunks c WHERE c.chunk IN (SELECT id >> 7 FROM old_rows) AND c.area_id && (SELECT array_agg(id) FROM old_rows))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE zone_levels_rows (
      area_id      integer NOT NULL,
      date         date NOT NULL,
      level        text NOT NULL CHECK (level IN ('green', 'yellow', 'orange', 'red', 'unknown')),
      raw_level    text NOT NULL CHECK (raw_level IN ('green', 'yellow', 'orange', 'red', 'unknown')),
      reason       text,
      since        date,
      rule_set_id  text NOT NULL,
      inputs       text NOT NULL,
      children     jsonb,
      pending      jsonb,
      persistence  jsonb,
      computed_at  timestamptz NOT NULL DEFAULT now(),
      job_id       bigint,
      change       jsonb
    )`);
  await knex.raw(`INSERT INTO zone_levels_rows SELECT area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, computed_at, job_id, change FROM zone_levels`);
  await knex.raw('DROP VIEW zone_levels');
  await knex.raw('DROP TABLE level_chunks');
  await knex.raw('DROP FUNCTION zonerisk_zone_levels_insert(), zonerisk_zone_levels_inserted(), zonerisk_zone_levels_append_only()');
  await knex.raw('ALTER TABLE zone_levels_rows RENAME TO zone_levels');
  await knex.raw('CREATE UNIQUE INDEX zone_levels_key ON zone_levels (date, area_id, computed_at DESC)');
  await refsByRange(knex);
  await knex.raw(`
    CREATE TRIGGER zone_levels_refs_exist AFTER INSERT ON zone_levels
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_check_zone_level_refs()`);
  await knex.raw(`CREATE TRIGGER zone_levels_append_only BEFORE UPDATE OR DELETE ON zone_levels FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_append_only()`);
  await eventsSetBased(knex);
  await knex.raw(`
    CREATE TRIGGER zone_levels_events AFTER INSERT ON zone_levels
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_level_events()`);
  await restrictDelete(knex, `OR EXISTS (SELECT 1 FROM zone_levels z WHERE z.area_id IN (SELECT id FROM old_rows))`);
  await knex.raw('DROP FUNCTION zonerisk_chunk_of(integer[])');
}

/** Migration 24's level events, over the rows of the statement's chunks. */
function eventsOver(table: string, rows: string): string {
  const LEVELS = "ARRAY['green', 'yellow', 'orange', 'red']";
  return `
    CREATE OR REPLACE FUNCTION zonerisk_level_events() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
    DECLARE
      d date;
      first_written timestamptz;
    BEGIN
      FOR d, first_written IN SELECT date, min(computed_at) FROM ${table} WHERE date >= current_date - 7 GROUP BY date ORDER BY date LOOP
        INSERT INTO level_events (area_id, date, from_level, to_level, reason, change, rule_set_id, job_id)
        SELECT n.area_id, n.date, coalesce(s.level, p.level, f.level), n.level, n.reason,
               CASE WHEN s.level IS NULL THEN n.change END, n.rule_set_id, n.job_id
        FROM (SELECT area_id, date, level, reason, change, rule_set_id, job_id FROM ${rows} r WHERE date = d) n
        LEFT JOIN (SELECT DISTINCT ON (z.area_id) z.area_id, z.level FROM zone_levels z
                   WHERE z.date = d AND z.computed_at < first_written ORDER BY z.area_id, z.computed_at DESC) s ON s.area_id = n.area_id
        LEFT JOIN (SELECT DISTINCT ON (z.area_id) z.area_id, z.level FROM zone_levels z
                   WHERE z.date = d - 1 ORDER BY z.area_id, z.computed_at DESC) p ON s.level IS NULL AND p.area_id = n.area_id
        LEFT JOIN (SELECT li.area_id, (${LEVELS})[max(array_position(${LEVELS}, pz.level))] AS level
                   FROM area_lineage li
                   CROSS JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.chunk = li.predecessor_id >> 7 AND z.area_id = li.predecessor_id AND z.date = d - 1
                                       ORDER BY z.computed_at DESC LIMIT 1) pz
                   WHERE li.date = d GROUP BY li.area_id) f ON s.level IS NULL AND p.level IS NULL AND f.area_id = n.area_id
        WHERE coalesce(s.level, p.level, f.level, 'unknown') IS DISTINCT FROM n.level
        ORDER BY n.area_id;
      END LOOP;
      RETURN NULL;
    END $$`;
}
