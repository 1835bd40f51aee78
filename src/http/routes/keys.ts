import { Routes } from '../access';
import { z } from 'zod';
import { endKey, keys, newKey, ROLES } from '../../services/admin';
import type { Runtime } from '../../runtime';
import { areaCodeSchema } from '../../domain/areas';
import { writer } from '../auth';
import { accepts } from '../errors';
import { idParam, parseBody } from '../validation';
import { freeText } from '../../domain/text';

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
    res.status(201).json(await newKey(rt, body, writer(res)));
  });

  r.get('/v1/keys', 'admin', async (_req, res) => {
    res.json(await keys(rt));
  });

  r.delete('/v1/keys/:id', 'admin', async (req, res) => {
    res.json(await endKey(rt, idParam(req.params.id, 'key id'), writer(res)));
  });

  return r;
}
