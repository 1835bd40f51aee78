import { addDays, LocalDate } from '../dates';

/**
 * The rule-set timeline — pure. Rules change over time (Decision 4800 from 12 Oct 2021,
 * Decision 218 from 27 Jan 2022): an activation puts a rule set in force from a day on.
 * Day D is classified under the set of the activation with the latest `effective_from` ≤ D;
 * of two activations with the same `effective_from`, the one recorded later wins (it
 * corrects the earlier). An activation with `effective_from` null (made before activations
 * had dates) is in force from the beginning of time. Before the earliest `effective_from`
 * no set is in force and no day is classified.
 */
export type Activation = { id: number; rule_set_id: string; effective_from: LocalDate | null; activated_at: string };

/** A run of days under one activation: [effective_from, effective_to], either end open (null). */
export type Period = { activation_id: number; rule_set_id: string; effective_from: LocalDate | null; effective_to: LocalDate | null; activated_at: string };

/** A run of consecutive days of a span under one rule set (null: none in force). */
export type Segment = { from: LocalDate; to: LocalDate; rule_set_id: string | null };

const recordedBefore = (a: Activation, b: Activation) => a.activated_at < b.activated_at || (a.activated_at === b.activated_at && a.id < b.id);

/** The periods of the timeline, in date order: one per distinct `effective_from`, won by the activation recorded last. */
export function periods(activations: readonly Activation[]): Period[] {
  const winners = new Map<LocalDate | null, Activation>();
  for (const a of activations) {
    const held = winners.get(a.effective_from);
    if (!held || recordedBefore(held, a)) winners.set(a.effective_from, a);
  }
  // null (from the beginning of time) first; the keys are distinct
  const ordered = [...winners.values()].sort((a, b) => ((a.effective_from ?? '') < (b.effective_from ?? '') ? -1 : 1));
  return ordered.map((a, i) => {
    const next = ordered[i + 1];
    return {
      activation_id: a.id,
      rule_set_id: a.rule_set_id,
      effective_from: a.effective_from,
      effective_to: next ? addDays(next.effective_from as LocalDate, -1) : null,
      activated_at: a.activated_at,
    };
  });
}

/** The rule set in force on `date` (null: none); `ps` in date order, as `periods` gives them. */
export function inForceOn(ps: readonly Period[], date: LocalDate): string | null {
  return periodOn(ps, date)?.rule_set_id ?? null;
}

/** The period `date` falls in (undefined: before the first); `ps` in date order, as `periods` gives them. */
export function periodOn(ps: readonly Period[], date: LocalDate): Period | undefined {
  let found: Period | undefined;
  for (const p of ps) if (p.effective_from === null || p.effective_from <= date) found = p;
  return found;
}

/**
 * Days [from, to] cut into runs under one rule set each, in date order: a recomputation
 * uses each set on its own days. Adjacent periods of the same set make one run. Day by day
 * (a span is at most a few thousand days, a timeline a few periods).
 */
export function segments(ps: readonly Period[], from: LocalDate, to: LocalDate): Segment[] {
  const out: Segment[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) {
    const id = inForceOn(ps, day);
    const last = out[out.length - 1];
    if (last && last.rule_set_id === id) last.to = day;
    else out.push({ from: day, to: day, rule_set_id: id });
  }
  return out;
}
