import { databaseNow, dayReports, DayReport, zonesOn, ZoneRow } from '../db/levels';
import { publishedDays } from '../db/publications';
import {
  Briefing,
  BRIEFING_LEVELS,
  BriefingChange,
  BriefingCommune,
  BriefingOverride,
  BriefingOverrideInForce,
  CountRow,
  DayCount,
  KIND_LABEL,
  LevelCount,
  quietSentence,
  sentenceCase,
  viDate,
  viNumber,
  viTime,
} from '../domain/briefing';
import type { Bilingual } from '../domain/levels';
import { addDays, dateRange, LocalDate, today } from '../domain/dates';
import { levelIndex, LevelOrUnknown, levelNumber } from '../domain/levels';
import { levelLabel } from '../domain/rules/explain';
import { AppError, badRequest, notFound, unprocessable } from '../errors';
import type { Runtime } from '../runtime';
import { changes, readingAt, Reading, summary, Version } from './levels';
import { timeline } from './ruleSets';

/**
 * The weekly steering-committee briefing (issue 15): for an area (a province or district;
 * default: every commune) and a day D, the week D−6 … D. Composed from the reads the rest of
 * the API answers with — the summary (counts, the 24-hour figures), the change feed, the
 * levels of the day (db/levels.ts `zonesOn`), the day reports (`dayReports`) and the rule-set
 * timeline — all read as of one instant, so that the briefing agrees with /v1/summary and
 * /v1/changes asked at that instant. Every read is set-based: a handful of statements
 * whatever the number of communes (the 7-day figures are seven `dayReports` reads).
 */

export type BriefingQuery = {
  date: LocalDate;
  parent?: string | undefined;
  version: Version;
  asOf: Date | null;
  /** aborted when the client hangs up: the reads not yet made are not made */
  signal?: AbortSignal | undefined;
};

/** Changes one briefing lists at most (a week of a country's communes flipping back and forth). */
const MAX_CHANGES = 50_000;
const CHANGES_PAGE = 10_000;
/** How far after today a briefing's day may be: tomorrow, as reports (a day's report is sometimes filed early). */
const MAX_DAYS_AHEAD = 1;

type Place = { code: string; name: string };

const collator = new Intl.Collator('vi', { sensitivity: 'base', numeric: true });
const byName = (a: { name: string; code: string }, b: { name: string; code: string }) => collator.compare(a.name, b.name) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);

function overrideOf(z: ZoneRow): BriefingOverride | null {
  const o = z.override;
  if (!o) return null;
  return { id: o.id, level: o.level, level_number: levelNumber(o.level), reason: o.reason, note: o.note, author: o.author, from: o.from, until: o.until };
}

/** The 7-day community cases of each commune: the day reports of D−6 … D summed (null where none of the days has a report). */
function weekCases(days: Map<number, DayReport>[], id: number): number | null {
  let cases = 0;
  let any = false;
  for (const d of days) {
    const r = d.get(id);
    if (!r?.reported) continue; // a commune reported: a report row on it or below it
    any = true;
    cases += r.community_cases;
  }
  return any ? cases : null;
}

const incidence = (cases: number | null, population: number | null): number | null =>
  cases !== null && population ? Math.round(((cases * 100_000) / population) * 100) / 100 : null;

/**
 * What a briefing is read as: the day checked (at most tomorrow in TZ_REPORTING), the one
 * instant every read is made as of, the area (an unknown one is a 404, a commune a 422) and
 * the reading point of the day (with version=published: its publication; 404 without one).
 * Light reads only: HEAD answers from this alone.
 */
export async function briefingScope(rt: Runtime, q: BriefingQuery): Promise<{ at: Date; top: ZoneRow | null; point: Date | null }> {
  const reads = rt.db.read;
  const date = q.date;
  // as the rest of the API: nothing is known of a day after tomorrow (and the calendar's arithmetic ends in 2999)
  const latest = addDays(today(rt.config.reportingTimeZone), MAX_DAYS_AHEAD);
  if (date > latest) {
    throw badRequest(`date ${date} is after tomorrow (${latest} in ${rt.config.reportingTimeZone})`, [{ path: 'date', message: `must not be after tomorrow (${latest})` }], 'invalid_query');
  }
  // one instant for every read: the summary, the feed and the lists agree with each other
  const at = q.asOf ?? (await databaseNow(reads));
  // the area first: an unknown one is a 404 before anything else is read
  let top: ZoneRow | null = null;
  if (q.parent !== undefined) {
    const [row] = await zonesOn(reads, date, at, { code: q.parent });
    if (!row) throw notFound(`Không có đơn vị mã ${q.parent} — no area has code ${q.parent}`);
    if (row.kind === 'commune' || row.kind === 'subcommune') {
      throw unprocessable(`${q.parent} is a ${row.kind}: a briefing covers the communes of a province or a district`, [{ path: 'parent', message: `must be a province or a district; ${q.parent} is a ${row.kind}` }], 'invalid_parent');
    }
    top = row;
  }
  // the reading point of the day (with version=published: its publication; 404 without one)
  const point = await readingAt(rt, { date, asOf: at, version: q.version });
  return { at, top, point };
}

/** The map changed on `date` (a reorganisation): the week-before figures are of the old map, and say so. */
function mapChangeText(date: LocalDate, before: number | null, now: number): { date: LocalDate; text: Bilingual } {
  const counts = (lang: 'vi' | 'en') => (before === null ? '' : lang === 'vi' ? `: ${viNumber(before, 0)} xã, phường → ${viNumber(now, 0)}` : `: ${before} → ${now} communes`);
  return {
    date,
    text: {
      vi: `Bản đồ hành chính thay đổi ngày ${viDate(date)}${counts('vi')}; số liệu tuần trước là của bản đồ cũ`,
      en: `the administrative map changed on ${date}${counts('en')}; the week-before figures are of the old map`,
    },
  };
}

/** Reads the briefing of `q.date` for the communes under `q.parent` (all communes without one). */
export async function briefing(rt: Runtime, q: BriefingQuery): Promise<Briefing> {
  const reads = rt.db.read;
  const date = q.date;
  // a client that hung up: the reads still to come are not made (checked between them)
  const going = () => {
    if (q.signal?.aborted) throw new AppError(499, 'client_closed', 'the client closed the connection');
  };
  const { at, top, point } = await briefingScope(rt, q);
  const weekFrom = addDays(date, -6);
  const weekBefore = addDays(date, -7);
  const reading: Reading = { date, asOf: at, version: q.version };
  going();

  // one read after another, not all at once: a country's rows arriving on several connections
  // together would be parsed back to back, holding the event loop for longer
  const now = await summary(rt, reading, 'commune', q.parent);
  going();
  const before = await summary(rt, { date: weekBefore, asOf: at, version: q.version }, 'commune', q.parent).catch((e: unknown) => {
    // published: the day a week before may have no publication — the comparison is left out
    if (e instanceof AppError && e.status === 404 && q.version === 'published') return null;
    throw e;
  });
  going();
  const zones = await zonesOn(reads, date, point, q.parent !== undefined ? { within: q.parent } : {});
  going();
  const timelineNow = await timeline(rt, point ?? at);
  const communes = zones.filter((z) => z.kind === 'commune');
  const ids = communes.map((z) => z.area_id);
  const days: Map<number, DayReport>[] = [];
  for (const d of dateRange(weekFrom, date)) {
    going();
    days.push(await dayReports(reads, ids, d, point));
  }
  const onDay = days[days.length - 1] as Map<number, DayReport>;

  // names of the areas communes belong to, and of everything with an override
  const names = new Map<string, string>(zones.map((z) => [z.code, z.name]));
  if (top) names.set(top.code, top.name);
  // the district column: a commune's parent when it is a district (since 1 July 2025 communes lie directly under their province)
  const kinds = new Map<string, string>(zones.map((z) => [z.code, z.kind]));
  if (top) kinds.set(top.code, top.kind);
  const parentOf = (code: string | null): Place | null => (code === null || (kinds.get(code) ?? 'district') !== 'district' ? null : { code, name: names.get(code) ?? code });
  const parentByCode = new Map<string, string | null>(zones.map((z) => [z.code, z.parent]));
  // the map changed during the week (a reorganisation): the communes of the week's first day, for their districts in the week's changes
  const changedOn = [...new Set(communes.map((z) => z.valid_from).filter((d): d is LocalDate => d !== null && d > weekBefore && d <= date))].sort();
  if (changedOn.length) {
    going();
    for (const z of await zonesOn(reads, weekFrom, point, q.parent !== undefined ? { within: q.parent } : {}, 'levels')) {
      if (!names.has(z.code)) names.set(z.code, z.name);
      if (!kinds.has(z.code)) kinds.set(z.code, z.kind);
      if (!parentByCode.has(z.code)) parentByCode.set(z.code, z.parent);
    }
  }

  const list: BriefingCommune[] = communes
    .map((z) => {
      const week = weekCases(days, z.area_id);
      const rep = onDay.get(z.area_id);
      return {
        code: z.code,
        name: z.name,
        district: parentOf(z.parent),
        level: z.level,
        level_number: z.level_number,
        level_label: levelLabel(z.level),
        population: z.population,
        community_cases_7d: week,
        incidence_per_100k_7d: incidence(week, z.population),
        reported_24h: rep?.reported ?? false,
        community_cases_24h: rep?.reported ? rep.community_cases : null,
        since: z.since,
        override: overrideOf(z),
      };
    })
    .sort((a, b) => collator.compare(a.district?.name ?? '', b.district?.name ?? '') || byName(a, b));

  const hotspots = list
    .filter((c) => c.level === 'red' || c.level === 'orange')
    .sort((a, b) => (b.level_number ?? 0) - (a.level_number ?? 0) || (b.incidence_per_100k_7d ?? -1) - (a.incidence_per_100k_7d ?? -1) || byName(a, b));

  // the counts: the summary's, and the summary's of the day a week before
  const count = (s: typeof now | null, l: LevelOrUnknown): LevelCount | null => {
    const c = s?.by_level[l];
    return c ? { areas: c.areas, population: c.population } : null;
  };
  const diff = (a: LevelCount, b: LevelCount | null): LevelCount | null => (b ? { areas: a.areas - b.areas, population: a.population - b.population } : null);
  const byLevel = {} as Record<LevelOrUnknown, CountRow>;
  const day = {} as Record<LevelOrUnknown, DayCount>;
  for (const l of BRIEFING_LEVELS) {
    const c = now.by_level[l] as { areas: number; population: number; no_new_community_cases_24h: number; not_reported_24h: number };
    const wb = count(before, l);
    byLevel[l] = { level: l, level_number: levelNumber(l), level_label: levelLabel(l), areas: c.areas, population: c.population, week_before: wb, change: diff(c, wb) };
    day[l] = { areas: c.areas, no_new_community_cases_24h: c.no_new_community_cases_24h, not_reported_24h: c.not_reported_24h };
  }
  const total: LevelCount = { areas: now.total.areas, population: now.total.population };
  const totalBefore: LevelCount | null = before ? { areas: before.total.areas, population: before.total.population } : null;
  const dayTotal: DayCount = { areas: 0, no_new_community_cases_24h: 0, not_reported_24h: 0 };
  for (const c of Object.values(day)) {
    dayTotal.areas += c.areas;
    dayTotal.no_new_community_cases_24h += c.no_new_community_cases_24h;
    dayTotal.not_reported_24h += c.not_reported_24h;
  }

  // the week's changes of level, every page of the feed; a commune's first level ever is named so
  const items: BriefingChange[] = [];
  let cursor: string | undefined;
  do {
    going();
    const page = await changes(rt, { since: weekFrom, until: date, asOf: at, version: q.version, kind: 'commune', parent: q.parent, limit: CHANGES_PAGE, cursor });
    for (const c of page.items) {
      const direction: BriefingChange['direction'] = c.from === 'unknown' || c.to === 'unknown' ? 'changed' : levelIndex(c.to) > levelIndex(c.from) ? 'escalated' : 'de-escalated';
      items.push({
        code: c.code,
        name: c.name,
        district: parentOf(parentByCode.get(c.code) ?? null),
        date: c.date,
        from: c.from,
        to: c.to,
        from_number: levelNumber(c.from),
        to_number: levelNumber(c.to),
        direction,
        reason: c.reason,
        reason_text: c.reason_text,
      });
    }
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined && items.length < MAX_CHANGES);
  // each reason is a table cell's sentence: its first letter a capital (the feed's English begins in lower case)
  for (const c of items) c.reason_text = { vi: c.reason_text.vi, en: sentenceCase(c.reason_text.en) };
  // published: each published day is compared with the publication before it — the week's first with one before the week
  const comparedWith = q.version === 'published' ? ((await publishedDays(reads, weekFrom, date, at)).find((p) => p.date < weekFrom)?.date ?? null) : null;

  // overrides in force that day on the area or anything in it
  const overridden = [...(top ? [top] : []), ...zones].filter((z) => z.override !== null);
  const overrides: BriefingOverrideInForce[] = overridden.map((z) => ({
    code: z.code,
    name: z.name,
    kind: z.kind,
    kind_label: KIND_LABEL[z.kind],
    district: z === top ? null : parentOf(z.parent),
    ...(overrideOf(z) as BriefingOverride),
  }));

  const computedAt = zones.map((z) => z.computed_at).filter((t): t is string => t !== null);
  const dataAsOf = computedAt.length ? computedAt.reduce((a, b) => (a > b ? a : b)) : null;
  const ruleSet = timelineNow.items.find((p) => (p.effective_from === null || p.effective_from <= date) && (p.effective_to === null || p.effective_to >= date)) ?? null;

  return {
    title: { vi: 'Báo cáo tình hình dịch COVID-19 hằng tuần', en: 'Weekly COVID-19 situation briefing' },
    area: top
      ? { code: top.code, name: top.name, kind: top.kind, kind_label: KIND_LABEL[top.kind] }
      : { code: null, name: 'Toàn bộ địa bàn', kind: null, kind_label: null },
    date,
    week: { from: weekFrom, to: date },
    version: q.version,
    as_of: (point ?? at).toISOString(),
    as_of_text: viTime((point ?? at).toISOString(), rt.config.reportingTimeZone),
    data_as_of: dataAsOf,
    data_as_of_text: dataAsOf === null ? null : viTime(dataAsOf, rt.config.reportingTimeZone),
    rule_set: ruleSet
      ? { id: ruleSet.rule_set.id, name: ruleSet.rule_set.name, version: ruleSet.rule_set.version, effective_from: ruleSet.effective_from as LocalDate | null, effective_to: ruleSet.effective_to as LocalDate | null }
      : null,
    counts: { date, week_before_date: weekBefore, by_level: byLevel, total: { ...total, week_before: totalBefore, change: diff(total, totalBefore) } },
    last_24h: { by_level: day, total: dayTotal, sentence: quietSentence(day) },
    hotspots,
    map_changes: changedOn.map((d) => mapChangeText(d, before?.total.areas ?? null, now.total.areas)),
    changes: { escalated: items.filter((c) => c.direction === 'escalated').length, deescalated: items.filter((c) => c.direction === 'de-escalated').length, items, compared_with: comparedWith },
    overrides,
    not_reporting: list.filter((c) => !c.reported_24h).map((c) => ({ code: c.code, name: c.name, district: c.district })),
    communes: list,
  };
}
