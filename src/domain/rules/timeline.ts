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

const recordedBefore = (a: Activation, b: Activation) => (a.activated_at < b.activated_at ? true : a.activated_at > b.activated_at ? false : a.id < b.id);

/** The periods of the timeline, in date order: one per distinct `effective_from`, won by the activation recorded last. */
export function periods(activations: readonly Activation[]): Period[] {
  const winners = new Map<LocalDate | null, Activation>();
  for (const a of activations) {
    const held = winners.get(a.effective_from);
    if (!held || recordedBefore(held, a)) winners.set(a.effective_from, a);
  }
  const ordered = [...winners.values()].sort((a, b) => (a.effective_from === b.effective_from ? 0 : a.effective_from === null ? -1 : b.effective_from === null ? 1 : a.effective_from < b.effective_from ? -1 : 1));
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

/** The rule set in force on `date` (null: none). */
export function inForceOn(ps: readonly Period[], date: LocalDate): string | null {
  let id: string | null = null;
  for (const p of ps) if (p.effective_from === null || p.effective_from <= date) id = p.rule_set_id;
  return id;
}

/**
 * Days [from, to] cut into runs under one rule set each, in date order: a recomputation
 * uses each set on its own days. Adjacent periods of the same set make one run.
 */
export function segments(ps: readonly Period[], from: LocalDate, to: LocalDate): Segment[] {
  const out: Segment[] = [];
  const push = (s: Segment) => {
    const last = out[out.length - 1];
    if (last && last.rule_set_id === s.rule_set_id && addDays(last.to, 1) === s.from) last.to = s.to;
    else out.push(s);
  };
  let day = from;
  // before the first period: nothing in force
  const first = ps[0];
  if (!first || (first.effective_from !== null && first.effective_from > from)) {
    const end = first?.effective_from ? addDays(first.effective_from, -1) : to;
    push({ from, to: end < to ? end : to, rule_set_id: null });
    if (end >= to) return out;
    day = addDays(end, 1);
  }
  for (const p of ps) {
    if (p.effective_to !== null && p.effective_to < day) continue;
    if (p.effective_from !== null && p.effective_from > to) break;
    const end = p.effective_to === null || p.effective_to > to ? to : p.effective_to;
    push({ from: day, to: end, rule_set_id: p.rule_set_id });
    if (end >= to) break;
    day = addDays(end, 1);
  }
  return out;
}
