import { z } from 'zod';
import { AREA_KINDS, AreaKind } from '../areas';
import { isLocalDate, LocalDate } from '../dates';
import { LEVELS, Level } from '../levels';
import { METRIC_NAME_RE } from '../metrics';
import { freeText } from '../text';

/**
 * The rule-set language. A rule set is plain JSON: named metrics (how each input is derived
 * from reports and indicators) and, per area kind, an ordered list of steps that turn the
 * metrics into a level. Every preset is data in this language; see the README for a worked
 * example. Validation errors name the path (`levels[0].steps[2].thresholds`).
 */

export const REPORT_FIELDS = ['community_cases', 'quarantine_cases', 'all_cases', 'deaths'] as const;
export type ReportField = (typeof REPORT_FIELDS)[number];

const level = z.enum(LEVELS, { error: `must be one of ${LEVELS.join(', ')}` });
const metricRef = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric name defined in metrics');
const windowDays = z.number().int('must be a whole number of days').min(1).max(366);

export type Comparison = { metric: string; op: '<' | '<=' | '>' | '>=' | '==' | '!='; value: number };
export type Condition = Comparison | { all: Condition[] } | { any: Condition[] };

const comparison = z.strictObject({
  metric: metricRef,
  op: z.enum(['<', '<=', '>', '>=', '==', '!=']),
  value: z.number().refine(Number.isFinite, 'must be a finite number'),
});
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([comparison, z.strictObject({ all: z.array(conditionSchema).min(1) }), z.strictObject({ any: z.array(conditionSchema).min(1) })], {
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
  thresholds: z.array(z.number().refine(Number.isFinite, 'must be finite')).min(1).max(10),
  inclusive: z.enum(['lower', 'upper']).default('lower'),
});
export type Banding = z.infer<typeof banding>;

const ifMissing = z.enum(['skip', 'unknown']).default('skip');

export const stepSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('bands'), ...banding.shape, levels: z.array(level) }),
    z.strictObject({ type: z.literal('matrix'), rows: banding, cols: banding, table: z.array(z.array(level)) }),
    z.strictObject({
      type: z.literal('worst'),
      of: z.array(z.strictObject({ ...banding.shape, levels: z.array(level) })).min(1),
    }),
    z.strictObject({
      type: z.literal('rules'),
      rules: z.array(z.strictObject({ when: conditionSchema.optional(), level })).min(1),
    }),
    z.strictObject({ type: z.literal('raise'), by: z.number().int().min(1).max(3).default(1), when: conditionSchema, if_missing: ifMissing }),
    z.strictObject({ type: z.literal('lower'), by: z.number().int().min(1).max(3).default(1), when: conditionSchema, if_missing: ifMissing }),
    z.strictObject({ type: z.literal('cap'), level, when: conditionSchema, if_missing: ifMissing }),
    z.strictObject({ type: z.literal('unknown_if'), when: conditionSchema, reason: z.string().regex(/^[a-z0-9_:.-]{1,64}$/) }),
    z.strictObject({
      type: z.literal('rollup'),
      rules: z.array(z.strictObject({ at_least: level, share: z.number().min(0).max(1), level })).default([]),
      /** Otherwise: the worst level held by at least this share of the children. */
      otherwise_worst_share: z.number().min(0).max(1).nullable().default(null),
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
          kinds: z.array(z.enum(AREA_KINDS)).min(1),
          steps: z.array(stepSchema).min(1).max(50),
        }),
      )
      .min(1),
    persistence: persistenceSchema.default({ escalate_after_days: 1, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0 }),
  })
  .superRefine((def, ctx) => checkSemantics(def, ctx));

export type RuleSet = z.infer<typeof ruleSetSchema>;
export type RuleSetInput = z.input<typeof ruleSetSchema>;

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
  for (const [name, m] of Object.entries(def.metrics)) {
    if (m.kind !== 'count_met') continue;
    m.of.forEach((c, i) => {
      for (const ref of conditionMetrics(c)) {
        if (!Object.hasOwn(def.metrics, ref)) issue(['metrics', name, 'of', i], `unknown metric "${ref}" (define it under metrics)`);
        else if (def.metrics[ref]?.kind === 'count_met') issue(['metrics', name, 'of', i], `"${ref}" is derived too: count_met may only use stored metrics`);
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

export function parseRuleSet(input: unknown): { ok: true; value: RuleSet } | { ok: false; issues: { path: string; message: string }[] } {
  const r = ruleSetSchema.safeParse(input);
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
