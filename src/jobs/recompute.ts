import { Knex } from 'knex';
import { Database } from '../db/database';
import { noteWrite } from '../db/changes';
import { lockKey } from '../db/facts';
import pg from 'pg';
import { Cell, copyLinesInto, copyText } from '../db/copy';
import { AreaNode, loadAreas, loadInputSeries } from '../db/inputs';
import { activeRuleSet, StoredRuleSet } from '../db/rulesets';
import { addDays, dateRange, LocalDate } from '../domain/dates';
import { LEVELS, LevelOrUnknown } from '../domain/levels';
import { ChildLevels, Inputs } from '../domain/rules/engine';
import { PackedValue, readInputs } from '../domain/inputs';
import { classifyTree, rollsUp } from '../domain/rules/tree';
import { PersistenceState, step as persistenceStep } from '../domain/rules/persistence';
import { AppError, isDatabaseUnavailable } from '../errors';
import { log } from '../log';
import { currentInstance } from '../db/instances';
import { jobsCoalesced, lastRecomputeSuccess, recomputeDays, recomputeDuration } from '../metrics';
import { AUTOMATIC_ATTEMPTS, claimJob, createDirectJob, enqueueRecompute, getJob, Job, NO_ACTIVE_RULE_SET, recordFailure, recordSuccess, requeueInterrupted } from './queue';

/**
 * Daily recomputation: for one date, every area's level from the active rule set. Each day
 * is one transaction (it is stored whole or not at all); concurrent runs are serialised
 * with an advisory lock; a row is written only where something changed, so running it
 * again writes nothing.
 */
export const RECOMPUTE_LOCK = lockKey('zonerisk:recompute');

export type DayResult = { date: LocalDate; areas: number; written: number; changed: number };

type Previous = { level: LevelOrUnknown; since: LocalDate | null; persistence: PersistenceState };

export function childCounts(levels: ChildLevels): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of [...LEVELS, 'unknown'] as const) {
    const n = levels.filter((x) => x === l).length;
    if (n) out[l] = n;
  }
  return out;
}

export function childList(counts: Record<string, number> | null): ChildLevels {
  if (!counts) return [];
  return Object.entries(counts).flatMap(([l, n]) => Array<LevelOrUnknown>(n).fill(l as LevelOrUnknown));
}

async function previousDay(trx: Knex, date: LocalDate): Promise<Map<number, Previous>> {
  const res = await trx.raw<{ rows: ({ area_id: number } & Previous)[] }>(
    `SELECT DISTINCT ON (area_id) area_id, level, since::text AS since, persistence
     FROM zone_levels WHERE date = ? ORDER BY area_id, computed_at DESC`,
    [addDays(date, -1)],
  );
  return new Map(res.rows.map((r) => [r.area_id, r]));
}

type LevelRow = ReturnType<typeof classifyAll>[number];

/** Every area's row for `date`: the rules' level, then persistence from the day before. Pure. */
function classifyAll(rs: StoredRuleSet, date: LocalDate, areas: AreaNode[], packed: PackedValue[][], prev: Map<number, Previous>) {
  const ps = rs.definition.persistence;
  const hysteresis = ps.escalate_after_days > 1 || ps.deescalate_after_days > 1 || ps.max_step_down < 3 || ps.min_stay_days > 0;
  const stored = new Map(areas.map((a, i) => [a.id, packed[i] as PackedValue[]]));
  // classifying needs values and reasons only; the details are derived again when read
  const inputsOf = (a: AreaNode) => readInputs(rs.definition, date, a.code, stored.get(a.id) ?? [], false);
  return classifyTree(rs.definition, areas, inputsOf, (a, c, kids) => {
    const before = prev.get(a.id);
    const p = persistenceStep(before?.persistence ?? null, date, c.level, ps);
    const level = p.day.level;
    const row = {
      area_id: a.id,
      level,
      raw_level: c.level,
      reason: c.reason,
      since: before && before.level === level ? (before.since ?? date) : date,
      inputs: stored.get(a.id) ?? [],
      children: rollsUp(rs.definition, a.kind) ? childCounts(kids) : null,
      pending: p.day.pending,
      // with the default settings the level is the rules' level every day: no state to keep
      persistence: hysteresis ? p.state : null,
    };
    return { level, result: row };
  });
}

/** The state the next day starts from: what was just computed (and is, or already was, stored). */
function carry(rows: LevelRow[]): Map<number, Previous> {
  return new Map(rows.map((r) => [r.area_id, { level: r.level, since: r.since, persistence: r.persistence as PersistenceState }]));
}

/** One day's computed rows, and their COPY text when they may be copied in. */
type DayRows = { date: LocalDate; rows: LevelRow[]; copyText: string | null };

const LEVEL_COLUMNS = 'area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, job_id';
const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/** The day's rows as COPY text (built while the previous day is being written). */
function dayRows(db: Database, rs: StoredRuleSet, date: LocalDate, rows: LevelRow[], jobId: number | null): DayRows {
  if (!db.supportsCopy) return { date, rows, copyText: null };
  let text = '';
  for (const r of rows) {
    const cells: Cell[] = [r.area_id, date, r.level, r.raw_level, r.reason, r.since, rs.id, json(r.inputs), json(r.children), json(r.pending), json(r.persistence), jobId];
    text += `${cells.map((c) => copyText(c)).join('\t')}\n`;
  }
  return { date, rows, copyText: text };
}

/**
 * Appends one day's rows in one statement — its own transaction. A day never classified
 * before (a backfill) is COPYed in; otherwise only rows that differ from the day's current
 * ones are inserted, so recomputing with unchanged inputs writes nothing. One statement
 * also means one round trip: the next day is being computed meanwhile.
 */
async function writeDay(run: RecomputeSession, writer: number, rs: StoredRuleSet, { date, rows, copyText: text }: DayRows, fresh: boolean, jobId: number | null): Promise<DayResult> {
  if (text !== null && fresh) {
    await run.copy(writer, `zone_levels (${LEVEL_COLUMNS})`, text);
    return { date, areas: rows.length, written: rows.length, changed: rows.length };
  }
  const res = await run.statement<{ written: number; changed: number }>(
    writer,
    `WITH n AS (
       SELECT * FROM jsonb_to_recordset(?::jsonb) AS n(area_id int, level text, raw_level text, reason text, since date,
                                                      inputs jsonb, children jsonb, pending jsonb, persistence jsonb)
     ),
     cur AS (
       SELECT DISTINCT ON (z.area_id) z.area_id, z.level, z.raw_level, z.reason, z.since, z.rule_set_id, z.inputs, z.children, z.pending, z.persistence
       FROM zone_levels z WHERE z.date = ? ORDER BY z.area_id, z.computed_at DESC
     ),
     ins AS (
       INSERT INTO zone_levels (area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, job_id)
       SELECT n.area_id, ?::date, n.level, n.raw_level, n.reason, n.since, ?, n.inputs, n.children, n.pending, n.persistence, ?
       FROM n LEFT JOIN cur c ON c.area_id = n.area_id
       WHERE c.area_id IS NULL
          OR ROW(c.level, c.raw_level, c.reason, c.since, c.rule_set_id, c.inputs, c.children, c.pending, c.persistence)
             IS DISTINCT FROM ROW(n.level, n.raw_level, n.reason, n.since, ?::text, n.inputs, n.children, n.pending, n.persistence)
       RETURNING area_id, level
     )
     SELECT count(*)::int AS written, count(*) FILTER (WHERE c.level IS DISTINCT FROM ins.level)::int AS changed
     FROM ins LEFT JOIN cur c USING (area_id)`,
    [JSON.stringify(rows), date, date, rs.id, jobId, rs.id],
  );
  const r = res[0] ?? { written: 0, changed: 0 };
  return { date, areas: rows.length, written: r.written, changed: r.changed };
}

/**
 * Where a recomputation runs, under its lock: read transactions, and `writers` connections
 * for single statements and COPY (on a real server two, so that the server writes one day
 * on one core while Node computes the next on the other).
 */
type RecomputeSession = {
  writers: number;
  read<R>(body: (t: Knex.Transaction) => Promise<R>): Promise<R>;
  statement<R>(writer: number, sql: string, bindings: readonly Knex.RawBinding[]): Promise<R[]>;
  copy(writer: number, target: string, text: string): Promise<void>;
};

/** One recomputation at a time per process (the embedded engine has a single session to share). */
let running: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` holding the recompute lock. On a real server that is a session advisory lock
 * on a connection kept for the whole run, so it also holds across processes; the run's
 * statements go through that connection and one more. Recomputation is the only writer of
 * zone_levels, so what the run reads of it stays true. The facts it has loaded can change
 * only by an ingest, whose own recomputation waits for this one and then redoes the days
 * that changed.
 */
async function withRecomputeLock<T>(db: Database, fn: (run: RecomputeSession) => Promise<T>): Promise<T> {
  const turn = running.then(async () => {
    if (db.mode === 'embedded') {
      return fn({
        writers: 1,
        read: (body) => db.knex.transaction(body),
        statement: async <R>(_writer: number, sql: string, bindings: readonly Knex.RawBinding[]) => (await db.knex.raw<{ rows: R[] }>(sql, bindings)).rows,
        copy: () => Promise.reject(new Error('the embedded engine takes no COPY')),
      });
    }
    const { session } = db;
    const conns: pg.ClientBase[] = [];
    try {
      // two writers when the pool leaves room for the job's own bookkeeping and for requests
      const writers = db.session !== db.knex || db.poolMax >= 4 ? 2 : 1;
      for (let i = 0; i < writers; i++) conns.push((await session.client.acquireConnection()) as pg.ClientBase);
      const [main] = conns as [pg.ClientBase];
      await main.query('SELECT pg_advisory_lock($1)', [RECOMPUTE_LOCK]);
      try {
        return await fn({
          writers: conns.length,
          read: (body) => session.transaction(body, { connection: main }),
          statement: async <R>(writer: number, sql: string, bindings: readonly Knex.RawBinding[]) =>
            (await session.raw<{ rows: R[] }>(sql, bindings).connection(conns[writer])).rows,
          copy: (writer, target, text) => copyLinesInto(conns[writer] as pg.ClientBase, target, [text]),
        });
      } finally {
        // a connection lost with the server released the lock with its session
        await main.query('SELECT pg_advisory_unlock($1)', [RECOMPUTE_LOCK]).catch(() => undefined);
      }
    } finally {
      for (const c of conns) await session.client.releaseConnection(c);
    }
  });
  running = turn.catch(() => undefined);
  return turn;
}

/** Lets pending I/O (the previous day's write) move on between slices of computation. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Set when the process is shutting down: runs stop between two days (each day is whole). */
let stopping = false;
const runs = new Set<Promise<unknown>>();

/** Stops every recomputation of this process after the day it is writing, and waits for them. */
export async function stopRecomputes(): Promise<void> {
  stopping = true;
  await Promise.allSettled([...runs]);
}

/** Days of facts loaded at a time: bounded memory, few round trips. */
const BLOCK_DAYS = 92;

/**
 * Recomputes days [from, to] in date order (persistence chains each day to the next).
 * Areas and the rule set are read once; facts are loaded a block of days at a time and
 * each day's inputs computed in memory; the next day is computed while the previous one
 * is being written. Each day is one statement, so one transaction; `onDay` hears of each.
 */
export async function recomputeRange(db: Database, from: LocalDate, to: LocalDate, jobId: number | null, onDay?: (r: DayResult) => Promise<void>): Promise<DayResult[]> {
  const work = recomputeRangeLocked(db, from, to, jobId, onDay);
  runs.add(work);
  work.finally(() => runs.delete(work)).catch(() => undefined);
  return work;
}

function recomputeRangeLocked(db: Database, from: LocalDate, to: LocalDate, jobId: number | null, onDay?: (r: DayResult) => Promise<void>): Promise<DayResult[]> {
  return withRecomputeLock(db, async (run) => {
    const { rs, areas, start, classified } = await run.read(async (t) => {
      const active = await activeRuleSet(t);
      if (!active) throw NO_ACTIVE_RULE_SET();
      const days = await t.raw<{ rows: { date: string }[] }>('SELECT DISTINCT date::text AS date FROM zone_levels WHERE date BETWEEN ? AND ?', [from, to]);
      return { rs: active, areas: await loadAreas(t), start: await previousDay(t, from), classified: new Set(days.rows.map((r) => r.date)) };
    });
    const results: DayResult[] = [];
    let prev = start;
    // the last write on each writer; day n goes to writer n mod writers
    const writes: Promise<void>[] = Array.from({ length: run.writers }, () => Promise.resolve());
    let n = 0;
    try {
      for (let blockFrom = from; blockFrom <= to; blockFrom = addDays(blockFrom, BLOCK_DAYS)) {
        const last = addDays(blockFrom, BLOCK_DAYS - 1);
        const blockTo = last < to ? last : to;
        await writes[0]; // reads share the first writer's connection
        const t0 = Date.now();
        const series = await run.read((t) => loadInputSeries(t, rs.definition, areas, blockFrom, blockTo));
        log.debug('recompute block loaded', { from: blockFrom, to: blockTo, ms: Date.now() - t0 });
        for (const date of dateRange(blockFrom, blockTo)) {
          if (stopping) throw new AppError(503, 'shutting_down', `the service is stopping: recomputation stopped before ${date}; every earlier day is complete`);
          const t1 = Date.now();
          const packed = series.packedOn(date);
          await yieldToIo();
          const rows = classifyAll(rs, date, areas, packed, prev);
          prev = carry(rows);
          await yieldToIo();
          const day = dayRows(db, rs, date, rows, jobId);
          const computeMs = Date.now() - t1;
          const writer = n++ % run.writers;
          await writes[writer];
          const t2 = Date.now();
          const write = writeDay(run, writer, rs, day, !classified.has(date), jobId).then(async (r) => {
            if (r.written) noteWrite();
            log.debug('day recomputed', { ...r, compute_ms: computeMs, write_ms: Date.now() - t2 });
            results.push(r);
            await onDay?.(r);
          });
          write.catch(() => undefined); // awaited before this writer's next day, or below
          writes[writer] = write;
        }
      }
      await Promise.all(writes);
    } finally {
      await Promise.allSettled(writes); // no statement may outlive the run's connections
    }
    return results.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  });
}

/** One day, every area (the daily job; `zonerisk recompute --date`). */
export async function recomputeDay(db: Database, date: LocalDate, jobId: number | null = null): Promise<DayResult> {
  const [r] = await recomputeRange(db, date, date, jobId);
  return r as DayResult;
}

export type { Job } from './queue';
export { getJob } from './queue';

/** A job its creator runs at once with runRecomputeJob (API ≤ 31 days, CLI, demo seed). */
export async function createRecomputeJob(knex: Knex, from: LocalDate, to: LocalDate, trigger = 'api'): Promise<Job> {
  return createDirectJob(knex, from, to, trigger, currentInstance());
}

/**
 * Records a job's end. When the database is away just then (the failure being recorded is
 * often that very outage) it goes on trying in the background, every second for up to two
 * minutes; the recorded job when the first attempt succeeded.
 */
const endsPending = new Set<Promise<void>>();

/** Resolves when every job end still being retried has been recorded (or given up). */
export async function jobEndsRecorded(): Promise<void> {
  await Promise.allSettled([...endsPending]);
}

async function recordEnd(id: number, write: () => Promise<Job | null>): Promise<Job | null> {
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
    endsPending.add(retry);
    void retry.finally(() => endsPending.delete(retry));
    return null;
  }
}

/** The message a job gets when the database went away under it. */
export function outageMessage(e: unknown): string {
  const cause = e instanceof Error ? e.message : String(e);
  return `the database became unavailable during the run (${cause.replace(/^[\s\S]* - /, '')}); every day written is whole: run the job again to finish`;
}

/**
 * Records the running attempt of a job as failed (retried later if it has attempts left),
 * waiting through an outage (retried each second for two minutes).
 */
export async function failJob(knex: Knex, id: number, error: string): Promise<void> {
  await recordEnd(id, () => recordFailure(knex, id, error));
  await jobEndsRecorded();
}

/**
 * Runs a job created with createRecomputeJob, in this process, now: claims it (a job swept
 * as orphaned meanwhile is not run after all), then as executeJob.
 */
export async function runRecomputeJob(db: Database, job: Job): Promise<Job> {
  const claimed = await claimJob(db.knex, job.id, currentInstance());
  if (!claimed) throw new AppError(409, 'job_not_queued', `job ${job.id} is no longer queued`);
  return executeJob(db, claimed);
}

/**
 * Runs a claimed job (status running, its attempt counted) day by day, in date order
 * (persistence chains from each day to the next), and records how it ended: succeeded; or,
 * on an error, a failed attempt (queued again after a pause while attempts remain, see
 * queue.ts); an automatic job stopped by a shutdown goes back to the queue uncounted.
 * Rejects with the run's error after recording it.
 */
export async function executeJob(db: Database, job: Job): Promise<Job> {
  const { knex } = db;
  let areas = 0;
  let changed = 0;
  let written = 0;
  let done = 0;
  const trigger = job.params.trigger ?? 'api';
  const timer = recomputeDuration.startTimer({ trigger });
  // days finish on two writers: progress snapshots are applied in the order they were taken
  let progress: Promise<unknown> = Promise.resolve();
  try {
    await recomputeRange(db, job.params.from, job.params.to, job.id, async (r) => {
      recomputeDays.inc();
      areas = Math.max(areas, r.areas);
      changed += r.changed;
      written += r.written;
      done++;
      const snapshot = { days_done: done, areas, changed, written };
      progress = progress.then(() => knex('jobs').where({ id: job.id }).update(snapshot));
      await progress;
    });
  } catch (e) {
    timer({ status: 'failed' });
    const cause = e instanceof Error ? e.message : String(e);
    await progress.catch(() => undefined);
    const counts = { days_done: done, areas, changed, written };
    if (e instanceof AppError && e.code === 'shutting_down' && job.max_attempts > 1) {
      // an automatic job is not lost to a restart: the next dispatcher runs it again
      log.info('recompute job interrupted by shutdown; queued again', { job: job.id, days_done: done });
      await recordEnd(job.id, () => requeueInterrupted(knex, job, cause));
      throw e;
    }
    // what the job tells its reader: the cause in words, not the statement that hit it
    const message = isDatabaseUnavailable(e) ? outageMessage(e) : cause;
    const ended = await recordEnd(job.id, () => recordFailure(knex, job.id, message, counts, job.attempts));
    const retry = ended?.status === 'queued' ? { retry_at: ended.next_attempt_at } : {};
    log.warn('recompute job failed', { job: job.id, trigger, attempt: job.attempts, of: job.max_attempts, error: cause, ...retry });
    throw e;
  }
  const ended = await recordEnd(job.id, () => recordSuccess(knex, job));
  timer({ status: 'succeeded' });
  lastRecomputeSuccess.setToCurrentTime();
  return ended ?? ((await getJob(knex, job.id)) as Job);
}

/**
 * Late or corrected reports and indicators: every day already classified from the earliest
 * changed date on is recomputed, through the queue — folded into the pending late-data job
 * whose range it overlaps or abuts, if there is one (see queue.ts). Days never classified are
 * not affected. The caller wakes its dispatcher (runner.ts); the job answered is the one that
 * will recompute the range, with its range as it now stands.
 */
export async function recomputeAfterIngest(db: Database, earliest: LocalDate | null): Promise<Job | null> {
  if (earliest === null) return null;
  const rs = await activeRuleSet(db.knex);
  if (!rs) return null;
  // from the first classified day on or after the change (earlier days were never classified)
  const row = await db.knex('zone_levels')
    .where('date', '>=', earliest)
    .first<{ first: string | null; last: string | null }>(db.knex.raw('min(date)::text AS first'), db.knex.raw('max(date)::text AS last'));
  const first = row?.first as LocalDate | null | undefined;
  const last = row?.last as LocalDate | null | undefined;
  if (!first || !last) return null;
  const { job, merged } = await enqueueRecompute(db.knex, { from: first, to: last, trigger: 'late_data', coalesce: true, maxAttempts: AUTOMATIC_ATTEMPTS });
  if (merged) jobsCoalesced.inc();
  return job;
}
