import { Knex } from 'knex';

/**
 * Areas, daily reports and indicators. The database itself refuses impossible rows:
 * codes and kinds are checked, counts cannot be negative, geometries must be valid
 * MultiPolygons in EPSG:4326, every fact belongs to an existing area, and corrections
 * keep the superseded values.
 *
 * reports and metrics are bulk tables (a national year is ~4 million report rows). A
 * per-row foreign key costs ~6 µs a row on insert — more than the insert itself — so their
 * area reference is enforced by statement-level triggers that check all new rows of a
 * statement in one anti-join (transition tables), and deleting a referenced area is
 * refused the same way. The rule is the same as a foreign key's; only the cost differs.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS postgis');
  await knex.raw(`
    CREATE TABLE areas (
      id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      -- lower-case, diacritics removed: what name search compares against
      name_search text NOT NULL,
      kind        text NOT NULL CHECK (kind IN ('province', 'district', 'commune', 'subcommune')),
      parent_id   integer REFERENCES areas (id) ON DELETE RESTRICT,
      population  integer CHECK (population >= 0),
      geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
      label_point geometry(Point, 4326) NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now(),
      CHECK (parent_id IS NULL OR parent_id <> id)
    )`);
  await knex.raw('CREATE INDEX areas_geom_gist ON areas USING gist (geom)');
  await knex.raw('CREATE INDEX areas_parent_idx ON areas (parent_id)');
  await knex.raw('CREATE INDEX areas_kind_code_idx ON areas (kind, code)');

  const countColumns = `
      community_cases  integer NOT NULL CHECK (community_cases >= 0),
      quarantine_cases integer NOT NULL CHECK (quarantine_cases >= 0),
      deaths           integer CHECK (deaths >= 0),
      source           text CHECK (length(source) <= 200)`;
  // Keyed date first: daily loads append at the right edge of the index, and
  // classification reads a window of dates for every area.
  await knex.raw(`
    CREATE TABLE reports (
      area_id     integer NOT NULL,
      date        date NOT NULL,
      ${countColumns},
      revision    integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (date, area_id)
    ) WITH (fillfactor = 90)`); // room on each page for corrections to be HOT updates
  // Superseded versions of a report: the current one stays in reports.
  await knex.raw(`
    CREATE TABLE report_revisions (
      area_id       integer NOT NULL REFERENCES areas (id),
      date          date NOT NULL,
      revision      integer NOT NULL CHECK (revision >= 1),
      ${countColumns},
      recorded_at   timestamptz NOT NULL,
      superseded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (area_id, date, revision)
    )`);

  const metricName = `name text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$')`;
  const metricValue = `value double precision NOT NULL CHECK (value = value AND abs(value) < 'Infinity'::float8)`;
  await knex.raw(`
    CREATE TABLE metrics (
      area_id     integer NOT NULL,
      ${metricName},
      date        date NOT NULL,
      ${metricValue},
      revision    integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (area_id, name, date)
    )`);
  await knex.raw(`
    CREATE TABLE metric_revisions (
      area_id       integer NOT NULL REFERENCES areas (id),
      ${metricName},
      date          date NOT NULL,
      revision      integer NOT NULL CHECK (revision >= 1),
      ${metricValue},
      recorded_at   timestamptz NOT NULL,
      superseded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (area_id, name, date, revision)
    )`);

  await knex.raw(`
    CREATE FUNCTION zonerisk_check_fact_areas() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE missing integer;
    BEGIN
      -- distinct ids first: a million new rows usually name a few hundred areas
      SELECT d.area_id INTO missing FROM (SELECT DISTINCT area_id FROM new_rows) d
      WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.id = d.area_id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates the area reference: area_id % does not exist', TG_TABLE_NAME, missing
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
  for (const table of ['reports', 'metrics']) {
    for (const event of ['INSERT', 'UPDATE']) {
      await knex.raw(`
        CREATE TRIGGER ${table}_area_exists_${event.toLowerCase()} AFTER ${event} ON ${table}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_check_fact_areas()`);
    }
  }
  await knex.raw(`
    CREATE FUNCTION zonerisk_restrict_area_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM reports r WHERE r.area_id = o.id)
                                             OR EXISTS (SELECT 1 FROM metrics m WHERE m.area_id = o.id)) THEN
        RAISE EXCEPTION 'delete on table "areas" is refused: reports or metrics still refer to the area'
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER areas_restrict_delete AFTER DELETE ON areas
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_restrict_area_delete()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS metric_revisions, metrics, report_revisions, reports, areas');
  await knex.raw('DROP FUNCTION IF EXISTS zonerisk_check_fact_areas(), zonerisk_restrict_area_delete()');
}
