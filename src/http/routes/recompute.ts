import { Routes } from '../access';
import { z } from 'zod';
import type { Runtime } from '../../runtime';
import { job, JOB_STATUSES, jobs, recompute } from '../../services/jobs';
import { accepts } from '../errors';
import { oneValue, recomputeBody } from '../schemas';
import { idParam, parseBody, parseQuery } from '../validation';

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
    if (out.pending) res.status(202).location(`/v1/jobs/${out.body.job.id}`);
    res.json(out.body);
  });

  r.get('/v1/jobs', 'read', async (req, res) => {
    res.json(await jobs(rt, parseQuery(jobsQuery, req.query)));
  });

  r.get('/v1/jobs/:id', 'read', async (req, res) => {
    res.json(await job(rt, idParam(req.params.id, 'job id')));
  });

  return r;
}
