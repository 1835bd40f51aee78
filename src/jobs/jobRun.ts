import { Database } from '../db/database';
import { getJob, Job, Progress, recordFailure, recordProgress, recordSpan, recordSuccess, requeueInterrupted } from '../db/jobs';
import { DayResult } from '../db/levels';
import { AppError, isDatabaseUnavailable } from '../errors';
import { log } from '../log';
import { lastRecomputeSuccess, recomputeDays, recomputeDuration } from '../metrics';

/**
 * Executing a recompute job: its days run, its progress recorded as they are written, its
 * end recorded — succeeded; or, on an error, a failed attempt (queued again after a pause
 * while attempts remain, see db/jobs.ts); an automatic job stopped by a shutdown goes back
 * to the queue uncounted.
 */

/** The days of a range, as a recomputation runs them (`onDay` hears of each once written). */
export type RunDays = (
  from: Job['params']['from'],
  to: Job['params']['to'],
  jobId: number,
  onDay: (r: DayResult) => Promise<void>,
  toLastClassified?: (to: Job['params']['to']) => Promise<void>,
) => Promise<unknown>;

/**
 * Jobs that redo every classified day from their first one (changed facts, changed
 * overrides: db/jobs.ts) run to the last classified day as it stands when they start, which
 * a daily job that ran before them may have moved on: their `to` and `days` are recorded anew.
 */
const THROUGH_LAST_CLASSIFIED = new Set(['late_data', 'override']);

/**
 * How often a running job's progress is recorded: its first day at once, then at most once
 * in PROGRESS_EVERY_MS, and the last with its end; no day's writer waits for it. Measured (a
 * 365-day backfill of the national bench set, three interleaved pairs of runs): a
 * transaction per day, each day's writer waiting for it, 13.1–13.9 s; this way 12.3–12.8 s,
 * Node's CPU about 1 s lower.
 */
const PROGRESS_EVERY_MS = 500;

/**
 * The ends of jobs being recorded. When the database is away just then (the failure being
 * recorded is often that very outage) a write goes on being tried in the background, every
 * second for up to two minutes.
 */
export class JobEnds {
  private readonly pending = new Set<Promise<void>>();

  /** Runs `write`; the recorded job when it succeeded at once, else null (and retried in the background). */
  async record(id: number, write: () => Promise<Job | null>): Promise<Job | null> {
    try {
      return await write();
    } catch {
      const retry = (async () => {
        for (let attempt = 1; attempt <= 120; attempt++) {
          await new Promise((r) => setTimeout(r, 1_000));
          try {
            await write();
            return;
          } catch (e) {
            if (attempt === 120) log.error('job end not recorded', { job: id, error: e instanceof Error ? e.message : String(e) });
          }
        }
      })();
      this.pending.add(retry);
      void retry.finally(() => this.pending.delete(retry));
      return null;
    }
  }

  /** Resolves when every job end still being retried has been recorded (or given up). */
  async recorded(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/** The message a job gets when the database went away under it. */
export function outageMessage(e: unknown): string {
  const cause = e instanceof Error ? e.message : String(e);
  return `the database became unavailable during the run (${cause.replace(/^[\s\S]* - /, '')}); every day written is whole: run the job again to finish`;
}

/**
 * Runs a claimed job (status running, its attempt counted) with `runDays`, recording its
 * progress as days are written (PROGRESS_EVERY_MS) and its end (see above). Rejects with the run's error after
 * recording it.
 */
export async function executeJob(db: Database, job: Job, runDays: RunDays, ends: JobEnds): Promise<Job> {
  let areas = 0;
  let changed = 0;
  let written = 0;
  let done = 0;
  const trigger = job.params.trigger ?? 'api';
  const timer = recomputeDuration.startTimer({ trigger });
  // days finish on two writers: progress snapshots are applied in the order they were taken
  let progress: Promise<unknown> = Promise.resolve();
  let recordedAt = -Infinity;
  let unrecorded = false;
  const record = (snapshot: Progress) => {
    progress = progress.then(() => recordProgress(db, job.id, snapshot));
    progress.catch(() => undefined); // awaited at the end (its error is the run's)
  };
  try {
    const toLast = THROUGH_LAST_CLASSIFIED.has(trigger) ? (to: Job['params']['to']) => recordSpan(db, job.id, to) : undefined;
    await runDays(job.params.from, job.params.to, job.id, async (r) => {
      recomputeDays.inc();
      areas = Math.max(areas, r.areas);
      changed += r.changed;
      written += r.written;
      done++;
      unrecorded = Date.now() - recordedAt < PROGRESS_EVERY_MS;
      if (unrecorded) return;
      recordedAt = Date.now();
      record({ days_done: done, areas, changed, written });
    }, toLast);
    if (unrecorded) record({ days_done: done, areas, changed, written });
    await progress;
  } catch (e) {
    timer({ status: 'failed' });
    const cause = e instanceof Error ? e.message : String(e);
    await progress.catch(() => undefined);
    const counts = { days_done: done, areas, changed, written };
    if (e instanceof AppError && e.code === 'shutting_down' && job.max_attempts > 1) {
      // an automatic job is not lost to a restart: the next dispatcher runs it again
      log.info('recompute job interrupted by shutdown; queued again', { job: job.id, days_done: done });
      await ends.record(job.id, () => requeueInterrupted(db, job, cause));
      throw e;
    }
    // what the job tells its reader: the cause in words, not the statement that hit it
    const message = isDatabaseUnavailable(e) ? outageMessage(e) : cause;
    const ended = await ends.record(job.id, () => recordFailure(db, job.id, message, counts, job.attempts));
    const retry = ended?.status === 'queued' ? { retry_at: ended.next_attempt_at } : {};
    log.warn('recompute job failed', { job: job.id, trigger, attempt: job.attempts, of: job.max_attempts, error: cause, ...retry });
    throw e;
  }
  const ended = await ends.record(job.id, () => recordSuccess(db, job));
  timer({ status: 'succeeded' });
  lastRecomputeSuccess.setToCurrentTime();
  return ended ?? ((await getJob(db, job.id)) as Job);
}
