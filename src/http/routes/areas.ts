import { Routes } from '../access';
import { areasFromFeatureCollectionAsync } from '../../geo/features';
import type { Runtime } from '../../runtime';
import { areaFeature, areas, metrics, reports, storeAreas } from '../../services/areas';
import { accepts } from '../errors';
import { areaCodeParam, dateRangeQuery, listAreasQuery } from '../schemas';
import { parseQuery } from '../validation';
import { writer } from '../auth';

export function areasRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.post('/v1/areas', { access: 'admin', body: 'bulk' }, accepts('application/json', 'application/geo+json'), async (req, res) => {
    const input = await areasFromFeatureCollectionAsync(req.body); // lets other requests run while a large import is checked
    res.json(await storeAreas(rt, input, writer(res)));
  });

  r.get('/v1/areas', 'read', async (req, res) => {
    res.json(await areas(rt, parseQuery(listAreasQuery, req.query)));
  });

  r.get('/v1/areas/:code', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    res.type('application/geo+json').send(JSON.stringify(await areaFeature(rt, code)));
  });

  r.get('/v1/areas/:code/reports', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json(await reports(rt, code, q, q.revisions === 'true'));
  });

  r.get('/v1/areas/:code/metrics', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json(await metrics(rt, code, q, q.name));
  });

  return r;
}
