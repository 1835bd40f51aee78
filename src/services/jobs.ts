import { enqueueRecompute, getJob, Job, JobListQuery, listJobs } from '../db/jobs';

export { JOB_STATUSES } from '../db/jobs';
import { daysBetween, LocalDate } from '../domain/dates';
import { AppError, badRequest, notFound } from '../errors';
import type { Runtime } from '../runtime';

/**
 * Recomputation on request, and the job table as users see it. Every recomputation runs in
 * a job process through the queue (the engine's work never holds a request's thread); up to
 * a month is waited for and answered at once.
 */

/** Ranges longer than this are answered at once: 202 with a job to poll. */
const SYNC_DAYS = 31;
/** How long a shorter one is waited for before it is answered 202 all the same (a queue ahead of it). */
const SYNC_WAIT_MS = 120_000;
/** The longest range one request may ask for. */
const MAX_DAYS = 3660;

/** The job once it has ended (null: still queued or running after `ms`). */
async function settled(rt: Runtime, id: number, ms: number): Promise<Job | null> {
  const until = Date.now() + ms;
  for (let wait = 20; Date.now() < until; wait = Math.min(wait * 2, 250)) {
    const job = await getJob(rt.db, id);
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

/** A recomputation of [from, to]: done (the job and its counts), or still to come (`pending`, answered 202). */
export async function recompute(rt: Runtime, from: LocalDate, to: LocalDate): Promise<{ pending: boolean; body: { job: Job; areas: number | null; changed: number | null } }> {
  const days = daysBetween(from, to) + 1;
  if (days > MAX_DAYS) throw badRequest('at most ten years at a time', [{ path: 'to', message: 'range too long' }]);
  const { job } = await enqueueRecompute(rt.db, { from, to, trigger: 'api' });
  rt.jobs.kick();
  const done = days > SYNC_DAYS ? null : await settled(rt, job.id, SYNC_WAIT_MS);
  if (!done) return { pending: true, body: { job: (await getJob(rt.db, job.id)) ?? job, areas: null, changed: null } };
  await rt.jobs.run(job.id); // run here: its end recorded and counted before the answer
  if (done.status === 'failed') throw jobFailed(done);
  return { pending: false, body: { job: done, areas: done.areas, changed: done.changed } };
}

/** Jobs newest first (?status=failed shows what failed and why; queued ones name their next attempt). */
export function jobs(rt: Runtime, q: JobListQuery) {
  return listJobs(rt.db, q);
}

export async function job(rt: Runtime, id: number): Promise<Job> {
  const j = await getJob(rt.db, id);
  if (!j) throw notFound(`no job ${id}`);
  return j;
}
