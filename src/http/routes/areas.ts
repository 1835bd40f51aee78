import { Routes } from '../access';
import type { Runtime } from '../../runtime';
import { areaFeature, areas, metrics, reports } from '../../services/areas';
import { batchOf, importAreaFeatures } from '../../services/imports';
import { bodyBytes } from '../jsonBody';
import { accepts } from '../errors';
import { areaCodeParam, dateRangeQuery, importAreasQuery, listAreasQuery } from '../schemas';
import { parseQuery } from '../validation';
import { writer } from '../auth';

export function areasRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.post('/v1/areas', { access: 'admin', body: 'bulk' }, accepts('application/json', 'application/geo+json'), async (req, res) => {
    const q = parseQuery(importAreasQuery, req.query);
    const batch = batchOf('areas', bodyBytes(req, res), 'geojson', q.file_name ?? null, q.profile ?? null);
    res.json(await importAreaFeatures(rt, req.body, batch, writer(res), q.repair === true));
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
