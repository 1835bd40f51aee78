import { Router } from 'express';
import { createRecomputeJob, getJob, runRecomputeJob } from '../../jobs/recompute';
import { daysBetween } from '../../domain/dates';
import { badRequest, notFound } from '../../errors';
import { inBackground, runJobInBackground } from '../../jobs/runner';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { recomputeBody } from '../schemas';
import { parseBody } from '../validation';

/** Ranges longer than this run in the background: 202 with a job to poll. */
const SYNC_DAYS = 31;

export function recomputeRouter({ db }: AppContext): Router {
  const r = Router();

  r.post('/v1/recompute', accepts('application/json'), async (req, res) => {
    const body = parseBody(recomputeBody, req.body);
    const [from, to] = 'date' in body ? [body.date, body.date] : [body.from, body.to];
    const days = daysBetween(from, to) + 1;
    if (days > 3660) throw badRequest('at most ten years at a time', [{ path: 'to', message: 'range too long' }]);
    const job = await createRecomputeJob(db.knex, from, to);
    if (days > SYNC_DAYS) {
      inBackground(runJobInBackground(db, job), job, 'background recompute failed');
      res.status(202).location(`/v1/jobs/${job.id}`).json({ job, areas: null, changed: null });
      return;
    }
    const done = await runRecomputeJob(db, job);
    res.json({ job: done, areas: done.areas, changed: done.changed });
  });

  r.get('/v1/jobs/:id', async (req, res) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1) throw badRequest('job id must be a positive integer', [{ path: 'id', message: 'invalid' }], 'invalid_query');
    const job = await getJob(db.knex, id);
    if (!job) throw notFound(`no job ${id}`);
    res.json(job);
  });

  return r;
}
