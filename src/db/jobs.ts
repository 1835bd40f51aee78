import { Knex } from 'knex';
import { daysBetween, LocalDate } from '../domain/dates';
import { AppError } from '../errors';
import type { Database } from './database';
import { arrayBindings } from './knex';
import { JOB_QUEUE_LOCK, LIVENESS_CLASS, SCHEDULE_LOCK } from './locks';
import { NO_ACTIVE_RULE_SET, requireInForce, loadPeriods } from './timeline';
import { segments } from '../domain/rules/timeline';

/**
 * The recomputation queue: rows of `jobs`, in PostgreSQL, so that it holds across every
 * service process of an installation and across restarts; with the daily run's claims
 * (`schedule_runs`) and the service instances that own running jobs (`service_instances`).
 *
 * - **Enqueue.** Late data asks for its range (the classified days from the earliest
 *   changed one on) with `coalesce`, and so does a changed override (db/overrides.ts): under a
 *   transaction-scoped advisory lock (enqueuers of every process take turns, for a few
 *   milliseconds), a pending late-data or override job whose range
 *   overlaps or abuts the new one is extended to cover both; only when there is none is a
 *   job inserted. A job already claimed is never changed: the new range waits in a pending
 *   job that follows it. So a burst of late writes makes one pending job per affected range,
 *   not one per write. Such a job runs on to the last classified day as it stands when it
 *   starts (jobs/jobRun.ts): a day a daily job classified after it was queued is redone too.
 *   Other jobs (an API backfill, the daily run) are inserted as they are.
 * - **Claim.** A dispatcher takes the oldest due job with `FOR UPDATE SKIP LOCKED` and marks
 *   it running under its instance, counting the attempt; two dispatchers never take the same
 *   job, and an enqueue extending a job waits for, or is skipped by, a claim of it (the job
 *   it then finds is running, so it queues a new one).
 * - **End.** A run records success, or a failed attempt: with attempts left (automatic jobs:
 *   late data, the daily run — 3 attempts) the job goes back to the queue after a pause
 *   (5 s, then 30 s), the failure kept in `error`/`last_error`; otherwise it is failed. A job
 *   interrupted by a shutdown is not a failure when it is automatic: it goes back to the
 *   queue as it was. Jobs asked for through the API or the CLI are tried once: whoever asked
 *   sees the failure and runs it again (a recompute is idempotent). A daily run's
 *   schedule_runs row is closed in the same statement as its job's end.
 * - **Orphans.** A running job whose owner instance holds no liveness lock any more (see
 *   db/instances.ts) has lost its attempt: it ends as a failed attempt would.
 *
 * What runs a claimed job (a job process, or the embedded engine's own thread) is
 * src/jobs/runner.ts; the work itself, under the recompute lock, src/jobs/recomputations.ts.
 *
 * Why not pg-boss or graphile-worker: the job row is the API's (`/v1/jobs/{id}` with its
 * progress, `changed`, `written`) and the recompute lock, whole days and the orphan sweep are
 * built on it — a library keeps its own tables and schema migrations, which would make two
 * records of one job to keep in step. Neither merges ranges (pg-boss's singleton keys refuse
 * a duplicate, graphile-worker's job_key replaces a pending payload): the hull of two ranges
 * is a read-modify-write that needs our own lock anyway. Both run tasks inside the process
 * that polls, and ours must run in processes of their own (niced, killed with the service);
 * and the embedded engine's single connection is not what they are built for. What is kept
 * is their core — SKIP LOCKED claims, attempts with backoff — in a few statements.
 *
 * Reads go to the primary (what a job says decides what its runner does next); every write
 * goes through `db.write`.
 */

/** Attempts of an automatic job (late data, the daily run). */
export const AUTOMATIC_ATTEMPTS = 3;
/** The pause before attempt n+1 is RETRY_SECONDS × RETRY_FACTOR^(n-1): 5 s, 30 s. */
export const RETRY_SECONDS = 5;
export const RETRY_FACTOR = 6;

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed'];

export type Job = {
  id: number;
  /** The service instance running it (null: a process that registered none). */
  owner: number | null;
  kind: 'recompute';
  params: { from: LocalDate; to: LocalDate; trigger?: string };
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  days: number;
  days_done: number;
  areas: number;
  changed: number;
  written: number;
  /** Why the job failed — or, while it waits for another attempt, why the last one did. */
  error: string | null;
  attempts: number;
  max_attempts: number;
  /** Queued for the dispatcher: not before this time (null: run by the process that created it). */
  next_attempt_at: string | null;
  /** The last failed attempt's error, kept after a retry succeeded. */
  last_error: string | null;
  /** Later late writes folded into this job while it was pending. */
  merged: number;
};

type JobRow = Omit<Job, 'id' | 'created_at' | 'started_at' | 'finished_at' | 'next_attempt_at'> & {
  id: number | string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  run_after: Date | null;
};

function toJob(r: JobRow): Job {
  const { run_after, ...rest } = r;
  return {
    ...rest,
    id: Number(r.id),
    owner: r.owner === null ? null : Number(r.owner),
    created_at: r.created_at.toISOString(),
    started_at: r.started_at?.toISOString() ?? null,
    finished_at: r.finished_at?.toISOString() ?? null,
    next_attempt_at: r.status === 'queued' && run_after ? run_after.toISOString() : null,
  };
}

const rowsOf = (res: { rows: JobRow[] }): Job[] => res.rows.map(toJob);

export { NO_ACTIVE_RULE_SET };

// ─── Reading jobs ──────────────────────────────────────────────────────────────────────

async function getJobOn(q: Knex, id: number): Promise<Job | null> {
  const row = (await q('jobs').where({ id }).first()) as JobRow | undefined;
  return row ? toJob(row) : null;
}

export function getJob(db: Database, id: number): Promise<Job | null> {
  return getJobOn(db.knex, id);
}

export type JobList = { items: Job[]; next_cursor: string | null };
export type JobListQuery = { status?: JobStatus | undefined; limit: number; cursor?: number | undefined };

async function listJobsOn(q: Knex, l: JobListQuery): Promise<JobList> {
  const query = q('jobs').orderBy('id', 'desc').limit(l.limit + 1);
  if (l.status) query.where('status', l.status);
  if (l.cursor !== undefined) query.where('id', '<', l.cursor);
  const rows = ((await query) as JobRow[]).map(toJob);
  const items = rows.slice(0, l.limit);
  return { items, next_cursor: rows.length > l.limit ? String(items[items.length - 1]?.id) : null };
}

/** Jobs newest first, of one status or all; `cursor`: the last id of the previous page. */
export function listJobs(db: Database, l: JobListQuery): Promise<JobList> {
  return listJobsOn(db.knex, l);
}

/** When due jobs wait for the dispatcher, and how many queued or running jobs there are. */
export async function queueState(db: Database): Promise<{ nextDue: Date | null; unfinished: number }> {
  const res = await db.knex.raw<{ rows: { next_due: Date | null; unfinished: number }[] }>(
    `SELECT min(run_after) FILTER (WHERE status = 'queued' AND run_after IS NOT NULL) AS next_due, count(*)::int AS unfinished
     FROM jobs WHERE status IN ('queued', 'running')`,
  );
  const r = res.rows[0];
  return { nextDue: r?.next_due ?? null, unfinished: r?.unfinished ?? 0 };
}

/** Jobs by status, and how many are due and waiting for a job process (for /metrics). */
export async function jobCounts(db: Database): Promise<{ byStatus: Record<JobStatus, number>; due: number }> {
  const res = await db.knex.raw<{ rows: { status: JobStatus; n: number; due: number }[] }>(
    `SELECT status, count(*)::int AS n, count(*) FILTER (WHERE status = 'queued' AND run_after <= now())::int AS due
     FROM jobs GROUP BY status`,
  );
  const byStatus = { queued: 0, running: 0, succeeded: 0, failed: 0 };
  let due = 0;
  for (const r of res.rows) {
    byStatus[r.status] = r.n;
    due += r.due;
  }
  return { byStatus, due };
}

// ─── Creating and queueing jobs ────────────────────────────────────────────────────────

/**
 * A job its creator runs at once (claimJob, then its run): a short recompute answered in
 * the request, the CLI, the demo seed. Refuses up front (nothing written) without a rule set.
 */
export async function createDirectJob(db: Database, from: LocalDate, to: LocalDate, trigger: string, owner: number | null): Promise<Job> {
  await requireInForce(db.knex, from, to);
  const [row] = await db.write(
    async (trx) =>
      (await trx('jobs')
        .insert({ kind: 'recompute', params: JSON.stringify({ from, to, trigger }), status: 'queued', days: daysBetween(from, to) + 1, owner })
        .returning('*')) as JobRow[],
  );
  return toJob(row as JobRow);
}

export type Enqueue = {
  from: LocalDate;
  to: LocalDate;
  trigger: string;
  /** fold into a pending job of the same trigger (late data and overrides: either) whose range overlaps or abuts this one */
  coalesce?: boolean;
  /** 1 (default): tried once; automatic jobs: AUTOMATIC_ATTEMPTS */
  maxAttempts?: number;
};

/**
 * Recomputations asked for by changed facts (`late_data`) and by changed overrides
 * (`override`, db/overrides.ts) both redo every classified day from their first one: either
 * folds into a pending one of the other (it keeps its own trigger), so that they run once.
 */
const CHANGE_TRIGGERS = ['late_data', 'override'];
const coalescesWith = (trigger: string): string[] => (CHANGE_TRIGGERS.includes(trigger) ? CHANGE_TRIGGERS : [trigger]);

/** The queueing of `enqueueRecompute`, inside the caller's transaction (refused, 409, for days no rule set is in force on). */
export async function enqueueIn(trx: Knex.Transaction, e: Enqueue): Promise<{ job: Job; merged: boolean }> {
  await requireInForce(trx, e.from, e.to);
  if (e.coalesce) {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [JOB_QUEUE_LOCK]);
    const extended = rowsOf(
      await trx.raw<{ rows: JobRow[] }>(
        `WITH pending AS (
           SELECT id, least((params->>'from')::date, ?::date) AS f, greatest((params->>'to')::date, ?::date) AS t
           FROM jobs
           WHERE status = 'queued' AND run_after IS NOT NULL AND kind = 'recompute' AND params->>'trigger' = ANY(?::text[])
             AND (params->>'from')::date <= ?::date + 1 AND (params->>'to')::date >= ?::date - 1
           ORDER BY id LIMIT 1
           FOR UPDATE
         )
         UPDATE jobs j SET params = j.params || jsonb_build_object('from', p.f::text, 'to', p.t::text),
                           days = p.t - p.f + 1, merged = j.merged + 1
         FROM pending p WHERE j.id = p.id AND j.status = 'queued'
         RETURNING j.*`,
        arrayBindings([e.from, e.to, coalescesWith(e.trigger), e.to, e.from]),
      ),
    );
    if (extended[0]) return { job: extended[0], merged: true };
  }
  const [row] = (await trx('jobs')
    .insert({
      kind: 'recompute',
      params: JSON.stringify({ from: e.from, to: e.to, trigger: e.trigger }),
      status: 'queued',
      days: daysBetween(e.from, e.to) + 1,
      owner: null,
      run_after: trx.fn.now(),
      max_attempts: e.maxAttempts ?? 1,
    })
    .returning('*')) as JobRow[];
  return { job: toJob(row as JobRow), merged: false };
}

/**
 * Puts a recomputation in the queue (see above); `merged` when it was folded into a pending
 * job, which is returned with its range as extended. Refuses (nothing written) without an
 * active rule set.
 */
export function enqueueRecompute(db: Database, e: Enqueue): Promise<{ job: Job; merged: boolean }> {
  return db.write((trx) => enqueueIn(trx, e));
}

// ─── Running jobs: claims, progress, ends ──────────────────────────────────────────────

/** Claims the oldest due job in the queue for `owner` (null when none is due). */
export async function claimNextJob(db: Database, owner: number | null): Promise<Job | null> {
  const res = await db.write((trx) =>
    trx.raw<{ rows: JobRow[] }>(
      `UPDATE jobs SET status = 'running', owner = ?, started_at = now(), finished_at = NULL, attempts = attempts + 1,
                       days_done = 0, areas = 0, changed = 0, written = 0, error = NULL
       WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_after <= now() ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         AND status = 'queued'
       RETURNING *`,
      [owner],
    ),
  );
  return rowsOf(res)[0] ?? null;
}

/** Claims one queued job for the process that created it (a direct job). */
export async function claimJob(db: Database, id: number, owner: number | null): Promise<Job | null> {
  const res = await db.write((trx) =>
    trx.raw<{ rows: JobRow[] }>(
      `UPDATE jobs SET status = 'running', owner = ?, started_at = now(), attempts = attempts + 1
       WHERE id = ? AND status = 'queued' RETURNING *`,
      [owner, id],
    ),
  );
  return rowsOf(res)[0] ?? null;
}

export type Progress = { days_done: number; areas: number; changed: number; written: number };

/** A running job's last day moved on (jobs/jobRun.ts): its `to` and its number of days. */
export async function recordSpan(db: Database, id: number, to: LocalDate): Promise<void> {
  await db.write((trx) =>
    trx.raw(`UPDATE jobs SET params = params || jsonb_build_object('to', ?::text), days = ?::date - (params->>'from')::date + 1 WHERE id = ?`, [to, to, id]),
  );
}

/** A running job's progress so far. */
export async function recordProgress(db: Database, id: number, progress: Progress): Promise<void> {
  await db.write((trx) => trx('jobs').where({ id }).update(progress));
}

/**
 * The SET list ending a failed attempt (binds: the error, twice): back to the queue after a
 * pause while attempts remain, else failed. Every value is computed from the row as it was.
 */
function failedAttemptSet(errorSql = '?'): string {
  // only jobs of the queue are retried: one its creator was to run is not run by anyone else
  const retry = 'attempts < max_attempts AND run_after IS NOT NULL';
  return `status = CASE WHEN ${retry} THEN 'queued' ELSE 'failed' END,
    run_after = CASE WHEN ${retry}
                     THEN now() + make_interval(secs => ${RETRY_SECONDS} * power(${RETRY_FACTOR}, greatest(attempts, 1) - 1))
                     ELSE run_after END,
    finished_at = CASE WHEN ${retry} THEN NULL ELSE now() END,
    owner = CASE WHEN ${retry} THEN NULL ELSE owner END,
    error = ${errorSql}, last_error = ${errorSql}`;
}

/**
 * Wraps an UPDATE of jobs … RETURNING * so that a daily run's schedule_runs row is closed in
 * the same statement when its job ends for good (succeeded, or failed with no attempt left).
 */
function closingSchedules(updateJobs: string): string {
  return `WITH j AS (${updateJobs}),
     s AS (UPDATE schedule_runs SET finished_at = now(), error = j.error FROM j
           WHERE schedule_runs.job_id = j.id AND j.status IN ('succeeded', 'failed') RETURNING 1)
   SELECT * FROM j`;
}

/** The end of a successful attempt (nothing when the job is no longer this attempt's). */
export async function recordSuccess(db: Database, job: Job): Promise<Job | null> {
  const res = await db.write((trx) =>
    trx.raw<{ rows: JobRow[] }>(
      closingSchedules(`UPDATE jobs SET status = 'succeeded', finished_at = now(), error = NULL
                        WHERE id = ? AND status = 'running' AND attempts = ? RETURNING *`),
      [job.id, job.attempts],
    ),
  );
  return rowsOf(res)[0] ?? null;
}

/**
 * The end of a failed attempt: queued again after a pause, or failed (see failedAttemptSet);
 * with `attempt`, only if the job is still at that attempt.
 */
export async function recordFailure(db: Database, id: number, error: string, progress: Partial<Progress> = {}, attempt?: number): Promise<Job | null> {
  const sets = Object.keys(progress).map((k) => `, ${k} = ?`).join('');
  const res = await db.write((trx) =>
    trx.raw<{ rows: JobRow[] }>(
      closingSchedules(`UPDATE jobs SET ${failedAttemptSet()}${sets}
                        WHERE id = ? AND status = 'running' ${attempt === undefined ? '' : 'AND attempts = ?'} RETURNING *`),
      [error, error, ...Object.values(progress), id, ...(attempt === undefined ? [] : [attempt])] as Knex.RawBinding[],
    ),
  );
  return rowsOf(res)[0] ?? null;
}

/**
 * An automatic job stopped by a shutdown between two days: back to the queue, due at once,
 * the attempt not counted (the days written stay written; the next run redoes the range).
 */
export async function requeueInterrupted(db: Database, job: Job, note: string): Promise<Job | null> {
  const res = await db.write((trx) =>
    trx.raw<{ rows: JobRow[] }>(
      `UPDATE jobs SET status = 'queued', owner = NULL, run_after = now(), attempts = greatest(attempts - 1, 0), last_error = ?
       WHERE id = ? AND status = 'running' AND attempts = ? RETURNING *`,
      [note, job.id, job.attempts],
    ),
  );
  return rowsOf(res)[0] ?? null;
}

// ─── The daily run (schedule_runs) ─────────────────────────────────────────────────────

/**
 * Claims the daily run of `day` for `claimedBy` and queues its job, both or neither, under
 * the schedule lock: null when another replica has claimed the day. The range starts at
 * `fromOf(last)` (`last`: the latest day claimed before), or at the first day a rule set is
 * in force if that is later. Without a rule set in force on any of those days the
 * claim is recorded as finished with that error, and no job is queued (`job` null).
 */
export async function claimScheduledRun(
  db: Database,
  day: LocalDate,
  claimedBy: string,
  fromOf: (last: LocalDate | null) => LocalDate,
): Promise<{ from: LocalDate; job: Job | null } | null> {
  return db.write(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [SCHEDULE_LOCK]);
    const last = (await trx('schedule_runs').max<{ max: string | null }[]>({ max: trx.raw('day::text') }))[0]?.max as LocalDate | null;
    const inserted = await trx('schedule_runs').insert({ day, claimed_by: claimedBy }).onConflict('day').ignore().returning('day');
    if (inserted.length === 0) return null;
    const asked = fromOf(last);
    // days before the first rule set in force are not classified: the run starts at the first in force
    const inForce = segments(await loadPeriods(trx), asked, day).find((s) => s.rule_set_id !== null);
    if (!inForce) {
      await trx('schedule_runs').where({ day }).update({ finished_at: trx.fn.now(), error: 'no rule set is in force' });
      return { from: asked, job: null };
    }
    const from = inForce.from;
    const { job } = await enqueueIn(trx, { from, to: day, trigger: 'schedule', maxAttempts: AUTOMATIC_ATTEMPTS });
    await trx('schedule_runs').where({ day }).update({ job_id: job.id });
    return { from, job };
  });
}

// ─── Service instances, and the jobs they leave behind ─────────────────────────────────

/** A new service instance's row; its id. */
export async function insertInstance(db: Database, host: string, pid: number): Promise<number> {
  const [row] = await db.write(async (trx) => (await trx('service_instances').insert({ host, pid }).returning('id')) as { id: number }[]);
  return Number((row as { id: number }).id);
}

/**
 * A job running, or created to be run at once by its process (run_after null), whose owner
 * holds no liveness lock (binds: LIVENESS_CLASS).
 */
const UNFINISHED = `(status = 'running' OR (status = 'queued' AND run_after IS NULL))`;
const ORPHANED = `${UNFINISHED} AND owner IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ?::int::oid AND l.objid = jobs.owner::oid)`;

/** Which jobs an orphan sweep ends: on a server, those without a live owner (of `onlyIds` when given). */
export type OrphanScope = { mode: 'postgres'; onlyIds?: number[] | undefined } | { mode: 'embedded'; self: number };

/**
 * Ends the attempts of jobs left unfinished by instances that are gone: queued again after
 * a pause while attempts remain, else failed (a daily run's schedule row closed with it);
 * returns their ids. On the embedded engine one process owns the data directory: at its
 * start every unfinished job not its own (`self`) is orphaned.
 */
export async function endOrphanedAttempts(db: Database, scope: OrphanScope): Promise<number[]> {
  const res = await db.write((trx) =>
    scope.mode === 'embedded'
      ? trx.raw<{ rows: { id: number }[] }>(
          closingSchedules(`UPDATE jobs SET ${failedAttemptSet("'the process running this job stopped before it finished; run it again'")}
             WHERE ${UNFINISHED} AND owner IS DISTINCT FROM ? RETURNING *`),
          [scope.self],
        )
      : trx.raw<{ rows: { id: number }[] }>(
          closingSchedules(`UPDATE jobs SET ${failedAttemptSet("'the process running this job (instance ' || owner || ') stopped before it finished; run it again'")}
             WHERE (?::bigint[] IS NULL OR id = ANY(?::bigint[])) AND ${ORPHANED}
             RETURNING *`),
          arrayBindings([scope.onlyIds ?? null, scope.onlyIds ?? null, LIVENESS_CLASS]),
        ),
  );
  return res.rows.map((r) => Number(r.id));
}

/** Jobs that look orphaned now (no live owner), not yet ended. */
export async function orphanedJobIds(db: Database): Promise<number[]> {
  const res = await db.knex.raw<{ rows: { id: number }[] }>(`SELECT id FROM jobs WHERE ${ORPHANED}`, [LIVENESS_CLASS]);
  return res.rows.map((r) => Number(r.id));
}
