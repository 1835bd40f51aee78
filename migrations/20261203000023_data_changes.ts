import { Knex } from 'knex';

/**
 * `data_changes`: one row per statement that changes the facts (reports, metrics) or the map
 * (areas, their versions, their lineage), naming for the facts the span of dates it touched
 * (issue 19). A process keeps what its last recomputation read (jobs/recompute/run.ts
 * `RunCarry`): the next run reads only the days of facts after the kept ones, and not the map
 * again, once the log shows that nothing they hold has changed since they were read
 * (db/inputs.ts `loadReportTexts`, `MAP_STAMP_SQL`).
 *
 * Each row holds its transaction's id. A stamp is the snapshot a statement saw, read before
 * what it stamps: what it stamps still holds while no row of its kind (touching its days)
 * comes from a transaction that snapshot did not see — and only rows from transactions at or
 * after the snapshot's oldest can be such, an index range however long the log grows. A
 * change committed between the stamp and the read is one the stamp did not see: the next run
 * reads again. This replaces the map's stamp from `areas.updated_at` and counts, which
 * depended on `now()` — the time a transaction began: two imports committing out of the
 * order they began in could leave the greatest one unchanged.
 *
 * Written by statement triggers. A new fact's days are logged by the check of its area
 * (`zonerisk_check_fact_areas`), in the one pass it makes over the statement's new rows:
 * measured (1,000,000 reports by INSERT … SELECT, twice each, interleaved), a trigger of its
 * own reading the same transition table again cost 4.07–4.23 s against 3.30–3.54 s without
 * it. Updates, deletes and a TRUNCATE (every day) have triggers of their own. An ingest or
 * an import adds a row per statement (a statement that changes no row too); nothing
 * prunes them (a row is ~60 bytes, as the facts' revisions grow with every change too).
 * Writes that bypass triggers (`session_replication_role = replica`, a restore with
 * triggers disabled) are not logged: restart the service after them (docs/RELIABILITY.md).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE data_changes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('reports', 'metrics', 'map')),
      lo date NOT NULL,
      hi date NOT NULL,
      txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX data_changes_txid ON data_changes (txid) INCLUDE (kind, lo)');
  await knex.raw(`
    CREATE FUNCTION zonerisk_log_fact_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        INSERT INTO data_changes (kind, lo, hi)
        SELECT TG_TABLE_NAME, min(date), max(date) FROM (SELECT date FROM old_rows UNION ALL SELECT date FROM new_rows) d HAVING count(*) > 0;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO data_changes (kind, lo, hi) SELECT TG_TABLE_NAME, min(date), max(date) FROM old_rows HAVING count(*) > 0;
      ELSE
        INSERT INTO data_changes (kind, lo, hi) VALUES (TG_TABLE_NAME, '-infinity', 'infinity');
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION zonerisk_log_map_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO data_changes (kind, lo, hi) VALUES ('map', '-infinity', 'infinity');
      RETURN NULL;
    END $$`);
  await knex.raw(checkFactAreas(`
      -- one pass over the new rows: their areas (a million rows usually name a few hundred),
      -- each with its first and last day, which an insert logs
      WITH per AS MATERIALIZED (SELECT area_id, min(date) AS lo, max(date) AS hi FROM new_rows GROUP BY area_id)
      SELECT (SELECT p.area_id FROM per p WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.id = p.area_id) LIMIT 1), min(lo), max(hi)
        INTO missing, first, last FROM per;`,
    `IF TG_OP = 'INSERT' AND first IS NOT NULL THEN
        INSERT INTO data_changes (kind, lo, hi) VALUES (TG_TABLE_NAME, first, last);
      END IF;`));
  for (const table of ['reports', 'metrics']) {
    await knex.raw(`CREATE TRIGGER ${table}_changes_update AFTER UPDATE ON ${table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_log_fact_changes()`);
    await knex.raw(`CREATE TRIGGER ${table}_changes_delete AFTER DELETE ON ${table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_log_fact_changes()`);
    await knex.raw(`CREATE TRIGGER ${table}_changes_truncate AFTER TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_log_fact_changes()`);
  }
  for (const table of MAP_TABLES) {
    await knex.raw(`CREATE TRIGGER ${table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_log_map_changes()`);
  }
}

const MAP_TABLES = ['areas', 'area_versions', 'area_lineage'];

/** The area check of new facts (migration 20261123000001), finding `missing` and what `then` does. */
const checkFactAreas = (find: string, then: string) => `
    CREATE OR REPLACE FUNCTION zonerisk_check_fact_areas() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE missing integer; first date; last date;
    BEGIN
      ${find}
      IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" violates the area reference: area_id % does not exist', TG_TABLE_NAME, missing
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      ${then}
      RETURN NULL;
    END $$`;

export async function down(knex: Knex): Promise<void> {
  for (const table of ['reports', 'metrics']) {
    for (const op of ['update', 'delete', 'truncate']) await knex.raw(`DROP TRIGGER IF EXISTS ${table}_changes_${op} ON ${table}`);
  }
  await knex.raw(checkFactAreas(`
      -- distinct ids first: a million new rows usually name a few hundred areas
      SELECT d.area_id INTO missing FROM (SELECT DISTINCT area_id FROM new_rows) d
      WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.id = d.area_id) LIMIT 1;`, ''));
  for (const table of MAP_TABLES) await knex.raw(`DROP TRIGGER IF EXISTS ${table}_changes ON ${table}`);
  await knex.raw('DROP FUNCTION IF EXISTS zonerisk_log_fact_changes(), zonerisk_log_map_changes()');
  await knex.raw('DROP TABLE IF EXISTS data_changes');
}
