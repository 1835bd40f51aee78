import { Routes } from '../access';
import type { Runtime } from '../../runtime';
import { FeatureLineage, lineage, reorganisations, reorganiseAreas } from '../../services/reorganisations';
import { accepts } from '../errors';
import { areaCodeParam, predecessorsSchema, reorganisationBody } from '../schemas';
import { parseBody, parseQuery } from '../validation';
import { writer } from '../auth';
import { reply } from '../responses/common';
import { Lineage, ReorganisationResult, Reorganisations } from '../responses/areas';

/**
 * Each feature's `predecessors` and `new_territory` properties, validated: errors name the
 * feature (`areas.features[3].properties.predecessors[0]`).
 */
export function featureLineage(areas: unknown): FeatureLineage {
  const features = typeof areas === 'object' && areas !== null && Array.isArray((areas as { features?: unknown }).features) ? ((areas as { features: unknown[] }).features) : [];
  return features.map((f, i) => {
    const props = typeof f === 'object' && f !== null ? ((f as { properties?: unknown }).properties as Record<string, unknown> | null | undefined) : undefined;
    const raw = props?.predecessors;
    const predecessors = raw === undefined || raw === null ? null : parseBody(predecessorsSchema, typeof raw === 'string' ? raw.split(';').map((s) => s.trim()).filter(Boolean) : raw, `areas.features[${i}].properties.predecessors`);
    return { predecessors: predecessors?.map((p) => ({ code: p.code, share: p.share ?? null, event: 'event' in p ? p.event : undefined })) ?? null, newTerritory: props?.new_territory === true };
  });
}

export function reorganisationsRouter(rt: Runtime): Routes {
  const r = new Routes();

  // the map changes on a day: retired areas, new areas with their predecessors, re-parentings — all or nothing
  r.post('/v1/reorganisations', { access: 'admin', body: 'bulk' }, accepts('application/json'), async (req, res) => {
    const body = parseBody(reorganisationBody, req.body);
    reply(res, ReorganisationResult, await reorganiseAreas(rt, body, writer(res), { featureLineage: featureLineage(body.areas) }), 201);
  });

  r.get('/v1/reorganisations', 'read', async (_req, res) => {
    reply(res, Reorganisations, await reorganisations(rt));
  });

  r.get('/v1/areas/:code/lineage', 'read', async (req, res) => {
    reply(res, Lineage, await lineage(rt, parseQuery(areaCodeParam, req.params.code)));
  });

  return r;
}
