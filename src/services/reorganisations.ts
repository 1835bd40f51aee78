import type { Actor } from '../db/audit';
import { lineageOf, listReorganisations, NewArea, Predecessor, reorganise, ReorganisationPlan, ReorganisationResult } from '../db/reorganisations';
import { LocalDate } from '../domain/dates';
import { LineageEvent } from '../domain/lineage';
import { AppError, DetailCollector } from '../errors';
import { areasFromFeatureCollectionAsync, AreaInput } from '../geo/features';
import type { Runtime } from '../runtime';

/**
 * The map changing: a reorganisation in one step (`POST /v1/reorganisations`, `zonerisk
 * reorganise`), and an area's lineage.
 */

/** A reorganisation as a request or a plan file gives it (the new areas still a FeatureCollection, or areas already read from a boundary file). */
export type ReorganisationRequest = {
  effective_date: LocalDate;
  retire: string[];
  areas?: unknown;
  reparent: { code: string; parent: string }[];
  predecessors?: Record<string, { code: string; share?: number | null | undefined; event?: LineageEvent | undefined }[]> | undefined;
  recompute: boolean;
  move_reports?: boolean | undefined;
  repair: boolean;
  note?: string | undefined;
};

/** The features' own `predecessors` and `new_territory` properties, by feature index (validated like the body's). */
export type FeatureLineage = { predecessors: Predecessor[] | null; newTerritory: boolean }[];

/**
 * Applies a reorganisation (db/reorganisations.ts says what it refuses). The new areas come
 * from `areas` (a GeoJSON FeatureCollection, checked as an area import checks it) or, already
 * read from any boundary format, from `read`; each new area's predecessors from its
 * feature's `predecessors` property or the request's `predecessors` map. Days already
 * classified on or after the date are queued for recomputation when `recompute` is asked.
 */
export async function reorganiseAreas(
  rt: Runtime,
  req: ReorganisationRequest,
  actor: Actor,
  from: { featureLineage: FeatureLineage; read?: AreaInput[] },
): Promise<ReorganisationResult & { recompute_job: { job: number; from: string; to: string } | null }> {
  const inputs = from.read ?? (req.areas === undefined ? [] : await underAreas(() => areasFromFeatureCollectionAsync(req.areas, { repair: req.repair })));
  const result = await reorganise(rt.db, planOf(req, inputs, from.featureLineage), { actor, repair: req.repair });
  let recomputeJob: { job: number; from: string; to: string } | null = null;
  if (result.recompute) {
    const job = await rt.recomputations.afterIngest(result.effective_date);
    if (job) {
      rt.jobs.kick();
      recomputeJob = { job: job.id, from: job.params.from, to: job.params.to };
    }
  }
  return { ...result, recompute_job: recomputeJob };
}

/** The new areas' own checks name their place in the request: `areas.features[3].geometry`. */
async function underAreas<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof AppError) throw new AppError(e.status, e.code, e.message, e.details.map((d) => ({ ...d, path: d.path.startsWith('features') || d.path === '(root)' ? `areas.${d.path === '(root)' ? '' : d.path}`.replace(/\.$/, '') : d.path })));
    throw e;
  }
}

/** The plan db/reorganisations.ts applies: each new area with its predecessors (its feature's, or the request's map). */
export function planOf(req: ReorganisationRequest, inputs: AreaInput[], featureLineage: FeatureLineage): ReorganisationPlan {
  const errors = new DetailCollector();
  const areas: NewArea[] = inputs.map((a, i) => {
    const own = featureLineage[i];
    // own entries only: a code such as "constructor" or "__proto__" is a key like any other
    const given = req.predecessors && Object.hasOwn(req.predecessors, a.code) ? req.predecessors[a.code] : undefined;
    if (own?.predecessors && given) errors.add(`predecessors.${a.code}`, `${a.code} has predecessors both in its feature and in the predecessors map: give them once`);
    const list = own?.predecessors ?? given?.map((p) => ({ code: p.code, share: p.share ?? null, event: p.event })) ?? [];
    return { ...a, predecessors: list, newTerritory: own?.newTerritory ?? false };
  });
  const codes = new Set(inputs.map((a) => a.code));
  for (const code of Object.keys(req.predecessors ?? {})) if (!codes.has(code)) errors.add(`predecessors.${code}`, `no new area has code ${code}`);
  errors.throwIfAny((n) => `${n} problem(s) with the predecessors`, 'invalid_reorganisation');
  return { effective_date: req.effective_date, retire: req.retire, areas, reparent: req.reparent, recompute: req.recompute, moveReports: req.move_reports === true, note: req.note };
}

export async function reorganisations(rt: Runtime) {
  return { items: await listReorganisations(rt.db.read) };
}

export function lineage(rt: Runtime, code: string) {
  return lineageOf(rt.db.read, code);
}
