import { Routes } from '../access';
import { z } from 'zod';
import { Knex } from 'knex';
import { enqueueRecompute, getJob, Job, JOB_STATUSES, listJobs } from '../../jobs/queue';
import { daysBetween } from '../../domain/dates';
import { AppError, badRequest, notFound } from '../../errors';
import { jobQueue } from '../../jobs/runner';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { oneValue, recomputeBody } from '../schemas';
import { parseBody, parseQuery } from '../validation';

/** Ranges longer than this are answered at once: 202 with a job to poll. */
const SYNC_DAYS = 31;
/** How long a shorter one is waited for before it is answered 202 all the same (a queue ahead of it). */
const SYNC_WAIT_MS = 120_000;

/** The job once it has ended (null: still queued or running after `ms`). */
async function settled(knex: Knex, id: number, ms: number): Promise<Job | null> {
  const until = Date.now() + ms;
  for (let wait = 20; Date.now() < until; wait = Math.min(wait * 2, 250)) {
    const job = await getJob(knex, id);
    if (job && (job.status === 'succeeded' || job.status === 'failed')) return job;
    await new Promise((r) => setTimeout(r, wait));
  }
  return null;
}

/** A failed recomputation as an answer: 503 when the database went away, else the job's own words. */
function jobFailed(job: Job): AppError {
  const outage = /database became unavailable/.test(job.error ?? '');
  return new AppError(outage ? 503 : 500, outage ? 'database_unavailable' : 'recompute_failed', `recompute job ${job.id} failed: ${job.error ?? 'no reason recorded'}`);
}

export const jobsQuery = z.strictObject({
  status: z.preprocess(oneValue, z.enum(JOB_STATUSES)).optional(),
  limit: z.preprocess(oneValue, z.coerce.number().int().min(1).max(500)).default(50),
  cursor: z.preprocess(oneValue, z.coerce.number().int().min(1)).optional(),
});

export function recomputeRouter({ db, config }: AppContext): Routes {
  const r = new Routes();
  const jobs = jobQueue(db, config);

  r.post('/v1/recompute', 'admin', accepts('application/json'), async (req, res) => {
    const body = parseBody(recomputeBody, req.body);
    const [from, to] = 'date' in body ? [body.date, body.date] : [body.from, body.to];
    const days = daysBetween(from, to) + 1;
    if (days > 3660) throw badRequest('at most ten years at a time', [{ path: 'to', message: 'range too long' }]);
    // every recomputation runs in a job process through the queue (the engine's work never
    // holds this thread); up to a month is waited for and answered at once, as before
    const { job } = await enqueueRecompute(db.knex, { from, to, trigger: 'api' });
    jobs.kick();
    const done = days > SYNC_DAYS ? null : await settled(db.knex, job.id, SYNC_WAIT_MS);
    if (!done) {
      res.status(202).location(`/v1/jobs/${job.id}`).json({ job: (await getJob(db.knex, job.id)) ?? job, areas: null, changed: null });
      return;
    }
    await jobs.run(job.id); // run here: its end recorded and counted before the answer
    if (done.status === 'failed') throw jobFailed(done);
    res.json({ job: done, areas: done.areas, changed: done.changed });
  });

  // newest first; ?status=failed shows what failed and why (queued ones name their next attempt)
  r.get('/v1/jobs', 'read', async (req, res) => {
    res.json(await listJobs(db.knex, parseQuery(jobsQuery, req.query)));
  });

  r.get('/v1/jobs/:id', 'read', async (req, res) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1) throw badRequest('job id must be a positive integer', [{ path: 'id', message: 'invalid' }], 'invalid_query');
    const job = await getJob(db.knex, id);
    if (!job) throw notFound(`no job ${id}`);
    res.json(job);
  });

  return r;
}
