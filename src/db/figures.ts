import type { Knex } from 'knex';
import type { AreaKind } from '../domain/areas';
import type { LocalDate } from '../domain/dates';
import type { LevelOrUnknown } from '../domain/levels';
import { EFFECTIVE_LEVEL_CTES } from './levels';

/** The service's figures as /metrics shows them (src/metrics.ts). */
export type Figures = {
  /** Areas valid on the day by kind and effective level (an override's, else the latest computed, else unknown). */
  areas: { kind: AreaKind; level: LevelOrUnknown; n: number }[];
  /** The latest day with computed levels (null: none yet). */
  lastClassifiedDay: LocalDate | null;
  /** When facts last arrived: the latest import batch, or report recorded for one of the last report days. */
  lastIngestAt: Date | null;
  /** Webhook deliveries waiting to be sent or retried. */
  webhookBacklog: number;
};

/**
 * Every figure in one statement, each part an index walk: the day's levels (its zone_levels
 * rows and the areas valid on it, as effectiveLevelsOn in db/levels.ts reads them, counted
 * by kind and level), the last classified day (the end of the zone_levels index), the last
 * import batch (the end of its key), the latest `recorded_at` among the reports of the last
 * three report days (the end of the reports key: a correction to an older day is not seen
 * here, a new day's reports are), the pending deliveries (a partial index).
 */
export async function figuresOn(knex: Knex, date: LocalDate): Promise<Figures> {
  const res = await knex.raw<{ rows: { areas: Figures['areas'] | null; last_day: LocalDate | null; last_ingest: Date | null; backlog: number }[] }>(
    `WITH ${EFFECTIVE_LEVEL_CTES},
     counts AS (
       SELECT a.kind, coalesce(o.level, z.level, 'unknown') AS level, count(*)::int AS n
       FROM zonerisk_areas_on(?::date) a LEFT JOIN z ON z.area_id = a.id LEFT JOIN o ON o.area_id = a.id
       GROUP BY 1, 2
     )
     SELECT (SELECT json_agg(counts) FROM counts) AS areas,
            (SELECT max(date)::text FROM level_chunks) AS last_day,
            greatest(
              (SELECT at FROM import_batches ORDER BY id DESC LIMIT 1),
              (SELECT max(recorded_at) FROM reports WHERE date >= (SELECT max(date) FROM reports) - 2)
            ) AS last_ingest,
            (SELECT count(*)::int FROM webhook_deliveries WHERE status = 'pending') AS backlog`,
    [date, date, date, date],
  );
  const row = res.rows[0];
  return { areas: row?.areas ?? [], lastClassifiedDay: row?.last_day ?? null, lastIngestAt: row?.last_ingest ?? null, webhookBacklog: row?.backlog ?? 0 };
}
