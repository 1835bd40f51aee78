import { Knex } from 'knex';
import { Database } from '../db/database';
import { lockKey } from '../db/facts';
import { Cell, copyLinesInto, copyText } from '../db/copy';
import { AreaNode, loadAreas, computeInputs } from '../db/inputs';
import { activeRuleSet, StoredRuleSet } from '../db/rulesets';
import { addDays, dateRange, LocalDate } from '../domain/dates';
import { LEVELS, LevelOrUnknown } from '../domain/levels';
import { ChildLevels, Inputs } from '../domain/rules/engine';
import { classifyTree, rollsUp } from '../domain/rules/tree';
import { PersistenceState, step as persistenceStep } from '../domain/rules/persistence';
import { AppError } from '../errors';
import { log } from '../log';

/**
 * Daily recomputation: for one date, every area's level from the active rule set. Each day
 * is one transaction (it is stored whole or not at all); concurrent runs are serialised
 * with an advisory lock; a row is written only where something changed, so running it
 * again writes nothing.
 */
export const RECOMPUTE_LOCK = lockKey('zonerisk:recompute');

const NO_ACTIVE_RULE_SET = () => new AppError(409, 'no_active_rule_set', 'no rule set is active: activate one with POST /v1/rule-sets/{id}/activate');

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

async function previousDay(trx: Knex.Transaction, date: LocalDate): Promise<Map<number, Previous>> {
  const res = await trx.raw<{ rows: ({ area_id: number } & Previous)[] }>(
    `SELECT DISTINCT ON (area_id) area_id, level, since::text AS since, persistence
     FROM zone_levels WHERE date = ? ORDER BY area_id, computed_at DESC`,
    [addDays(date, -1)],
  );
  return new Map(res.rows.map((r) => [r.area_id, r]));
}

/** Every area's row for `date`: the rules' level, then persistence from the day before. Pure. */
function classifyAll(rs: StoredRuleSet, date: LocalDate, areas: AreaNode[], inputs: Map<number, Inputs>, prev: Map<number, Previous>) {
  const ps = rs.definition.persistence;
  const hysteresis = ps.escalate_after_days > 1 || ps.deescalate_after_days > 1 || ps.max_step_down < 3 || ps.min_stay_days > 0;
  return classifyTree(rs.definition, areas, (a) => inputs.get(a.id) ?? {}, (a, c, kids) => {
    const before = prev.get(a.id);
    const p = persistenceStep(before?.persistence ?? null, date, c.level, ps);
    const level = p.day.level;
    const row = {
      area_id: a.id,
      level,
      raw_level: c.level,
      reason: c.reason,
      since: before && before.level === level ? (before.since ?? date) : date,
      inputs: inputs.get(a.id) ?? {},
      children: rollsUp(rs.definition, a.kind) ? childCounts(kids) : null,
      pending: p.day.pending,
      // with the default settings the level is the rules' level every day: no state to keep
      persistence: hysteresis ? p.state : null,
    };
    return { level, result: row };
  });
}

export async function recomputeDay(db: Database, date: LocalDate, jobId: number | null = null): Promise<DayResult> {
  return db.knex.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [RECOMPUTE_LOCK]);
    const rs = await activeRuleSet(trx);
    if (!rs) throw NO_ACTIVE_RULE_SET();
    const t0 = Date.now();
    const areas = await loadAreas(trx);
    const t1 = Date.now();
    const inputs = await computeInputs(trx, rs.definition, date, areas);
    const t2 = Date.now();
    const prev = await previousDay(trx, date);
    const t3 = Date.now();
    const rows = classifyAll(rs, date, areas, inputs, prev);
    const t4 = Date.now();
    // A day never classified before (a fresh backfill): every row is new, COPY them in.
    const any = await trx.raw<{ rows: { found: boolean }[] }>('SELECT EXISTS (SELECT 1 FROM zone_levels WHERE date = ?::date) AS found', [date]);
    if (db.supportsCopy && !any.rows[0]?.found) {
      const cols = 'area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, job_id';
      const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
      await copyLinesInto(
        trx,
        `zone_levels (${cols})`,
        rows.map((r) =>
          [r.area_id, date, r.level, r.raw_level, r.reason, r.since, rs.id, json(r.inputs), json(r.children), json(r.pending), json(r.persistence), jobId]
            .map((c) => copyText(c as Cell))
            .join('\t')
            .concat('\n'),
        ),
      );
      log.debug('day recomputed', { date, areas: rows.length, written: rows.length, copied: true, tree_ms: t1 - t0, inputs_ms: t2 - t1, previous_ms: t3 - t2, classify_ms: t4 - t3, write_ms: Date.now() - t4 });
      return { date, areas: rows.length, written: rows.length, changed: rows.length };
    }
    const res = await trx.raw<{ rows: { written: number; changed: number }[] }>(
      `WITH n AS (
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS n(area_id int, level text, raw_level text, reason text, since date,
                                                        inputs jsonb, children jsonb, pending jsonb, persistence jsonb)
       ),
       cur AS (
         SELECT DISTINCT ON (z.area_id) z.area_id, z.level, z.raw_level, z.reason, z.since, z.rule_set_id, z.inputs, z.children, z.pending
         FROM zone_levels z WHERE z.date = ? ORDER BY z.area_id, z.computed_at DESC
       ),
       ins AS (
         INSERT INTO zone_levels (area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, job_id)
         SELECT n.area_id, ?::date, n.level, n.raw_level, n.reason, n.since, ?, n.inputs, n.children, n.pending, n.persistence, ?
         FROM n LEFT JOIN cur c ON c.area_id = n.area_id
         WHERE c.area_id IS NULL
            OR ROW(c.level, c.raw_level, c.reason, c.since, c.rule_set_id, c.inputs, c.children, c.pending)
               IS DISTINCT FROM ROW(n.level, n.raw_level, n.reason, n.since, ?::text, n.inputs, n.children, n.pending)
         RETURNING area_id, level
       )
       SELECT count(*)::int AS written, count(*) FILTER (WHERE c.level IS DISTINCT FROM ins.level)::int AS changed
       FROM ins LEFT JOIN cur c USING (area_id)`,
      [JSON.stringify(rows), date, date, rs.id, jobId, rs.id],
    );
    const r = res.rows[0] ?? { written: 0, changed: 0 };
    log.debug('day recomputed', { date, areas: rows.length, ...r, tree_ms: t1 - t0, inputs_ms: t2 - t1, previous_ms: t3 - t2, classify_ms: t4 - t3, write_ms: Date.now() - t4 });
    return { date, areas: rows.length, written: r.written, changed: r.changed };
  });
}

export type Job = {
  id: number;
  kind: 'recompute';
  params: { from: LocalDate; to: LocalDate; trigger?: string };
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  days: number;
  days_done: number;
  areas: number;
  changed: number;
  written: number;
  error: string | null;
};

type JobRow = Omit<Job, 'created_at' | 'started_at' | 'finished_at'> & { created_at: Date; started_at: Date | null; finished_at: Date | null };

const toJob = (r: JobRow): Job => ({
  ...r,
  id: Number(r.id),
  created_at: r.created_at.toISOString(),
  started_at: r.started_at?.toISOString() ?? null,
  finished_at: r.finished_at?.toISOString() ?? null,
});

export async function getJob(knex: Knex, id: number): Promise<Job | null> {
  const row = (await knex('jobs').where({ id }).first()) as JobRow | undefined;
  return row ? toJob(row) : null;
}

/** Refuses up front (nothing written) when there is no rule set to recompute with. */
export async function createRecomputeJob(knex: Knex, from: LocalDate, to: LocalDate, trigger = 'api'): Promise<Job> {
  if (!(await activeRuleSet(knex))) throw NO_ACTIVE_RULE_SET();
  const [row] = (await knex('jobs')
    .insert({ kind: 'recompute', params: JSON.stringify({ from, to, trigger }), status: 'queued', days: dateRange(from, to).length })
    .returning('*')) as JobRow[];
  return toJob(row as JobRow);
}

/** Runs a recompute job day by day, in date order (persistence chains from each day to the next). */
export async function runRecomputeJob(db: Database, job: Job): Promise<Job> {
  const { knex } = db;
  await knex('jobs').where({ id: job.id }).update({ status: 'running', started_at: knex.fn.now() });
  let areas = 0;
  let changed = 0;
  let written = 0;
  let done = 0;
  try {
    for (const date of dateRange(job.params.from, job.params.to)) {
      const r = await recomputeDay(db, date, job.id);
      areas = Math.max(areas, r.areas);
      changed += r.changed;
      written += r.written;
      done++;
      await knex('jobs').where({ id: job.id }).update({ days_done: done, areas, changed, written });
    }
    await knex('jobs').where({ id: job.id }).update({ status: 'succeeded', finished_at: knex.fn.now() });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.warn('recompute job failed', { job: job.id, error: message });
    await knex('jobs').where({ id: job.id }).update({ status: 'failed', finished_at: knex.fn.now(), error: message });
    throw e;
  }
  return (await getJob(knex, job.id)) as Job;
}

/**
 * Late or corrected reports and indicators: recompute, in the background, every day already
 * classified from the earliest changed date on. Days never classified are not affected.
 */
export async function recomputeAfterIngest(db: Database, earliest: LocalDate | null): Promise<Job | null> {
  if (earliest === null) return null;
  const rs = await activeRuleSet(db.knex);
  if (!rs) return null;
  const row = await db.knex('zone_levels').where('date', '>=', earliest).max<{ max: string | null }[]>({ max: db.knex.raw('date::text') });
  const last = row[0]?.max as LocalDate | null | undefined;
  if (!last) return null;
  const job = await createRecomputeJob(db.knex, earliest, last, 'late_data');
  runRecomputeJob(db, job).catch((e: unknown) => log.warn('recompute after ingest failed', { job: job.id, error: String(e) }));
  return job;
}
