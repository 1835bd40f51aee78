import { Knex } from 'knex';

/**
 * Why a level changed is recorded as data, not words (domain/rules/change.ts): from now on
 * `zone_levels.change` holds what moved the level — `{"code": "rules", "step": 0, "moved":
 * [{"metric", "check", "before", "now"}]}`, `{"code": "rule_set_changed", "from", "to"}`, … —
 * and the words, Vietnamese and English, are built when a history, the change feed or an
 * event is read. Building them for every change a backfill records made it 12 % slower.
 * Rows written since migration 12 keep their words (`{"code", "vi", "en"}`) and are read as
 * they are.
 *
 * A level event (the stream, webhooks) now keeps the level's reason code in `reason` again,
 * as before migration 12, and the change that moved the level with the rule set that judged
 * the day (`change`, `rule_set_id`), from which the event's words are built when read.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE level_events ADD COLUMN change jsonb, ADD COLUMN rule_set_id text');
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_level_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT max(date) FROM new_rows) < current_date - 7 THEN
        RETURN NULL;
      END IF;
      INSERT INTO level_events (area_id, date, from_level, to_level, reason, change, rule_set_id, job_id)
      SELECT n.area_id, n.date, coalesce(same.level, prev.level), n.level, n.reason,
             CASE WHEN same.level IS NULL THEN n.change END, n.rule_set_id, n.job_id
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
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION zonerisk_level_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT max(date) FROM new_rows) < current_date - 7 THEN
        RETURN NULL;
      END IF;
      INSERT INTO level_events (area_id, date, from_level, to_level, reason, job_id)
      SELECT n.area_id, n.date, coalesce(same.level, prev.level), n.level,
             CASE WHEN same.level IS NULL THEN coalesce(n.change->>'en', n.reason) ELSE n.reason END, n.job_id
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
  await knex.raw('ALTER TABLE level_events DROP COLUMN rule_set_id, DROP COLUMN change');
}
