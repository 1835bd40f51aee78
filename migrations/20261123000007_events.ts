import { Knex } from 'knex';

/**
 * Level change events, for the SSE stream and webhooks. A statement trigger on zone_levels
 * writes one event for each new row whose level differs from what was said before — the
 * same day's previous computation, else the day before — in the same transaction. Only days
 * within a week of today get events: a backfill of history must not page anyone, nor pay
 * for lookups it does not need. Webhooks receive events in batches, queued in deliveries.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE level_events (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at         timestamptz NOT NULL DEFAULT now(),
      area_id    integer NOT NULL REFERENCES areas (id),
      date       date NOT NULL,
      from_level text,
      to_level   text NOT NULL,
      reason     text,
      job_id     bigint
    )`);
  await knex.raw(`
    CREATE FUNCTION zonerisk_level_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT max(date) FROM new_rows) < current_date - 7 THEN
        RETURN NULL;
      END IF;
      INSERT INTO level_events (area_id, date, from_level, to_level, reason, job_id)
      SELECT n.area_id, n.date, coalesce(same.level, prev.level), n.level, n.reason, n.job_id
      FROM new_rows n
      LEFT JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = n.area_id AND z.date = n.date AND z.computed_at < n.computed_at
                         ORDER BY z.computed_at DESC LIMIT 1) same ON true
      LEFT JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = n.area_id AND z.date = n.date - 1
                         ORDER BY z.computed_at DESC LIMIT 1) prev ON same.level IS NULL
      WHERE n.date >= current_date - 7
        AND coalesce(same.level, prev.level, 'unknown') IS DISTINCT FROM n.level
      ORDER BY n.date, n.area_id;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER zone_levels_events AFTER INSERT ON zone_levels
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION zonerisk_level_events()`);
  await knex.raw(`
    CREATE TABLE webhooks (
      id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      url           text NOT NULL CHECK (url ~ '^(http|https)://'),
      secret        text NOT NULL CHECK (length(secret) >= 16),
      created_at    timestamptz NOT NULL DEFAULT now(),
      disabled_at   timestamptz,
      last_event_id bigint NOT NULL DEFAULT 0
    )`);
  await knex.raw(`
    CREATE TABLE webhook_deliveries (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      webhook_id      integer NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
      first_event_id  bigint NOT NULL,
      last_event_id   bigint NOT NULL,
      payload         jsonb NOT NULL,
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_status     integer,
      last_error      text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      delivered_at    timestamptz
    )`);
  await knex.raw(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS webhook_deliveries, webhooks');
  await knex.raw('DROP TRIGGER IF EXISTS zone_levels_events ON zone_levels');
  await knex.raw('DROP FUNCTION IF EXISTS zonerisk_level_events()');
  await knex.raw('DROP TABLE IF EXISTS level_events');
}
