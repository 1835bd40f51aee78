import { LocalDate } from './dates';
import { AreaKind } from './areas';
import { Level, LevelOrUnknown, maxLevel } from './levels';

/**
 * Lineage: how an area of a new map comes from areas of the old one. Pure.
 *
 * - `merge`: the area is formed from two or more predecessors;
 * - `split`: it took part of a predecessor (a share below 1, or a predecessor shared
 *   between several successors);
 * - `rename`: one whole predecessor, another name; `recode`: one whole predecessor, the same
 *   name, a new code (the 2025 reorganisation renumbered every commune);
 * - `boundary_change`, `reparent`: given explicitly by the reorganisation.
 */
export const LINEAGE_EVENTS = ['merge', 'split', 'boundary_change', 'rename', 'reparent', 'recode'] as const;
export type LineageEvent = (typeof LINEAGE_EVENTS)[number];

/** Shares of one predecessor must add up to 1 within this (0.1 %: shares are often rounded to three places). */
export const SHARE_TOLERANCE = 0.001;

/**
 * The event of one lineage link when the reorganisation does not name it: `split` when the
 * successor took a share below 1 or the predecessor went to several successors, else `merge`
 * when the successor has several predecessors, else `rename` or `recode` by the name.
 */
export function lineageEvent(successor: { name: string; predecessors: readonly unknown[] }, link: { share: number | null }, successorsOfPredecessor: number, predecessorName: string): LineageEvent {
  if ((link.share !== null && link.share < 1) || successorsOfPredecessor > 1) return 'split';
  if (successor.predecessors.length > 1) return 'merge';
  return successor.name === predecessorName ? 'recode' : 'rename';
}

/**
 * The level a new area is compared with on its first day: the worst level among its
 * predecessors on the day before (unknown ones left out; all unknown or none: unknown). A
 * command centre reads "formed from communes at Cấp 3 and Cấp 2, now Cấp 3" as no change.
 */
export function predecessorsLevel(levels: readonly LevelOrUnknown[]): LevelOrUnknown {
  let worst: Level | null = null;
  for (const l of levels) if (l !== 'unknown') worst = worst === null ? l : maxLevel(worst, l);
  return worst ?? 'unknown';
}

/** A day on which the map changes: an area begins, an area ends the day before, or an area's attributes change. */
export type MapChange = { valid_from: LocalDate | null; valid_to: LocalDate | null; attributes_from: LocalDate | null };

/**
 * The days in [from, to] on which the map differs from the day before (an area begins or its
 * attributes change on it, or an area ended the day before), sorted: the boundaries of the
 * map's epochs inside the span. Within an epoch every day has the same areas and hierarchy.
 */
export function mapChangeDays(areas: readonly MapChange[], from: LocalDate, to: LocalDate, nextDay: (d: LocalDate) => LocalDate): LocalDate[] {
  const days = new Set<LocalDate>();
  const add = (d: LocalDate | null) => {
    if (d !== null && d > from && d <= to) days.add(d);
  };
  for (const a of areas) {
    add(a.valid_from);
    add(a.attributes_from);
    // the day after it ended is in (from, to] when it ended in [from, to): no date made for the rest
    if (a.valid_to !== null && a.valid_to >= from && a.valid_to < to) add(nextDay(a.valid_to));
  }
  return [...days].sort();
}

/** An area as the map's history holds it: its latest attributes, with its days. */
export type HistoryArea = {
  id: number;
  code: string;
  name: string;
  kind: AreaKind;
  parent_id: number | null;
  population: number | null;
  valid_from: LocalDate | null;
  valid_to: LocalDate | null;
  attributes_from: LocalDate | null;
};
/** An earlier version of an area's attributes (the ones classification reads). */
export type HistoryVersion = { area_id: number; valid_from: LocalDate | null; valid_to: LocalDate; parent_id: number | null; population: number | null };
/** One lineage link: `area_id` took `share` (null: all) of `predecessor_id` from `date`. */
export type HistoryLink = { area_id: number; predecessor_id: number; share: number | null; date: LocalDate };
/** Everything classification needs of the map over time (db/inputs.ts loads it). */
export type MapHistory = { areas: HistoryArea[]; versions: HistoryVersion[]; lineage: HistoryLink[] };

const onDay = (from: LocalDate | null, to: LocalDate | null, d: LocalDate) => (from === null || from <= d) && (to === null || to >= d);

/** The areas in force on day `d`, each with its parent and population of that day. */
export function areasOn(h: MapHistory, d: LocalDate): { id: number; code: string; kind: AreaKind; parent_id: number | null; population: number | null }[] {
  const version = new Map<number, HistoryVersion>();
  for (const v of h.versions) if (onDay(v.valid_from, v.valid_to, d)) version.set(v.area_id, v);
  const out = [];
  for (const a of h.areas) {
    if (!onDay(a.valid_from, a.valid_to, d)) continue;
    // a version covers only days before the area's current attributes began
    const v = version.get(a.id);
    out.push({ id: a.id, code: a.code, kind: a.kind, parent_id: v ? v.parent_id : a.parent_id, population: v ? v.population : a.population });
  }
  return out;
}

/** The days [from, to] cut where the map changes: within each epoch the areas and the hierarchy are the same. */
export function mapEpochs(h: MapHistory, from: LocalDate, to: LocalDate, nextDay: (d: LocalDate) => LocalDate, previousDay: (d: LocalDate) => LocalDate): { from: LocalDate; to: LocalDate }[] {
  const cuts = mapChangeDays([...h.areas, ...h.versions.map((v) => ({ valid_from: v.valid_from, valid_to: v.valid_to, attributes_from: null }))], from, to, nextDay);
  const out: { from: LocalDate; to: LocalDate }[] = [];
  let start = from;
  for (const c of cuts) {
    out.push({ from: start, to: previousDay(c) });
    start = c;
  }
  out.push({ from: start, to });
  return out;
}

/**
 * Where a predecessor's reports go: for each area with successors, the successors with the
 * share they took and the day number from which they exist (a report dated before it is
 * theirs, by that share). Read by InputSeries (domain/inputs.ts).
 */
export type SuccessorLinks = ReadonlyMap<number, readonly { id: number; share: number; startDay: number }[]>;

/**
 * Where a new area's indicators come from before it began: per new area, the day number it
 * began and each predecessor's chain on the day before — the predecessor, then its ancestors
 * of that day, nearest first (a commune's vaccination coverage is often its district's) — with
 * its weight, the population it brought (share × its population).
 */
export type IndicatorSources = ReadonlyMap<number, { startDay: number; from: readonly { chain: readonly number[]; weight: number }[] }>;

/** What InputSeries needs of the lineage: where reports go forward, where indicators come from. */
export type SeriesLineage = { successors: SuccessorLinks; indicators: IndicatorSources };

export const NO_LINEAGE: SeriesLineage = { successors: new Map(), indicators: new Map() };

export function seriesLineage(h: MapHistory, dayNumberOf: (d: LocalDate) => number, previousDay: (d: LocalDate) => LocalDate): SeriesLineage {
  const successors = new Map<number, { id: number; share: number; startDay: number }[]>();
  const indicators = new Map<number, { startDay: number; from: { chain: number[]; weight: number }[] }>();
  const maps = new Map<LocalDate, Map<number, { parent_id: number | null; population: number | null }>>();
  const mapOn = (d: LocalDate) => {
    let m = maps.get(d);
    if (!m) maps.set(d, (m = new Map(areasOn(h, d).map((a) => [a.id, a]))));
    return m;
  };
  for (const l of h.lineage) {
    const list = successors.get(l.predecessor_id) ?? [];
    list.push({ id: l.area_id, share: l.share ?? 1, startDay: dayNumberOf(l.date) });
    successors.set(l.predecessor_id, list);
    const before = mapOn(previousDay(l.date));
    const chain: number[] = [];
    for (let id: number | null = l.predecessor_id; id !== null && chain.length < 16; id = before.get(id)?.parent_id ?? null) chain.push(id);
    const src = indicators.get(l.area_id) ?? { startDay: dayNumberOf(l.date), from: [] };
    src.from.push({ chain, weight: (l.share ?? 1) * (before.get(l.predecessor_id)?.population ?? 0) });
    indicators.set(l.area_id, src);
  }
  return { successors, indicators };
}
