import { Knex } from 'knex';

/**
 * Real data in (issue 16).
 *
 * - `import_batches`: every import — who, when, the file's name, its SHA-256 and size, its
 *   format and the profile used, what it did. The same content sent again is recognised by
 *   its hash (`same_as`, the first batch with it).
 * - The facts and their revisions, the areas and the audit trail say which import wrote them
 *   (`import_id`). The current rows take it from the transaction's `zonerisk.import_id`
 *   setting (a default, so the bulk COPY path writes it without a column of its own); a
 *   revision keeps the import of the version it archives. The columns are added without a
 *   default first and the default set after, so that no existing table is rewritten.
 * - `area_aliases`: names of an area confirmed by a user ("P. Long Bình", "Long Binh ward"),
 *   used by name resolution from then on; `alias_key` is the comparison key (domain/names.ts).
 * - `import_profiles`: named field maps (boundary files) and column maps (spreadsheets).
 */
const IMPORT_ID_DEFAULT = "nullif(current_setting('zonerisk.import_id', true), '')::bigint";

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE import_batches (
      id             bigserial PRIMARY KEY,
      kind           text NOT NULL CHECK (kind IN ('areas', 'reports', 'metrics')),
      actor          text NOT NULL CHECK (length(actor) BETWEEN 1 AND 100),
      at             timestamptz NOT NULL DEFAULT now(),
      file_name      text CHECK (length(file_name) BETWEEN 1 AND 255),
      content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
      bytes          bigint NOT NULL CHECK (bytes >= 0),
      format         text NOT NULL CHECK (length(format) BETWEEN 1 AND 40),
      profile        text CHECK (length(profile) BETWEEN 1 AND 64),
      rows           integer CHECK (rows >= 0),
      result         jsonb,
      same_as        bigint REFERENCES import_batches (id)
    )`);
  await knex.raw('CREATE INDEX import_batches_content ON import_batches (kind, content_sha256, id)');
  for (const table of ['reports', 'metrics', 'areas', 'audit_log']) {
    await knex.raw(`ALTER TABLE ${table} ADD COLUMN import_id bigint`);
    await knex.raw(`ALTER TABLE ${table} ALTER COLUMN import_id SET DEFAULT ${IMPORT_ID_DEFAULT}`);
  }
  for (const table of ['report_revisions', 'metric_revisions']) await knex.raw(`ALTER TABLE ${table} ADD COLUMN import_id bigint`);
  await knex.raw('CREATE INDEX audit_log_import ON audit_log (import_id) WHERE import_id IS NOT NULL');

  await knex.raw(`
    CREATE TABLE area_aliases (
      id         serial PRIMARY KEY,
      area_id    integer NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
      alias      text NOT NULL CHECK (length(alias) BETWEEN 1 AND 200),
      alias_key  text NOT NULL CHECK (length(alias_key) BETWEEN 1 AND 200),
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 100),
      UNIQUE (area_id, alias_key)
    )`);

  await knex.raw(`
    CREATE TABLE import_profiles (
      name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
      kind       text NOT NULL CHECK (kind IN ('areas', 'reports', 'metrics')),
      map        jsonb NOT NULL,
      options    jsonb NOT NULL DEFAULT '{}',
      updated_at timestamptz NOT NULL DEFAULT now(),
      updated_by text NOT NULL CHECK (length(updated_by) BETWEEN 1 AND 100)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS import_profiles, area_aliases');
  for (const table of ['reports', 'metrics', 'areas', 'audit_log', 'report_revisions', 'metric_revisions']) await knex.raw(`ALTER TABLE ${table} DROP COLUMN IF EXISTS import_id`);
  await knex.raw('DROP TABLE IF EXISTS import_batches');
}
