import { AreaKind, childKind } from '../areas';
import { Bilingual, Level, LEVELS, LevelOrUnknown, levelShort } from '../levels';
import { fallbackLabel, indicatorLabel, indicatorSumLabel, metricLabel, MetricLabel, reportMetricLabel } from '../metrics';
import type { Banding, Comparison, Condition, RuleSet } from './definition';

/**
 * The words of explanations (issue 14): numbers printed so that they never contradict the
 * comparison shown beside them, metrics named by the catalogue (metrics.ts), missing values
 * and their origins, conditions shown by what made them hold (or fail), and the text of each
 * kind of rule step in Vietnamese and English. Pure; the engine calls these only when a
 * step's `text` is read (see engine.ts), so classifying for levels alone pays nothing here.
 */

export type Lang = 'vi' | 'en';
export type Op = Comparison['op'];
/** A comparison a printed value sits beside: `value op threshold`. */
export type Check = { op: Op; value: number };

/** `v op threshold`, exactly as the engine compares (no rounding). */
export function compareOp(v: number, c: Check): boolean {
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

const NEGATION: Record<Op, Op> = { '<': '>=', '<=': '>', '>': '<=', '>=': '<', '==': '!=', '!=': '==' };
/** The comparison that holds exactly when `op` does not. */
export const negateOp = (op: Op): Op => NEGATION[op];

export const MIN_DECIMALS = 2;
export const MAX_DECIMALS = 6;
/** Beyond this distance from a threshold a value rounded to MIN_DECIMALS (error ≤ 0.005) stays on its side of it. */
export const FAR = 0.006;

/**
 * How many decimals to print `value` with, beside `checks` (comparisons shown with it): 0
 * for a whole number; otherwise the fewest from MIN_DECIMALS (2) to MAX_DECIMALS (6) such
 * that the printed number, compared with every check, gives what the true value gives
 * (19.996 beside "< 20" needs 3: "20.00 < 20" would read false). null when even 6 decimals
 * would contradict one (19.9999999 beside "< 20"): the value is then printed exactly (its
 * shortest round-trip form), which never contradicts.
 */
export function decimalsFor(value: number, checks: readonly Check[]): number | null {
  if (Number.isInteger(value)) return 0;
  // far from every threshold (the usual case), rounding to 2 decimals cannot cross one
  if (checks.every((c) => Math.abs(value - c.value) > FAR)) return MIN_DECIMALS;
  for (let d = MIN_DECIMALS; d <= MAX_DECIMALS; d++) {
    const printed = Number(value.toFixed(d));
    if (checks.every((c) => compareOp(printed, c) === compareOp(value, c))) return d;
  }
  return null;
}

/** The value in plain digits (a dot for decimals, no grouping), at `decimalsFor` precision: what English `note`s print. */
export function plainNumber(value: number, checks: readonly Check[] = []): string {
  const d = decimalsFor(value, checks);
  return d === null ? String(value) : value.toFixed(d);
}

/**
 * Plain digits written for a language: vi-VN groups thousands with a dot and writes a
 * decimal comma (1.234,5), en groups with a comma and writes a decimal dot (1,234.5).
 */
export function localize(plain: string, lang: Lang): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(e[-+]?\d+)?$/.exec(plain);
  if (!m) return plain;
  const [, sign, int, frac, exp] = m as unknown as [string, string, string, string | undefined, string | undefined];
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'vi' ? '.' : ',');
  return `${sign}${grouped}${frac === undefined ? '' : (lang === 'vi' ? ',' : '.') + frac}${exp ?? ''}`;
}

/** A value for `lang` at the precision that agrees with `checks`. */
export const localNumber = (value: number, lang: Lang, checks: readonly Check[] = []): string => localize(plainNumber(value, checks), lang);

/** A threshold as the rule set states it (exactly: 0.5 stays 0,5 / 0.5), for `lang`. */
export const thresholdText = (t: number, lang: Lang): string => localize(String(t), lang);

/** A share 0–1 as a percentage, with the float noise of ×100 removed (0.3 → 30, not 30.000000000000004). */
export const percentOf = (share: number): number => Number((share * 100).toPrecision(12));

const OP_SYMBOL: Record<Op, string> = { '<': '<', '<=': '≤', '>': '>', '>=': '≥', '==': '=', '!=': '≠' };

/** "≥ 20" / "< 0,5". */
export const checkText = (c: Check, lang: Lang): string => `${OP_SYMBOL[c.op]} ${thresholdText(c.value, lang)}`;

/** The comparisons that bound band `i` of a banding (what `describeBand` shows). */
export function bandChecks(b: Pick<Banding, 'thresholds' | 'inclusive'>, i: number): Check[] {
  const lo = b.thresholds[i - 1];
  const hi = b.thresholds[i];
  const out: Check[] = [];
  if (lo !== undefined) out.push({ op: b.inclusive === 'lower' ? '>=' : '>', value: lo });
  if (hi !== undefined) out.push({ op: b.inclusive === 'lower' ? '<' : '<=', value: hi });
  return out;
}

/** Both languages from one function of the language. */
export const both = (f: (lang: Lang) => string): Bilingual => ({ vi: f('vi'), en: f('en') });

const AND: Bilingual = { vi: ' và ', en: ' and ' };

/** dd/mm/yyyy (Vietnamese text) from YYYY-MM-DD; English keeps the ISO date. */
export function dateText(date: string, lang: Lang): string {
  if (lang === 'en') return date;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : date;
}

/** Levels as the texts name them: 'Cấp 3' / 'level 3 (orange)'. */
export const levelWord = (level: LevelOrUnknown, lang: Lang): string => levelShort(level)[lang];

// ---------------------------------------------------------------------------------------
// values, their origin and their absence

/** Where a value came from (engine.ts `Origin`, restated here so that this module does not import the engine). */
export type OriginWords =
  | { from: 'area'; date: string }
  | { from: 'ancestor'; code: string; date: string }
  | { from: 'children'; children: number; of: number; population_share: number; method: string };
/** A metric value as the engine hands it over (engine.ts `MetricValue`). */
export type ValueWords = { value: number; detail?: string; origin?: OriginWords } | { missing: string; detail?: string };

/** What the texts of one area need: its rule set, kind and values (derived ones included). */
export type TextContext = { ruleSet: RuleSet; kind: AreaKind; inputs: Readonly<Record<string, ValueWords>> };

/**
 * The label of a rule set's metric: from its definition where that says what is counted
 * (a rate or sum of a report field over N days, days since the last case, population, an
 * indicator by its indicator name, an indicator sum over N days), else the catalogue's entry
 * for the metric's name (218's `response_capacity`), else the name itself.
 */
export function metricLabelOf(ruleSet: RuleSet, metric: string): MetricLabel {
  const def = Object.hasOwn(ruleSet.metrics, metric) ? ruleSet.metrics[metric] : undefined;
  if (!def) return fallbackLabel(metric);
  switch (def.kind) {
    case 'sum':
    case 'rate_per_100k':
      return reportMetricLabel(def.kind, def.of, def.window_days);
    case 'days_since_last':
      return reportMetricLabel(def.kind, def.of, def.lookback_days);
    case 'population':
      return reportMetricLabel('population', '', 0);
    case 'indicator':
      return indicatorLabel(def.name);
    case 'indicator_sum':
      return indicatorSumLabel(def.name, def.window_days);
    case 'count_met':
      return metricLabel(metric);
  }
}

/** The metric name a missing-value reason code names (`stale_metric:x` → x), if any. */
const reasonSubject = (reason: string): string | null => {
  const i = reason.indexOf(':');
  return i < 0 ? null : reason.slice(i + 1);
};

/**
 * Why a metric has no value, in words. `missing_metric:<name>` — never reported (for the
 * area, its ancestors or its children); `stale_metric:<name>` — reported, but older than
 * the metric's maximum age; `partial_metric:<name>` — derived from children that hold under
 * half of the area's population; `no_reports`, `no_population`, `no_metric:<name>`; any other
 * code is shown as it is. When the reason names an indicator other than the metric's own
 * (a `count_met` missing one of its inputs), that indicator is named.
 */
export function missingText(ctx: Pick<TextContext, 'ruleSet'>, metric: string, reason: string, lang: Lang): string {
  const def = Object.hasOwn(ctx.ruleSet.metrics, metric) ? ctx.ruleSet.metrics[metric] : undefined;
  const subject = reasonSubject(reason);
  const own = subject === null || subject === metric || (def !== undefined && 'name' in def && def.name === subject);
  const about = own || subject === null ? '' : `${indicatorLabel(subject).label[lang]}: `;
  const vi = lang === 'vi';
  if (reason.startsWith('missing_metric:')) return about + (vi ? 'chưa từng có số liệu' : 'never reported');
  if (reason.startsWith('partial_metric:')) {
    return about + (vi ? 'không đủ số liệu: các đơn vị trực thuộc có số liệu chiếm dưới một nửa dân số' : 'not enough: the children that report it hold under half of the population');
  }
  if (reason.startsWith('stale_metric:')) {
    const days = own && def?.kind === 'indicator' ? def.max_age_days : null;
    if (days === null) return about + (vi ? 'số liệu quá cũ' : 'too old');
    return about + (vi ? `số liệu quá cũ (cũ hơn ${days} ngày)` : `too old (older than ${days} days)`);
  }
  if (reason === 'no_reports') {
    const days = def && 'window_days' in def ? def.window_days : null;
    if (vi) return days === null ? 'không có báo cáo nào' : `không có báo cáo nào trong ${days} ngày`;
    return days === null ? 'no report at all' : `no report in the last ${days} days`;
  }
  if (reason === 'no_population') return vi ? 'chưa có số dân' : 'no population figure';
  if (reason.startsWith('no_metric:')) return about + (vi ? 'không có số liệu' : 'not provided');
  return vi ? `thiếu số liệu (${reason})` : `missing (${reason})`;
}

const CHILD_KIND: Record<AreaKind, Bilingual> = {
  province: { vi: 'tỉnh, thành phố', en: 'provinces' },
  district: { vi: 'quận, huyện', en: 'districts' },
  commune: { vi: 'xã, phường', en: 'communes' },
  subcommune: { vi: 'thôn, ấp, khu phố', en: 'subcommunes' },
};
/** The children of an area of `kind`, as a plural noun ('xã, phường' / 'communes'). */
export function childrenNoun(kind: AreaKind, lang: Lang): string {
  const k = childKind(kind);
  return k ? CHILD_KIND[k][lang] : lang === 'vi' ? 'đơn vị con' : 'children';
}

const METHOD: Record<string, Bilingual> = {
  population_weighted_mean: { vi: 'trung bình có trọng số theo dân số', en: 'population-weighted mean' },
  min: { vi: 'giá trị nhỏ nhất (đạt khi mọi đơn vị đều đạt)', en: 'minimum (met only where every child met)' },
  max: { vi: 'giá trị lớn nhất', en: 'maximum' },
};

/**
 * Where a value came from: the area's own report of a date, an ancestor's ("lấy từ đơn vị
 * cấp trên X, số liệu ngày dd/mm/yyyy"), or derived from the children ("tính từ 11/11 xã,
 * phường, bao phủ 100% dân số, trung bình có trọng số theo dân số"). The population share
 * is printed so that it never reads 50 % or 100 % when it is below.
 */
export function originText(o: OriginWords, kind: AreaKind, lang: Lang): string {
  const vi = lang === 'vi';
  switch (o.from) {
    case 'area':
      return vi ? `số liệu ngày ${dateText(o.date, lang)}` : `reported ${o.date}`;
    case 'ancestor':
      return vi ? `lấy từ đơn vị cấp trên ${o.code}, số liệu ngày ${dateText(o.date, lang)}` : `taken from ancestor ${o.code}, reported ${o.date}`;
    case 'children': {
      const pct = localNumber(o.population_share * 100, lang, [
        { op: '>=', value: 50 },
        { op: '>=', value: 100 },
      ]);
      const method = (Object.hasOwn(METHOD, o.method) ? METHOD[o.method] : undefined)?.[lang] ?? o.method;
      return vi
        ? `tính từ ${localNumber(o.children, lang)}/${localNumber(o.of, lang)} ${childrenNoun(kind, lang)}, bao phủ ${pct}% dân số, ${method}`
        : `derived from ${localNumber(o.children, lang)} of ${localNumber(o.of, lang)} ${childrenNoun(kind, lang)} covering ${pct}% of the population, ${method}`;
    }
  }
}

/** The meaning of a value where the metric's catalogue entry names it (capacity 1 → trung bình / medium). */
export function valueMeaning(label: MetricLabel, value: number): Bilingual | null {
  return label.values && Number.isInteger(value) && Object.hasOwn(label.values, value) ? (label.values[value] as Bilingual) : null;
}

// ---------------------------------------------------------------------------------------
// conditions

export type Truth = boolean | { missing: string };
/** One part of what decided a condition: a comparison that holds for the value, or a missing metric. */
export type Atom = { metric: string; check: Check } | { metric: string; missing: string };

/**
 * A condition's truth (three-valued, as the engine evaluates it) and its witness: what made
 * it so. True: every part of an `all`, the first true part of an `any`, the comparison. False:
 * the first false part of an `all`, every part of an `any`, the comparison turned round (a
 * false `x < 80` is shown as `x ≥ 80`). Undecided: the parts that held and the first missing
 * one. Every comparison of a witness holds for the value, so a value printed beside its
 * comparisons at `decimalsFor` precision never contradicts them.
 */
export function witness(c: Condition, value: (metric: string) => number | { missing: string }): { truth: Truth; atoms: Atom[] } {
  if ('all' in c) {
    const parts = c.all.map((x) => witness(x, value));
    const no = parts.find((p) => p.truth === false);
    if (no) return no;
    const held = parts.filter((p) => p.truth === true).flatMap((p) => p.atoms);
    const open = parts.find((p) => p.truth !== true);
    return open ? { truth: open.truth, atoms: [...held, ...open.atoms] } : { truth: true, atoms: held };
  }
  if ('any' in c) {
    const parts = c.any.map((x) => witness(x, value));
    const yes = parts.find((p) => p.truth === true);
    if (yes) return yes;
    const open = parts.find((p) => p.truth !== false);
    return open ?? { truth: false, atoms: parts.flatMap((p) => p.atoms) };
  }
  const v = value(c.metric);
  if (typeof v !== 'number') return { truth: { missing: v.missing }, atoms: [{ metric: c.metric, missing: v.missing }] };
  const t = compareOp(v, c);
  return { truth: t, atoms: [{ metric: c.metric, check: { op: t ? c.op : negateOp(c.op), value: c.value } }] };
}

/** The value of a metric as `witness` reads it from a context. */
export const valueIn =
  (ctx: Pick<TextContext, 'inputs'>) =>
  (metric: string): number | { missing: string } => {
    const v = Object.hasOwn(ctx.inputs, metric) ? ctx.inputs[metric] : undefined;
    if (v === undefined) return { missing: `no_metric:${metric}` };
    return 'missing' in v ? { missing: v.missing } : v.value;
  };

/**
 * One metric in words with its value: "label = value (comparisons; origin)", a value with a
 * meaning by that meaning ("Năng lực đáp ứng = trung bình"), a missing one with why
 * ("label: chưa từng có số liệu"). A `count_met` metric lists its conditions met and not.
 */
export function valueText(ctx: TextContext, metric: string, checks: readonly Check[], lang: Lang): string {
  const label = metricLabelOf(ctx.ruleSet, metric);
  const v = Object.hasOwn(ctx.inputs, metric) ? ctx.inputs[metric] : undefined;
  if (v === undefined || 'missing' in v) return `${label.label[lang]}: ${missingText(ctx, metric, v?.missing ?? `no_metric:${metric}`, lang)}`;
  const meaning = valueMeaning(label, v.value);
  const extra: string[] = [];
  if (!meaning && checks.length) extra.push(checks.map((c) => checkText(c, lang)).join(AND[lang]));
  const def = Object.hasOwn(ctx.ruleSet.metrics, metric) ? ctx.ruleSet.metrics[metric] : undefined;
  if (def?.kind === 'count_met') {
    const parts = def.of.map((c) => witness(c, valueIn(ctx)));
    const met = parts.filter((p) => p.truth === true).length;
    const lead = lang === 'vi' ? `đạt ${met}/${parts.length} tiêu chí: ` : `${met} of ${parts.length} conditions met: `;
    extra.push(lead + parts.map((p) => atomsText(ctx, p.atoms, lang)).join('; '));
  }
  if (v.origin) extra.push(originText(v.origin, ctx.kind, lang));
  const shown = meaning ? meaning[lang] : localNumber(v.value, lang, checks);
  return `${label.label[lang]} = ${shown}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

/** A witness in words: its atoms grouped by metric (in order of appearance), each metric once with all its comparisons. */
export function atomsText(ctx: TextContext, atoms: readonly Atom[], lang: Lang): string {
  const order: string[] = [];
  const checks = new Map<string, Check[]>();
  for (const a of atoms) {
    if (!checks.has(a.metric)) {
      order.push(a.metric);
      checks.set(a.metric, []);
    }
    if ('check' in a) checks.get(a.metric)?.push(a.check);
  }
  return order.map((m) => valueText(ctx, m, checks.get(m) ?? [], lang)).join(AND[lang]);
}

// ---------------------------------------------------------------------------------------
// the text of each kind of step

const arrow = (level: LevelOrUnknown, lang: Lang) => ` → ${levelWord(level, lang)}`;

/** A band lookup: "label = value (≥ 20 và < 50) → Cấp 2". */
export const bandsText = (ctx: TextContext, b: Banding, i: number, level: Level): Bilingual =>
  both((l) => valueText(ctx, b.metric, bandChecks(b, i), l) + arrow(level, l));

/** A table: both values with their bands, then the cell. */
export const matrixText = (ctx: TextContext, rows: Banding, ri: number, cols: Banding, ci: number, level: Level): Bilingual =>
  both((l) => `${valueText(ctx, rows.metric, bandChecks(rows, ri), l)}; ${valueText(ctx, cols.metric, bandChecks(cols, ci), l)}${arrow(level, l)}`);

/** The worst of several band lookups: each with its level (missing ones left out), then the highest. */
export function worstText(ctx: TextContext, parts: { banding: Banding; band: number | null; level: Level | null }[], level: Level): Bilingual {
  return both((l) => {
    const items = parts.map((p) =>
      p.band === null || p.level === null
        ? `${valueText(ctx, p.banding.metric, [], l)}${l === 'vi' ? ', bỏ qua' : ', left out'}`
        : `${valueText(ctx, p.banding.metric, bandChecks(p.banding, p.band), l)}: ${levelWord(p.level, l)}`,
    );
    return `${l === 'vi' ? 'Lấy mức cao nhất' : 'the highest of'}: ${items.join('; ')}${arrow(level, l)}`;
  });
}

/** A step that could not read a metric it needs: "label: chưa từng có số liệu → Chưa đủ dữ liệu". */
export const missingStepText = (ctx: TextContext, metric: string): Bilingual => both((l) => valueText(ctx, metric, [], l) + arrow('unknown', l));

/**
 * A `rules` step. The rule that matched, by the witness of its condition; a rule without a
 * condition (otherwise), by the witnesses of the earlier rules' failures; undecided, by what
 * was known and what was missing; no match at all.
 */
export function rulesText(ctx: TextContext, rules: readonly { when?: Condition | undefined; level: Level }[], outcome: { matched: number } | { undecided: number } | 'none'): Bilingual {
  const get = valueIn(ctx);
  if (outcome === 'none') return both((l) => (l === 'vi' ? 'Không quy tắc nào thỏa mãn' : 'no rule matched') + arrow('unknown', l));
  if ('undecided' in outcome) {
    const w = witness(rules[outcome.undecided]?.when as Condition, get);
    return both((l) => `${l === 'vi' ? 'Không đủ số liệu để xét' : 'cannot decide'}: ${atomsText(ctx, w.atoms, l)}${arrow('unknown', l)}`);
  }
  const rule = rules[outcome.matched] as { when?: Condition; level: Level };
  if (rule.when) {
    const w = witness(rule.when, get);
    return both((l) => atomsText(ctx, w.atoms, l) + arrow(rule.level, l));
  }
  const failed = rules.slice(0, outcome.matched).map((r) => witness(r.when as Condition, get).atoms);
  return both((l) => {
    const lead = l === 'vi' ? 'Không điều kiện nào ở trên thỏa mãn' : 'none of the conditions above holds';
    return failed.length ? `${lead} (${failed.map((a) => atomsText(ctx, a, l)).join('; ')})${arrow(rule.level, l)}` : `${lead}${arrow(rule.level, l)}`;
  });
}

type Adjust = { type: 'raise' | 'lower'; by: number } | { type: 'cap'; level: Level };
const adjustName = (a: Adjust, lang: Lang): string => {
  if (a.type === 'cap') return lang === 'vi' ? `giới hạn ở ${levelWord(a.level, lang)}` : `capped at ${levelWord(a.level, lang)}`;
  if (a.type === 'raise') return lang === 'vi' ? `nâng ${a.by} cấp` : `raised by ${a.by} level${a.by > 1 ? 's' : ''}`;
  return lang === 'vi' ? `hạ ${a.by} cấp` : `lowered by ${a.by} level${a.by > 1 ? 's' : ''}`;
};
const notAdjusted: Record<Adjust['type'], Bilingual> = {
  raise: { vi: 'không nâng cấp', en: 'not raised' },
  lower: { vi: 'không hạ cấp', en: 'not lowered' },
  cap: { vi: 'không giới hạn', en: 'no cap' },
};
const adjustment: Record<Adjust['type'], Bilingual> = {
  raise: { vi: 'nâng cấp', en: 'raise' },
  lower: { vi: 'hạ cấp', en: 'lower' },
  cap: { vi: 'giới hạn cấp', en: 'cap' },
};

/**
 * A `raise`, `lower` or `cap`: applied ("… → nâng 1 cấp: Cấp 2 → Cấp 3"), not applied
 * ("…: không nâng cấp, giữ Cấp 2"), or not assessed for a missing value ("Chưa đánh giá
 * điều chỉnh nâng cấp (label: số liệu quá cũ), giữ Cấp 2"); with `if_missing: "unknown"` the
 * missing value makes the level unknown.
 */
export function adjustText(ctx: TextContext, step: Adjust & { when: Condition }, before: Level, after: LevelOrUnknown, unknownIfMissing: boolean): Bilingual {
  const w = witness(step.when, valueIn(ctx));
  if (w.truth === true) return both((l) => `${atomsText(ctx, w.atoms, l)} → ${adjustName(step, l)}: ${levelWord(before, l)}${arrow(after, l)}`);
  if (w.truth === false) return both((l) => `${atomsText(ctx, w.atoms, l)}: ${notAdjusted[step.type][l]}, ${l === 'vi' ? 'giữ' : 'stays at'} ${levelWord(before, l)}`);
  if (unknownIfMissing) return both((l) => `${l === 'vi' ? 'Không đủ số liệu để xét' : 'cannot assess'} ${adjustment[step.type][l]}: ${atomsText(ctx, w.atoms, l)}${arrow('unknown', l)}`);
  return both((l) =>
    l === 'vi'
      ? `Chưa đánh giá điều chỉnh ${adjustment[step.type].vi} (${atomsText(ctx, w.atoms, l)}), giữ ${levelWord(before, l)}`
      : `${adjustment[step.type].en} not assessed (${atomsText(ctx, w.atoms, l)}), stays at ${levelWord(before, l)}`,
  );
}

/** An adjustment before any level was set (a rule set with a gap). */
export const noLevelToAdjustText = (): Bilingual => ({ vi: 'Chưa có cấp độ để điều chỉnh → Chưa đủ dữ liệu', en: 'no level to adjust yet → unknown (not enough data)' });

const UNKNOWN_IF_REASONS: Record<string, Bilingual> = {
  insufficient_testing: { vi: 'xét nghiệm chưa đủ', en: 'too little testing' },
};
/**
 * An `unknown_if` step: data insufficient when its condition holds ("Số xét nghiệm … = 250
 * (≤ 300) → Chưa đủ dữ liệu: xét nghiệm chưa đủ"), sufficient when it does not, unknown
 * when it cannot be assessed.
 */
export function unknownIfText(ctx: TextContext, when: Condition, reason: string, level: LevelOrUnknown): Bilingual {
  const w = witness(when, valueIn(ctx));
  const why = Object.hasOwn(UNKNOWN_IF_REASONS, reason) ? UNKNOWN_IF_REASONS[reason] : undefined;
  if (w.truth === true) return both((l) => `${atomsText(ctx, w.atoms, l)}${arrow('unknown', l)}: ${why?.[l] ?? reason}`);
  if (w.truth === false) {
    return both((l) => {
      const so = l === 'vi' ? 'đủ số liệu để đánh giá' : 'data sufficient';
      return level === 'unknown' ? `${atomsText(ctx, w.atoms, l)}: ${so}` : `${atomsText(ctx, w.atoms, l)}: ${so}, ${levelWord(level, l)}`;
    });
  }
  return both((l) => `${l === 'vi' ? 'Không đủ số liệu để xét' : 'cannot assess'}: ${atomsText(ctx, w.atoms, l)}${arrow('unknown', l)}`);
}

/** How a roll-up decided (engine.ts `rollUp`): a rule's share at or above a level, the worst level so held, or the default. */
export type RollupWhy =
  | { by: 'rule'; at_least: Level; count: number; of: number; share: number }
  | { by: 'worst'; level: Level; count: number; of: number; share: number; counting: 'at_or_above' | 'exactly' }
  | { by: 'default' };

/** count/of as a percentage printed so that it agrees with "≥ share". */
export const sharePercent = (count: number, of: number, share: number, lang: Lang): string =>
  localNumber((count * 100) / of, lang, [{ op: '>=', value: percentOf(share) }]);

/** The counts of the children's levels: "6 ở Cấp 1, 0 ở Cấp 2, 2 ở Cấp 3, 2 ở Cấp 4" / "green 6, yellow 0, orange 2, red 2". */
export function countsText(known: readonly Level[], lang: Lang): string {
  return LEVELS.map((lv) => {
    const n = localNumber(known.filter((c) => c === lv).length, lang);
    return lang === 'vi' ? `${n} ở ${levelWord(lv, lang)}` : `${lv} ${n}`;
  }).join(', ');
}

/**
 * A roll-up: how many children at each level (unknown ones not counted), and the share that
 * decided — "4/10 (40%) ở Cấp 3 trở lên (≥ 30%)".
 */
export function rollupText(kind: AreaKind, known: readonly Level[], unknown: number, why: RollupWhy, level: Level): Bilingual {
  return both((l) => {
    const vi = l === 'vi';
    const noun = childrenNoun(kind, l);
    const n = (x: number) => localNumber(x, l);
    const head = vi ? `Cấp độ của ${n(known.length + unknown)} ${noun}: ${countsText(known, l)}` : `levels of ${n(known.length + unknown)} ${noun}: ${countsText(known, l)}`;
    const skipped = unknown > 0 ? (vi ? ` (${n(unknown)} chưa đủ dữ liệu, không tính)` : ` (${n(unknown)} unknown, not counted)`) : '';
    let reason: string;
    if (why.by === 'default') reason = vi ? 'không quy tắc tổng hợp nào áp dụng' : 'no roll-up rule applies';
    else {
      const pct = `${n(why.count)}${vi ? '/' : ' of '}${n(why.of)} (${sharePercent(why.count, why.of, why.share, l)}%)`;
      const limit = `(≥ ${thresholdText(percentOf(why.share), l)}%)`;
      if (why.by === 'rule') reason = vi ? `${pct} ở ${levelWord(why.at_least, l)} trở lên ${limit}` : `${pct} at ${levelWord(why.at_least, l)} or above ${limit}`;
      else if (why.counting === 'at_or_above') {
        reason = vi
          ? `mức cao nhất mà ít nhất ${thresholdText(percentOf(why.share), l)}% ở mức đó trở lên: ${pct} ở ${levelWord(why.level, l)} trở lên`
          : `the worst level with at least ${thresholdText(percentOf(why.share), l)}% at it or above: ${pct} at ${levelWord(why.level, l)} or above`;
      } else {
        reason = vi
          ? `mức cao nhất mà ít nhất ${thresholdText(percentOf(why.share), l)}% đơn vị ở đúng mức đó: ${pct} ở ${levelWord(why.level, l)}`
          : `the worst level held by at least ${thresholdText(percentOf(why.share), l)}%: ${pct} at ${levelWord(why.level, l)}`;
      }
    }
    return `${head}${skipped}; ${reason}${arrow(level, l)}`;
  });
}

/** A roll-up with no known child level. */
export const noChildrenText = (kind: AreaKind, children: number): Bilingual =>
  both((l) => {
    const noun = childrenNoun(kind, l);
    if (children === 0) return (l === 'vi' ? `Không có ${noun} trực thuộc` : `the area has no ${noun}`) + arrow('unknown', l);
    const n = localNumber(children, l);
    return (l === 'vi' ? `Cả ${n} ${noun} đều chưa đủ dữ liệu` : `all ${n} ${noun} are unknown`) + arrow('unknown', l);
  });



const REASON_WORDS: Record<string, Bilingual> = {
  no_reports: { vi: 'không có báo cáo nào trong khoảng thời gian tính', en: 'no report in the window' },
  no_population: { vi: 'chưa có số dân', en: 'no population figure' },
  no_children_levels: { vi: 'không đơn vị con nào có cấp độ', en: 'no child has a level' },
  no_rule_matched: { vi: 'không quy tắc nào thỏa mãn', en: 'no rule matched' },
  no_level_to_adjust: { vi: 'chưa có cấp độ để điều chỉnh', en: 'no level to adjust' },
  no_level_set: { vi: 'không bước nào xác định cấp độ', en: 'no step set a level' },
  ...UNKNOWN_IF_REASONS,
};

/**
 * Why a level is unknown, in words, from the reason code: a missing metric by its label and
 * why it is missing (`stale_metric:x` → "label: số liệu quá cũ (cũ hơn 14 ngày)"), the
 * engine's own reasons, an `unknown_if` reason; anything else as its code.
 */
export function reasonText(ruleSet: RuleSet, reason: string): Bilingual {
  if (Object.hasOwn(REASON_WORDS, reason)) return REASON_WORDS[reason] as Bilingual;
  const subject = reasonSubject(reason);
  if (subject !== null && /^(missing_metric|stale_metric|partial_metric|no_metric):/.test(reason)) {
    // the rule set's metric that reads this indicator (or has this name)
    const metric =
      Object.keys(ruleSet.metrics).find((m) => {
        const d = ruleSet.metrics[m];
        return d !== undefined && 'name' in d && d.name === subject && d.kind === 'indicator';
      }) ?? subject;
    const label = Object.hasOwn(ruleSet.metrics, metric) ? metricLabelOf(ruleSet, metric) : indicatorLabel(subject);
    return both((l) => `${label.label[l]}: ${missingText({ ruleSet }, metric, reason, l)}`);
  }
  if (reason.startsWith('no_rules_for_kind:')) return { vi: `bộ tiêu chí không có quy tắc cho loại đơn vị ${subject}`, en: `the rule set has no rules for kind ${subject}` };
  return { vi: reason, en: reason };
}
