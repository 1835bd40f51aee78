import { ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Config } from '../config';
import { Database } from '../db/database';
import { claimNextJob, getJob, Job, jobCounts, queueState, recordFailure, requeueInterrupted } from '../db/jobs';
import { log, logLevel } from '../log';
import { jobAttemptsFailed, jobProcesses, lastRecomputeSuccess, observeJobs, recomputeDays, recomputeDuration } from '../metrics';
import { projectRoot } from '../paths';
import { Recomputations } from './recomputations';

/**
 * What runs the queue's jobs (src/db/jobs.ts): a dispatcher per service, which claims due
 * jobs while it has fewer than ZONERISK_JOB_PROCESSES of them running, and runs each in a
 * process of its own (`zonerisk run-job <id>`, niceness 10): a year's backfill of a country
 * computes for minutes, and in the service's own thread (and heap) it would hold up every
 * request behind it. Never one process per write: late writes coalesce in the queue, and the
 * dispatcher starts at most its number of processes whatever is queued.
 *
 * The dispatcher looks when woken (after an enqueue in this process), when one of its jobs
 * ends, and every two seconds while the service runs (jobs queued by other processes,
 * retries come due, jobs left queued across a restart); an app without a service (tests,
 * tools) looks only while there is work. A claimed job is owned by the service's instance:
 * if the service dies its job process ends too (its IPC channel closes) and the sweep of
 * src/db/instances.ts ends the attempt; if only the job process dies, the dispatcher records
 * the failed attempt itself. Job processes stop between two days on SIGTERM.
 *
 * The embedded engine has one session: there the dispatcher runs one job at a time in the
 * service itself, through the same queue.
 */
const POLL_MS = 2_000;
const JOB_NICENESS = 10;

export type JobQueue = {
  /** Look for due jobs now (after an enqueue). */
  kick(): void;
  /** Keep looking for as long as the service runs, and serve the job gauges of /metrics. */
  start(): void;
  /** Claim nothing more; ask the running jobs to stop between two days, and wait for them. */
  stop(): Promise<void>;
  /** Jobs this dispatcher has running now. */
  readonly active: number;
  /** When this dispatcher runs job `id`: its run, ended once its end is recorded (and counted in /metrics). */
  run(id: number): Promise<void> | undefined;
};

/**
 * A dispatcher (created idle) for the jobs of `recomputations`' database, claimed for its
 * owner; in-process runs (the embedded engine) go through `recomputations`; `succeeded`
 * hears of each job that succeeded. One per process.
 */
export function jobQueue(db: Database, config: Pick<Config, 'jobProcesses'>, recomputations: Recomputations, succeeded: () => void = () => undefined): JobQueue {
  const q = new Dispatcher(db, db.mode === 'embedded' ? 1 : config.jobProcesses, recomputations, succeeded);
  // the pools it uses close after it has stopped (its jobs asked to stop between two days)
  db.whenClosing(() => q.stop());
  return q;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

class Dispatcher implements JobQueue {
  private readonly runs = new Map<number, Promise<void>>();
  private readonly children = new Set<ChildProcess>();
  private filling: Promise<void> | null = null;
  private again = false;
  private service = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private unreachable = false;

  constructor(
    private readonly db: Database,
    private readonly slots: number,
    private readonly recomputations: Recomputations,
    /** Told when one of its jobs succeeded (the runtime's warm-up). */
    private readonly succeeded: () => void,
  ) {}

  run(id: number): Promise<void> | undefined {
    return this.runs.get(id);
  }

  get active(): number {
    return this.runs.size;
  }

  start(): void {
    this.service = true;
    observeJobs(() => jobCounts(this.db));
    this.kick();
  }

  kick(): void {
    if (this.stopped) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Claims due jobs into the free slots, then plans the next look. */
  private async fill(): Promise<void> {
    let nextDue: Date | null = null;
    let unfinished = 0;
    try {
      while (!this.stopped && this.runs.size < this.slots) {
        const job = await claimNextJob(this.db, this.recomputations.owner);
        if (!job) break;
        this.launch(job);
      }
      if (!this.service && !this.stopped) ({ nextDue, unfinished } = await queueState(this.db));
      if (this.unreachable) log.info('job queue: the database answers again');
      this.unreachable = false;
    } catch (e) {
      // once per outage; the service's pool reconnects by itself
      if (!this.unreachable) log.warn('job queue: could not look for due jobs; looking again shortly', { error: message(e) });
      this.unreachable = true;
      unfinished = 1;
    }
    this.plan(nextDue, unfinished);
  }

  private plan(nextDue: Date | null, unfinished: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    if (!this.service && unfinished === 0 && this.runs.size === 0) return; // nothing to wait for
    const ms = nextDue ? Math.min(POLL_MS, Math.max(50, nextDue.getTime() - Date.now())) : POLL_MS;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, ms);
    this.timer.unref();
  }

  private launch(job: Job): void {
    const began = Date.now();
    log.info('job started', { job: job.id, trigger: job.params.trigger, from: job.params.from, to: job.params.to, attempt: job.attempts, of: job.max_attempts });
    const work = this.db.mode === 'embedded' ? this.recomputations.execute(job).then(() => undefined, () => undefined) : this.inChild(job);
    const run = work
      .then(() => this.ended(job, began))
      .catch((e: unknown) => log.warn('job end not read', { job: job.id, error: message(e) }))
      .finally(() => {
        this.runs.delete(job.id);
        jobProcesses.set(this.runs.size);
        this.kick();
      });
    this.runs.set(job.id, run);
    jobProcesses.set(this.runs.size);
  }

  /** The job in a process of its own; resolves when it has exited and its end is recorded. */
  private inChild(job: Job): Promise<void> {
    // the job's process connects where this one does (its reads are the job's own: primary)
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: this.db.urls.primary, DATABASE_SESSION_URL: this.db.urls.session, ZONERISK_LOG_LEVEL: logLevel() };
    delete env.DATABASE_READ_URL;
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'zonerisk.js'), 'run-job', String(job.id)], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.children.add(child);
    // interactive reads come first: the backfill yields the CPU to the service (and takes longer)
    if (child.pid !== undefined) {
      try {
        os.setPriority(child.pid, JOB_NICENESS);
      } catch {
        // not permitted here: the job runs at the service's priority
      }
    }
    return new Promise<string>((resolve) => {
      child.once('error', (e) => resolve(`the job's process could not start: ${e.message}`));
      child.once('exit', (code, signal) => resolve(`the job's process ended (${signal ?? `exit code ${code}`}) before recording the job's end`));
    }).then(async (why) => {
      this.children.delete(child);
      // a process that died (OOM killer, SIGKILL) could not say so: its attempt failed (a
      // no-op when it did record its end); tried for two minutes through an outage, since
      // the job's owner — this live service — is one the orphan sweep never ends
      // (SIGTERM before the process could take it, at shutdown: an automatic job waits for the next start)
      const interrupted = this.stopped && job.max_attempts > 1;
      for (let attempt = 1; ; attempt++) {
        try {
          await (interrupted ? requeueInterrupted(this.db, job, why) : recordFailure(this.db, job.id, why, {}, job.attempts));
          return;
        } catch (e) {
          if (attempt >= 60) throw e;
          await new Promise((r) => setTimeout(r, 2_000));
        }
      }
    });
  }

  /** Logs how the attempt ended and counts a failure. */
  private async ended(job: Job, began: number): Promise<void> {
    const now = await getJob(this.db, job.id);
    if (!now) return;
    const trigger = job.params.trigger ?? 'api';
    const ms = Date.now() - began;
    // a job process's own metrics end with it: the service counts its runs (in-process runs count themselves)
    if (this.db.mode !== 'embedded' && (now.status === 'succeeded' || now.status === 'failed')) {
      recomputeDuration.observe({ trigger, status: now.status }, ms / 1000);
      recomputeDays.inc(now.days_done);
      if (now.status === 'succeeded') lastRecomputeSuccess.setToCurrentTime();
    }
    if (now.status === 'succeeded') {
      this.succeeded();
      log.info('job succeeded', { job: job.id, trigger, days: now.days_done, changed: now.changed, written: now.written, ms });
    } else if (!(this.stopped && now.status === 'queued' && now.attempts < job.attempts)) {
      jobAttemptsFailed.inc({ trigger, outcome: now.status === 'queued' ? 'retried' : 'failed' });
      log.warn(now.status === 'queued' ? 'job attempt failed; retried later' : 'job failed', { job: job.id, trigger, attempt: job.attempts, of: job.max_attempts, retry_at: now.next_attempt_at, error: now.error, ms });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    observeJobs(null);
    await this.filling;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.allSettled([...this.runs.values()]);
  }
}
