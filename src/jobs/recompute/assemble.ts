import { AreaNode } from '../../db/inputs';
import { childCounts, childList, LevelRow, PreviousLevel } from '../../db/levels';
import { StoredRuleSet } from '../../db/rulesets';
import { readStoredInputs } from '../../db/storedInputs';
import { addDays, LocalDate } from '../../domain/dates';
import { inputsReader, PackedValue } from '../../domain/inputs';
import { Inputs } from '../../domain/rules/engine';
import { changeReason } from '../../domain/rules/explain';
import { step as persistenceStep } from '../../domain/rules/persistence';
import { classifyTree, rollsUp } from '../../domain/rules/tree';

/**
 * A recomputed day, assembled from what is loaded: every area's row for `date` — the rules'
 * level from the day's stored inputs (`packed[i]` is `areas[i]`'s), then persistence from
 * the day before (`prev`), and, where the level differs from the day before's, why
 * (domain/rules/explain.ts `changeReason`: a switch of rule set, persistence, or the rule
 * step and metric that moved it). Pure.
 */
export function classifyDay(rs: StoredRuleSet, date: LocalDate, areas: AreaNode[], packed: PackedValue[][], prev: Map<number, PreviousLevel>): LevelRow[] {
  const ps = rs.definition.persistence;
  const hysteresis = ps.escalate_after_days > 1 || ps.deescalate_after_days > 1 || ps.max_step_down < 3 || ps.min_stay_days > 0;
  const stored = new Map(areas.map((a, i) => [a.id, packed[i] as PackedValue[]]));
  // classifying needs values and reasons only; the details are derived again when read
  const read = inputsReader(rs.definition);
  const inputsOf = (a: AreaNode) => read(date, a.code, stored.get(a.id) ?? [], false);
  const yesterday = addDays(date, -1);
  return classifyTree(rs.definition, areas, inputsOf, (a, c, kids) => {
    const before = prev.get(a.id);
    const p = persistenceStep(before?.persistence ?? null, date, c.level, ps);
    const level = p.day.level;
    const inputs = stored.get(a.id) ?? [];
    const children = rollsUp(rs.definition, a.kind) ? childCounts(kids) : null;
    const row: LevelRow = {
      area_id: a.id,
      level,
      raw_level: c.level,
      reason: c.reason,
      since: before && before.level === level ? (before.since ?? date) : date,
      inputs,
      children,
      pending: p.day.pending,
      // with the default settings the level is the rules' level every day: no state to keep
      persistence: hysteresis ? p.state : null,
      change: null,
    };
    if (before && before.level !== level) {
      // only where the level moved (a small share of areas): the day before is read again
      const sameSet = before.rule_set_id === rs.id;
      const beforeInputs: Inputs = sameSet && before.inputs ? readStoredInputs(rs.definition, yesterday, a.code, before.inputs, false) : {};
      row.change = changeReason({
        ruleSet: rs.definition,
        kind: a.kind,
        before: { level: before.level, inputs: beforeInputs, children: childList(before.children), ruleSetId: before.rule_set_id },
        now: { level, raw: c.level, inputs: inputsOf(a), children: kids, ruleSetId: rs.id, pending: p.day.pending },
        nowRules: c,
      });
    }
    return { level, result: row };
  });
}

/** The state the next day starts from: what was just computed under `ruleSetId` (and is, or already was, stored). */
export function carry(rows: LevelRow[], ruleSetId: string): Map<number, PreviousLevel> {
  return new Map(rows.map((r) => [r.area_id, { level: r.level, since: r.since, persistence: r.persistence, rule_set_id: ruleSetId, inputs: r.inputs, children: r.children }]));
}
