import type { Knex } from 'knex';

/** Whether a server is a standby (a streaming replica) and how far its replay lags (seconds; null on a primary). */
export async function standbyStatus(knex: Knex): Promise<{ standby: boolean; lag: number | null }> {
  const r = await knex.raw<{ rows: { standby: boolean; lag: number | null }[] }>(
    `SELECT pg_is_in_recovery() AS standby,
       CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag`,
  );
  return { standby: r.rows[0]?.standby ?? false, lag: r.rows[0]?.lag ?? null };
}
