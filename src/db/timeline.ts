import { Knex } from 'knex';
import { LocalDate } from '../domain/dates';
import { Activation, inForceOn, Period, periods, Segment, segments } from '../domain/rules/timeline';
import { AppError } from '../errors';

/**
 * rule_set_activations read as the rule-set timeline (domain/rules/timeline.ts): which set
 * is in force on which day. An activation recorded before activations had dates has
 * `effective_from` -infinity (read as null: in force from the beginning).
 */
type Row = { id: number; rule_set_id: string; effective_from: LocalDate | null; activated_at: Date };

/** The activations recorded at or before `asOf` (null: all), as the timeline's periods. */
export async function loadPeriods(q: Knex, asOf: Date | null = null): Promise<Period[]> {
  const res = await q.raw<{ rows: Row[] }>(
    `SELECT id, rule_set_id, CASE WHEN effective_from = '-infinity' THEN NULL ELSE effective_from::text END AS effective_from, activated_at
     FROM rule_set_activations ${asOf ? "WHERE activated_at <= ?::timestamptz + interval '999 microseconds'" : ''}`,
    asOf ? [asOf.toISOString()] : [],
  );
  const acts: Activation[] = res.rows.map((r) => ({ id: Number(r.id), rule_set_id: r.rule_set_id, effective_from: r.effective_from, activated_at: r.activated_at.toISOString() }));
  return periods(acts);
}

/** The rule set in force on `date` (null: none). */
export async function ruleSetIdOn(q: Knex, date: LocalDate): Promise<string | null> {
  return inForceOn(await loadPeriods(q), date);
}

export const NO_ACTIVE_RULE_SET = () => new AppError(409, 'no_active_rule_set', 'no rule set is active: activate one with POST /v1/rule-sets/{id}/activate');

/**
 * Days [from, to] in runs under one rule set each. Refuses (409, nothing done) when no set
 * has been activated, or when some of the days come before the first one in force: a day
 * is only ever classified under the set in force on it.
 */
export async function requireInForce(q: Knex, from: LocalDate, to: LocalDate): Promise<Segment[]> {
  const ps = await loadPeriods(q);
  if (ps.length === 0) throw NO_ACTIVE_RULE_SET();
  const segs = segments(ps, from, to);
  const before = segs.find((s) => s.rule_set_id === null);
  if (before) {
    const first = ps[0]?.effective_from as LocalDate;
    throw new AppError(
      409,
      'no_rule_set_in_force',
      `Chưa có bộ tiêu chí nào có hiệu lực trước ngày ${first}: không thể tính từ ${before.from} đến ${before.to} — ` +
        `no rule set is in force before ${first}: days ${before.from} to ${before.to} cannot be classified; activate one with an earlier effective_from`,
      [{ path: 'from', message: `${before.from} is before ${first}, the first day a rule set is in force` }],
    );
  }
  return segs;
}

/** Whether any rule set is in force on some day of [from, to]. */
export async function anyInForce(q: Knex, from: LocalDate, to: LocalDate): Promise<boolean> {
  const ps = await loadPeriods(q);
  return segments(ps, from, to).some((s) => s.rule_set_id !== null);
}
