import { z } from 'zod';
import { AREA_KINDS } from '../domain/areas';
import { isLocalDate, LocalDate } from '../domain/dates';
import { areaCodeSchema } from '../ingest/rows';

/** Request schemas at the HTTP edge. */
const queryDate = z
  .string()
  .refine(isLocalDate, 'must be a date YYYY-MM-DD')
  .transform((d) => d as LocalDate);

const oneValue = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);

export const bboxSchema = z
  .string()
  .transform((text, ctx) => {
    const parts = text.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
    if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) {
      ctx.addIssue({ code: 'custom', message: 'must be four numbers: minLon,minLat,maxLon,maxLat' });
      return z.NEVER;
    }
    const [x1, y1, x2, y2] = parts as [number, number, number, number];
    if (x1 < -180 || x2 > 180 || y1 < -90 || y2 > 90) ctx.addIssue({ code: 'custom', message: 'must be within lon -180..180 and lat -90..90' });
    if (x1 > x2 || y1 > y2) ctx.addIssue({ code: 'custom', message: 'minimum must not exceed maximum' });
    return [x1, y1, x2, y2] as [number, number, number, number];
  });

export const listAreasQuery = z.strictObject({
  kind: z.preprocess(oneValue, z.enum(AREA_KINDS)).optional(),
  parent: z.preprocess(oneValue, areaCodeSchema).optional(),
  bbox: z.preprocess(oneValue, bboxSchema).optional(),
  q: z.preprocess(oneValue, z.string().trim().min(1).max(100)).optional(),
  limit: z.preprocess(oneValue, z.coerce.number().int().min(1).max(1000)).default(100),
  cursor: z.preprocess(oneValue, z.string().max(200)).optional(),
});

export const dateRangeQuery = z
  .strictObject({
    from: z.preprocess(oneValue, queryDate).optional(),
    to: z.preprocess(oneValue, queryDate).optional(),
    revisions: z.preprocess(oneValue, z.enum(['true', 'false'])).optional(),
    name: z.preprocess(oneValue, z.string().min(1).max(64)).optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const areaCodeParam = areaCodeSchema;

export const featureCollectionSchema = z.object({
  type: z.literal('FeatureCollection', { error: 'must be "FeatureCollection"' }),
  features: z.array(z.unknown(), { error: 'must be an array of features' }),
});

export const featureSchema = z.object({
  type: z.literal('Feature', { error: 'must be "Feature"' }),
  geometry: z.unknown(),
  properties: z.looseObject({
    code: areaCodeSchema,
    name: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    kind: z.enum(AREA_KINDS, { error: `must be one of ${AREA_KINDS.join(', ')}` }),
    parent: areaCodeSchema.nullable().optional(),
    population: z
      .number({ error: 'must be an integer ≥ 0 or null' })
      .int('must be a whole number')
      .min(0, 'must be ≥ 0')
      .max(2_147_483_647, 'is too large')
      .nullable()
      .optional(),
  }, { error: 'must be an object with code, name and kind' }),
});

export const reportsBody = z.strictObject({ reports: z.array(z.unknown(), { error: 'must be an array' }) });
export const metricsBody = z.strictObject({ metrics: z.array(z.unknown(), { error: 'must be an array' }) });
