import { AreaNode } from '../../db/inputs';
import { AREA_KINDS } from '../../domain/areas';
import { childCounts, childList, LevelRow, PreviousLevel } from '../../db/levels';
import { StoredRuleSet } from '../../db/rulesets';
import { readStoredInputs } from '../../db/storedInputs';
import { addDays, LocalDate } from '../../domain/dates';
import type { Level } from '../../domain/levels';
import { inputsReader, PackedValue } from '../../domain/inputs';
import { ChangeSide, changeTrigger, FormedChange } from '../../domain/rules/change';
import { step as persistenceStep } from '../../domain/rules/persistence';
import { classifyTree, rollsUp } from '../../domain/rules/tree';
import { ChildLevels, Classification, StepResult } from '../../domain/rules/engine';

/**
 * The day before, per area, as a day starts from it: by area id (a run's first day, or the
 * first day of a new map), or the day before's rows as computed, in the order of the same
 * `areas` (a run's next day: looked up by index, with no Map of the day built).
 *
 * Measured (a 365-day backfill of the national bench set after its reorganisation, three
 * runs each, interleaved): Node's CPU 13.6–14.1 s with a Map of every area's row built each
 * day and each area looked up in the day before's, 13.0–13.4 s by index; the same digest.
 */
export type DayBefore = ReadonlyMap<number, PreviousLevel> | { readonly areas: readonly AreaNode[]; readonly rows: readonly PreviousLevel[] };

/** The day before by area id (a Map given is answered as it is). */
export function beforeById(d: DayBefore): Map<number, PreviousLevel> {
  if (d instanceof Map) return d as Map<number, PreviousLevel>;
  const out = new Map<number, PreviousLevel>();
  if ('rows' in d) d.areas.forEach((a, i) => out.set(a.id, d.rows[i] as PreviousLevel));
  else for (const [id, p] of d) out.set(id, p);
  return out;
}

/**
 * What else a day's assembly does with its rows: `formed`, the areas formed that day (a
 * reorganisation's first day: run.ts), whose change, where their level moved, is their
 * formation; `onRow` hears of each row once it is final (the day is written as it is computed).
 */
export type DayOut = { formed?: ReadonlyMap<number, FormedChange> | null; onRow?: (row: LevelRow) => void };

/** A recomputed day's rows, and the state the next day starts from (its rows, in the order of its areas). */
export type ComputedDay = { rows: LevelRow[]; next: DayBefore };

/**
 * The rules' classification of each area on the day before, taken again on a day where
 * nothing the rules read has changed: the same values and the same children's levels (the
 * engine is pure). The rules read a packed value's value or reason, not how many days back
 * it was reported nor where it came from (`valueKey`). One per run of days with the same
 * areas (in the same order) and rule set: `for` answers a new one when either changes.
 *
 * Measured (the national bench set, 365 days): the values and children's levels of about
 * three area-days in four are those of the day before, and the rules are not run for them.
 */
export class DayMemo {
  private readonly packed: (readonly PackedValue[] | undefined)[];
  private readonly kids: (ChildLevels | undefined)[];
  private readonly rules: (Classification<StepResult> | undefined)[];

  private constructor(
    readonly areas: readonly AreaNode[],
    readonly ruleSetId: string,
  ) {
    this.packed = new Array<readonly PackedValue[] | undefined>(areas.length);
    this.kids = new Array<ChildLevels | undefined>(areas.length);
    this.rules = new Array<Classification<StepResult> | undefined>(areas.length);
  }

  /** `memo` when it is for these areas and this rule set, else a new one. */
  static for(memo: DayMemo | null, areas: readonly AreaNode[], ruleSetId: string): DayMemo {
    return memo && memo.areas === areas && memo.ruleSetId === ruleSetId ? memo : new DayMemo(areas, ruleSetId);
  }

  /** The classification of area `i` the day before, if its values and children's levels are the same today. */
  get(i: number, packed: readonly PackedValue[], kids: ChildLevels): Classification<StepResult> | undefined {
    const before = this.packed[i];
    const beforeKids = this.kids[i];
    if (before === undefined || beforeKids === undefined || before.length !== packed.length || beforeKids.length !== kids.length) return undefined;
    for (let k = 0; k < packed.length; k++) {
      const a = packed[k] as PackedValue;
      const b = before[k] as PackedValue;
      // one shared array (an indicator passed down, domain/inputs.ts) is the same value
      if (a !== b && valueKey(a) !== valueKey(b)) return undefined;
    }
    for (let k = 0; k < kids.length; k++) if (kids[k] !== beforeKids[k]) return undefined;
    return this.rules[i];
  }

  set(i: number, packed: readonly PackedValue[], kids: ChildLevels, rules: Classification<StepResult>): void {
    this.packed[i] = packed;
    this.kids[i] = kids;
    this.rules[i] = rules;
  }
}

/**
 * What the rules read of a packed value (domain/inputs.ts): the number of a value, however
 * found; the code of a missing one ('stale' and 'partial' packed with their figures).
 */
export function valueKey(p: PackedValue): number | string {
  if (typeof p === 'number' || typeof p === 'string') return p;
  const head = p[0];
  return typeof head === 'number' ? head : `[${head}]`;
}

/**
 * A recomputed day, assembled from what is loaded: every area's row for `date` — the rules'
 * level from the day's stored inputs (`packed[i]` is `areas[i]`'s), then persistence from
 * the day before (`prev`), and, where the level differs from the day before's, what moved it
 * (domain/rules/change.ts `changeTrigger`: a switch of rule set, persistence, or the rule
 * step and metrics; no words, those are built when read: the day before's stored inputs are
 * read again for those areas only). `next` is what the next day starts from. With a `memo`
 * (a run of days), an area whose values and children's levels are the day before's takes
 * that day's classification again (DayMemo), and the memo keeps today's. `areas` are in
 * visiting order (`treeOrder`, as a run keeps them). `overridden`: the levels command-centre
 * overrides set that day, by area id — an area's row keeps the rules' level (overrides are
 * applied when read), but its parent rolls up the override's level, as the command centre
 * sees its children (db/overrides.ts queues the days again when an override changes). Pure
 * but for the memo.
 *
 * Measured (a 365-day backfill of 11,360 areas): carrying every area's values and
 * classification to the next day, instead of reading the changed ones' again, cost more in
 * garbage collection (+8 s) than it saved.
 */
export function classifyDay(
  rs: StoredRuleSet,
  date: LocalDate,
  areas: AreaNode[],
  packed: PackedValue[][],
  prev: DayBefore,
  memo?: DayMemo,
  overridden?: ReadonlyMap<number, Level> | null,
  out: DayOut = {},
): ComputedDay {
  const ps = rs.definition.persistence;
  const hysteresis = ps.escalate_after_days > 1 || ps.deescalate_after_days > 1 || ps.max_step_down < 3 || ps.min_stay_days > 0;
  // classifying needs values and reasons only; the details are derived again when read
  const read = inputsReader(rs.definition);
  const inputsOf = (a: AreaNode, i: number) => read(date, a.code, packed[i] ?? [], false);
  const yesterday = addDays(date, -1);
  // the day before's rows by index when they are of these areas, else by id
  const sameAreas = !(prev instanceof Map) && 'rows' in prev && prev.areas === areas ? prev.rows : null;
  const byId = sameAreas ? null : beforeById(prev);
  const rollingUp = new Set(AREA_KINDS.filter((k) => rollsUp(rs.definition, k)));
  const again = memo ? (_a: AreaNode, i: number, kids: ChildLevels) => memo.get(i, packed[i] ?? [], kids) : undefined;
  const rows = classifyTree(rs.definition, areas, inputsOf, (a, c, kids, values, i) => {
    memo?.set(i, packed[i] ?? [], kids, c);
    const before = sameAreas ? sameAreas[i] : byId?.get(a.id);
    // with the default settings the level is the rules' level every day, nothing pending and
    // no state to keep (persistence.ts `step` answers that from any state): not stepped
    const p = hysteresis ? persistenceStep(before?.persistence ?? null, date, c.level, ps) : null;
    const level = p ? p.day.level : c.level;
    const inputs = packed[i] ?? [];
    const children = rollingUp.has(a.kind) ? childCounts(kids) : null;
    const row: LevelRow = {
      area_id: a.id,
      level,
      raw_level: c.level,
      reason: c.reason,
      since: before && before.level === level ? (before.since ?? date) : date,
      inputs,
      children,
      pending: p ? p.day.pending : null,
      persistence: p ? p.state : null,
      change: null,
      rule_set_id: rs.id,
    };
    // only where the level moved (a small share of areas)
    if (before && before.level !== level) row.change = out.formed?.get(a.id) ?? changeTrigger(rs.definition, a.kind, beforeSide(rs, a, yesterday, before), { level, inputs: values(), children: kids, ruleSetId: rs.id, rules: c });
    out.onRow?.(row);
    // its parent rolls up the level the command centre decided, where an override covers the day
    return { level: overridden?.get(a.id) ?? level, result: row };
  }, { again, ordered: true }); // a run's areas are in treeOrder (run.ts)
  // the rows are what the next day starts from (no second object per area-day), in the order of `areas`
  return { rows, next: { areas, rows } };
}

/** The day before as a change is judged against: its stored inputs read again. */
function beforeSide(rs: StoredRuleSet, a: AreaNode, date: LocalDate, before: PreviousLevel): ChangeSide {
  const side = { level: before.level, ruleSetId: before.rule_set_id };
  // another rule set judged it: the switch is the reason, its values are not read
  if (before.rule_set_id !== rs.id) return { ...side, inputs: {}, children: [] };
  return { ...side, inputs: before.inputs ? readStoredInputs(rs.definition, date, a.code, before.inputs, false) : {}, children: childList(before.children) };
}
