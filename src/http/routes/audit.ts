import { Routes } from '../access';
import { z } from 'zod';
import { auditTrail } from '../../services/admin';
import type { Runtime } from '../../runtime';
import { areaCodeSchema } from '../../domain/areas';
import { instantOrDayQuery, oneValue } from '../schemas';
import { parseQuery } from '../validation';
import { reply } from '../responses/common';
import { Audit } from '../responses/admin';

export const auditQuery = z.strictObject({
  since: z.preprocess(oneValue, instantOrDayQuery).optional(),
  until: z.preprocess(oneValue, instantOrDayQuery).optional(),
  area: z.preprocess(oneValue, areaCodeSchema).optional(),
  actor: z.preprocess(oneValue, z.string().min(1).max(100)).optional(),
  action: z.preprocess(oneValue, z.string().regex(/^[a-z_]+\.[a-z_]+$/, 'must be like reports.upsert')).optional(),
  limit: z.preprocess(oneValue, z.coerce.number().int().min(1).max(1000)).default(100),
  cursor: z.preprocess(oneValue, z.coerce.number().int().min(1)).optional(),
});

/** The audit trail, for admins: newest first, filtered by time, area, actor or action. */
export function auditRouter(rt: Runtime): Routes {
  const r = new Routes();
  r.get('/v1/audit', 'admin', async (req, res) => {
    reply(res, Audit, await auditTrail(rt, parseQuery(auditQuery, req.query)));
  });
  return r;
}
