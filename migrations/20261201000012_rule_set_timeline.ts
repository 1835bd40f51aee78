import { Knex } from 'knex';

/**
 * Rules change over time (docs/RULES.md, "The rule-set timeline"). An activation now says
 * from which day its rule set is in force: day D is classified under the set of the
 * activation with the latest `effective_from` ≤ D, the later-recorded one winning a tie
 * (and, read as of an instant, among the activations recorded by then). Activations made
 * before this migration meant "in force for every day", which is what `-infinity` keeps.
 *
 * A stored level that differs from the day before now carries why it changed (`change`:
 * `{"code", "vi", "en"}`, null on a day whose level is the same as the day before's):
 * the rule step and metric that moved it, persistence, or a switch of rule set. Rows
 * written before keep null and read with the generic reason. A change event (the stream,
 * webhooks) for a day's first level that differs from the day before carries that reason
 * in English (the event trigger of migration 20261123000007, otherwise unchanged).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE rule_set_activations ADD COLUMN effective_from date NOT NULL DEFAULT '-infinity'`);
  await knex.raw('ALTER TABLE rule_set_activations ALTER COLUMN effective_from DROP DEFAULT');
  await knex.raw('CREATE INDEX rule_set_activations_from ON rule_set_activations (effective_from, activated_at)');
  await knex.raw('ALTER TABLE zone_levels ADD COLUMN change jsonb');
  await knex.raw(eventsTrigger(`CASE WHEN same.level IS NULL THEN coalesce(n.change->>'en', n.reason) ELSE n.reason END`));
}

/** The level-event trigger function with `reason` as the expression of the event's reason. */
const eventsTrigger = (reason: string) => `
    CREATE OR REPLACE FUNCTION zonerisk_level_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT max(date) FROM new_rows) < current_date - 7 THEN
        RETURN NULL;
      END IF;
      INSERT INTO level_events (area_id, date, from_level, to_level, reason, job_id)
      SELECT n.area_id, n.date, coalesce(same.level, prev.level), n.level, ${reason}, n.job_id
      FROM new_rows n
      LEFT JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = n.area_id AND z.date = n.date AND z.computed_at < n.computed_at
                         ORDER BY z.computed_at DESC LIMIT 1) same ON true
      LEFT JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.area_id = n.area_id AND z.date = n.date - 1
                         ORDER BY z.computed_at DESC LIMIT 1) prev ON same.level IS NULL
      WHERE n.date >= current_date - 7
        AND coalesce(same.level, prev.level, 'unknown') IS DISTINCT FROM n.level
      ORDER BY n.date, n.area_id;
      RETURN NULL;
    END $$`;

export async function down(knex: Knex): Promise<void> {
  await knex.raw(eventsTrigger('n.reason'));
  await knex.raw('ALTER TABLE zone_levels DROP COLUMN change');
  await knex.raw('DROP INDEX rule_set_activations_from');
  await knex.raw('ALTER TABLE rule_set_activations DROP COLUMN effective_from');
}
