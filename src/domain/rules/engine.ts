import { AreaKind } from '../areas';
import { Bilingual, LEVELS, Level, LevelOrUnknown, levelIndex, minLevel, maxLevel, shiftLevel } from '../levels';
import { Banding, Comparison, Condition, RuleSet, Step } from './definition';
import {
  adjustText,
  bandChecks,
  bandsText,
  compareOp,
  FAR,
  matrixText,
  MIN_DECIMALS,
  missingStepText,
  noChildrenText,
  noLevelToAdjustText,
  percentOf,
  plainNumber,
  RollupWhy,
  rollupText,
  rulesText,
  TextContext,
  unknownIfText,
  worstText,
} from './wording';

/**
 * The rule engine: pure. Metric values in, a level and the ordered trace of the steps that
 * produced it out. No I/O, no clock.
 */
/**
 * Where a value came from (for the explanation): the area's own value or its nearest
 * ancestor's (dated), or derived from its children (how many of how many, the share of the
 * area's population they cover, and how they were combined).
 */
export type Origin =
  | { from: 'area'; date: string }
  | { from: 'ancestor'; code: string; date: string }
  | { from: 'children'; children: number; of: number; population_share: number; method: 'population_weighted_mean' | 'min' | 'max' };
export type MetricValue = { value: number; detail?: string; origin?: Origin } | { missing: string; detail?: string };
export type Inputs = Record<string, MetricValue>;

export type Margin = { metric: string; value: number; next_up: number | null; next_down: number | null };

/** One step of the trace at its barest: which step, of what type, and the level it gave (what `classify` records with `notes: false`). */
export type StepResult = {
  step: number;
  /** The rule step's type; `persistence` for the step explain.ts `persistenceStep` adds after them. */
  type: Step['type'] | 'persistence' | 'override' | 'lineage';
  result: LevelOrUnknown;
};

/** One step of the trace: what it read, what it gave and why (`note`, English); `text` only where asked for (see `classify`). */
export type StepTrace = StepResult & {
  /** Metric values this step read (null where missing). */
  values: Record<string, number | null>;
  /** The step in English with the rule set's metric names (kept for compatibility; `text` is what people read). */
  note: string;
  /** For band lookups: the thresholds that bound the value (how far to the next band up or down). */
  margins?: Margin[];
  text?: Bilingual;
  /** A lineage step whose figures are partly estimated (a predecessor counted by its share). */
  estimated?: boolean;
};

/**
 * A step as people read it: the trace with `text`, the step in words, Vietnamese first —
 * metrics by their catalogue labels, values at a precision that never contradicts the
 * comparison shown, missing values and where values came from (wording.ts).
 */
export type ExplanationStep = StepTrace & { text: Bilingual };

/** The level of an area, why it is unknown, and the trace of the steps (with their texts when asked for). */
export type Classification<S extends StepResult = StepTrace> = { level: LevelOrUnknown; reason: string | null; explanation: S[] };

/**
 * What the trace holds. By default each step's values, margins and English `note`;
 * `texts: true` adds each step's `text` (what an explanation shows), which costs several
 * times the classification itself; `notes: false` keeps only each step's number, type and
 * result (`StepResult`) — what recomputation and previews need, which read levels and, for
 * why a level changed, the step that moved it: building the notes was a fifth of a
 * backfill's classification.
 */
export type ClassifyOptions = { texts?: boolean; notes?: boolean };

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

/**
 * A band lookup's value in a note, at the precision that agrees with the band's bounds
 * (wording.ts `decimalsFor`); the usual value, far from both bounds, without building them.
 */
function fmtIn(v: number, b: Banding, i: number): string {
  if (Number.isInteger(v)) return String(v);
  const lo = b.thresholds[i - 1];
  const hi = b.thresholds[i];
  if ((lo === undefined || v - lo > FAR) && (hi === undefined || hi - v > FAR)) return v.toFixed(MIN_DECIMALS);
  return plainNumber(v, bandChecks(b, i));
}

const compare = (c: Comparison, v: number): boolean => compareOp(v, c);

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
  return `${c.metric} ${c.op} ${c.value}`;
}

/** Whether a rule set has count_met metrics, by rule set (asked for every area and day; a rule set is never changed once read). */
const derivingSets = new WeakMap<RuleSet, boolean>();

/** Adds the derived (count_met) metrics to the stored ones. */
export function withDerived(ruleSet: RuleSet, stored: Inputs): Inputs {
  let derives = derivingSets.get(ruleSet);
  if (derives === undefined) derivingSets.set(ruleSet, (derives = Object.values(ruleSet.metrics).some((d) => d.kind === 'count_met')));
  if (!derives) return stored;
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

/** A text never asked for (a step's without notes). */
const noText = (): Bilingual => {
  throw new Error('a step without notes has no text');
};

/** Why a step cannot give a level: the reason code, and the note (built only when the trace holds notes). */
class Unknown {
  constructor(
    readonly reason: string,
    readonly note: () => string,
  ) {}
}

type RulesStep = Extract<Step, { type: 'rules' }>;
type RollupStep = Extract<Step, { type: 'rollup' }>;

/**
 * The first rule whose condition holds (a rule without one always does): its index, level
 * and note; unknown when a condition met before it cannot be decided (with that rule's
 * index), or when none holds.
 */
function firstRule(
  rules: RulesStep['rules'],
  inputs: Inputs,
  seen: Record<string, number | null>,
): { index: number; level: Level; note: () => string } | { undecided: number | null; unknown: Unknown } {
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index] as RulesStep['rules'][number];
    const when = rule.when;
    if (!when) return { index, level: rule.level, note: () => `otherwise → ${rule.level}` };
    const t = evaluate(when, inputs, seen);
    if (t === true) return { index, level: rule.level, note: () => `${describe(when)} → ${rule.level}` };
    if (t !== false) return { undecided: index, unknown: new Unknown(t.missing, () => `cannot decide "${describe(when)}": ${t.missing}`) };
  }
  return { undecided: null, unknown: new Unknown('no_rule_matched', () => 'no rule matched') };
}

/** A percentage of `count` children out of `of`, printed so that it agrees with "≥ share". */
const sharePct = (count: number, of: number, share: number) => plainNumber((count * 100) / of, [{ op: '>=', value: percentOf(share) }]);

/**
 * A roll-up over the children's known levels (at least one): the first rule whose share of
 * children at `at_least` or above is reached; else the worst level L held by at least
 * `otherwise_worst_share` of them — counting the children at L or above (`count:
 * "at_or_above"`) or at L exactly (`"exactly"`); else the default. With why.
 */
export function rollUp(step: Pick<RollupStep, 'rules' | 'otherwise_worst_share' | 'count' | 'default'>, known: readonly Level[]): { level: Level; why: RollupWhy } {
  const atOrAbove = (l: Level) => known.filter((c) => levelIndex(c) >= levelIndex(l)).length;
  for (const rule of step.rules) {
    const count = atOrAbove(rule.at_least);
    if (count / known.length >= rule.share) return { level: rule.level, why: { by: 'rule', at_least: rule.at_least, count, of: known.length, share: rule.share } };
  }
  if (step.otherwise_worst_share !== null) {
    for (const l of [...LEVELS].reverse()) {
      const count = step.count === 'at_or_above' ? atOrAbove(l) : known.filter((c) => c === l).length;
      if (count / known.length >= step.otherwise_worst_share) {
        return { level: l, why: { by: 'worst', level: l, count, of: known.length, share: step.otherwise_worst_share, counting: step.count } };
      }
    }
  }
  return { level: step.default, why: { by: 'default' } };
}

/** A roll-up's why in a note. */
function rollupNote(why: RollupWhy): string {
  if (why.by === 'default') return 'no roll-up rule applies';
  if (why.by === 'rule') return `${sharePct(why.count, why.of, why.share)}% of children at ${why.at_least} or above (≥ ${percentOf(why.share)}%)`;
  if (why.counting === 'exactly') return `worst level held by ≥ ${percentOf(why.share)}% of children`;
  return `${sharePct(why.count, why.of, why.share)}% of children at ${why.level} or above (≥ ${percentOf(why.share)}%): the worst level so held`;
}

/**
 * Classifies one area of `kind` from its metric values (and its children's levels for
 * roll-ups): the level, the reason when unknown, and the ordered steps that produced it —
 * with each step's `text` only when `options.texts` is true.
 */
export function classify(ruleSet: RuleSet, kind: AreaKind, stored: Inputs, children?: ChildLevels): Classification;
export function classify(ruleSet: RuleSet, kind: AreaKind, stored: Inputs, children: ChildLevels, options: { texts: true }): Classification<ExplanationStep>;
export function classify(ruleSet: RuleSet, kind: AreaKind, stored: Inputs, children: ChildLevels, options: { notes: false }): Classification<StepResult>;
export function classify(ruleSet: RuleSet, kind: AreaKind, stored: Inputs, children: ChildLevels, options?: ClassifyOptions): Classification<StepResult>;
export function classify(ruleSet: RuleSet, kind: AreaKind, stored: Inputs, children: ChildLevels = [], options: ClassifyOptions = {}): Classification<StepResult> {
  const inputs = withDerived(ruleSet, stored);
  const group = ruleSet.levels.find((g) => g.kinds.includes(kind));
  if (!group) return { level: 'unknown', reason: `no_rules_for_kind:${kind}`, explanation: [] };
  const explanation: StepResult[] = [];
  const texts = options.texts === true;
  const notes = options.notes !== false || texts;
  const ctx: TextContext = { ruleSet, kind, inputs };
  let current: Level | null = null;
  // the step being taken, and the values it read (a step's trace holds them): set by the loop
  // below. The functions of a step are made once per area, not per step; without notes a
  // step's result is kept as it is (`kept`), and what a trace would hold is never made
  // (measured on a 365-day backfill of the reorganised national bench set: classify allocated
  // 2.3 of the 5.5 GB Node allocated, 1.5 of 4.6 GB so; Node's CPU 0.94× in four paired runs)
  let s = 0;
  let taking = group.steps[0] as Step;
  let values: Record<string, number | null> = {};
  const get = (metric: string): number | Unknown => {
    const v = inputs[metric] ?? { missing: `no_metric:${metric}` };
    if (isMissing(v)) {
      values[metric] = null;
      return new Unknown(v.missing, () => `${metric} is missing (${v.detail ?? v.missing})`);
    }
    values[metric] = v.value;
    return v.value;
  };
  /** Without notes: the step's result, kept (true); with them, false: the caller records its trace. */
  const kept = (result: LevelOrUnknown): boolean => {
    if (notes) return false;
    explanation.push({ step: s, type: taking.type, result });
    return true;
  };
  // the note, margins and text are built only when the trace is to hold them
  // (with notes only: callers ask `kept` first, so that what they hand it is made only then)
  const record = (result: LevelOrUnknown, note: () => string, text: () => Bilingual, margins?: () => Margin[]) => {
    const e: StepTrace = { step: s, type: taking.type, values, result, note: note() };
    if (margins) e.margins = margins();
    if (texts) e.text = text();
    explanation.push(e);
  };
  const fail = (u: Unknown, text: () => Bilingual): Classification<StepResult> => {
    if (!kept('unknown')) record('unknown', u.note, text);
    return { level: 'unknown', reason: u.reason, explanation };
  };
  const failOn = (metric: string, u: Unknown) => (notes ? fail(u, () => missingStepText(ctx, metric)) : fail(u, noText));

  for (; s < group.steps.length; s++) {
    const step = (taking = group.steps[s] as Step);
    values = {};

    switch (step.type) {
      case 'bands': {
        const v = get(step.metric);
        if (v instanceof Unknown) return failOn(step.metric, v);
        const i = bandIndex(v, step);
        const level = step.levels[i] as Level;
        current = level;
        if (!kept(level))
          record(
            level,
            () => `${step.metric} = ${fmtIn(v, step, i)}, band ${describeBand(step, i)} → ${level}`,
            () => bandsText(ctx, step, i, level),
            () => [margin(v, step, step.metric)],
          );
        break;
      }
      case 'matrix': {
        const r = get(step.rows.metric);
        if (r instanceof Unknown) return failOn(step.rows.metric, r);
        const c = get(step.cols.metric);
        if (c instanceof Unknown) return failOn(step.cols.metric, c);
        const ri = bandIndex(r, step.rows);
        const ci = bandIndex(c, step.cols);
        const level = step.table[ri]?.[ci] as Level;
        current = level;
        if (!kept(level))
          record(
            level,
            () => `${step.rows.metric} = ${fmtIn(r, step.rows, ri)} (${describeBand(step.rows, ri)}), ${step.cols.metric} = ${fmtIn(c, step.cols, ci)} (${describeBand(step.cols, ci)}) → ${level}`,
            () => matrixText(ctx, step.rows, ri, step.cols, ci, level),
            () => [margin(r, step.rows, step.rows.metric), margin(c, step.cols, step.cols.metric)],
          );
        break;
      }
      case 'worst': {
        const levels: Level[] = [];
        let firstMissing: { metric: string; unknown: Unknown } | null = null;
        const read: { banding: Banding; value: number | null; band: number | null; level: Level | null }[] = [];
        for (const b of step.of) {
          const v = get(b.metric);
          if (v instanceof Unknown) {
            firstMissing ??= { metric: b.metric, unknown: v };
            read.push({ banding: b, value: null, band: null, level: null });
            continue;
          }
          const i = bandIndex(v, b);
          const l = b.levels[i] as Level;
          levels.push(l);
          read.push({ banding: b, value: v, band: i, level: l });
        }
        if (levels.length === 0 && firstMissing) return failOn(firstMissing.metric, firstMissing.unknown);
        const level = levels.reduce(maxLevel);
        current = level;
        const parts = () => read.map((x) => (x.band === null || x.value === null ? `${x.banding.metric} missing` : `${x.banding.metric} = ${fmtIn(x.value, x.banding, x.band)} → ${x.level}`));
        const margins = () => read.flatMap((x) => (x.value === null ? [] : [margin(x.value, x.banding, x.banding.metric)]));
        if (!kept(level)) record(level, () => `worst of: ${parts().join('; ')} → ${level}`, () => worstText(ctx, read, level), margins);
        break;
      }
      case 'rules': {
        const chosen = firstRule(step.rules, inputs, values);
        if ('unknown' in chosen) {
          const at = chosen.undecided;
          return fail(chosen.unknown, notes ? () => rulesText(ctx, step.rules, at === null ? 'none' : { undecided: at }) : noText);
        }
        current = chosen.level;
        if (!kept(chosen.level)) record(chosen.level, chosen.note, () => rulesText(ctx, step.rules, { matched: chosen.index }));
        break;
      }
      case 'raise':
      case 'lower':
      case 'cap': {
        if (current === null) return fail(new Unknown('no_level_to_adjust', () => `${step.type} before any level was set`), noLevelToAdjustText);
        const before: Level = current;
        const t = evaluate(step.when, inputs, values);
        if (t !== true && t !== false) {
          if (step.if_missing === 'unknown') return fail(new Unknown(t.missing, () => `cannot assess "${describe(step.when)}": ${t.missing}`), () => adjustText(ctx, step, before, 'unknown', true));
          if (!kept(before)) record(before, () => `not assessed (${t.missing}): ${step.type} when ${describe(step.when)}`, () => adjustText(ctx, step, before, before, false));
          break;
        }
        if (!t) {
          if (!kept(before)) record(before, () => `${describe(step.when)} does not hold: stays ${before}`, () => adjustText(ctx, step, before, before, false));
          break;
        }
        let after: Level;
        if (step.type === 'raise') after = shiftLevel(before, step.by);
        else if (step.type === 'lower') after = shiftLevel(before, -step.by);
        else after = minLevel(before, step.level);
        current = after;
        if (!kept(after)) record(after, () => `${describe(step.when)}: ${step.type}${step.type === 'cap' ? ` at ${step.level}` : ` by ${step.by}`}, ${before} → ${after}`, () => adjustText(ctx, step, before, after, false));
        break;
      }
      case 'unknown_if': {
        const t = evaluate(step.when, inputs, values);
        const text = () => unknownIfText(ctx, step.when, step.reason, current ?? 'unknown');
        if (t !== true && t !== false) return fail(new Unknown(t.missing, () => `cannot assess "${describe(step.when)}": ${t.missing}`), text);
        if (t) return fail(new Unknown(step.reason, () => `${describe(step.when)}: data insufficient (${step.reason})`), text);
        const so = current ?? 'unknown';
        if (!kept(so)) record(so, () => `${describe(step.when)} does not hold: data sufficient`, () => unknownIfText(ctx, step.when, step.reason, so));
        break;
      }
      case 'rollup': {
        const known = children.filter((c): c is Level => c !== 'unknown');
        if (known.length === 0) {
          const n = children.length;
          return fail(new Unknown('no_children_levels', () => (n ? `all ${n} children are unknown` : 'the area has no children')), () => noChildrenText(kind, n));
        }
        const unknowns = children.length - known.length;
        const rolled = rollUp(step, known);
        current = rolled.level;
        const note = () => {
          const counts = LEVELS.map((l) => `${l} ${known.filter((c) => c === l).length}`).join(', ');
          const unknownNote = unknowns > 0 ? `, ${unknowns} unknown not counted` : '';
          return `children: ${counts}${unknownNote}; ${rollupNote(rolled.why)} → ${rolled.level}`;
        };
        if (!kept(rolled.level)) record(rolled.level, note, () => rollupText(kind, known, unknowns, rolled.why, rolled.level));
        break;
      }
    }
  }
  if (current === null) return { level: 'unknown', reason: 'no_level_set', explanation };
  return { level: current, reason: null, explanation };
}

export { LEVELS };
