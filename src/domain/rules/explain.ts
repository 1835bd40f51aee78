import type { AreaKind } from '../areas';
import { Bilingual, LEVEL_INFO, Level, levelIndex, LevelOrUnknown } from '../levels';
import type { Banding, Condition, Persistence, RuleSet, Step } from './definition';
import { ChildLevels, Classification, classify, ExplanationStep, Inputs, StepTrace, withDerived } from './engine';
import type { Pending } from './persistence';
import {
  dateText,
  Atom,
  bandChecks,
  both,
  Check,
  childrenNoun,
  compareOp,
  countsText,
  Lang,
  levelWord,
  localNumber,
  metricLabelOf,
  missingText,
  negateOp,
  reasonText,
  TextContext,
  thresholdText,
  valueIn,
  valueMeaning,
  witness,
} from './wording';

/**
 * The explanation side of a level (issue 14), pure: the label of a level, the persistence
 * step shown after the rule steps, and why a level differs from the day before. The texts of
 * the rule steps themselves are built by the engine (engine.ts, wording.ts).
 */

export type { Bilingual };

/** The label of a level (DOMAIN.md): 'Cấp 3 – Nguy cơ cao' / 'Level 3 – high risk'; unknown: 'Chưa đủ dữ liệu' / 'not enough data'. */
export function levelLabel(level: LevelOrUnknown): Bilingual {
  return { vi: LEVEL_INFO[level].vi, en: LEVEL_INFO[level].en };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Persistence in words. Held while a change builds up: "giữ Cấp 3: cần 7 ngày liên tiếp để
 * hạ cấp, đã được 3/7" / "held at level 3: de-escalation needs 7 days in a row, 3/7 so far"
 * (escalation alike); held by the minimum stay once the days are there; a change that went
 * part of the way (at most `max_step_down` levels down, or up to the lowest level of the
 * days that qualified).
 */
export function persistenceText(raw: LevelOrUnknown, level: LevelOrUnknown, pending: Pending | null, p: Persistence): Bilingual {
  const w = (x: LevelOrUnknown, l: Lang) => levelWord(x, l);
  if (pending && pending.direction === 'up') {
    return both((l) =>
      l === 'vi'
        ? `giữ ${w(level, l)}: cần ${pending.needed} ngày liên tiếp để nâng cấp, đã được ${pending.days}/${pending.needed}`
        : `held at ${w(level, l)}: escalation needs ${plural(pending.needed, 'day')} in a row, ${pending.days}/${pending.needed} so far`,
    );
  }
  if (pending) {
    const further = pending.target !== raw;
    return both((l) => {
      const vi = l === 'vi';
      const head =
        pending.days >= pending.needed
          ? vi
            ? `giữ ${w(level, l)}: phải ở mỗi cấp ít nhất ${p.min_stay_days} ngày trước khi hạ cấp (đã đủ ${pending.days}/${pending.needed} ngày liên tiếp ở mức thấp hơn)`
            : `held at ${w(level, l)}: a level is kept at least ${plural(p.min_stay_days, 'day')} before de-escalating (${pending.days}/${pending.needed} days in a row below so far)`
          : vi
            ? `giữ ${w(level, l)}: cần ${pending.needed} ngày liên tiếp để hạ cấp, đã được ${pending.days}/${pending.needed}`
            : `held at ${w(level, l)}: de-escalation needs ${plural(pending.needed, 'day')} in a row, ${pending.days}/${pending.needed} so far`;
      if (!further) return head;
      return vi
        ? `${head}; khi đủ sẽ hạ xuống ${w(pending.target, l)} (mỗi lần hạ tối đa ${p.max_step_down} cấp)`
        : `${head}; then down to ${w(pending.target, l)} (at most ${plural(p.max_step_down, 'level')} down at a time)`;
    });
  }
  if (raw !== 'unknown' && level !== 'unknown' && levelIndex(level) < levelIndex(raw)) {
    return both((l) =>
      l === 'vi'
        ? `nâng lên ${w(level, l)}: mức thấp nhất trong ${p.escalate_after_days} ngày liên tiếp vừa qua`
        : `raised to ${w(level, l)}: the lowest level of the last ${plural(p.escalate_after_days, 'day')} in a row`,
    );
  }
  return both((l) =>
    l === 'vi'
      ? `hạ xuống ${w(level, l)}: không thấp hơn mức cao nhất trong ${p.deescalate_after_days} ngày vừa qua, mỗi lần hạ tối đa ${p.max_step_down} cấp`
      : `lowered to ${w(level, l)}: no lower than the highest level of the last ${plural(p.deescalate_after_days, 'day')}, at most ${plural(p.max_step_down, 'level')} down at a time`,
  );
}

/**
 * The last step of an overridden area's explanation (number `step`): the command-centre
 * decision that sets the level over the rules, with its reason and period, and the level the
 * rules gave — so that an explanation never ends on a level other than the one shown.
 */
export function overrideStep(o: { level: LevelOrUnknown; reason: string; from: string; until: string | null }, computed: LevelOrUnknown, step: number): ExplanationStep {
  const text = both((l) => {
    const period = o.until === null ? (l === 'vi' ? `từ ${dateText(o.from, l)}` : `from ${dateText(o.from, l)}`) : l === 'vi' ? `từ ${dateText(o.from, l)} đến ${dateText(o.until, l)}` : `from ${dateText(o.from, l)} to ${dateText(o.until, l)}`;
    return l === 'vi'
      ? `Quyết định điều chỉnh của Ban chỉ đạo: ${levelWord(o.level, l)} (${o.reason}), ${period} — thay cho ${levelWord(computed, l)} theo tiêu chí`
      : `command-centre override: ${levelWord(o.level, l)} (${o.reason}), ${period} — instead of ${levelWord(computed, l)} under the rules`;
  });
  return { step, type: 'override', values: {}, result: o.level, note: text.en, text };
}

/**
 * The step shown after the rule steps (number `step`) when persistence made the level
 * differ from the rules' level, or a change is building up; null when the rules' level is
 * the level and nothing is pending.
 */
export function persistenceStep(raw: LevelOrUnknown, level: LevelOrUnknown, pending: Pending | null, p: Persistence, step: number): ExplanationStep | null {
  if (raw === level && pending === null) return null;
  const text = persistenceText(raw, level, pending, p);
  return { step, type: 'persistence', values: {}, result: level, note: text.en, text };
}

export type ChangeReason = { code: string; vi: string; en: string };
type Side = { level: LevelOrUnknown; inputs: Inputs; children: ChildLevels; ruleSetId: string };

const STEP_NAMES: Record<Step['type'], Bilingual> = {
  bands: { vi: 'ngưỡng', en: 'bands' },
  matrix: { vi: 'bảng tiêu chí', en: 'table' },
  worst: { vi: 'mức cao nhất', en: 'worst of' },
  rules: { vi: 'quy tắc', en: 'rules' },
  raise: { vi: 'nâng cấp', en: 'raise' },
  lower: { vi: 'hạ cấp', en: 'lower' },
  cap: { vi: 'giới hạn cấp', en: 'cap' },
  unknown_if: { vi: 'kiểm tra số liệu', en: 'data check' },
  rollup: { vi: 'tổng hợp từ đơn vị con', en: 'roll-up' },
};

/** Values of both days for the change texts. */
type Pair = { before: TextContext; now: TextContext };

/** A value of one day, short: its meaning, its number at the precision `checks` need, or why it is missing. */
function shortValue(ctx: TextContext, metric: string, checks: readonly Check[], lang: Lang): string {
  const v = valueIn(ctx)(metric);
  if (typeof v !== 'number') return missingText(ctx, metric, v.missing, lang);
  const meaning = valueMeaning(metricLabelOf(ctx.ruleSet, metric), v);
  return meaning ? meaning[lang] : localNumber(v, lang, checks);
}

/**
 * One metric that moved across a comparison `check` (which holds for the value now, not the
 * day before): "Số ca cộng đồng/100.000 dân 7 ngày vượt ngưỡng 50 (42,10 → 55,30)" /
 * "community incidence 7d crossed 50/100k (42.10 → 55.30)"; a value with a meaning by it
 * ("Khả năng thu dung, điều trị: đạt → không đạt"); a value that appeared or went missing.
 */
function crossing(pair: Pair, metric: string, check: Check | null, lang: Lang): string {
  const label = metricLabelOf(pair.now.ruleSet, metric);
  const vb = valueIn(pair.before)(metric);
  const vn = valueIn(pair.now)(metric);
  const checks = check ? [check] : [];
  const change = `${shortValue(pair.before, metric, checks, lang)} → ${shortValue(pair.now, metric, checks, lang)}`;
  const meaningful = typeof vb === 'number' && typeof vn === 'number' && (valueMeaning(label, vb) || valueMeaning(label, vn));
  const def = Object.hasOwn(pair.now.ruleSet.metrics, metric) ? pair.now.ruleSet.metrics[metric] : undefined;
  // a count of conditions met (218's capacity): which of them changed
  const parts = def?.kind === 'count_met' ? moved(pair, def.of.flatMap((c) => witness(c, valueIn(pair.now)).atoms)) : [];
  const why = parts.length ? ` (${parts.map((x) => crossing(pair, x.metric, x.check, lang)).join('; ')})` : '';
  if (!check || meaningful || typeof vb !== 'number' || typeof vn !== 'number' || check.op === '==' || check.op === '!=') return `${label.short[lang]}: ${change}${why}`;
  const t = `${thresholdText(check.value, lang)}${label.unit[lang]}`;
  const up = check.op === '>' || check.op === '>=';
  const verb = lang === 'vi' ? (up ? 'vượt ngưỡng' : 'xuống dưới ngưỡng') : up ? 'crossed' : 'fell below';
  return `${label.short[lang]} ${verb} ${t} (${change})${why}`;
}

/** The atoms of a witness that did not hold the day before: what moved. */
function moved(pair: Pair, atoms: readonly Atom[]): { metric: string; check: Check | null }[] {
  const before = valueIn(pair.before);
  const out: { metric: string; check: Check | null }[] = [];
  for (const a of atoms) {
    const vb = before(a.metric);
    const changed = 'check' in a ? typeof vb !== 'number' || !compareOp(vb, a.check) : typeof vb === 'number';
    if (changed && !out.some((o) => o.metric === a.metric)) out.push({ metric: a.metric, check: 'check' in a ? a.check : null });
  }
  return out;
}

/** Bandings whose band differs between the two days (or whose value appeared or went missing). */
function movedBands(pair: Pair, bandings: readonly Banding[]): { metric: string; check: Check | null }[] {
  const out: { metric: string; check: Check | null }[] = [];
  for (const b of bandings) {
    const vb = valueIn(pair.before)(b.metric);
    const vn = valueIn(pair.now)(b.metric);
    if (typeof vb !== 'number' || typeof vn !== 'number') {
      if (typeof vb !== typeof vn) out.push({ metric: b.metric, check: null });
      continue;
    }
    const ib = bandIndexOf(vb, b);
    const inow = bandIndexOf(vn, b);
    if (ib === inow) continue;
    // the threshold crossed nearest the value now: going up, the bound below it; going down, the bound above
    const bounds = bandChecks(b, inow);
    const check = inow > ib ? (bounds[0] as Check) : (bounds[bounds.length - 1] as Check);
    out.push({ metric: b.metric, check });
  }
  return out;
}

function bandIndexOf(value: number, b: Banding): number {
  let i = 0;
  for (const t of b.thresholds) {
    if (b.inclusive === 'lower' ? value >= t : value > t) i++;
    else break;
  }
  return i;
}

/** The conditions a step reads that decided it on a day (the rule that matched, or the step's own). */
function stepCondition(step: Step, ctx: TextContext): Condition | null {
  if (step.type === 'rules') {
    const get = valueIn(ctx);
    for (const r of step.rules) {
      if (!r.when) return null;
      if (witness(r.when, get).truth !== false) return r.when;
    }
    return null;
  }
  return 'when' in step ? step.when : null;
}

/** What moved in one step between the two days, in words (null when nothing can be named). */
function stepTrigger(pair: Pair, step: Step, kind: AreaKind, children: { before: ChildLevels; now: ChildLevels }, lang: Lang): string | null {
  let items: { metric: string; check: Check | null }[] = [];
  switch (step.type) {
    case 'bands':
      items = movedBands(pair, [step]);
      break;
    case 'matrix':
      items = movedBands(pair, [step.rows, step.cols]);
      break;
    case 'worst':
      items = movedBands(pair, step.of);
      break;
    case 'rollup': {
      const known = (c: ChildLevels) => c.filter((x): x is Level => x !== 'unknown');
      const noun = childrenNoun(kind, lang);
      return lang === 'vi'
        ? `Cấp độ các ${noun}: ${countsText(known(children.now), lang)} (hôm trước: ${countsText(known(children.before), lang)})`
        : `levels of the ${noun}: ${countsText(known(children.now), lang)} (the day before: ${countsText(known(children.before), lang)})`;
    }
    default: {
      const nowCond = stepCondition(step, pair.now);
      if (nowCond) items = moved(pair, witness(nowCond, valueIn(pair.now)).atoms);
      if (items.length === 0) {
        const beforeCond = stepCondition(step, pair.before);
        // what held the day before and no longer does, seen from today's values
        if (beforeCond) {
          items = moved({ before: pair.now, now: pair.before }, witness(beforeCond, valueIn(pair.before)).atoms).map((i) => ({
            metric: i.metric,
            check: i.check ? { op: negateOp(i.check.op), value: i.check.value } : null,
          }));
        }
      }
    }
  }
  if (items.length === 0) return null;
  return items.map((i) => crossing(pair, i.metric, i.check, lang)).join('; ');
}

/**
 * The rule step that moved the level and what moved in it: both days classified under the
 * rule set, the first step whose result differs, and in it the metric whose band or
 * comparison changed (roll-ups: the children's counts). Null when no step differs.
 */
function rulesTrigger(ruleSet: RuleSet, kind: AreaKind, before: Side, now: Side, a: readonly StepTrace[], b: readonly StepTrace[]): Bilingual | null {
  const group = ruleSet.levels.find((g) => g.kinds.includes(kind));
  if (!group) return null;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ea = a[i];
    const eb = b[i];
    if (ea && eb && ea.result === eb.result && ea.step === eb.step) continue;
    const index = (eb ?? ea)?.step as number;
    const step = group.steps[index] as Step;
    const pair: Pair = {
      before: { ruleSet, kind, inputs: withDerived(ruleSet, before.inputs) },
      now: { ruleSet, kind, inputs: withDerived(ruleSet, now.inputs) },
    };
    const children = { before: before.children, now: now.children };
    const vi = stepTrigger(pair, step, kind, children, 'vi');
    const en = stepTrigger(pair, step, kind, children, 'en');
    const where = { vi: `bước ${index + 1} (${STEP_NAMES[step.type].vi})`, en: `step ${index + 1} (${STEP_NAMES[step.type].en})` };
    if (vi === null || en === null) return { vi: `Thay đổi ở ${where.vi}`, en: `changed at ${where.en}` };
    return { vi: `${vi} ở ${where.vi}`, en: `${en} at ${where.en}` };
  }
  return null;
}

const isHysteresis = (p: Persistence) => p.escalate_after_days > 1 || p.deescalate_after_days > 1 || p.max_step_down < 3 || p.min_stay_days > 0;

/** The persistence settings that held a change in one direction, in words. */
function holdWords(p: Persistence, up: boolean, lang: Lang): string {
  const vi = lang === 'vi';
  const parts: string[] = [];
  if (up) {
    if (p.escalate_after_days > 1) parts.push(vi ? `cần ${p.escalate_after_days} ngày liên tiếp để nâng cấp` : `escalation needs ${plural(p.escalate_after_days, 'day')} in a row`);
  } else {
    if (p.deescalate_after_days > 1) parts.push(vi ? `cần ${p.deescalate_after_days} ngày liên tiếp để hạ cấp` : `de-escalation needs ${plural(p.deescalate_after_days, 'day')} in a row`);
    if (p.min_stay_days > 0) parts.push(vi ? `ở mỗi cấp ít nhất ${p.min_stay_days} ngày` : `a level is kept at least ${plural(p.min_stay_days, 'day')}`);
    if (p.max_step_down < 3) parts.push(vi ? `mỗi lần hạ tối đa ${p.max_step_down} cấp` : `at most ${plural(p.max_step_down, 'level')} down at a time`);
  }
  return parts.join(vi ? ', ' : ', ');
}

/**
 * Why the level differs from the day before; null when it does not (or there is no day
 * before). In order:
 * - `rule_set_changed` — the day was judged by another rule set ("Đổi bộ tiêu chí: A → B");
 * - `unknown` — the level became unknown, naming why ("Chưa đủ dữ liệu: label: số liệu quá cũ");
 * - `known_again` — it was unknown the day before, naming what was missing then;
 * - `persistence` — persistence released a change held back (the rules already said so the
 *   day before), naming the setting that held it;
 * - `rules` — the rule step and the metric that moved the level ("Số ca cộng đồng/100.000
 *   dân 7 ngày vượt ngưỡng 50 (42,10 → 55,30) ở bước 1 (bảng tiêu chí)" / "community
 *   incidence 7d crossed 50/100k (42.10 → 55.30) at step 1 (table)"); roll-ups name the
 *   children's counts.
 * Overrides are not judged here (the reading side names them).
 */
export function changeReason(input: {
  ruleSet: RuleSet;
  kind: AreaKind;
  before: Side | null;
  now: Side & { raw: LevelOrUnknown; pending: Pending | null };
  ruleSetBefore?: RuleSet | null;
  /** The rules' classification of `now` when the caller has it already (recomputation does): not made again. */
  nowRules?: Classification;
}): ChangeReason | null {
  const { ruleSet, kind, before, now } = input;
  const rulesNow = () => input.nowRules ?? classify(ruleSet, kind, now.inputs, now.children);
  if (!before || before.level === now.level) return null;
  const from = (l: Lang) => levelWord(before.level, l);
  const to = (l: Lang) => levelWord(now.level, l);
  if (before.ruleSetId !== now.ruleSetId) {
    return { code: 'rule_set_changed', vi: `Đổi bộ tiêu chí: ${before.ruleSetId} → ${now.ruleSetId}`, en: `rule set changed: ${before.ruleSetId} → ${now.ruleSetId}` };
  }
  if (now.level === 'unknown') {
    const c = rulesNow();
    const why = reasonText(ruleSet, c.reason ?? 'no_level_set');
    return { code: 'unknown', vi: `Chưa đủ dữ liệu: ${why.vi}`, en: `not enough data: ${why.en}` };
  }
  const rawBefore = classify(ruleSet, kind, before.inputs, before.children);
  if (before.level === 'unknown') {
    if (rawBefore.level !== 'unknown' || rawBefore.reason === null) return { code: 'known_again', vi: 'Đủ dữ liệu trở lại', en: 'enough data again' };
    const why = reasonText(ruleSet, rawBefore.reason);
    return { code: 'known_again', vi: `Đủ dữ liệu trở lại (hôm trước: ${why.vi})`, en: `enough data again (the day before: ${why.en})` };
  }
  const up = levelIndex(now.level) > levelIndex(before.level);
  const p = ruleSet.persistence;
  const heldBefore = rawBefore.level !== 'unknown' && rawBefore.level !== before.level && levelIndex(rawBefore.level) > levelIndex(before.level) === up;
  if (isHysteresis(p) && heldBefore) {
    return {
      code: 'persistence',
      vi: `Hết thời gian giữ cấp (${holdWords(p, up, 'vi')}): ${up ? 'nâng' : 'hạ'} từ ${from('vi')} ${up ? 'lên' : 'xuống'} ${to('vi')}`,
      en: `persistence released (${holdWords(p, up, 'en')}): ${up ? 'escalated' : 'de-escalated'} from ${from('en')} to ${to('en')}`,
    };
  }
  const trigger = rawBefore.level === 'unknown' ? null : rulesTrigger(ruleSet, kind, before, now, rawBefore.explanation, rulesNow().explanation);
  if (trigger) return { code: 'rules', ...trigger };
  return { code: 'rules', vi: `Thay đổi theo tiêu chí: ${from('vi')} → ${to('vi')}`, en: `changed under the rules: ${from('en')} → ${to('en')}` };
}

