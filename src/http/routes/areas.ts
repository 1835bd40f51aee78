import { Router } from 'express';
import { AreaInput, decodeCursor, getAreaFeature, importAreas, listAreas } from '../../db/areas';
import { listMetrics, listReports } from '../../db/reports';
import { DetailCollector } from '../../errors';
import { checkAreaGeometry } from '../../geo/validate';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { areaCodeParam, dateRangeQuery, featureCollectionSchema, featureSchema, listAreasQuery } from '../schemas';
import { parseBody, parseQuery } from '../validation';

/** Validates every feature of an import; all problems are reported at once. */
export function areasFromFeatureCollection(body: unknown): AreaInput[] {
  const fc = parseBody(featureCollectionSchema, body);
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

export function areasRouter({ db }: AppContext): Router {
  const r = Router();

  r.post('/v1/areas', accepts('application/json', 'application/geo+json'), async (req, res) => {
    const areas = areasFromFeatureCollection(req.body);
    res.json(await importAreas(db.knex, areas));
  });

  r.get('/v1/areas', async (req, res) => {
    const q = parseQuery(listAreasQuery, req.query);
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    res.json(await listAreas(db.knex, { ...q, cursor }));
  });

  r.get('/v1/areas/:code', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    res.type('application/geo+json').send(JSON.stringify(await getAreaFeature(db.knex, code)));
  });

  r.get('/v1/areas/:code/reports', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json({ items: await listReports(db.knex, code, q, q.revisions === 'true') });
  });

  r.get('/v1/areas/:code/metrics', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json({ items: await listMetrics(db.knex, code, q, q.name) });
  });

  return r;
}
