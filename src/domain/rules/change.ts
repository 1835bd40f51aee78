import type { AreaKind } from '../areas';
import { Bilingual, Level, LEVELS, levelIndex, LevelOrUnknown } from '../levels';
import type { Banding, Condition, Persistence, RuleSet, Step } from './definition';
import { ChildLevels, Classification, classify, Inputs, StepResult, withDerived } from './engine';
import { plural } from './explain';
import {
  Atom,
  bandChecks,
  Check,
  childrenNoun,
  compareOp,
  countsText,
  dateText,
  Lang,
  levelWord,
  localNumber,
  metricLabelOf,
  missingText,
  negateOp,
  reasonText,
  thresholdText,
  valueIn,
  valueMeaning,
  witness,
} from './wording';

/**
 * Why a level differs from the day before, pure, in two stages:
 *
 * - `changeTrigger` — at recomputation, for each area whose level moved: what moved it, as
 *   data (no words): a switch of rule set, the level becoming unknown or known again,
 *   persistence releasing a change held back, or the rule step and the metrics that moved in
 *   it with both days' values. Stored with the day's level (`zone_levels.change`).
 * - `changeText` — when read: the trigger in words, Vietnamese and English, with the rule
 *   set's metric labels, vi-VN numbers at the precision the threshold needs.
 *
 * Words are built only for the changes someone reads (a history, a page of the feed, an
 * event), not for the hundreds of thousands a backfill records.
 */

/** A metric's value on one day, as a change reads it: a number, or why it was missing. */
export type DayValue = number | { missing: string };

/**
 * A metric that moved between the two days: the comparison that holds for the value now
 * (null when there is none to name: a value that appeared or went missing, an equality), both
 * values, and for a count of conditions met (218's capacity) which of those conditions moved.
 */
export type Moved = { metric: string; check: Check | null; before: DayValue; now: DayValue; parts?: Moved[] };

/** How many known children were at each level, green to red. */
export type LevelCounts = [number, number, number, number];

/** What moved a level (see the module's comment); `step` is the rule step's index in its level group. */
export type ChangeTrigger =
  | { code: 'rule_set_changed'; from: string; to: string }
  | { code: 'unknown'; reason: string }
  | { code: 'known_again'; before: string | null }
  | { code: 'persistence'; up: boolean }
  | { code: 'rules'; step?: number; moved?: Moved[]; children?: { before: LevelCounts; now: LevelCounts } };

/** A change in words: its code, Vietnamese and English. */
export type ChangeReason = { code: string; vi: string; en: string };

/**
 * One day of an area, as a change is judged against: its level, metric values (as stored,
 * without the derived ones), its children's levels, the rule set that judged it, and —
 * when the caller has it — the rules' classification of those values (not made again).
 */
export type ChangeSide = { level: LevelOrUnknown; inputs: Inputs; children: ChildLevels; ruleSetId: string; rules?: Classification<StepResult> | undefined };

const isHysteresis = (p: Persistence) => p.escalate_after_days > 1 || p.deescalate_after_days > 1 || p.max_step_down < 3 || p.min_stay_days > 0;

/**
 * What moved the level from `before` to `now` (both judged by `ruleSet` unless their rule
 * sets differ); null when it did not move or there is no day before. In order:
 * - `rule_set_changed` — the day was judged by another rule set;
 * - `unknown` — the level became unknown (the rules' reason);
 * - `known_again` — it was unknown the day before (the rules' reason then, if they gave one);
 * - `persistence` — persistence released a change held back (the rules already said so the
 *   day before) under settings that hold changes;
 * - `rules` — the first rule step whose result differs between the two days and what moved
 *   in it: the metrics whose band or comparison changed, or, in a roll-up, the children's
 *   counts; without a step when none can be named (the day before was unknown to the rules).
 * Overrides are not judged here (the reading side names them).
 */
export function changeTrigger(ruleSet: RuleSet, kind: AreaKind, before: ChangeSide | null, now: ChangeSide): ChangeTrigger | null {
  if (!before || before.level === now.level) return null;
  if (before.ruleSetId !== now.ruleSetId) return { code: 'rule_set_changed', from: before.ruleSetId, to: now.ruleSetId };
  const rulesNow = () => now.rules ?? classify(ruleSet, kind, now.inputs, now.children, { notes: false });
  if (now.level === 'unknown') return { code: 'unknown', reason: rulesNow().reason ?? 'no_level_set' };
  const rawBefore = before.rules ?? classify(ruleSet, kind, before.inputs, before.children, { notes: false });
  if (before.level === 'unknown') return { code: 'known_again', before: rawBefore.level === 'unknown' ? rawBefore.reason : null };
  const up = levelIndex(now.level) > levelIndex(before.level);
  const heldBefore = rawBefore.level !== 'unknown' && rawBefore.level !== before.level && levelIndex(rawBefore.level) > levelIndex(before.level) === up;
  if (isHysteresis(ruleSet.persistence) && heldBefore) return { code: 'persistence', up };
  if (rawBefore.level === 'unknown') return { code: 'rules' };
  return rulesStep(ruleSet, kind, before, now, rawBefore.explanation, rulesNow().explanation) ?? { code: 'rules' };
}

/**
 * A change trigger in words (`from`, `to`: the levels of the two days): "Đổi bộ tiêu chí: A
 * → B"; "Chưa đủ dữ liệu: <chỉ số>: số liệu quá cũ"; "Đủ dữ liệu trở lại (hôm trước: …)";
 * "Hết thời gian giữ cấp (cần 7 ngày liên tiếp để hạ cấp): hạ từ Cấp 2 xuống Cấp 1"; "Số
 * ca cộng đồng/100.000 dân 7 ngày vượt ngưỡng 50 (42,10 → 55,30) ở bước 1 (bảng tiêu chí)"
 * / "community incidence 7d crossed 50/100k (42.10 → 55.30) at step 1 (table)"; roll-ups
 * name the children's counts both days.
 */
export function changeText(ruleSet: RuleSet, kind: AreaKind, t: ChangeTrigger, from: LevelOrUnknown, to: LevelOrUnknown): ChangeReason {
  const fromTo = (l: Lang) => `${levelWord(from, l)} → ${levelWord(to, l)}`;
  switch (t.code) {
    case 'rule_set_changed':
      return switchText(t);
    case 'unknown': {
      const why = reasonText(ruleSet, t.reason);
      return { code: t.code, vi: `Chưa đủ dữ liệu: ${why.vi}`, en: `not enough data: ${why.en}` };
    }
    case 'known_again': {
      if (t.before === null) return { code: t.code, vi: 'Đủ dữ liệu trở lại', en: 'enough data again' };
      const why = reasonText(ruleSet, t.before);
      return { code: t.code, vi: `Đủ dữ liệu trở lại (hôm trước: ${why.vi})`, en: `enough data again (the day before: ${why.en})` };
    }
    case 'persistence': {
      const p = ruleSet.persistence;
      return {
        code: t.code,
        vi: `Hết thời gian giữ cấp (${holdWords(p, t.up, 'vi')}): ${t.up ? 'nâng' : 'hạ'} từ ${levelWord(from, 'vi')} ${t.up ? 'lên' : 'xuống'} ${levelWord(to, 'vi')}`,
        en: `persistence released (${holdWords(p, t.up, 'en')}): ${t.up ? 'escalated' : 'de-escalated'} from ${levelWord(from, 'en')} to ${levelWord(to, 'en')}`,
      };
    }
    case 'rules': {
      const step = t.step === undefined ? undefined : ruleSet.levels.find((g) => g.kinds.includes(kind))?.steps[t.step];
      if (t.step === undefined || !step) return { code: t.code, vi: `Thay đổi theo tiêu chí: ${fromTo('vi')}`, en: `changed under the rules: ${fromTo('en')}` };
      const name = stepName(step.type, from, to);
      const where = (l: Lang) => (l === 'vi' ? `bước ${(t.step as number) + 1} (${name.vi})` : `step ${(t.step as number) + 1} (${name.en})`);
      const what = (l: Lang): string | null => {
        if (t.children) {
          const noun = childrenNoun(kind, l);
          const now = countsText(levelList(t.children.now), l);
          const before = countsText(levelList(t.children.before), l);
          return l === 'vi' ? `Cấp độ các ${noun}: ${now} (hôm trước: ${before})` : `levels of the ${noun}: ${now} (the day before: ${before})`;
        }
        return t.moved?.length ? t.moved.map((m) => crossingText(ruleSet, m, l)).join('; ') : null;
      };
      const vi = what('vi');
      const en = what('en');
      if (vi === null || en === null) return { code: t.code, vi: `Thay đổi ở ${where('vi')}`, en: `changed at ${where('en')}` };
      return { code: t.code, vi: `${vi} ở ${where('vi')}`, en: `${en} at ${where('en')}` };
    }
  }
}

/** Both stages at once: why the level moved, in words; null when it did not. */
export function changeReason(ruleSet: RuleSet, kind: AreaKind, before: ChangeSide | null, now: ChangeSide): ChangeReason | null {
  const t = changeTrigger(ruleSet, kind, before, now);
  return t && before ? changeText(ruleSet, kind, t, before.level, now.level) : null;
}

/**
 * A stored `zone_levels.change` in words. Rows written between migrations 12 and 14 hold the
 * words themselves (`{code, vi, en}`), kept as they are; a trigger needs the rule set that
 * judged the day (null when it is not known: null, the reader's generic reason).
 */
export function storedChangeText(ruleSet: RuleSet | null, kind: AreaKind, stored: StoredChange, from: LevelOrUnknown, to: LevelOrUnknown): ChangeReason | null {
  if (isFormed(stored)) return formedText(stored, from, to);
  if ('vi' in stored) return { code: stored.code, vi: stored.vi, en: stored.en };
  if (ruleSet) return changeText(ruleSet, kind, stored, from, to);
  return stored.code === 'rule_set_changed' ? switchText(stored) : null;
}

const switchText = (t: { from: string; to: string }): ChangeReason => ({ code: 'rule_set_changed', vi: `Đổi bộ tiêu chí: ${t.from} → ${t.to}`, en: `rule set changed: ${t.from} → ${t.to}` });

/** What `zone_levels.change` holds: a trigger, a new area's formation, or (rows written between migrations 12 and 14) its words. */
export type StoredChange = ChangeTrigger | ChangeReason | FormedChange;

/**
 * A new area's first day, its level judged against its predecessors' worst level the day
 * before (domain/lineage.ts `predecessorsLevel`): the names of the areas it was formed from.
 */
export type FormedChange = { code: 'formed'; date: string; from: string[] };

export const isFormed = (c: StoredChange): c is FormedChange => c.code === 'formed' && 'from' in c && Array.isArray(c.from);

/**
 * "Thành lập ngày 01/07/2025 từ 3 đơn vị: Xã A, Xã B, Xã C (cấp cao nhất trước đó: Cấp 2 →
 * Cấp 3)" / "formed on 2025-07-01 from 3 areas: … (their worst level before: level 2 →
 * level 3)".
 */
export function formedText(t: FormedChange, from: LevelOrUnknown, to: LevelOrUnknown): ChangeReason {
  const names = t.from.slice(0, 8).join(', ') + (t.from.length > 8 ? ', …' : '');
  return {
    code: 'formed',
    vi: `Thành lập ngày ${dateText(t.date, 'vi')} từ ${t.from.length} đơn vị: ${names} (cấp cao nhất trước đó: ${levelWord(from, 'vi')} → ${levelWord(to, 'vi')})`,
    en: `formed on ${t.date} from ${t.from.length} area${t.from.length === 1 ? '' : 's'}: ${names} (their worst level before: ${levelWord(from, 'en')} → ${levelWord(to, 'en')})`,
  };
}

/**
 * A level's first day (an area with no level before it: a new commune): "Cấp độ đầu tiên:
 * Cấp 2" / "first level: level 2 (yellow)" — rather than a change under the rules.
 */
export const firstLevelText = (to: LevelOrUnknown): ChangeReason => ({ code: 'first_level', vi: `Cấp độ đầu tiên: ${levelWord(to, 'vi')}`, en: `first level: ${levelWord(to, 'en')}` });

// ─── the trigger: which step, which metrics ───────────────────────────────────────────────

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

/**
 * A step as a change names it: a raising step that stopped applying is what lowered the level
 * ("hết điều kiện nâng cấp" / "raise no longer applies"), a lowering or capping step that
 * stopped applying what raised it; otherwise the step's name.
 */
function stepName(type: Step['type'], from: LevelOrUnknown, to: LevelOrUnknown): Bilingual {
  const known = from !== 'unknown' && to !== 'unknown';
  const up = known && levelIndex(to) > levelIndex(from);
  const down = known && levelIndex(to) < levelIndex(from);
  if (type === 'raise' && down) return { vi: 'hết điều kiện nâng cấp', en: 'raise no longer applies' };
  if (type === 'lower' && up) return { vi: 'hết điều kiện hạ cấp', en: 'lower no longer applies' };
  if (type === 'cap' && up) return { vi: 'hết giới hạn cấp', en: 'cap no longer applies' };
  return STEP_NAMES[type];
}

/** Both days' values (derived ones included), as the conditions read them. */
type Pair = { before: { inputs: Inputs }; now: { inputs: Inputs } };
type Item = { metric: string; check: Check | null };

/** The atoms of a witness that did not hold the day before: what moved. */
function moved(pair: Pair, atoms: readonly Atom[]): Item[] {
  const before = valueIn(pair.before);
  const out: Item[] = [];
  for (const a of atoms) {
    const vb = before(a.metric);
    const changed = 'check' in a ? typeof vb !== 'number' || !compareOp(vb, a.check) : typeof vb === 'number';
    if (changed && !out.some((o) => o.metric === a.metric)) out.push({ metric: a.metric, check: 'check' in a ? a.check : null });
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

/** Bandings whose band differs between the two days (or whose value appeared or went missing). */
function movedBands(pair: Pair, bandings: readonly Banding[]): Item[] {
  const out: Item[] = [];
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

/** The condition a step reads that decided it on a day (the rule that matched, or the step's own). */
function stepCondition(step: Step, side: { inputs: Inputs }): Condition | null {
  if (step.type === 'rules') {
    const get = valueIn(side);
    for (const r of step.rules) {
      if (!r.when) return null;
      if (witness(r.when, get).truth !== false) return r.when;
    }
    return null;
  }
  return 'when' in step ? step.when : null;
}

/** What moved in one (non-roll-up) step between the two days. */
function stepItems(pair: Pair, step: Step): Item[] {
  switch (step.type) {
    case 'bands':
      return movedBands(pair, [step]);
    case 'matrix':
      return movedBands(pair, [step.rows, step.cols]);
    case 'worst':
      return movedBands(pair, step.of);
    default: {
      const nowCond = stepCondition(step, pair.now);
      const items = nowCond ? moved(pair, witness(nowCond, valueIn(pair.now)).atoms) : [];
      if (items.length > 0) return items;
      const beforeCond = stepCondition(step, pair.before);
      // what held the day before and no longer does, seen from today's values
      if (!beforeCond) return [];
      return moved({ before: pair.now, now: pair.before }, witness(beforeCond, valueIn(pair.before)).atoms).map((i) => ({
        metric: i.metric,
        check: i.check ? { op: negateOp(i.check.op), value: i.check.value } : null,
      }));
    }
  }
}

/** A moved metric with both days' values, and for a count of conditions met, which of them moved. */
function movedOf(ruleSet: RuleSet, pair: Pair, item: Item): Moved {
  const before = valueIn(pair.before)(item.metric);
  const now = valueIn(pair.now)(item.metric);
  const def = Object.hasOwn(ruleSet.metrics, item.metric) ? ruleSet.metrics[item.metric] : undefined;
  const parts = def?.kind === 'count_met' ? moved(pair, def.of.flatMap((c) => witness(c, valueIn(pair.now)).atoms)) : [];
  const out: Moved = { metric: item.metric, check: item.check, before, now };
  if (parts.length) out.parts = parts.map((p) => movedOf(ruleSet, pair, p));
  return out;
}

const countsOf = (children: ChildLevels): LevelCounts => LEVELS.map((l) => children.filter((c) => c === l).length) as LevelCounts;
const levelList = (counts: LevelCounts): Level[] => LEVELS.flatMap((l, i) => Array<Level>(counts[i] ?? 0).fill(l));

/** The first rule step whose result differs between the two days' traces, and what moved in it. */
function rulesStep(ruleSet: RuleSet, kind: AreaKind, before: ChangeSide, now: ChangeSide, a: readonly StepResult[], b: readonly StepResult[]): ChangeTrigger | null {
  const group = ruleSet.levels.find((g) => g.kinds.includes(kind));
  if (!group) return null;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ea = a[i];
    const eb = b[i];
    if (ea && eb && ea.result === eb.result && ea.step === eb.step) continue;
    const index = (eb ?? ea)?.step as number;
    const step = group.steps[index] as Step;
    if (step.type === 'rollup') return { code: 'rules', step: index, children: { before: countsOf(before.children), now: countsOf(now.children) } };
    const pair: Pair = { before: { inputs: withDerived(ruleSet, before.inputs) }, now: { inputs: withDerived(ruleSet, now.inputs) } };
    const items = stepItems(pair, step);
    return items.length ? { code: 'rules', step: index, moved: items.map((x) => movedOf(ruleSet, pair, x)) } : { code: 'rules', step: index };
  }
  return null;
}

// ─── the words ────────────────────────────────────────────────────────────────────────────

/** A day's value, short: its meaning, its number at the precision `checks` need, or why it is missing. */
function shortValue(ruleSet: RuleSet, metric: string, v: DayValue, checks: readonly Check[], lang: Lang): string {
  if (typeof v !== 'number') return missingText({ ruleSet }, metric, v.missing, lang);
  const meaning = valueMeaning(metricLabelOf(ruleSet, metric), v);
  return meaning ? meaning[lang] : localNumber(v, lang, checks);
}

/**
 * One metric that moved across a comparison (which holds for the value now, not the day
 * before): "Số ca cộng đồng/100.000 dân 7 ngày vượt ngưỡng 50 (42,10 → 55,30)" / "community
 * incidence 7d crossed 50/100k (42.10 → 55.30)"; a value with a meaning by it ("Khả năng thu
 * dung, điều trị: đạt → không đạt"); a value that appeared or went missing.
 */
function crossingText(ruleSet: RuleSet, m: Moved, lang: Lang): string {
  const label = metricLabelOf(ruleSet, m.metric);
  const checks = m.check ? [m.check] : [];
  const { before: vb, now: vn, check } = m;
  const change = `${shortValue(ruleSet, m.metric, vb, checks, lang)} → ${shortValue(ruleSet, m.metric, vn, checks, lang)}`;
  const why = m.parts?.length ? ` (${m.parts.map((x) => crossingText(ruleSet, x, lang)).join('; ')})` : '';
  if (typeof vb !== 'number' || typeof vn !== 'number' || !check) return `${label.short[lang]}: ${change}${why}`;
  if (valueMeaning(label, vb) || valueMeaning(label, vn) || check.op === '==' || check.op === '!=') return `${label.short[lang]}: ${change}${why}`;
  const t = `${thresholdText(check.value, lang)}${label.unit[lang]}`;
  const up = check.op === '>' || check.op === '>=';
  const verb = lang === 'vi' ? (up ? 'vượt ngưỡng' : 'xuống dưới ngưỡng') : up ? 'crossed' : 'fell below';
  return `${label.short[lang]} ${verb} ${t} (${change})${why}`;
}

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
  return parts.join(', ');
}
