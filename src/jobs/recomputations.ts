import { Database } from '../db/database';
import { AUTOMATIC_ATTEMPTS, claimJob, createDirectJob, enqueueRecompute, Job, recordFailure } from '../db/jobs';
import { DayResult, lateDataSpan } from '../db/levels';
import { withLevelSession } from '../db/levelWriter';
import { LocalDate } from '../domain/dates';
import { AppError } from '../errors';
import { jobsCoalesced } from '../metrics';
import { executeJob, JobEnds } from './jobRun';
import { recomputeIn, RunCarry } from './recompute/run';

/**
 * Daily recomputation: for one date, every area's level from the active rule set. Each day
 * is one transaction (it is stored whole or not at all); concurrent runs are serialised
 * with an advisory lock (db/levelWriter.ts); a row is written only where something
 * changed, so running it again writes nothing.
 *
 * A `Recomputations` is a process's recomputing side over one database: its runs take
 * turns (the embedded engine has a single session to share; on a server the recompute lock
 * serialises them anyway, and a run waiting for it would hold its connections); `stop()`
 * stops them between two days at shutdown; the jobs it creates and claims are owned by
 * `owner`, the process's service instance (db/instances.ts; null when none is registered),
 * so that the orphan sweep ends them if the process dies.
 */
export class Recomputations {
  /** The run in progress, or the last one; the next one starts after it. */
  private turn: Promise<unknown> = Promise.resolve();
  /** Set when the process is shutting down: runs stop between two days (each day is whole). */
  private stopping = false;
  private readonly runs = new Set<Promise<unknown>>();
  private readonly ends = new JobEnds();
  /** What the last run left for the next one (run.ts `RunCarry`): the daily job starts from the day before's. */
  private readonly carry: RunCarry = { map: null, day: null };

  constructor(
    readonly db: Database,
    private readonly ownerId: number | null = null,
  ) {}

  /** The service instance that owns the jobs these recomputations create and claim. */
  get owner(): number | null {
    return this.ownerId;
  }

  /**
   * Recomputes days [from, to] in date order (jobs/recompute/run.ts), after the runs before
   * it; `onDay` hears of each day once written; with `toLastClassified`, on to the last
   * classified day if that is later when the run starts (run.ts `RangeRun`). Rejects with 503 `shutting_down` after
   * `stop()` (every day written is whole).
   */
  range(from: LocalDate, to: LocalDate, jobId: number | null = null, onDay?: (r: DayResult) => Promise<void>, toLastClassified?: (to: LocalDate) => Promise<void>): Promise<DayResult[]> {
    const work = this.turn.then(() => withLevelSession(this.db, (session) => recomputeIn(session, { from, to, jobId, onDay, stopping: () => this.stopping, toLastClassified, carry: this.carry })));
    this.turn = work.catch(() => undefined);
    this.runs.add(work);
    work.finally(() => this.runs.delete(work)).catch(() => undefined);
    return work;
  }

  /** One day, every area (the daily job; `zonerisk recompute --date`). */
  async day(date: LocalDate, jobId: number | null = null): Promise<DayResult> {
    const [r] = await this.range(date, date, jobId);
    return r as DayResult;
  }

  /** Stops every run after the day it is writing (and every later one before its first day), and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.runs]);
  }

  /** Resolves when every job end still being retried through an outage has been recorded (or given up). */
  endsRecorded(): Promise<void> {
    return this.ends.recorded();
  }

  /** A job this process runs at once with `runJob` (API ≤ 31 days, CLI, demo seed). */
  createJob(from: LocalDate, to: LocalDate, trigger = 'api'): Promise<Job> {
    return createDirectJob(this.db, from, to, trigger, this.owner);
  }

  /**
   * Runs a job made by `createJob`, in this process, now: claims it (a job swept as orphaned
   * meanwhile is not run after all), then as `execute`.
   */
  async runJob(job: Job): Promise<Job> {
    const claimed = await claimJob(this.db, job.id, this.owner);
    if (!claimed) throw new AppError(409, 'job_not_queued', `job ${job.id} is no longer queued`);
    return this.execute(claimed);
  }

  /**
   * Runs a claimed job day by day and records how it ended (jobs/jobRun.ts). Rejects with
   * the run's error after recording it.
   */
  execute(job: Job): Promise<Job> {
    return executeJob(this.db, job, (from, to, jobId, onDay, toLast) => this.range(from, to, jobId, onDay, toLast), this.ends);
  }

  /**
   * Records the running attempt of a job as failed (retried later if it has attempts left),
   * waiting through an outage (retried each second for two minutes).
   */
  async fail(id: number, error: string): Promise<void> {
    await this.ends.record(id, () => recordFailure(this.db, id, error));
    await this.ends.recorded();
  }

  /**
   * Late or corrected reports and indicators: every day already classified from the earliest
   * changed date on is recomputed, through the queue — folded into the pending late-data job
   * whose range it overlaps or abuts, if there is one (see db/jobs.ts). Days never classified
   * are not affected. The caller wakes its dispatcher (runner.ts); the job answered is the one
   * that will recompute the range, with its range as it now stands.
   */
  async afterIngest(earliest: LocalDate | null): Promise<Job | null> {
    if (earliest === null) return null;
    const span = await lateDataSpan(this.db, earliest);
    if (!span) return null;
    const { job, merged } = await enqueueRecompute(this.db, { from: span.first, to: span.last, trigger: 'late_data', coalesce: true, maxAttempts: AUTOMATIC_ATTEMPTS });
    if (merged) jobsCoalesced.inc();
    return job;
  }
}
