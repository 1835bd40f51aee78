import os from 'node:os';
import { Database } from '../db/database';
import { lockKey } from '../db/facts';
import { activeRuleSet } from '../db/rulesets';
import { addDays, daysBetween, LocalDate } from '../domain/dates';
import { dueDay } from '../domain/schedule';
import { log } from '../log';
import { AUTOMATIC_ATTEMPTS, enqueueRecompute, Job } from './queue';
import { kickJobs } from './runner';

/**
 * The built-in daily recomputation: at `at` (local time in the reporting zone) the previous
 * and current day are recomputed. Every replica checks at start and then every minute;
 * the one whose insert claims the due day in schedule_runs (under an advisory lock) does
 * the work, exactly once per day, whatever the number of replicas. A run missed while every
 * process was down is caught up at the next start — from the last day that ran, at most
 * 31 days back. The claim puts the run's job in the queue in the same transaction (retried
 * like every automatic job, see queue.ts); a job process runs it, and its end closes the
 * schedule_runs row. (Late reports are queued by the ingest itself, see recomputeAfterIngest.)
 */
const SCHEDULE_LOCK = lockKey('zonerisk:schedule');
const CATCH_UP_DAYS = 31;

export type Scheduler = { stop(): Promise<void>; tick(): Promise<void> };

export function startScheduler(db: Database, opts: { at: string; timeZone: string; everyMs?: number }): Scheduler {
  const me = `${os.hostname()}:${process.pid}`;
  let handled: LocalDate | null = null;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  /** The due day claimed, its job queued (both or neither); null when another replica has it. */
  async function claim(day: LocalDate): Promise<{ from: LocalDate; job: Job | null } | null> {
    return db.knex.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [SCHEDULE_LOCK]);
      const last = (await trx('schedule_runs').max<{ max: string | null }[]>({ max: trx.raw('day::text') }))[0]?.max as LocalDate | null;
      const inserted = await trx('schedule_runs').insert({ day, claimed_by: me }).onConflict('day').ignore().returning('day');
      if (inserted.length === 0) return null;
      const usual = addDays(day, -1);
      const from = last && last < usual ? (daysBetween(last, day) > CATCH_UP_DAYS ? addDays(day, -CATCH_UP_DAYS) : last) : usual;
      if (!(await activeRuleSet(trx))) {
        await trx('schedule_runs').where({ day }).update({ finished_at: trx.fn.now(), error: 'no rule set is active' });
        return { from, job: null };
      }
      const { job } = await enqueueRecompute(trx, { from, to: day, trigger: 'schedule', maxAttempts: AUTOMATIC_ATTEMPTS });
      await trx('schedule_runs').where({ day }).update({ job_id: job.id });
      return { from, job };
    });
  }

  async function run(): Promise<void> {
    const day = dueDay(new Date(), opts.timeZone, opts.at);
    if (day === handled || stopped) return;
    const claimed = await claim(day);
    handled = day;
    if (!claimed) return; // another replica has it
    if (!claimed.job) {
      log.warn('scheduled recompute skipped: no rule set is active', { day });
      return;
    }
    log.info('scheduled recompute queued', { day, from: claimed.from, job: claimed.job.id });
    kickJobs(db);
  }

  const tick = () => {
    running = running.then(run).catch((e: unknown) => log.warn('scheduler check failed', { error: String(e) }));
    return running;
  };
  void tick(); // catch up at start
  const timer = setInterval(() => void tick(), opts.everyMs ?? 60_000);
  timer.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
