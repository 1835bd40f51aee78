import { AreaKind } from '../../src/domain/areas';
import { LocalDate } from '../../src/domain/dates';
import { LevelOrUnknown } from '../../src/domain/levels';
import { parseRuleSet, RuleSet } from '../../src/domain/rules/definition';
import { ChildLevels, classify, Classification, ExplanationStep, Inputs, MetricValue, StepResult, StepTrace } from '../../src/domain/rules/engine';
import { applyPersistence, Pending, PersistenceState, step as persistenceStep } from '../../src/domain/rules/persistence';
import { PRESETS } from '../../src/domain/rules/presets';
import { classifyTree, rollsUp } from '../../src/domain/rules/tree';

/**
 * The rule-engine fixtures (test/rules/cases/*.json), Turf style: each file is a rule set
 * (inline, or a preset id) and cases run through the engine's public entry points, each with
 * the expected result written in the file. Three shapes of case:
 *
 * - one area on one day — how a stored level is explained (services/levels.ts `explain`):
 *   `classify(rule set, kind, inputs, children, { texts: true })`, every step with its
 *   bilingual `text`;
 *     { "name", "kind", "inputs": { metric: value }, "children"?: [levels],
 *       "expected": { "level", "reason", "explanation": [steps] } }
 * - a hierarchy over days — how a recomputation classifies (jobs/recompute.ts `classifyAll`):
 *   each day `classifyTree` (children first, roll-ups see their children's final levels), then
 *   persistence from the area's previous day, with the rule set's persistence settings;
 *     { "name", "areas": [{ "code", "kind", "parent"?: code, "id"?: number }],
 *       "initial"?: { code: persistence state the day before },
 *       "days": [{ "date", "inputs": { code: { metric: value } } }],
 *       "expected": [{ "date", "areas": [one row per area, in the order classified] }] }
 * - a rule set the schema refuses (no cases): `"refused": { "too_large"?, "issues" }`, what
 *   `parseRuleSet` answers.
 *
 * Input values are what the data layer hands the engine: a number is `{ "value": n }`; an
 * object is the metric value itself, `{ "value", "detail" }` for an indicator found on an
 * earlier day or inherited from an ancestor, `{ "missing": reason, "detail"? }` for a
 * missing one (`stale_metric:<name>`, `no_reports`, `no_population`…); a metric left out is
 * absent (the engine names it `no_metric:<name>`).
 */
export type InputValue = number | MetricValue;
export type InputValues = Record<string, InputValue>;

export type AreaCase = {
  name: string;
  kind: AreaKind;
  inputs: InputValues;
  children?: LevelOrUnknown[];
  expected?: Classification<ExplanationStep>;
};

export type SeriesArea = { code: string; kind: AreaKind; parent?: string; id?: number };
/** One area's row on one day: what classifyAll stores, less the inputs. */
export type SeriesRow = {
  area: string;
  raw_level: LevelOrUnknown;
  level: LevelOrUnknown;
  reason: string | null;
  since: LocalDate | null;
  pending: Pending | null;
  /** The children's levels, counted, where the area's rules roll up; null elsewhere. */
  children: Partial<Record<LevelOrUnknown, number>> | null;
  /** The persistence state carried to the next day. */
  state: PersistenceState;
  /** The rules' trace as the recomputation has it: no texts. */
  explanation: StepTrace[];
};
export type SeriesDay = { date: LocalDate; areas: SeriesRow[] };
export type SeriesCase = {
  name: string;
  areas: SeriesArea[];
  /** The persistence state each area starts from (as stored the day before the first day), if any. */
  initial?: Record<string, PersistenceState>;
  days: { date: LocalDate; inputs: Record<string, InputValues> }[];
  expected?: SeriesDay[];
};

export type Refusal = { too_large?: true; issues: { path: string; message: string }[] };

export type CaseFile = {
  description: string;
  rule_set: string | Record<string, unknown>;
  refused?: Refusal;
  cases?: (AreaCase | SeriesCase)[];
};

export const isSeries = (c: AreaCase | SeriesCase): c is SeriesCase => 'days' in c;

export function inputsOf(values: InputValues): Inputs {
  const out: Inputs = {};
  for (const [metric, v] of Object.entries(values)) out[metric] = typeof v === 'number' ? { value: v } : v;
  return out;
}

/** The file's rule set, parsed, or the refusal. */
export function ruleSetOf(file: CaseFile): { ok: true; value: RuleSet } | { ok: false; refused: Refusal } {
  if (typeof file.rule_set === 'string') {
    const preset = Object.hasOwn(PRESETS, file.rule_set) ? PRESETS[file.rule_set] : undefined;
    if (!preset) throw new Error(`no preset ${file.rule_set}`);
    return { ok: true, value: preset };
  }
  const r = parseRuleSet(file.rule_set);
  if (r.ok) return r;
  return { ok: false, refused: { ...(r.tooLarge ? { too_large: true as const } : {}), issues: r.issues } };
}

/** Without children in the case, classify gets none (as for an area that has none). */
export function runAreaCase(rs: RuleSet, c: AreaCase): Classification<ExplanationStep>;
export function runAreaCase(rs: RuleSet, c: AreaCase, options: { notes: false }): Classification<StepResult>;
export function runAreaCase(rs: RuleSet, c: AreaCase, options: { notes: false } | { texts: true } = { texts: true }): Classification<StepResult> {
  return classify(rs, c.kind, inputsOf(c.inputs), c.children ?? [], options);
}

function counted(levels: ChildLevels): Partial<Record<LevelOrUnknown, number>> {
  const out: Partial<Record<LevelOrUnknown, number>> = {};
  for (const l of levels) out[l] = (out[l] ?? 0) + 1;
  return out;
}

/**
 * Every day in order: the hierarchy classified children first, each area's rules level then
 * put through persistence from its previous day (as the daily recomputation does).
 */
export function runSeriesCase(rs: RuleSet, c: SeriesCase): SeriesDay[] {
  const ids = new Map(c.areas.map((a, i) => [a.code, a.id ?? i + 1]));
  const areas = c.areas.map((a) => {
    const parent = a.parent === undefined ? null : ids.get(a.parent);
    if (parent === undefined) throw new Error(`${c.name}: ${a.code}'s parent ${a.parent} is not among the areas`);
    return { id: ids.get(a.code) as number, code: a.code, kind: a.kind, parent_id: parent };
  });
  const states = new Map<string, PersistenceState>(Object.entries(c.initial ?? {}));
  return c.days.map(({ date, inputs }) => {
    const rows = classifyTree(rs, areas, (a) => inputsOf(inputs[a.code] ?? {}), (a, rules, kids) => {
      const p = persistenceStep(states.get(a.code) ?? null, date, rules.level, rs.persistence);
      states.set(a.code, p.state);
      const row: SeriesRow = {
        area: a.code,
        raw_level: rules.level,
        level: p.day.level,
        reason: rules.reason,
        since: p.day.since,
        pending: p.day.pending,
        children: rollsUp(rs, a.kind) ? counted(kids) : null,
        state: p.state,
        explanation: rules.explanation,
      };
      return { level: p.day.level, result: row };
    }, { notes: true });
    return { date, areas: rows };
  });
}

/** applyPersistence over each area's raw levels must agree with the day-by-day steps. */
export function persistenceAgrees(rs: RuleSet, c: SeriesCase, days: SeriesDay[]): boolean {
  const codes = new Set(days.flatMap((d) => d.areas.map((a) => a.area)));
  for (const code of codes) {
    const rows = days.flatMap((d) => d.areas.filter((a) => a.area === code).map((a) => ({ date: d.date, row: a })));
    const applied = applyPersistence(rows.map((r) => ({ date: r.date, raw: r.row.raw_level })), rs.persistence, c.initial?.[code] ?? null);
    const same = applied.every((d, i) => {
      const row = rows[i]?.row as SeriesRow;
      return d.level === row.level && d.since === row.since && JSON.stringify(d.pending) === JSON.stringify(row.pending);
    });
    if (!same) return false;
  }
  return true;
}
