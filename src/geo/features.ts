import { z } from 'zod';
import { AreaInput } from '../db/areas';
import { AREA_KINDS } from '../domain/areas';
import { DetailCollector, unprocessable } from '../errors';
import { areaCodeSchema } from '../ingest/rows';
import { checkAreaGeometry } from './validate';
import { freeText } from '../domain/text';

/** A GeoJSON FeatureCollection of areas, as POST /v1/areas and `zonerisk import-areas` take it. */
const featureCollectionSchema = z.object({
  type: z.literal('FeatureCollection', { error: 'must be "FeatureCollection"' }),
  features: z.array(z.unknown(), { error: 'must be an array of features' }),
});

const featureSchema = z.object({
  type: z.literal('Feature', { error: 'must be "Feature"' }),
  geometry: z.unknown(),
  properties: z.looseObject({
    code: areaCodeSchema,
    name: freeText(200).trim().min(1, 'must not be empty'),
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

/** Validates every feature of an import; all problems are reported at once. */
export function areasFromFeatureCollection(body: unknown): AreaInput[] {
  const parsed = featureCollectionSchema.safeParse(body);
  if (!parsed.success) {
    throw unprocessable('the request body is not valid', parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })));
  }
  const fc = parsed.data;
  const errors = new DetailCollector();
  const out: AreaInput[] = [];
  fc.features.forEach((raw, i) => {
    if (errors.full) return;
    const f = featureSchema.safeParse(raw);
    if (!f.success) {
      for (const issue of f.error.issues) errors.add(`features[${i}].${issue.path.join('.')}`, issue.message);
      return;
    }
    const p = f.data.properties;
    const g = checkAreaGeometry(f.data.geometry, `features[${i}].geometry`);
    if (!g.ok) {
      errors.add(g.path, `${p.code}: ${g.reason}`);
      return;
    }
    out.push({ code: p.code, name: p.name, kind: p.kind, parent: p.parent ?? null, population: p.population ?? null, geometry: g.geometry });
  });
  errors.throwIfAny((n) => `${n} invalid feature value(s)`, 'invalid_features');
  return out;
}

