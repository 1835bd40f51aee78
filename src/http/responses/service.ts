import { z } from 'zod';
import { AreaKind, LocalDate, named } from './common';

/** The service itself: the API index, liveness, readiness, the map page's settings. */

export const ApiIndex = z.object({
  service: z.literal('zonerisk'),
  description: z.string(),
  engine: z.enum(['postgres', 'embedded']).describe('the database engine: a PostgreSQL server or the embedded one'),
  links: z.record(z.string(), z.string()).describe('where things are (paths; {code} to fill in)'),
});

export const Health = z.object({ status: z.literal('ok') });

export const Ready = z.object({
  status: z.enum(['ready', 'not_ready']),
  database: z.enum(['ok', 'unavailable']),
  migrations: z.enum(['current', 'pending']).optional(),
  read_replica: z
    .object({ status: z.enum(['ok', 'unavailable']), standby: z.boolean().optional(), replay_lag_seconds: z.number().nullable().optional() })
    .optional(),
  engine: z.enum(['postgres', 'embedded']),
});
export type Ready = z.input<typeof Ready>;

const LevelInfo = z.object({ number: z.number().int().nullable(), vi: z.string(), en: z.string(), color: z.string() });

export const Place = named(
  z.object({
    code: z.string(),
    name: z.string(),
    kind: AreaKind,
    parent: z.string().nullable(),
    bbox: z.array(z.number()).describe('minLon, minLat, maxLon, maxLat'),
    label: z.array(z.number()).nullable().describe('where its label goes (lon, lat)'),
    valid_from: LocalDate.nullable(),
    valid_to: LocalDate.nullable(),
  }),
  'Place',
  'A province or district on the map page: its extent and label point',
);

export const MapPageSettings = z.object({
  today: LocalDate,
  time_zone: z.string(),
  days: z.array(LocalDate).describe('days with levels'),
  bounds: z.array(z.number()).nullable().describe('minLon, minLat, maxLon, maxLat of every area (null: none)'),
  places: z.array(Place),
  levels: z.object({ green: LevelInfo, yellow: LevelInfo, orange: LevelInfo, red: LevelInfo, unknown: LevelInfo }),
  basemap: z.string().nullable(),
  basemap_attribution: z.string().nullable(),
});

/** The OpenAPI document itself (not described further here). */
export const OpenApiDocument = z.looseObject({ openapi: z.string(), info: z.record(z.string(), z.unknown()), paths: z.record(z.string(), z.unknown()) });
