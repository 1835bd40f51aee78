import { Routes } from '../access';
import { decodeCursor, getAreaFeature, importAreas, listAreas } from '../../db/areas';
import { listMetrics, listReports } from '../../db/reports';
import { areasFromFeatureCollectionAsync } from '../../geo/features';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { areaCodeParam, dateRangeQuery, listAreasQuery } from '../schemas';
import { parseQuery } from '../validation';
import { writer } from '../auth';

export function areasRouter({ db }: AppContext): Routes {
  const r = new Routes();

  r.post('/v1/areas', { access: 'admin', body: 'bulk' }, accepts('application/json', 'application/geo+json'), async (req, res) => {
    const areas = await areasFromFeatureCollectionAsync(req.body); // lets other requests run while a large import is checked
    res.json(await importAreas(db.knex, areas, undefined, writer(res)));
  });

  r.get('/v1/areas', 'read', async (req, res) => {
    const q = parseQuery(listAreasQuery, req.query);
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    res.json(await listAreas(db.read, { ...q, cursor }));
  });

  r.get('/v1/areas/:code', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    res.type('application/geo+json').send(JSON.stringify(await getAreaFeature(db.read, code)));
  });

  r.get('/v1/areas/:code/reports', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json({ items: await listReports(db.read, code, q, q.revisions === 'true') });
  });

  r.get('/v1/areas/:code/metrics', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    res.json({ items: await listMetrics(db.read, code, q, q.name) });
  });

  return r;
}
