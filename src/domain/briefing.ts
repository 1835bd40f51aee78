import type { AreaKind } from './areas';
import type { LocalDate } from './dates';
import { Bilingual, LEVEL_INFO, LevelOrUnknown, levelNumber } from './levels';
import { dateText, levelWord, localize } from './rules/wording';

/**
 * The weekly steering-committee briefing (issue 15): what one briefing holds, and its words.
 * Pure. The service (services/briefing.ts) fills a `Briefing` from the reads of levels,
 * reports and the change feed; every format — JSON, XLSX, PDF, CSV — is written from that one
 * value, so that each says exactly what the others say. Vietnamese first: labels, numbers
 * (vi-VN: 2.944.027, 65,1) and dates (dd/mm/yyyy) in texts; data keeps ISO dates and plain
 * numbers.
 */

/** The levels in the order a steering committee reads them: the worst first. */
export const BRIEFING_LEVELS = ['red', 'orange', 'yellow', 'green', 'unknown'] as const satisfies readonly LevelOrUnknown[];

/** A kind of area as a briefing's heading names it. */
export const KIND_LABEL: Record<AreaKind, Bilingual> = {
  province: { vi: 'tỉnh', en: 'province' },
  district: { vi: 'huyện', en: 'district' },
  commune: { vi: 'xã, phường', en: 'commune' },
  subcommune: { vi: 'ấp, thôn, khu phố', en: 'village' },
};

/** The colour words of a zone: "vùng đỏ" / "red zone". */
export const ZONE_WORD: Record<LevelOrUnknown, Bilingual> = {
  red: { vi: 'vùng đỏ', en: 'red-zone' },
  orange: { vi: 'vùng cam', en: 'orange-zone' },
  yellow: { vi: 'vùng vàng', en: 'yellow-zone' },
  green: { vi: 'vùng xanh', en: 'green-zone' },
  unknown: { vi: 'chưa đủ dữ liệu', en: 'unclassified' },
};

/** A number as vi-VN writes it: 2.944.027, 65,1 (at most `decimals` decimals, trailing zeros dropped). */
export function viNumber(value: number, decimals = 2): string {
  const f = 10 ** decimals;
  return localize(String(Math.round(value * f) / f), 'vi');
}

/** A sentence's first letter as a capital ("giảm cấp theo tiêu chí" → "Giảm cấp theo tiêu chí"); the rest as it is. */
export function sentenceCase(text: string): string {
  const first = text.codePointAt(0);
  if (first === undefined) return text;
  const head = String.fromCodePoint(first);
  return head.toLocaleUpperCase('vi') + text.slice(head.length);
}

/** dd/mm/yyyy. */
export const viDate = (date: LocalDate | string): string => dateText(date, 'vi');

/** An instant as a clock in `timeZone` reads it: "08:05 20/10/2021". */
export function viTime(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.hour}:${parts.minute} ${parts.day}/${parts.month}/${parts.year}`;
}

/** The formats a briefing is written in. */
export const BRIEFING_FORMATS = ['json', 'xlsx', 'pdf', 'csv'] as const;
export type BriefingFormat = (typeof BRIEFING_FORMATS)[number];

/** What a version is called in a heading. */
export const VERSION_LABEL: Record<'latest' | 'published', Bilingual> = {
  latest: { vi: 'số liệu mới nhất', en: 'latest' },
  published: { vi: 'số liệu đã công bố', en: 'published' },
};

export type BriefingArea = {
  /** null: the whole set (no `parent` asked for) */
  code: string | null;
  name: string;
  kind: AreaKind | null;
  kind_label: Bilingual | null;
};

export type BriefingOverride = {
  id: number;
  level: LevelOrUnknown;
  level_number: number | null;
  reason: string;
  note: string | null;
  author: string | null;
  from: LocalDate;
  until: LocalDate | null;
};

/** One commune of the scope with its figures: every format's commune row. */
export type BriefingCommune = {
  code: string;
  name: string;
  /** The area it belongs to (its district; a province where it has none). */
  district: { code: string; name: string } | null;
  level: LevelOrUnknown;
  level_number: number | null;
  level_label: Bilingual;
  population: number | null;
  /** Community cases of the 7 days ending the briefing's day, over its subtree (null: nothing reported in those 7 days). */
  community_cases_7d: number | null;
  /** Per 100,000 people, rounded to 2 decimals (null: no figure or no population). */
  incidence_per_100k_7d: number | null;
  /** Whether it reported for the day; the day's community cases when it did. */
  reported_24h: boolean;
  community_cases_24h: number | null;
  /** The first day of its run at this level (ISO). */
  since: LocalDate | null;
  override: BriefingOverride | null;
};

export type LevelCount = { areas: number; population: number };
export type CountRow = LevelCount & {
  level: LevelOrUnknown;
  level_number: number | null;
  level_label: Bilingual;
  /** The same a week before (null: that day could not be read — no publication of it with version=published). */
  week_before: LevelCount | null;
  change: LevelCount | null;
};
export type DayCount = { areas: number; no_new_community_cases_24h: number; not_reported_24h: number };

export type BriefingChange = {
  code: string;
  name: string;
  district: { code: string; name: string } | null;
  date: LocalDate;
  from: LevelOrUnknown;
  to: LevelOrUnknown;
  from_number: number | null;
  to_number: number | null;
  direction: 'escalated' | 'de-escalated' | 'changed';
  reason: string;
  reason_text: Bilingual;
};

export type BriefingOverrideInForce = BriefingOverride & { code: string; name: string; kind: AreaKind; kind_label: Bilingual; district: { code: string; name: string } | null };

export type Briefing = {
  title: Bilingual;
  area: BriefingArea;
  date: LocalDate;
  week: { from: LocalDate; to: LocalDate };
  version: 'latest' | 'published';
  /** The instant everything was read as of (the publication's, with version=published), and as the reporting time zone's clock reads it. */
  as_of: string;
  as_of_text: string;
  /** The last recomputation of the day: the newest computed_at of the day's levels in the scope (null: not classified). */
  data_as_of: string | null;
  /** The same, as the reporting time zone's clock reads it ("08:05 20/10/2021"). */
  data_as_of_text: string | null;
  rule_set: { id: string; name: string; version: number; effective_from: LocalDate | null; effective_to: LocalDate | null } | null;
  counts: { date: LocalDate; week_before_date: LocalDate; by_level: Record<LevelOrUnknown, CountRow>; total: LevelCount & { week_before: LevelCount | null; change: LevelCount | null } };
  last_24h: { by_level: Record<LevelOrUnknown, DayCount>; total: DayCount; sentence: Bilingual };
  /** Red and orange communes, red first, the highest incidence first. */
  hotspots: BriefingCommune[];
  /**
   * The week's changes. With version=published each published day is compared with the
   * publication before it: `compared_with` is the publication before the week's first
   * published day (null with version=latest, or when there is none).
   */
  changes: { escalated: number; deescalated: number; items: BriefingChange[]; compared_with: LocalDate | null };
  /** Reorganisations within the week (its days and the day before): the week-before counts are of another map. */
  map_changes: { date: LocalDate; text: Bilingual }[];
  overrides: BriefingOverrideInForce[];
  not_reporting: { code: string; name: string; district: { code: string; name: string } | null }[];
  /** Every commune of the scope, by district then name: the list of the XLSX sheet and the CSV. */
  communes: BriefingCommune[];
};

/**
 * The 24-hour sentence: "11/40 xã, phường vùng đỏ (Cấp 4) và 18/28 xã, phường vùng cam (Cấp 3)
 * không có ca mắc mới trong cộng đồng trong 24 giờ qua; 3 chưa báo cáo". It names the red and
 * orange communes (the levels with any); without either, every commune of the scope. The
 * not-reported communes of those levels are counted apart (left out when there are none):
 * a commune that sent nothing is not one without cases.
 */
export function quietSentence(byLevel: Record<LevelOrUnknown, DayCount>): Bilingual {
  const named = (['red', 'orange'] as const).filter((l) => byLevel[l].areas > 0);
  const n = (v: number, lang: 'vi' | 'en') => (lang === 'vi' ? viNumber(v) : localize(String(v), 'en'));
  const text = (lang: 'vi' | 'en'): string => {
    let parts: string[];
    let silent: number;
    if (named.length === 0) {
      const all = Object.values(byLevel).reduce((s, c) => ({ areas: s.areas + c.areas, quiet: s.quiet + c.no_new_community_cases_24h, silent: s.silent + c.not_reported_24h }), { areas: 0, quiet: 0, silent: 0 });
      parts = [lang === 'vi' ? `${n(all.quiet, lang)}/${n(all.areas, lang)} xã, phường` : `${n(all.quiet, lang)}/${n(all.areas, lang)} communes`];
      silent = all.silent;
    } else {
      parts = named.map((l) => {
        const c = byLevel[l];
        return lang === 'vi'
          ? `${n(c.no_new_community_cases_24h, lang)}/${n(c.areas, lang)} xã, phường ${ZONE_WORD[l].vi} (${levelWord(l, 'vi')})`
          : `${n(c.no_new_community_cases_24h, lang)}/${n(c.areas, lang)} ${ZONE_WORD[l].en} communes (level ${levelNumber(l)})`;
      });
      silent = named.reduce((s, l) => s + byLevel[l].not_reported_24h, 0);
    }
    const head = parts.join(lang === 'vi' ? ' và ' : ' and ');
    const tail = silent > 0 ? (lang === 'vi' ? `; ${n(silent, lang)} chưa báo cáo` : `; ${n(silent, lang)} not reported`) : '';
    return lang === 'vi' ? `${head} không có ca mắc mới trong cộng đồng trong 24 giờ qua${tail}` : `${head} had no new community cases in the past 24 hours${tail}`;
  };
  return { vi: text('vi'), en: text('en') };
}

/** A level as the sheets and the PDF name it: "Cấp 4 – Nguy cơ rất cao". */
export const levelLabelVi = (level: LevelOrUnknown): string => LEVEL_INFO[level].vi;

/** A cell of a table: text, a number (written as a number), or null (an empty cell). */
export type Cell = string | number | null;

/** The commune list as every table writes it (XLSX sheet, CSV): header, then one row per commune. */
export const COMMUNE_COLUMNS = [
  { key: 'stt', vi: 'STT', kind: 'integer' },
  { key: 'district', vi: 'Huyện', kind: 'text' },
  { key: 'code', vi: 'Mã xã/phường', kind: 'text' },
  { key: 'name', vi: 'Xã/phường', kind: 'text' },
  { key: 'level', vi: 'Cấp độ', kind: 'text' },
  { key: 'community_cases_7d', vi: 'Ca cộng đồng 7 ngày', kind: 'integer' },
  { key: 'incidence_per_100k_7d', vi: 'Tỷ lệ/100.000 dân (7 ngày)', kind: 'decimal' },
  { key: 'population', vi: 'Dân số', kind: 'integer' },
  { key: 'since', vi: 'Từ ngày', kind: 'date' },
  { key: 'override', vi: 'Quyết định BCĐ', kind: 'text' },
] as const;

/** An override in a cell: its level and reason, "Cấp 4: Ổ dịch mới tại chợ" (null: none). */
export const overrideCell = (o: BriefingOverride | null): string | null => (o ? `${levelWord(o.level, 'vi')}: ${o.reason}` : null);

/** One commune's row of the commune table (dates as dd/mm/yyyy text — date cells in XLSX —, numbers as numbers, anything missing null: an empty cell). */
export function communeRow(c: BriefingCommune, i: number): Cell[] {
  return [i + 1, c.district?.name ?? null, c.code, c.name, levelLabelVi(c.level), c.community_cases_7d, c.incidence_per_100k_7d, c.population, c.since ? viDate(c.since) : null, overrideCell(c.override)];
}

/** The overrides in force as a table (the XLSX sheet "Quyết định BCĐ"): header, then one row per override. */
export const OVERRIDE_COLUMNS = [
  { key: 'stt', vi: 'STT' },
  { key: 'code', vi: 'Mã địa bàn' },
  { key: 'name', vi: 'Địa bàn' },
  { key: 'kind', vi: 'Loại' },
  { key: 'district', vi: 'Huyện' },
  { key: 'level', vi: 'Cấp độ' },
  { key: 'reason', vi: 'Lý do' },
  { key: 'note', vi: 'Ghi chú' },
  { key: 'author', vi: 'Người quyết định' },
  { key: 'from', vi: 'Từ ngày' },
  { key: 'until', vi: 'Đến ngày' },
] as const;

export function overrideRow(o: BriefingOverrideInForce, i: number): Cell[] {
  return [i + 1, o.code, o.name, o.kind_label.vi, o.district?.name ?? null, levelLabelVi(o.level), o.reason, o.note, o.author, viDate(o.from), o.until ? viDate(o.until) : null];
}

/** The direction of a change in Vietnamese. */
export const DIRECTION_LABEL: Record<BriefingChange['direction'], Bilingual> = {
  escalated: { vi: 'Tăng cấp', en: 'escalated' },
  'de-escalated': { vi: 'Giảm cấp', en: 'de-escalated' },
  changed: { vi: 'Thay đổi', en: 'changed' },
};
