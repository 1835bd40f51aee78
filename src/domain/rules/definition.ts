import { z } from 'zod';
import { AREA_KINDS, AreaKind } from '../areas';
import { isLocalDate, LocalDate } from '../dates';
import { LEVELS, Level } from '../levels';
import { AGGREGATES, METRIC_NAME_RE } from '../metrics';
import { freeText } from '../text';
import { issueText } from '../issues';

/**
 * The rule-set language. A rule set is plain JSON: named metrics (how each input is derived
 * from reports and indicators) and, per area kind, an ordered list of steps that turn the
 * metrics into a level. Every preset is data in this language; see docs/RULES.md (The rule-set language) for a worked
 * example. Validation errors name the path (`levels[0].steps[2].thresholds`).
 */

export const REPORT_FIELDS = ['community_cases', 'quarantine_cases', 'all_cases', 'deaths'] as const;
export type ReportField = (typeof REPORT_FIELDS)[number];

/**
 * How large a rule set may be: these bound the work one rule set can cause for every area
 * on every day (a preview, a recomputation). The engine's cost per area grows with the
 * band lookups and the conditions it evaluates and explains (measured: ~2.5 µs a band
 * lookup, ~0.5 µs a condition, against 10–20 µs for a whole preset), so those are bounded
 * for the whole rule set: the largest allowed set classifies a national set of areas
 * (11,360) for one day in about a second. Real rule sets are far smaller — the five presets have at most 4 metrics, 3
 * steps, 4 rules, 2 band lookups and 20 conditions, all/any nested 2 deep. `checkLimits` tests
 * these on the raw JSON before anything else, in one pass that stops at the first excess;
 * the zod schema repeats the per-list ones (they appear in the OpenAPI document as
 * maxItems) and the totals.
 */
export const RULE_SET_LIMITS = {
  /** Items in any one list: steps of a group, rules of a step, conditions of one all/any, bandings of a worst step… */
  listItems: 20,
  /** Entries of `metrics`. */
  metrics: 50,
  /** Conditions (comparisons, `all`, `any`) in the whole rule set, count_met included. */
  conditions: 100,
  /** `all`/`any` nested in one another. */
  conditionDepth: 8,
  /** Band lookups (a `bands` step 1, a `matrix` 2, each of a `worst` step's bandings 1) in the whole rule set. */
  bandings: 40,
  /** JSON values (objects, arrays, strings, numbers, booleans, nulls) in the whole definition. */
  values: 5_000,
  /** Characters of any one string (the longest field, `description`, takes 4,000). */
  stringLength: 4_000,
  /** Characters of all strings together (keys included): with the value limit, a rule set is at most ~200 KB of JSON. */
  characters: 100_000,
} as const;

export const LIMITS_TEXT =
  `Limits: at most ${RULE_SET_LIMITS.listItems} items in any list (steps of a group, rules of a step, conditions of one all/any, bandings of a worst step…), ` +
  `${RULE_SET_LIMITS.metrics} metrics, ${RULE_SET_LIMITS.conditions} conditions and ${RULE_SET_LIMITS.bandings} band lookups in the whole rule set, all/any nested at most ${RULE_SET_LIMITS.conditionDepth} deep, ` +
  `${RULE_SET_LIMITS.values.toLocaleString('en')} JSON values in all, strings of at most ${RULE_SET_LIMITS.stringLength.toLocaleString('en')} characters and ${RULE_SET_LIMITS.characters.toLocaleString('en')} in all; beyond them 422 (rule_set_too_large) naming the path and the limit.`;

const level = z.enum(LEVELS, { error: `must be one of ${LEVELS.join(', ')}` });
const L = RULE_SET_LIMITS.listItems;
const atMost = (n: number, what: string) => `at most ${n} ${what} (rule-set limit)`;
const metricRef = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric name defined in metrics');
const windowDays = z.number().int('must be a whole number of days').min(1).max(366);

export type Comparison = { metric: string; op: '<' | '<=' | '>' | '>=' | '==' | '!='; value: number };
export type Condition = Comparison | { all: Condition[] } | { any: Condition[] };

// z.number() refuses NaN and ±Infinity: every number of a rule set is finite
const comparison = z.strictObject({
  metric: metricRef,
  op: z.enum(['<', '<=', '>', '>=', '==', '!=']),
  value: z.number(),
});
const conditionList = () => z.array(conditionSchema).min(1).max(L, atMost(L, 'conditions in one all/any'));
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([comparison, z.strictObject({ all: conditionList() }), z.strictObject({ any: conditionList() })], {
    error: 'must be {metric, op, value}, {all: [...]} or {any: [...]}',
  }),
);

export const metricDefSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('sum'), of: z.enum(REPORT_FIELDS), window_days: windowDays }),
    z.strictObject({ kind: z.literal('rate_per_100k'), of: z.enum(REPORT_FIELDS), window_days: windowDays }),
    z.strictObject({ kind: z.literal('days_since_last'), of: z.enum(REPORT_FIELDS), lookback_days: windowDays.default(366) }),
    z.strictObject({
      kind: z.literal('indicator'),
      name: z.string().regex(METRIC_NAME_RE, 'must be an indicator name'),
      max_age_days: z.number().int().min(0).max(3660).default(14),
      inherit: z.boolean().default(true),
      /**
       * How a district's or province's missing value is derived from its children (docs/RULES.md,
       * Indicators); absent: the catalogue's (`metricSpec(name).aggregate`), else 'none'.
       */
      aggregate: z.enum(AGGREGATES).optional(),
      /** A commune derives a missing value from its subcommunes too (default false: never). */
      aggregate_from_subcommunes: z.boolean().optional(),
    }),
    z.strictObject({
      kind: z.literal('indicator_sum'),
      name: z.string().regex(METRIC_NAME_RE, 'must be an indicator name'),
      window_days: windowDays,
      inherit: z.boolean().default(false),
    }),
    z.strictObject({ kind: z.literal('population') }),
    /** Derived: how many of the conditions hold (missing if any input is missing). */
    z.strictObject({ kind: z.literal('count_met'), of: z.array(conditionSchema).min(1).max(10) }),
  ],
  { error: 'kind must be one of sum, rate_per_100k, days_since_last, indicator, indicator_sum, population, count_met' },
);
export type MetricDef = z.infer<typeof metricDefSchema>;

/**
 * Bands over one metric. With thresholds [t1, t2, …] ascending and `inclusive: "lower"`,
 * the bands are  v < t1,  t1 ≤ v < t2,  …,  v ≥ tn  (a value on a threshold belongs to the
 * band above). With `inclusive: "upper"`: v ≤ t1, t1 < v ≤ t2, …, v > tn.
 */
const banding = z.strictObject({
  metric: metricRef,
  thresholds: z.array(z.number()).min(1).max(10, atMost(10, 'thresholds')),
  inclusive: z.enum(['lower', 'upper']).default('lower'),
});
export type Banding = z.infer<typeof banding>;

const ifMissing = z.enum(['skip', 'unknown']).default('skip');

export const stepSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('bands'), ...banding.shape, levels: z.array(level).max(11, atMost(11, 'levels')) }),
    z.strictObject({ type: z.literal('matrix'), rows: banding, cols: banding, table: z.array(z.array(level).max(11, atMost(11, 'columns'))).max(11, atMost(11, 'rows')) }),
    z.strictObject({
      type: z.literal('worst'),
      of: z.array(z.strictObject({ ...banding.shape, levels: z.array(level).max(11, atMost(11, 'levels')) })).min(1).max(L, atMost(L, 'bandings')),
    }),
    z.strictObject({
      type: z.literal('rules'),
      rules: z.array(z.strictObject({ when: conditionSchema.optional(), level })).min(1).max(L, atMost(L, 'rules')),
    }),
    z.strictObject({ type: z.literal('raise'), by: z.number().int().min(1).max(3).default(1), when: conditionSchema, if_missing: ifMissing }),
    z.strictObject({ type: z.literal('lower'), by: z.number().int().min(1).max(3).default(1), when: conditionSchema, if_missing: ifMissing }),
    z.strictObject({ type: z.literal('cap'), level, when: conditionSchema, if_missing: ifMissing }),
    z.strictObject({ type: z.literal('unknown_if'), when: conditionSchema, reason: z.string().regex(/^[a-z0-9_:.-]{1,64}$/) }),
    z.strictObject({
      type: z.literal('rollup'),
      rules: z.array(z.strictObject({ at_least: level, share: z.number().min(0).max(1), level })).max(L, atMost(L, 'rules')).default([]),
      /** Otherwise: the worst level held by at least this share of the children (counted as `count` says). */
      otherwise_worst_share: z.number().min(0).max(1).nullable().default(null),
      /**
       * How `otherwise_worst_share` counts the children of a level L: `at_or_above` — at L or
       * worse (2686 as DOMAIN.md reads it: 2 red + 2 orange + 6 green is orange, 40 % at
       * orange or worse); `exactly` — at L itself (the default, what rule sets stored before
       * this option meant). The `rules` always count at `at_least` or above.
       */
      count: z.enum(['at_or_above', 'exactly']).default('exactly'),
      default: level,
    }),
  ],
  { error: 'type must be one of bands, matrix, worst, rules, raise, lower, cap, unknown_if, rollup' },
);
export type Step = z.infer<typeof stepSchema>;

const persistenceSchema = z.strictObject({
  /** Days in a row a higher level must qualify before the area escalates. */
  escalate_after_days: z.number().int().min(1).max(60).default(1),
  /** Days in a row a lower level must qualify before the area de-escalates. */
  deescalate_after_days: z.number().int().min(1).max(60).default(1),
  /** At most this many levels down at a time. */
  max_step_down: z.number().int().min(1).max(3).default(3),
  /** Days an area stays at a level before it may de-escalate. */
  min_stay_days: z.number().int().min(0).max(60).default(0),
});
export type Persistence = z.infer<typeof persistenceSchema>;

export const ruleSetSchema = z
  .strictObject({
    /** A slug: versions of one rule set share it; ids are `<name>@<version>`. */
    name: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, 'must be 1–80 characters from A-Z a-z 0-9 . _ -'),
    title: freeText(200).optional(),
    description: freeText(4000).optional(),
    source: freeText(1000).optional(),
    effective_from: z
      .string()
      .refine(isLocalDate, 'must be a date YYYY-MM-DD')
      .transform((d) => d as LocalDate)
      .optional(),
    metrics: z.record(metricRef, metricDefSchema),
    levels: z
      .array(
        z.strictObject({
          kinds: z.array(z.enum(AREA_KINDS)).min(1).max(AREA_KINDS.length, atMost(AREA_KINDS.length, 'kinds')),
          steps: z.array(stepSchema).min(1).max(L, atMost(L, 'steps')),
        }),
      )
      .min(1)
      .max(AREA_KINDS.length, atMost(AREA_KINDS.length, 'groups (one per area kind)')),
    persistence: persistenceSchema.default({ escalate_after_days: 1, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0 }),
  })
  .superRefine((def, ctx) => checkSemantics(def, ctx))
  .describe(`A rule set: metrics and, per area kind, ordered steps that turn them into a level. ${LIMITS_TEXT}`);

export type RuleSet = z.infer<typeof ruleSetSchema>;
export type RuleSetInput = z.input<typeof ruleSetSchema>;

/** Conditions (comparisons, all, any) and band lookups of a parsed rule set, and the deepest all/any nesting. */
function ruleSetSize(def: { metrics: Record<string, MetricDef>; levels: { steps: Step[] }[] }): { conditions: number; depth: number; bandings: number } {
  const roots: Condition[] = [];
  let bandings = 0;
  for (const m of Object.values(def.metrics)) if (m.kind === 'count_met') roots.push(...m.of);
  for (const g of def.levels) {
    for (const s of g.steps) {
      if (s.type === 'rules') for (const r of s.rules) if (r.when) roots.push(r.when);
      if ('when' in s) roots.push(s.when);
      bandings += s.type === 'bands' ? 1 : s.type === 'matrix' ? 2 : s.type === 'worst' ? s.of.length : 0;
    }
  }
  let conditions = 0;
  let depth = 0;
  const stack: [Condition, number][] = roots.map((c) => [c, 0]);
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [c, d] = top;
    conditions++;
    const list = 'all' in c ? c.all : 'any' in c ? c.any : null;
    if (!list) continue;
    depth = Math.max(depth, d + 1);
    for (const x of list) stack.push([x, d + 1]);
  }
  return { conditions, depth, bandings };
}

function conditionMetrics(c: Condition): string[] {
  if ('all' in c) return c.all.flatMap(conditionMetrics);
  if ('any' in c) return c.any.flatMap(conditionMetrics);
  return [c.metric];
}

/** What zod's shapes cannot say: references, ordering and table shapes. */
function checkSemantics(def: { metrics: Record<string, MetricDef>; levels: { kinds: AreaKind[]; steps: Step[] }[] }, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const known = (name: string, path: (string | number)[]) => {
    if (!Object.hasOwn(def.metrics, name)) issue(path, `unknown metric "${name}" (define it under metrics)`);
  };
  const checkBanding = (b: Banding, path: (string | number)[]) => {
    known(b.metric, [...path, 'metric']);
    for (let i = 1; i < b.thresholds.length; i++) {
      if ((b.thresholds[i] as number) <= (b.thresholds[i - 1] as number)) {
        issue([...path, 'thresholds'], 'must be ascending');
        break;
      }
    }
  };
  const checkCondition = (c: Condition, path: (string | number)[]) => {
    for (const m of conditionMetrics(c)) known(m, path);
  };
  // the limits again, for values that did not come through parseRuleSet (cheap: the lists are bounded by now)
  if (Object.keys(def.metrics).length > RULE_SET_LIMITS.metrics) issue(['metrics'], atMost(RULE_SET_LIMITS.metrics, 'metrics'));
  const { conditions, depth, bandings } = ruleSetSize(def);
  if (conditions > RULE_SET_LIMITS.conditions) issue([], `${conditions} conditions: ${atMost(RULE_SET_LIMITS.conditions, 'conditions in the whole rule set')}`);
  if (bandings > RULE_SET_LIMITS.bandings) issue([], `${bandings} band lookups: ${atMost(RULE_SET_LIMITS.bandings, 'band lookups in the whole rule set')}`);
  if (depth > RULE_SET_LIMITS.conditionDepth) issue([], `all/any nested ${depth} deep: ${atMost(RULE_SET_LIMITS.conditionDepth, 'levels of all/any nesting')}`);
  for (const [name, m] of Object.entries(def.metrics)) {
    if (m.kind !== 'count_met') continue;
    m.of.forEach((c, i) => {
      for (const ref of conditionMetrics(c)) {
        if (!Object.hasOwn(def.metrics, ref)) issue(['metrics', name, 'of', i], `unknown metric "${ref}" (define it under metrics)`);
        else if (def.metrics[ref].kind === 'count_met') issue(['metrics', name, 'of', i], `"${ref}" is derived too: count_met may only use stored metrics`);
      }
    });
  }
  const seenKinds = new Set<string>();
  def.levels.forEach((group, g) => {
    for (const k of group.kinds) {
      if (seenKinds.has(k)) issue(['levels', g, 'kinds'], `kind ${k} already has steps in an earlier group`);
      seenKinds.add(k);
    }
    group.steps.forEach((step, s) => {
      const path: (string | number)[] = ['levels', g, 'steps', s];
      switch (step.type) {
        case 'bands':
          checkBanding(step, path);
          if (step.levels.length !== step.thresholds.length + 1) issue([...path, 'levels'], `needs ${step.thresholds.length + 1} levels (one per band), got ${step.levels.length}`);
          break;
        case 'matrix':
          checkBanding(step.rows, [...path, 'rows']);
          checkBanding(step.cols, [...path, 'cols']);
          if (step.table.length !== step.rows.thresholds.length + 1) {
            issue([...path, 'table'], `needs ${step.rows.thresholds.length + 1} rows (one per row band), got ${step.table.length}`);
          }
          step.table.forEach((row, r) => {
            if (row.length !== step.cols.thresholds.length + 1) issue([...path, 'table', r], `needs ${step.cols.thresholds.length + 1} columns (one per column band), got ${row.length}`);
          });
          break;
        case 'worst':
          step.of.forEach((b, i) => {
            checkBanding(b, [...path, 'of', i]);
            if (b.levels.length !== b.thresholds.length + 1) issue([...path, 'of', i, 'levels'], `needs ${b.thresholds.length + 1} levels, got ${b.levels.length}`);
          });
          break;
        case 'rules':
          // Without a catch-all rule a step may match nothing: the level is then unknown.
          step.rules.forEach((r, i) => r.when && checkCondition(r.when, [...path, 'rules', i, 'when']));
          break;
        case 'raise':
        case 'lower':
        case 'cap':
        case 'unknown_if':
          checkCondition(step.when, [...path, 'when']);
          break;
        case 'rollup':
          if (s !== 0) issue(path, 'a rollup must be the first step of its group');
          break;
      }
      if (s === 0 && (step.type === 'raise' || step.type === 'lower' || step.type === 'cap')) {
        issue(path, `${step.type} adjusts a level: an earlier step must set one`);
      }
    });
  });
}

type Issue = { path: string; message: string };

/**
 * The size limits (RULE_SET_LIMITS) on a raw JSON value, before any other validation: one
 * iterative pass that stops at the first excess, so that its cost is bounded by the limits
 * and not by the input (a 200,000-item `any` is refused after looking at its length).
 * Returns the excess, naming the path and the limit, or null.
 */
export function checkLimits(input: unknown): Issue | null {
  const lim = RULE_SET_LIMITS;
  // the values seen so far, breadth first, with their parent's index and their key (to name
  // the path of an excess) and the all/any nesting they are in
  const values: unknown[] = [input];
  const parents: number[] = [-1];
  const keys: (string | number)[] = [''];
  const depths: number[] = [0];
  const pathOf = (i: number): string => {
    const path: (string | number)[] = [];
    for (let j = i; j > 0; j = parents[j] as number) path.unshift(keys[j] as string | number);
    return formatPath(path);
  };
  const tooMany = { path: '(root)', message: `more than ${lim.values.toLocaleString('en')} JSON values: ${atMost(lim.values, 'JSON values in the whole rule set')}` };
  let conditions = 0;
  let bandings = 0;
  let characters = 0;
  const text = (i: number, s: string): Issue | null => {
    if (s.length > lim.stringLength) return { path: pathOf(i), message: `${s.length.toLocaleString('en')} characters: ${atMost(lim.stringLength, 'characters')}` };
    characters += s.length;
    if (characters > lim.characters) return { path: pathOf(i), message: `more than ${lim.characters.toLocaleString('en')} characters of text: ${atMost(lim.characters, 'characters in all strings together')}` };
    return null;
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') {
      const excess = text(i, v);
      if (excess) return excess;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const key = keys[i];
    let depth = depths[i] as number;
    if (Array.isArray(v)) {
      if (v.length > lim.listItems) {
        const what = key === 'all' || key === 'any' ? `conditions in one ${key}` : 'items in one list';
        return { path: pathOf(i), message: `${v.length.toLocaleString('en')} items: ${atMost(lim.listItems, what)}` };
      }
      if (values.length + v.length > lim.values) return tooMany;
      for (let k = 0; k < v.length; k++) {
        values.push(v[k]);
        parents.push(i);
        keys.push(k);
        depths.push(depth);
      }
      continue;
    }
    const own = v as Record<string, unknown>;
    const composite = Object.hasOwn(own, 'all') || Object.hasOwn(own, 'any');
    if (composite || (Object.hasOwn(own, 'metric') && Object.hasOwn(own, 'op'))) {
      if (++conditions > lim.conditions) return { path: pathOf(i), message: `more than ${lim.conditions} conditions: ${atMost(lim.conditions, 'conditions in the whole rule set')}` };
    }
    if (Object.hasOwn(own, 'thresholds') && ++bandings > lim.bandings) {
      return { path: pathOf(i), message: `more than ${lim.bandings} band lookups: ${atMost(lim.bandings, 'band lookups in the whole rule set')}` };
    }
    if (composite && ++depth > lim.conditionDepth) return { path: pathOf(i), message: `all/any nested ${depth} deep: ${atMost(lim.conditionDepth, 'levels of all/any nesting')}` };
    const metrics = key === 'metrics' && parents[i] === 0;
    const max = metrics ? lim.metrics : lim.listItems;
    let n = 0;
    for (const k in own) {
      if (!Object.hasOwn(own, k)) continue;
      if (++n > max) {
        let total = 0;
        for (const _k in own) total++;
        return { path: pathOf(i), message: `${total.toLocaleString('en')} entries: ${atMost(max, metrics ? 'metrics' : 'entries in one object')}` };
      }
      if (values.length >= lim.values) return tooMany;
      const excess = text(i, k);
      if (excess) return excess;
      values.push(own[k]);
      parents.push(i);
      keys.push(k);
      depths.push(depth);
    }
  }
  return null;
}

/**
 * Validates a rule set: the size limits first (cheap, bounded), then the schema and the
 * semantics. `tooLarge` marks a refusal by the limits.
 */
export function parseRuleSet(input: unknown): { ok: true; value: RuleSet } | { ok: false; issues: Issue[]; tooLarge?: true } {
  const excess = checkLimits(input);
  if (excess) return { ok: false, issues: [excess], tooLarge: true };
  const r = ruleSetSchema.safeParse(input, { error: issueText });
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
  };
}

/** levels[0].steps[2].thresholds */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

export type { Level };
