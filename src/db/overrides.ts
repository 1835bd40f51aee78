import { Knex } from 'knex';
import { addDays, LocalDate } from '../domain/dates';
import { AREA_KINDS, AreaKind, kindRank } from '../domain/areas';
import type { Level } from '../domain/levels';
import { AppError, notFound, unprocessable } from '../errors';
import { Actor, audit } from './audit';
import type { Database } from './database';
import { OVERRIDE_LOCK } from './locks';
import { AUTOMATIC_ATTEMPTS, enqueueIn, Job } from './jobs';
import { rollsUp } from '../domain/rules/tree';
import { RuleSetCache } from './rulesets';
import { loadPeriods } from './timeline';
import { segments } from '../domain/rules/timeline';

/**
 * overrides: command-centre decisions over the rules, bitemporal. An override is a series
 * of versions (rows) sharing its public id (`override_id`); the version in force as known
 * at T is the one with `created_at` ≤ T < `ended_at` (migration 20261201000013). Setting one
 * writes its first version; ending it closes that version and appends the shortened one
 * (`kind = 'end'`) at the same instant; withdrawing it closes its version with a reason.
 * Nothing is deleted: every version stays readable with `as_of`.
 */
export type OverrideValues = {
  area_id: number;
  level: Level;
  reason: string;
  note: string | null;
  author: string | null;
  date_from: LocalDate;
  date_until: LocalDate | null;
};

type Existing = { id: string | number; date_from: LocalDate; date_until: LocalDate | null; level: string };

/** A stored version of an override. */
type Version = {
  id: string | number;
  override_id: string | number;
  area_id: number;
  level: Level;
  reason: string;
  note: string | null;
  author: string | null;
  date_from: LocalDate;
  date_until: LocalDate | null;
  kind: 'set' | 'end';
  created_at: Date;
  ended_at: Date | null;
  withdrawn_reason: string | null;
};

/** A date as Vietnamese text reads it: dd/mm/yyyy. */
const viDate = (d: LocalDate): string => d.split('-').reverse().join('/');

const period = (from: string, until: string | null) => `${from} → ${until ?? 'không thời hạn / open'}`;

/**
 * Sets a command-centre override, refusing overlap: at most one active (not ended) override
 * covers an area on any day. If one already covers any day of [from, until] (inclusive;
 * no `until` = open-ended), nothing is written and the answer is 409 `override_overlaps`,
 * naming `from`/`until` and the existing override's id and period — end it first, from the
 * new one's first day (DELETE …/overrides/{id}?from=), or withdraw it, then set the new one.
 * A version covering nothing (ended before its first day) overlaps nothing. Under a per-area transaction advisory
 * lock, so concurrent requests for one area are judged one after the other (exactly one of
 * ten overlapping ones is set); areas do not wait for each other. One transaction with its
 * audit row. The first version's row id is the override's public id.
 */
export async function setOverride(db: Database, code: string, values: OverrideValues, actor: Actor, ruleSets: RuleSetCache): Promise<{ id: number; created_at: Date; recompute: RollUpRecompute | null }> {
  return db.write(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?, ?)', [OVERRIDE_LOCK, values.area_id]);
    const overlapping = (
      await trx.raw<{ rows: Existing[] }>(
        `SELECT override_id AS id, date_from::text AS date_from, date_until::text AS date_until, level FROM overrides
         WHERE area_id = ? AND ended_at IS NULL AND coalesce(date_until, 'infinity'::date) >= date_from
           AND date_from <= coalesce(?::date, 'infinity'::date) AND coalesce(date_until, 'infinity'::date) >= ?::date
         ORDER BY date_from, id LIMIT 10`,
        [values.area_id, values.date_until, values.date_from],
      )
    ).rows;
    if (overlapping.length) throw overlapError(code, values, overlapping);
    const inserted = (
      await trx.raw<{ rows: { id: string | number; created_at: Date }[] }>(
        `INSERT INTO overrides (id, override_id, area_id, level, reason, note, author, date_from, date_until) OVERRIDING SYSTEM VALUE
         SELECT n.id, n.id, ?, ?, ?, ?, ?, ?::date, ?::date FROM (SELECT nextval(pg_get_serial_sequence('overrides', 'id')) AS id) n
         RETURNING id, created_at`,
        [values.area_id, values.level, values.reason, values.note, values.author, values.date_from, values.date_until],
      )
    ).rows;
    const created = { id: Number(inserted[0]?.id), created_at: inserted[0]?.created_at as Date };
    const recompute = await rollUpsAgain(trx, ruleSets, values.area_id, { from: values.date_from, until: values.date_until });
    await audit(trx, actor, { action: 'override.create', target: `override:${created.id}`, areas: [code], after: { ...values, area: code, id: created.id, recompute_job: recompute?.job.id ?? null } });
    return { ...created, recompute };
  });
}

/**
 * The current versions of the overrides that cover some day of [from, to] (a version ended
 * before its first day covers nothing, and is left out): what recomputation and a preview
 * roll up in place of the rules' levels of the areas they cover (jobs/recompute/assemble.ts).
 */
export type OverrideSpan = { area_id: number; level: Level; from: LocalDate; until: LocalDate | null };

export async function overridesDuring(knex: Knex, from: LocalDate, to: LocalDate): Promise<OverrideSpan[]> {
  const res = await knex.raw<{ rows: OverrideSpan[] }>(
    `SELECT area_id, level, date_from::text AS "from", date_until::text AS until FROM overrides
     WHERE ended_at IS NULL AND date_from <= ?::date AND (date_until IS NULL OR date_until >= ?::date) AND (date_until IS NULL OR date_until >= date_from)
     ORDER BY area_id, date_from`,
    [to, from],
  );
  return res.rows;
}

/** The recomputation an override's change queued: its job and days, and whether it was folded into a pending one. */
export type RollUpRecompute = { job: Job; from: LocalDate; to: LocalDate; merged: boolean };

/**
 * A parent rolls up its children's levels as the command centre has decided them: an
 * override's level where one covers a child (jobs/recompute/assemble.ts). So setting, ending
 * or withdrawing an override queues, in the write's own transaction (the override and the
 * job that follows it are stored together or not at all), the recomputation of the
 * classified days from the first one in `touched` — the days whose decided level the change
 * moves, inclusive (`until` null: open-ended) — to the last classified day (a parent's later
 * days carry its run at a level and its persistence). Only when some classified day lies in
 * `touched` and a rule set in force from then on rolls up a kind above the area's (whichever
 * parent it had on those days; their definitions read once per process, `ruleSets`: rule sets
 * never change). Folded into a pending recomputation of changed facts that
 * overlaps or abuts it (db/jobs.ts). Null when no day needs it.
 */
async function rollUpsAgain(trx: Knex.Transaction, ruleSets: RuleSetCache, areaId: number, touched: { from: LocalDate; until: LocalDate | null }): Promise<RollUpRecompute | null> {
  if (touched.until !== null && touched.until < touched.from) return null; // covers nothing
  const area = (await trx.raw<{ rows: { kind: AreaKind }[] }>('SELECT kind FROM areas WHERE id = ?', [areaId])).rows[0];
  if (!area || kindRank(area.kind) === 0) return null; // a province is nobody's child
  const span = (
    await trx.raw<{ rows: { first: LocalDate | null; last: LocalDate | null }[] }>(
      `SELECT (SELECT min(date) FROM level_chunks WHERE date >= ?::date AND date <= coalesce(?::date, 'infinity'::date))::text AS first,
              (SELECT max(date) FROM level_chunks)::text AS last`,
      [touched.from, touched.until],
    )
  ).rows[0];
  if (!span?.first || !span.last) return null;
  const above = AREA_KINDS.slice(0, kindRank(area.kind));
  const ids = new Set(segments(await loadPeriods(trx), span.first, span.last).flatMap((seg) => (seg.rule_set_id === null ? [] : [seg.rule_set_id])));
  let rolled = false;
  for (const id of ids) {
    const { definition } = await ruleSets.definition(trx, id);
    if (above.some((k) => rollsUp(definition, k))) rolled = true;
  }
  if (!rolled) return null;
  const { job, merged } = await enqueueIn(trx, { from: span.first, to: span.last, trigger: 'override', coalesce: true, maxAttempts: AUTOMATIC_ATTEMPTS });
  return { job, from: job.params.from, to: job.params.to, merged };
}

/**
 * How an override is ended: its last day, and how the caller said it — `from` (`?from=`, the
 * first day without it: the last day is the day before), `until` (`{"until"}`, the last day)
 * or `today` (the default: ended from today, the last day is yesterday).
 */
export type OverrideEnd = { lastDay: LocalDate; given: 'from' | 'until' | 'today' };

export type EndedOverride = { id: number; from: LocalDate; until: LocalDate; covers_nothing: boolean; ended_at: Date; recompute: RollUpRecompute | null };

/**
 * Ends an override: from the day after `end.lastDay` on it no longer applies; the days up to
 * `end.lastDay` keep it in every latest read, and as known before the end it still covers
 * its original period. Its version in force is closed and the shortened one appended with
 * the same public id, at one instant (so a reading at any instant sees exactly one). An
 * override that has not started by the end simply ends, covering nothing: ended from today
 * (or `from` its first day) before its first day. Refused: 404 when the area has no override
 * with this id; 409 `override_withdrawn` when it was withdrawn, `override_ended` when it was
 * already ended; 422 `invalid_end_date` when the last day would be after its own `until`
 * (it ended on its own), or when the date given is before its first day (`from` before its
 * `from`, `until` before its `from`: withdraw it instead). Under the area's override lock;
 * one transaction with its audit row.
 */
export async function endOverride(db: Database, code: string, areaId: number, overrideId: number, end: OverrideEnd, actor: Actor, ruleSets: RuleSetCache): Promise<EndedOverride> {
  return db.write(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?, ?)', [OVERRIDE_LOCK, areaId]);
    const current = await versionInForce(trx, code, areaId, overrideId);
    // an ended override may be ended earlier still (a new, shorter version), never later
    const clamped = end.lastDay < current.date_from ? addDays(current.date_from, -1) : end.lastDay;
    if (current.kind === 'end' && current.date_until !== null && clamped >= current.date_until) {
      throw new AppError(
        409,
        'override_ended',
        `Quyết định điều chỉnh ${overrideId} của ${code} đã được kết thúc (ngày cuối ${viDate(current.date_until as LocalDate)}) — override ${overrideId} of ${code} was already ended (last day ${current.date_until})`,
      );
    }
    const endPath = end.given === 'until' ? 'until' : 'from';
    if (current.date_until !== null && end.lastDay > current.date_until) {
      throw unprocessable(
        `Quyết định điều chỉnh ${overrideId} đã tự hết hiệu lực sau ngày ${viDate(current.date_until)}; nếu nhập nhầm, hãy thu hồi nó — ` +
          `override ${overrideId} already ended on its own after ${current.date_until}; the end date ${end.lastDay} (last day) is after it — withdraw it if it was entered by mistake`,
        [{ path: endPath, message: `the last day ${end.lastDay} is after the override's until ${current.date_until}` }],
        'invalid_end_date',
      );
    }
    const earliest = end.given === 'until' ? current.date_from : end.given === 'from' ? addDays(current.date_from, -1) : null;
    if (earliest !== null && end.lastDay < earliest) {
      throw unprocessable(
        `Ngày kết thúc trước ngày bắt đầu ${viDate(current.date_from)} của quyết định điều chỉnh ${overrideId}; nếu nhập nhầm, hãy thu hồi nó — ` +
          `the end is before override ${overrideId}'s first day ${current.date_from}: withdraw it if it was entered by mistake`,
        [{ path: endPath, message: `${end.given === 'until' ? end.lastDay : addDays(end.lastDay, 1)} is before the override's from ${current.date_from}` }],
        'invalid_end_date',
      );
    }
    const lastDay = end.lastDay < current.date_from ? addDays(current.date_from, -1) : end.lastDay;
    // one statement: the version in force closed and the shortened one opened at the same instant
    const at = (
      await trx.raw<{ rows: { at: Date }[] }>(
        `WITH t AS (SELECT clock_timestamp() AS at),
         closed AS (UPDATE overrides o SET ended_at = t.at FROM t WHERE o.id = ? RETURNING o.*, t.at AS at)
         INSERT INTO overrides (override_id, area_id, level, reason, note, author, date_from, date_until, kind, created_at)
         SELECT override_id, area_id, level, reason, note, author, date_from, ?::date, 'end', at FROM closed
         RETURNING created_at AS at`,
        [current.id, lastDay],
      )
    ).rows[0]?.at as Date;
    const coversNothing = lastDay < current.date_from;
    // the days it no longer covers: from the first one without it (its first day, when it now covers nothing) to its old last one
    const recompute = await rollUpsAgain(trx, ruleSets, areaId, { from: coversNothing ? current.date_from : addDays(lastDay, 1), until: current.date_until });
    await audit(trx, actor, {
      action: 'override.end',
      target: `override:${overrideId}`,
      areas: [code],
      before: { from: current.date_from, until: current.date_until, ended_at: null },
      after: { from: current.date_from, until: lastDay, ended_at: at.toISOString(), covers_nothing: coversNothing, recompute_job: recompute?.job.id ?? null },
    });
    return { id: overrideId, from: current.date_from, until: lastDay, covers_nothing: coversNothing, ended_at: at, recompute };
  });
}

/**
 * Withdraws an override entered by mistake: its version in force is closed with the reason,
 * so it is gone from every latest read — ended or not — and still read with `as_of` before
 * now (and in the audit trail). 404 when the area has no override with this id; 409
 * `override_withdrawn` when it was already withdrawn. Under the area's override lock; one
 * transaction with its audit row.
 */
export async function withdrawOverride(db: Database, code: string, areaId: number, overrideId: number, reason: string, actor: Actor, ruleSets: RuleSetCache): Promise<{ id: number; withdrawn_at: Date; reason: string; recompute: RollUpRecompute | null }> {
  return db.write(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?, ?)', [OVERRIDE_LOCK, areaId]);
    const current = await versionInForce(trx, code, areaId, overrideId);
    const at = (
      await trx.raw<{ rows: { at: Date }[] }>('UPDATE overrides SET ended_at = clock_timestamp(), withdrawn_reason = ? WHERE id = ? RETURNING ended_at AS at', [reason, current.id])
    ).rows[0]?.at as Date;
    const recompute = await rollUpsAgain(trx, ruleSets, areaId, { from: current.date_from, until: current.date_until });
    await audit(trx, actor, {
      action: 'override.withdraw',
      target: `override:${overrideId}`,
      areas: [code],
      before: { level: current.level, reason: current.reason, from: current.date_from, until: current.date_until, withdrawn_at: null },
      after: { withdrawn_at: at.toISOString(), reason, recompute_job: recompute?.job.id ?? null },
    });
    return { id: overrideId, withdrawn_at: at, reason, recompute };
  });
}

/** The version of an override in force now: 404 when the area has none with this id, 409 `override_withdrawn` when it was withdrawn. */
async function versionInForce(trx: Knex, code: string, areaId: number, overrideId: number): Promise<Version> {
  const versions = (await trx('overrides')
    .where({ override_id: overrideId, area_id: areaId })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .select('*')) as Version[];
  const latest = versions[0];
  if (!latest) throw notFound(`no override ${overrideId} on ${code}`);
  if (latest.ended_at === null) return latest;
  const when = latest.ended_at.toISOString();
  throw new AppError(
    409,
    'override_withdrawn',
    `Quyết định điều chỉnh ${overrideId} của ${code} đã bị thu hồi — override ${overrideId} of ${code} was withdrawn at ${when}`,
    [{ path: 'id', message: `withdrawn at ${when}: ${latest.withdrawn_reason ?? ''}` }],
  );
}

function overlapError(code: string, v: OverrideValues, existing: Existing[]): AppError {
  const first = existing[0] as Existing;
  const ids = existing.map((e) => Number(e.id));
  const named = existing.map((e) => `override ${e.id} (${e.level}, ${period(e.date_from, e.date_until)})`).join(', ');
  return new AppError(
    409,
    'override_overlaps',
    `Khu vực ${code} đã có quyết định điều chỉnh cấp độ ${ids.join(', ')} trong thời gian ${period(v.date_from, v.date_until)}; hãy kết thúc hoặc thu hồi nó trước — ` +
      `an active ${named} of ${code} overlaps ${period(v.date_from, v.date_until)}: end it first, from ${v.date_from} ` +
      `(DELETE /v1/zones/${code}/overrides/${first.id}?from=${v.date_from}; the days it keeps still count), or withdraw it (POST /v1/zones/${code}/overrides/${first.id}/withdraw)`,
    [
      { path: 'from', message: `${v.date_from} falls in or before the period of active ${named}` },
      { path: 'until', message: `${v.date_until ?? '(open-ended)'} reaches into the period of active ${named}` },
    ],
  );
}
