import { Routes } from '../access';
import type { Runtime } from '../../runtime';
import { imports, importRecord, profile, profiles, removeProfile, storeProfile } from '../../services/imports';
import { writer } from '../auth';
import { accepts } from '../errors';
import { importsListQuery, profileBody, profileName } from '../schemas';
import { idParam, parseBody, parseQuery } from '../validation';
import { reply } from '../responses/common';
import { ImportProfile, ImportProfiles, ImportRecord, Imports } from '../responses/areas';

/** Import batches (who sent which file, what it did) for admins; the named import profiles. */
export function importsRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.get('/v1/imports', 'admin', async (req, res) => {
    reply(res, Imports, await imports(rt, parseQuery(importsListQuery, req.query)));
  });

  r.get('/v1/imports/:id', 'admin', async (req, res) => {
    reply(res, ImportRecord, await importRecord(rt, idParam(req.params.id, 'import id')));
  });

  r.get('/v1/import-profiles', 'read', async (_req, res) => {
    reply(res, ImportProfiles, await profiles(rt));
  });

  r.get('/v1/import-profiles/:name', 'read', async (req, res) => {
    reply(res, ImportProfile, await profile(rt, parseQuery(profileName, req.params.name)));
  });

  // create or replace by name
  r.post('/v1/import-profiles', 'admin', accepts('application/json'), async (req, res) => {
    const saved = await storeProfile(rt, parseBody(profileBody, req.body), writer(res));
    reply(res, ImportProfile, saved.profile, saved.created ? 201 : 200);
  });

  r.delete('/v1/import-profiles/:name', 'admin', async (req, res) => {
    await removeProfile(rt, parseQuery(profileName, req.params.name), writer(res));
    res.status(204).end();
  });

  return r;
}
