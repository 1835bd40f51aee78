import { Bilingual, LEVEL_INFO, levelIndex, LevelOrUnknown } from '../levels';
import type { Persistence } from './definition';
import { ExplanationStep } from './engine';
import type { Pending } from './persistence';
import { dateText, both, Lang, levelWord, localNumber } from './wording';

/**
 * The explanation side of a level (issue 14), pure: the label of a level, the persistence
 * step shown after the rule steps, and the override step. The texts of the rule steps
 * themselves are built by the engine (engine.ts, wording.ts); why a level differs from the
 * day before, by change.ts.
 */

export type { Bilingual };

/** The label of a level (DOMAIN.md): 'Cấp 3 – Nguy cơ cao' / 'Level 3 – high risk'; unknown: 'Chưa đủ dữ liệu' / 'not enough data'. */
export function levelLabel(level: LevelOrUnknown): Bilingual {
  return { vi: LEVEL_INFO[level].vi, en: LEVEL_INFO[level].en };
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

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
 * The step shown when the rules' windows reach back before the area began (a commune formed
 * by a reorganisation): those days' figures are its predecessors' reports, a predecessor it
 * took only part of counted by that share — an estimate, said so.
 */
export function lineageStep(formed: { date: string; from: { name: string; share: number | null }[] }, level: LevelOrUnknown, step: number): ExplanationStep {
  const names = formed.from.map((p) => p.name).join(', ');
  const parts = formed.from.filter((p) => p.share !== null && p.share < 1);
  const text = both((l) => {
    const pct = (s: number) => `${localNumber(Math.round(s * 1000) / 10, l)} %`;
    const estimated = parts.length
      ? l === 'vi'
        ? `; phần của ${parts.map((p) => `${p.name} (${pct(p.share as number)} dân số)`).join(', ')} là ước tính`
        : `; the part of ${parts.map((p) => `${p.name} (${pct(p.share as number)} of its population)`).join(', ')} is estimated`
      : '';
    return l === 'vi'
      ? `Thành lập ngày ${dateText(formed.date, l)} từ ${formed.from.length} đơn vị (${names}): các ngày trước đó trong khoảng thời gian tính lấy số liệu của các đơn vị này${estimated}`
      : `formed on ${dateText(formed.date, l)} from ${formed.from.length} area${formed.from.length === 1 ? '' : 's'} (${names}): the days of the window before then use their reports${estimated}`;
  });
  return { step, type: 'lineage', values: {}, result: level, note: text.en, text, ...(parts.length ? { estimated: true } : {}) };
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
