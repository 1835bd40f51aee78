import { AreaKind } from '../areas';
import { LEVELS, Level, LevelOrUnknown, levelIndex, minLevel, maxLevel, shiftLevel } from '../levels';
import { Banding, Comparison, Condition, RuleSet, Step } from './definition';

/**
 * The rule engine: pure. Metric values in, a level and the ordered trace of the steps that
 * produced it out. No I/O, no clock.
 */
export type MetricValue = { value: number } | { missing: string; detail?: string };
export type Inputs = Record<string, MetricValue>;

export type Margin = { metric: string; value: number; next_up: number | null; next_down: number | null };

export type ExplanationStep = {
  step: number;
  type: Step['type'];
  /** Metric values this step read (null where missing). */
  values: Record<string, number | null>;
  result: LevelOrUnknown;
  note: string;
  /** For band lookups: the thresholds that bound the value (how far to the next band up or down). */
  margins?: Margin[];
};

export type Classification = { level: LevelOrUnknown; reason: string | null; explanation: ExplanationStep[] };

/** Levels of the children of an area (for roll-up steps). */
export type ChildLevels = LevelOrUnknown[];

type Truth = boolean | { missing: string };

const isMissing = (v: MetricValue): v is { missing: string; detail?: string } => 'missing' in v;

function bandIndex(value: number, b: Banding): number {
  let i = 0;
  for (const t of b.thresholds) {
    if (b.inclusive === 'lower' ? value >= t : value > t) i++;
    else break;
  }
  return i;
}

function margin(value: number, b: Banding, metric: string): Margin {
  const i = bandIndex(value, b);
  return { metric, value, next_up: b.thresholds[i] ?? null, next_down: i > 0 ? (b.thresholds[i - 1] as number) : null };
}

function describeBand(b: Banding, i: number): string {
  const lo = b.thresholds[i - 1];
  const hi = b.thresholds[i];
  const [geq, lt] = b.inclusive === 'lower' ? ['≥', '<'] : ['>', '≤'];
  if (lo === undefined) return `${lt} ${hi}`;
  if (hi === undefined) return `${geq} ${lo}`;
  return `${geq} ${lo} and ${lt} ${hi}`;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

function compare(c: Comparison, v: number): boolean {
  switch (c.op) {
    case '<':
      return v < c.value;
    case '<=':
      return v <= c.value;
    case '>':
      return v > c.value;
    case '>=':
      return v >= c.value;
    case '==':
      return v === c.value;
    case '!=':
      return v !== c.value;
  }
}

/** Three-valued: a condition on a missing metric is neither true nor false. */
function evaluate(c: Condition, inputs: Inputs, seen: Record<string, number | null>): Truth {
  if ('all' in c) {
    const parts = c.all.map((x) => evaluate(x, inputs, seen));
    if (parts.includes(false)) return false;
    return (parts.find((p) => p !== true) as { missing: string } | undefined) ?? true;
  }
  if ('any' in c) {
    const parts = c.any.map((x) => evaluate(x, inputs, seen));
    if (parts.includes(true)) return true;
    return (parts.find((p) => p !== false) as { missing: string } | undefined) ?? false;
  }
  const v = inputs[c.metric] ?? { missing: `no_metric:${c.metric}` };
  if (isMissing(v)) {
    seen[c.metric] = null;
    return { missing: v.missing };
  }
  seen[c.metric] = v.value;
  return compare(c, v.value);
}

function describe(c: Condition): string {
  if ('all' in c) return c.all.map(describe).join(' and ');
  if ('any' in c) return `(${c.any.map(describe).join(' or ')})`;
  return `${c.metric} ${c.op} ${fmt(c.value)}`;
}

/** Adds the derived (count_met) metrics to the stored ones. */
export function withDerived(ruleSet: RuleSet, stored: Inputs): Inputs {
  if (!Object.values(ruleSet.metrics).some((d) => d.kind === 'count_met')) return stored;
  const inputs: Inputs = { ...stored };
  for (const [name, def] of Object.entries(ruleSet.metrics)) {
    if (def.kind !== 'count_met') continue;
    let met = 0;
    let missing: string | null = null;
    for (const c of def.of) {
      const t = evaluate(c, stored, {});
      if (t === true) met++;
      else if (t !== false) missing ??= t.missing;
    }
    inputs[name] = missing === null ? { value: met } : { missing, detail: `${name} needs ${missing}` };
  }
  return inputs;
}

class Unknown {
  constructor(
    readonly reason: string,
    readonly note: string,
  ) {}
}

type RulesStep = Extract<Step, { type: 'rules' }>;
type RollupStep = Extract<Step, { type: 'rollup' }>;

/**
 * The level of the first rule whose condition holds (a rule without one always does), with
 * its note; unknown when a condition met before it cannot be decided, or when none holds.
 */
function firstRule(rules: RulesStep['rules'], inputs: Inputs, seen: Record<string, number | null>): { level: Level; note: string } | Unknown {
  for (const rule of rules) {
    if (!rule.when) return { level: rule.level, note: `otherwise → ${rule.level}` };
    const t = evaluate(rule.when, inputs, seen);
    if (t === true) return { level: rule.level, note: `${describe(rule.when)} → ${rule.level}` };
    if (t !== false) return new Unknown(t.missing, `cannot decide "${describe(rule.when)}": ${t.missing}`);
  }
  return new Unknown('no_rule_matched', 'no rule matched');
}

/**
 * A roll-up over the children's known levels (at least one): the first rule whose share of
 * children at `at_least` or above is reached, else the worst level held by at least
 * `otherwise_worst_share` of them, else the default; with why.
 */
function rollUp(step: RollupStep, known: Level[]): { level: Level; why: string } {
  const shareAtLeast = (l: Level) => known.filter((c) => levelIndex(c) >= levelIndex(l)).length / known.length;
  for (const rule of step.rules) {
    const share = shareAtLeast(rule.at_least);
    if (share >= rule.share) return { level: rule.level, why: `${Math.round(share * 1000) / 10}% of children at ${rule.at_least} or above (≥ ${rule.share * 100}%)` };
  }
  if (step.otherwise_worst_share !== null) {
    for (const l of [...LEVELS].reverse()) {
      const share = known.filter((c) => c === l).length / known.length;
      if (share >= step.otherwise_worst_share) return { level: l, why: `worst level held by ≥ ${step.otherwise_worst_share * 100}% of children` };
    }
  }
  return { level: step.default, why: 'no roll-up rule applies' };
}

/** Classifies one area of `kind` from its metric values (and its children's levels for roll-ups). */
export function classify(ruleSet: RuleSet, kind: AreaKind, stored: Inputs, children: ChildLevels = []): Classification {
  const inputs = withDerived(ruleSet, stored);
  const group = ruleSet.levels.find((g) => g.kinds.includes(kind));
  if (!group) return { level: 'unknown', reason: `no_rules_for_kind:${kind}`, explanation: [] };
  const explanation: ExplanationStep[] = [];
  let current: Level | null = null;

  for (let s = 0; s < group.steps.length; s++) {
    const step = group.steps[s] as Step;
    const values: Record<string, number | null> = {};
    const get = (metric: string): number | Unknown => {
      const v = inputs[metric] ?? { missing: `no_metric:${metric}` };
      if (isMissing(v)) {
        values[metric] = null;
        return new Unknown(v.missing, `${metric} is missing (${v.detail ?? v.missing})`);
      }
      values[metric] = v.value;
      return v.value;
    };
    const record = (result: LevelOrUnknown, note: string, margins?: Margin[]) =>
      explanation.push({ step: s, type: step.type, values, result, note, ...(margins ? { margins } : {}) });
    const fail = (u: Unknown): Classification => {
      record('unknown', u.note);
      return { level: 'unknown', reason: u.reason, explanation };
    };

    switch (step.type) {
      case 'bands': {
        const v = get(step.metric);
        if (v instanceof Unknown) return fail(v);
        const i = bandIndex(v, step);
        current = step.levels[i] as Level;
        record(current, `${step.metric} = ${fmt(v)}, band ${describeBand(step, i)} → ${current}`, [margin(v, step, step.metric)]);
        break;
      }
      case 'matrix': {
        const r = get(step.rows.metric);
        if (r instanceof Unknown) return fail(r);
        const c = get(step.cols.metric);
        if (c instanceof Unknown) return fail(c);
        const ri = bandIndex(r, step.rows);
        const ci = bandIndex(c, step.cols);
        current = step.table[ri]?.[ci] as Level;
        record(
          current,
          `${step.rows.metric} = ${fmt(r)} (${describeBand(step.rows, ri)}), ${step.cols.metric} = ${fmt(c)} (${describeBand(step.cols, ci)}) → ${current}`,
          [margin(r, step.rows, step.rows.metric), margin(c, step.cols, step.cols.metric)],
        );
        break;
      }
      case 'worst': {
        const levels: Level[] = [];
        let firstMissing: Unknown | null = null;
        const parts: string[] = [];
        const margins: Margin[] = [];
        for (const b of step.of) {
          const v = get(b.metric);
          if (v instanceof Unknown) {
            firstMissing ??= v;
            parts.push(`${b.metric} missing`);
            continue;
          }
          const i = bandIndex(v, b);
          const l = b.levels[i] as Level;
          parts.push(`${b.metric} = ${fmt(v)} → ${l}`);
          margins.push(margin(v, b, b.metric));
          levels.push(l);
        }
        if (levels.length === 0) return fail(firstMissing as Unknown);
        current = levels.reduce(maxLevel);
        record(current, `worst of: ${parts.join('; ')} → ${current}`, margins);
        break;
      }
      case 'rules': {
        const chosen = firstRule(step.rules, inputs, values);
        if (chosen instanceof Unknown) return fail(chosen);
        current = chosen.level;
        record(current, chosen.note);
        break;
      }
      case 'raise':
      case 'lower':
      case 'cap': {
        if (current === null) return fail(new Unknown('no_level_to_adjust', `${step.type} before any level was set`));
        const t = evaluate(step.when, inputs, values);
        if (t !== true && t !== false) {
          if (step.if_missing === 'unknown') return fail(new Unknown(t.missing, `cannot assess "${describe(step.when)}": ${t.missing}`));
          record(current, `not assessed (${t.missing}): ${step.type} when ${describe(step.when)}`);
          break;
        }
        if (!t) {
          record(current, `${describe(step.when)} does not hold: stays ${current}`);
          break;
        }
        const before: Level = current;
        if (step.type === 'raise') current = shiftLevel(current, step.by);
        else if (step.type === 'lower') current = shiftLevel(current, -step.by);
        else current = minLevel(current, step.level);
        record(current, `${describe(step.when)}: ${step.type}${step.type === 'cap' ? ` at ${step.level}` : ` by ${step.by}`}, ${before} → ${current}`);
        break;
      }
      case 'unknown_if': {
        const t = evaluate(step.when, inputs, values);
        if (t !== true && t !== false) return fail(new Unknown(t.missing, `cannot assess "${describe(step.when)}": ${t.missing}`));
        if (t) return fail(new Unknown(step.reason, `${describe(step.when)}: data insufficient (${step.reason})`));
        record(current ?? 'unknown', `${describe(step.when)} does not hold: data sufficient`);
        break;
      }
      case 'rollup': {
        const known = children.filter((c): c is Level => c !== 'unknown');
        if (known.length === 0) {
          return fail(new Unknown('no_children_levels', children.length ? `all ${children.length} children are unknown` : 'the area has no children'));
        }
        const counts = LEVELS.map((l) => `${l} ${known.filter((c) => c === l).length}`).join(', ');
        const unknownNote = children.length > known.length ? `, ${children.length - known.length} unknown not counted` : '';
        const rolled = rollUp(step, known);
        current = rolled.level;
        record(current, `children: ${counts}${unknownNote}; ${rolled.why} → ${current}`);
        break;
      }
    }
  }
  if (current === null) return { level: 'unknown', reason: 'no_level_set', explanation };
  return { level: current, reason: null, explanation };
}

export { LEVELS };
