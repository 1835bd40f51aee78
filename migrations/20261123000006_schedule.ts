import { Knex } from 'knex';

/**
 * Scheduled recomputation: one row per local day whose scheduled run was claimed. The
 * primary key is what makes "several replicas, exactly one does the work" hold — the
 * replica whose insert succeeds runs it — and a day without a row is caught up on start.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE schedule_runs (
      day         date PRIMARY KEY,
      claimed_at  timestamptz NOT NULL DEFAULT now(),
      claimed_by  text NOT NULL,
      job_id      bigint,
      finished_at timestamptz,
      error       text
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS schedule_runs');
}
