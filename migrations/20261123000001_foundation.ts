import { Knex } from 'knex';

/**
 * Areas, daily reports and indicators. The database itself refuses impossible rows:
 * codes and kinds are checked, counts cannot be negative, geometries must be valid
 * MultiPolygons in EPSG:4326, and corrections keep the superseded values.
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
  await knex.raw(`
    CREATE TABLE reports (
      area_id     integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      date        date NOT NULL,
      ${countColumns},
      revision    integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (area_id, date)
    )`);
  // Superseded versions of a report: the current one stays in reports.
  await knex.raw(`
    CREATE TABLE report_revisions (
      area_id       integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
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
      area_id     integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      ${metricName},
      date        date NOT NULL,
      ${metricValue},
      revision    integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (area_id, name, date)
    )`);
  await knex.raw(`
    CREATE TABLE metric_revisions (
      area_id       integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      ${metricName},
      date          date NOT NULL,
      revision      integer NOT NULL CHECK (revision >= 1),
      ${metricValue},
      recorded_at   timestamptz NOT NULL,
      superseded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (area_id, name, date, revision)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS metric_revisions, metrics, report_revisions, reports, areas');
}
