import { Knex } from 'knex';

/**
 * The audit trail: one row per accepted write, inserted in the write's own transaction
 * (so a failed write leaves none): who (`key:<id>`, `admin-key`, `cli`, `system`), when,
 * what, the areas it touched, and before/after. Bulk writes record counts and spans; the
 * superseded values themselves are in report_revisions / metric_revisions. Append-only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE audit_log (
      id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at      timestamptz NOT NULL DEFAULT now(),
      actor   text NOT NULL CHECK (length(actor) BETWEEN 1 AND 100),
      action  text NOT NULL CHECK (action ~ '^[a-z_]+\\.[a-z_]+$'),
      target  text,
      areas   text[] NOT NULL DEFAULT '{}',
      before  jsonb,
      after   jsonb
    )`);
  await knex.raw('CREATE INDEX audit_log_at ON audit_log (at)');
  await knex.raw('CREATE INDEX audit_log_actor ON audit_log (actor, id)');
  await knex.raw('CREATE INDEX audit_log_areas ON audit_log USING gin (areas)');
  await knex.raw(`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_append_only()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS audit_log');
}
