import { Knex } from 'knex';

/**
 * Service instances and job owners. Each running process registers a row and holds a
 * session advisory lock keyed by its id for as long as it lives; a job records the instance
 * that runs it. A job still queued or running whose owner holds no such lock belongs to a
 * process that died (SIGKILL, lost host): any instance marks it failed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE service_instances (
      id         serial PRIMARY KEY,
      host       text NOT NULL,
      pid        int NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('ALTER TABLE jobs ADD COLUMN owner int');
  await knex.raw("CREATE INDEX jobs_unfinished ON jobs (id) WHERE status IN ('queued', 'running')");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS jobs_unfinished');
  await knex.raw('ALTER TABLE jobs DROP COLUMN IF EXISTS owner');
  await knex.raw('DROP TABLE IF EXISTS service_instances');
}
