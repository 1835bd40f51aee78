import os from 'node:os';
import { Database } from '../db/database';
import { claimScheduledRun } from '../db/jobs';
import { addDays, daysBetween, LocalDate } from '../domain/dates';
import { dueDay } from '../domain/schedule';
import { log } from '../log';
import { startLoop } from './loop';

/**
 * The built-in daily recomputation: at `at` (local time in the reporting zone) the previous
 * and current day are recomputed. Every replica checks at start and then every minute;
 * the one whose insert claims the due day in schedule_runs (under an advisory lock) does
 * the work, exactly once per day, whatever the number of replicas. A run missed while every
 * process was down is caught up at the next start — from the last day that ran, at most
 * 31 days back. The claim puts the run's job in the queue in the same transaction (retried
 * like every automatic job, see db/jobs.ts); a job process runs it, and its end closes the
 * schedule_runs row. (Late reports are queued by the ingest itself, see
 * Recomputations.afterIngest.)
 */
const CATCH_UP_DAYS = 31;

export type Scheduler = { stop(): Promise<void>; tick(): Promise<void> };

/** The first day a run due on `day` recomputes, after the last day claimed before it. Pure. */
export function runFrom(day: LocalDate, last: LocalDate | null): LocalDate {
  const usual = addDays(day, -1);
  if (!last || last >= usual) return usual;
  return daysBetween(last, day) > CATCH_UP_DAYS ? addDays(day, -CATCH_UP_DAYS) : last;
}

export type SchedulerOptions = {
  at: string;
  timeZone: string;
  everyMs?: number;
  /** The dispatcher woken when a run is queued. */
  jobs: { kick(): void };
};

export function startScheduler(db: Database, opts: SchedulerOptions): Scheduler {
  const me = `${os.hostname()}:${process.pid}`;
  let handled: LocalDate | null = null;

  async function check(): Promise<void> {
    const day = dueDay(new Date(), opts.timeZone, opts.at);
    if (day === handled) return;
    const claimed = await claimScheduledRun(db, day, me, (last) => runFrom(day, last));
    handled = day;
    if (!claimed) return; // another replica has it
    if (!claimed.job) {
      log.warn('scheduled recompute skipped: no rule set is active', { day });
      return;
    }
    log.info('scheduled recompute queued', { day, from: claimed.from, job: claimed.job.id });
    opts.jobs.kick();
  }

  // catch up at start, then every minute
  const loop = startLoop(check, { everyMs: opts.everyMs ?? 60_000, atStart: true, onError: (e) => log.warn('scheduler check failed', { error: String(e) }) });
  return { tick: loop.run, stop: loop.stop };
}
