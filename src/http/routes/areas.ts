import { Routes } from '../access';
import type { Runtime } from '../../runtime';
import { areaFeature, areas, metrics, reports } from '../../services/areas';
import { aliases, confirmAliases, dropAlias, importAreaFile } from '../../services/imports';
import { bodyBytes } from '../jsonBody';
import { accepts } from '../errors';
import { aliasesBody, areaCodeParam, areaDateQuery, BOUNDARY_TYPES, dateRangeQuery, importAreasQuery, listAreasQuery } from '../schemas';
import { idParam, parseBody, parseQuery } from '../validation';
import { scopeOf, writer } from '../auth';
import { reply, shaped } from '../responses/common';
import { AliasesAdded, Aliases, AreaFeature, AreaImport, AreaList, Metrics, Reports } from '../responses/areas';

export function areasRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.post('/v1/areas', { access: 'admin', body: 'bulk' }, accepts(...BOUNDARY_TYPES), async (req, res) => {
    const q = parseQuery(importAreasQuery, req.query);
    const contentType = req.headers['content-type'] ?? '';
    const upload = { contentType, bytes: bodyBytes(req, res), ...(Buffer.isBuffer(req.body) ? {} : { parsed: req.body as unknown }) };
    const options = { repair: q.repair === true, profile: q.profile, fields: q.fields, crs: q.crs, layer: q.layer, fileName: q.file_name ?? null };
    reply(res, AreaImport, await importAreaFile(rt, upload, options, writer(res)));
  });

  r.get('/v1/areas/:code/aliases', 'read', async (req, res) => {
    reply(res, Aliases, await aliases(rt, parseQuery(areaCodeParam, req.params.code)));
  });

  // a reporter may confirm names of the areas it reports for
  r.post('/v1/areas/:code/aliases', 'report', accepts('application/json'), async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const body = parseBody(aliasesBody, req.body);
    reply(res, AliasesAdded, await confirmAliases(rt, code, body.aliases, writer(res), scopeOf(res)));
  });

  r.delete('/v1/areas/:code/aliases/:id', 'admin', async (req, res) => {
    await dropAlias(rt, parseQuery(areaCodeParam, req.params.code), idParam(req.params.id, 'alias id'), writer(res));
    res.status(204).end();
  });

  r.get('/v1/areas', 'read', async (req, res) => {
    reply(res, AreaList, await areas(rt, parseQuery(listAreasQuery, req.query)));
  });

  r.get('/v1/areas/:code', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const { date } = parseQuery(areaDateQuery, req.query);
    res.type('application/geo+json').send(JSON.stringify(shaped(AreaFeature, await areaFeature(rt, code, date))));
  });

  r.get('/v1/areas/:code/reports', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    reply(res, Reports, await reports(rt, code, q, q.revisions === 'true'));
  });

  r.get('/v1/areas/:code/metrics', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(dateRangeQuery, req.query);
    reply(res, Metrics, await metrics(rt, code, q, q.name));
  });

  return r;
}
