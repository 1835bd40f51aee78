import type { Knex } from 'knex';

/**
 * A digest of every stored level and input (zone_levels): each day's rows in area order,
 * every column a classification writes (JSON columns in jsonb's canonical text, so that the
 * digest names the values, not how they were spelled), hashed per day and the days' hashes
 * hashed in order. Two runs that stored the same classification have the same digest.
 */
export async function levelsDigest(knex: Knex): Promise<{ rows: number; digest: string }> {
  const res = await knex.raw<{ rows: { n: string; d: string | null }[] }>(
    `SELECT sum(n)::text AS n, md5(string_agg(h, '' ORDER BY date)) AS d FROM (
       SELECT date, count(*) AS n,
              md5(string_agg(concat_ws('|', area_id, level, raw_level, reason, since, rule_set_id, inputs::jsonb::text, children::jsonb::text,
                                       pending::jsonb::text, persistence::jsonb::text, change::jsonb::text), E'\\n' ORDER BY area_id, computed_at)) AS h
       FROM zone_levels GROUP BY date) x`,
  );
  const r = res.rows[0];
  return { rows: Number(r?.n ?? 0), digest: r?.d ?? '' };
}
