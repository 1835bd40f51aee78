import { Routes } from '../access';
import { z } from 'zod';
import { endKey, keys, newKey, ROLES } from '../../services/admin';
import type { Runtime } from '../../runtime';
import { areaCodeSchema } from '../../domain/areas';
import { writer } from '../auth';
import { accepts } from '../errors';
import { idParam, parseBody } from '../validation';
import { freeText } from '../../domain/text';
import { reply } from '../responses/common';
import { ApiKey, ApiKeys, NewApiKey } from '../responses/admin';

export const createKeyBody = z.strictObject({
  role: z.enum(ROLES as [string, ...string[]], { error: `must be one of ${ROLES.join(', ')}` }).transform((r) => r as (typeof ROLES)[number]),
  scope: z.array(areaCodeSchema).max(100).default([]),
  name: freeText(200).nullable().optional(),
});

/** API keys, for admins: create (the key is shown once), list, revoke. */
export function keysRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.post('/v1/keys', 'admin', accepts('application/json'), async (req, res) => {
    const body = parseBody(createKeyBody, req.body);
    reply(res, NewApiKey, await newKey(rt, body, writer(res)), 201);
  });

  r.get('/v1/keys', 'admin', async (_req, res) => {
    reply(res, ApiKeys, await keys(rt));
  });

  r.delete('/v1/keys/:id', 'admin', async (req, res) => {
    reply(res, ApiKey, await endKey(rt, idParam(req.params.id, 'key id'), writer(res)));
  });

  return r;
}
