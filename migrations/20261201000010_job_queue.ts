import { Knex } from 'knex';

/**
 * The recomputation queue (src/jobs/queue.ts). A job now says how it runs:
 * - `run_after` null: run by the process that created it (a short recompute answered in
 *   the request, the CLI, the demo seed); otherwise it waits in the queue until then and a
 *   service's dispatcher claims it (FOR UPDATE SKIP LOCKED) for one of its job processes;
 * - `attempts` / `max_attempts`: automatic jobs (late data, the daily run) are retried with
 *   backoff after a failed attempt; `last_error` keeps the last attempt's failure even after
 *   a retry succeeded;
 * - `merged`: how many later late writes were folded into this pending job.
 * Jobs queued before this migration keep `run_after` null: they belong to the process that
 * created them, and the orphan sweep ends them as before.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE jobs
      ADD COLUMN attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      ADD COLUMN max_attempts integer NOT NULL DEFAULT 1 CHECK (max_attempts BETWEEN 1 AND 10),
      ADD COLUMN run_after    timestamptz,
      ADD COLUMN last_error   text,
      ADD COLUMN merged       integer NOT NULL DEFAULT 0 CHECK (merged >= 0)`);
  await knex.raw("UPDATE jobs SET attempts = 1 WHERE status <> 'queued'");
  // the dispatcher's claim: the oldest due job
  await knex.raw("CREATE INDEX jobs_queue ON jobs (run_after, id) WHERE status = 'queued' AND run_after IS NOT NULL");
  // GET /v1/jobs?status=: newest first
  await knex.raw('CREATE INDEX jobs_status ON jobs (status, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS jobs_status');
  await knex.raw('DROP INDEX IF EXISTS jobs_queue');
  await knex.raw('ALTER TABLE jobs DROP COLUMN IF EXISTS merged, DROP COLUMN IF EXISTS last_error, DROP COLUMN IF EXISTS run_after, DROP COLUMN IF EXISTS max_attempts, DROP COLUMN IF EXISTS attempts');
}
