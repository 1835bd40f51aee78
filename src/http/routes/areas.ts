import { Router } from 'express';
import { decodeCursor, getAreaFeature, importAreas, listAreas } from '../../db/areas';
import { listMetrics, listReports } from '../../db/reports';
import { areasFromFeatureCollection } from '../../geo/features';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { areaCodeParam, dateRangeQuery, listAreasQuery } from '../schemas';
import { parseQuery } from '../validation';
import { actorOf } from '../../db/audit';
import { principalOf } from '../auth';

export function areasRouter({ db }: AppContext): Router {
  const r = Router();

  r.post('/v1/areas', accepts('application/json', 'application/geo+json'), async (req, res) => {
    const areas = areasFromFeatureCollection(req.body);
    res.json(await importAreas(db.knex, areas, undefined, actorOf(principalOf(res))));
  });

  r.get('/v1/areas', async (req, res) => {
    const q = parseQuery(listAreasQuery, req.query);
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    res.json(await listAreas(db.read, { ...q, cursor }));
  });

  r.get('/v1/areas/:code', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    res.type('application/geo+json').send(JSON.stringify(await getAreaFeature(db.read, code)));
  });

  r.get('/v1/areas/:code/reports', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json({ items: await listReports(db.read, code, q, q.revisions === 'true') });
  });

  r.get('/v1/areas/:code/metrics', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json({ items: await listMetrics(db.read, code, q, q.name) });
  });

  return r;
}
