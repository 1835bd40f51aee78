import { Routes } from '../access';
import { z } from 'zod';
import type { Runtime } from '../../runtime';
import { job, JOB_STATUSES, jobs, recompute } from '../../services/jobs';
import { accepts } from '../errors';
import { oneValue, recomputeBody } from '../schemas';
import { idParam, parseBody, parseQuery } from '../validation';
import { reply } from '../responses/common';
import { Job, Jobs, Recompute } from '../responses/rulesets';

export const jobsQuery = z.strictObject({
  status: z.preprocess(oneValue, z.enum(JOB_STATUSES)).optional(),
  limit: z.preprocess(oneValue, z.coerce.number().int().min(1).max(500)).default(50),
  cursor: z.preprocess(oneValue, z.coerce.number().int().min(1)).optional(),
});

export function recomputeRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.post('/v1/recompute', 'admin', accepts('application/json'), async (req, res) => {
    const body = parseBody(recomputeBody, req.body);
    const [from, to] = 'date' in body ? [body.date, body.date] : [body.from, body.to];
    const out = await recompute(rt, from, to);
    if (out.pending) res.location(`/v1/jobs/${out.body.job.id}`);
    reply(res, Recompute, out.body, out.pending ? 202 : 200);
  });

  r.get('/v1/jobs', 'read', async (req, res) => {
    reply(res, Jobs, await jobs(rt, parseQuery(jobsQuery, req.query)));
  });

  r.get('/v1/jobs/:id', 'read', async (req, res) => {
    reply(res, Job, await job(rt, idParam(req.params.id, 'job id')));
  });

  return r;
}
