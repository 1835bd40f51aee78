import { z } from 'zod';
import type { MultiPolygon } from 'geojson';
import { AREA_KINDS, areaCodeSchema, AreaKind } from '../domain/areas';
import { DetailCollector, unprocessable } from '../errors';
import { checkAreaGeometrySteps } from './validate';
import { nameText } from '../domain/text';
import { slicer } from '../streams';
import { issueText } from '../domain/issues';

/** An area as an import gives it: valid properties and a normalised boundary (see db/areas.ts importAreas). */
export type AreaInput = {
  code: string;
  name: string;
  kind: AreaKind;
  parent: string | null;
  population: number | null;
  geometry: MultiPolygon;
  /** The feature gave no `parent` at all (a file whose field map has none): an existing area keeps its parent. */
  keepParent?: boolean;
  /** What the check found wrong with a boundary kept for repair (see `FeatureOptions.repair`). */
  defect?: { path: string; reason: string };
};

/**
 * `repair`: boundaries whose only problem is their topology (self-intersections, zero-area
 * rings) are kept, with what is wrong, for the import to make valid and report; without it
 * they are refused, naming the feature and the defect, and saying that repair=true would
 * mend them.
 */
export type FeatureOptions = { repair?: boolean };

/** The words added to a repairable defect's refusal. */
export const REPAIR_HINT = 'hình học không hợp lệ — gửi lại với repair=true để sửa và nhận báo cáo thay đổi; repair=true would make it valid and report what changed';

/** A GeoJSON FeatureCollection of areas, as POST /v1/areas and `zonerisk import-areas` take it. */
const featureCollectionSchema = z.object({
  type: z.literal('FeatureCollection', { error: 'phải là "FeatureCollection" — must be "FeatureCollection"' }),
  features: z.array(z.unknown(), { error: 'phải là mảng các feature — must be an array of features' }),
});

const featureSchema = z.object({
  type: z.literal('Feature', { error: 'phải là "Feature" — must be "Feature"' }),
  geometry: z.unknown(),
  properties: z.looseObject({
    code: areaCodeSchema,
    name: nameText(200).pipe(z.string().trim().min(1, 'không được để trống — must not be empty')),
    kind: z.enum(AREA_KINDS, { error: `phải là một trong: ${AREA_KINDS.join(', ')} — must be one of ${AREA_KINDS.join(', ')}` }),
    parent: areaCodeSchema.nullable().optional(),
    population: z
      .number({ error: 'phải là số nguyên ≥ 0 hoặc null — must be an integer ≥ 0 or null' })
      .int('phải là số nguyên — must be a whole number')
      .min(0, 'phải ≥ 0 — must be ≥ 0')
      .max(2_147_483_647, 'quá lớn — is too large')
      .nullable()
      .optional(),
  }, { error: 'phải là đối tượng có code, name và kind — must be an object with code, name and kind' }),
});

/** Validates every feature of an import; all problems are reported at once. */
export function areasFromFeatureCollection(body: unknown, options: FeatureOptions = {}): AreaInput[] {
  const steps = featureSteps(body, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same, letting other requests run every SLICE_MS (streams.ts slicer): a 500,000-vertex
 * boundary takes a few hundred milliseconds to check, 10,000 features as long — the service
 * answers meanwhile (the body's JSON parse, before this, is one piece).
 */
export async function areasFromFeatureCollectionAsync(body: unknown, options: FeatureOptions = {}): Promise<AreaInput[]> {
  const steps = featureSteps(body, options);
  const slice = slicer();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await slice();
  }
}

/** The validation, pausing (yielding) after each feature and inside large boundaries. */
function* featureSteps(body: unknown, options: FeatureOptions): Generator<void, AreaInput[], void> {
  const parsed = featureCollectionSchema.safeParse(body, { error: issueText });
  if (!parsed.success) {
    throw unprocessable('Nội dung yêu cầu không hợp lệ — the request body is not valid', parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })));
  }
  const fc = parsed.data;
  const errors = new DetailCollector();
  const out: AreaInput[] = [];
  for (let i = 0; i < fc.features.length && !errors.full; i++) {
    const f = featureSchema.safeParse(fc.features[i], { error: issueText });
    if (!f.success) {
      for (const issue of f.error.issues) errors.add(`features[${i}].${issue.path.join('.')}`, issue.message);
      continue;
    }
    const p = f.data.properties;
    const g = yield* checkAreaGeometrySteps(f.data.geometry, `features[${i}].geometry`, options.repair === true);
    yield;
    if (!g.ok) {
      errors.add(g.path, g.repairable ? `${p.code}: ${g.reason}; ${REPAIR_HINT}` : `${p.code}: ${g.reason}`);
      continue;
    }
    const area: AreaInput = { code: p.code, name: p.name, kind: p.kind, parent: p.parent ?? null, population: p.population ?? null, geometry: g.geometry };
    if (g.defect) area.defect = g.defect;
    if (p.parent === undefined) area.keepParent = true;
    out.push(area);
  }
  errors.throwIfAny((n) => `${n} invalid feature value(s)`, 'invalid_features');
  return out;
}
