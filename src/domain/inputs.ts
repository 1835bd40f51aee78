import { AreaKind } from './areas';
import { addDays, dayNumber, fromDayNumber, LocalDate } from './dates';
import { Aggregate, metricSpec } from './metrics';
import { MetricDef, ReportField, RuleSet } from './rules/definition';
import { Inputs, MetricValue, Origin } from './rules/engine';
import { IndicatorSources, NO_LINEAGE, SeriesLineage, SuccessorLinks } from './lineage';

/**
 * The inputs a rule set needs, for every area on every day of a span, from the reports and
 * indicators of that span (loaded once, see db/inputs.ts). Pure: facts in, inputs out.
 *
 * Report metrics: each area's daily figures are summed up the hierarchy (an area's figures
 * are those of its whole subtree) and turned into prefix sums, so any window of any day is
 * two lookups. Indicators: the latest value on or before the day, from the area or its
 * nearest ancestor that has one; failing that (none, or too old), for a district or province
 * (a commune only with `aggregate_from_subcommunes`) a value derived from its children
 * (`InputSeries.derivation`); indicator sums: a window over the area (and, if inherited, its
 * ancestors). Days are day numbers (see `dayNumber`).
 */
export type SeriesArea = {
  id: number;
  code: string;
  parent_id: number | null;
  population: number | null;
  /** Which areas derive missing indicators from their children; without a kind, an area never does. */
  kind?: AreaKind;
};

/** The figures of a report row, in the order the fact texts give them (domain/factText.ts). */
export const REPORT_COLUMNS = ['community_cases', 'quarantine_cases', 'deaths'] as const;
export type ReportColumn = (typeof REPORT_COLUMNS)[number];

/** Daily reports, column-wise (one entry per stored report row). */
export type ReportColumns = {
  length: number;
  area_id: Int32Array;
  day: Int32Array;
  community_cases: Int32Array;
  quarantine_cases: Int32Array;
  deaths: Int32Array; // null counts as 0
};

export type IndicatorRow = { area_id: number; name: string; date: LocalDate; value: number };

type ReportMetric = Extract<MetricDef, { kind: 'sum' | 'rate_per_100k' | 'days_since_last' }>;
type IndicatorMetric = Extract<MetricDef, { kind: 'indicator' }>;
type IndicatorSumMetric = Extract<MetricDef, { kind: 'indicator_sum' }>;

/** What must be loaded to compute days [from, to]. */
export type FactNeeds = {
  /** First day of reports needed (the widest window back from `from`). */
  reportsFrom: LocalDate | null;
  /** The report columns the metrics read (a report's row counts, whatever its columns: `reported`). */
  reportColumns: ReportColumn[];
  /** Indicator names read by latest value; all their rows from `indicatorsFrom` on, and each series' last row before it. */
  indicators: string[];
  indicatorsFrom: LocalDate;
  /** Indicator names summed over windows; their rows from `sumsFrom` on. */
  sums: string[];
  sumsFrom: LocalDate;
};

const reportEntries = (rs: RuleSet) => Object.entries(rs.metrics).filter((e): e is [string, ReportMetric] => ['sum', 'rate_per_100k', 'days_since_last'].includes(e[1].kind));
const indicatorEntries = (rs: RuleSet) => Object.entries(rs.metrics).filter((e): e is [string, IndicatorMetric] => e[1].kind === 'indicator');
const sumEntries = (rs: RuleSet) => Object.entries(rs.metrics).filter((e): e is [string, IndicatorSumMetric] => e[1].kind === 'indicator_sum');
const span = (m: ReportMetric) => (m.kind === 'days_since_last' ? m.lookback_days : m.window_days);

export function factNeeds(rs: RuleSet, from: LocalDate): FactNeeds {
  const reports = reportEntries(rs);
  const indicators = indicatorEntries(rs);
  const sums = sumEntries(rs);
  const widest = Math.max(0, ...reports.map(([, m]) => span(m)));
  const fields = new Set(reports.map(([, m]) => m.of));
  return {
    reportsFrom: reports.length ? addDays(from, -(widest - 1)) : null,
    reportColumns: REPORT_COLUMNS.filter((c) => fields.has(c) || (c !== 'deaths' && fields.has('all_cases'))),
    indicators: [...new Set(indicators.map(([, m]) => m.name))],
    indicatorsFrom: addDays(from, -Math.max(0, ...indicators.map(([, m]) => m.max_age_days))),
    sums: [...new Set(sums.map(([, m]) => m.name))],
    sumsFrom: addDays(from, -(Math.max(1, ...sums.map(([, m]) => m.window_days)) - 1)),
  };
}

const missing = (reason: string, detail?: string): MetricValue => (detail ? { missing: reason, detail } : { missing: reason });

/**
 * How a missing value of indicator metric `m` is derived from an area's children: the rule
 * set's `aggregate`, else the catalogue's (domain/metrics.ts: the population-weighted mean
 * for percentages and rates, the minimum for 0/1 flags), else 'none' (never derived).
 */
export function indicatorAggregate(m: IndicatorMetric): Aggregate {
  return m.aggregate ?? metricSpec(m.name)?.aggregate ?? 'none';
}

/** A derivation covering less than this share of its children's population gives no value (`partial_metric:<name>`). */
export const DERIVATION_MIN_SHARE = 0.5;

/** Which areas may derive: 1 districts and provinces, 2 communes (only with `aggregate_from_subcommunes`), 0 the rest. */
const DERIVING_KIND: Partial<Record<AreaKind, number>> = { province: 1, district: 1, commune: 2 };

/** Short names of the derivation methods in the packed form. */
type PackedMethod = 'mean' | 'min' | 'max';
const PACKED_METHOD: Record<Exclude<Aggregate, 'none'>, PackedMethod> = { population_weighted_mean: 'mean', min: 'min', max: 'max' };
const METHOD_OF: Record<PackedMethod, Exclude<Aggregate, 'none'>> = { mean: 'population_weighted_mean', min: 'min', max: 'max' };
const METHOD_TEXT: Record<PackedMethod, string> = { mean: 'population-weighted mean', min: 'minimum', max: 'maximum' };

/**
 * One day's bottom-up pass over the tree for one indicator metric (see
 * `InputSeries.derivation`), per area index. Kept per metric and refilled day after day.
 */
type Derivation = {
  /** The day it holds (NaN: none yet). */
  day: number;
  /** The area's own fresh value, else its derived one; NaN: none. Never an inherited value. */
  value: Float64Array;
  /** Children whose values the derivation used / that had a value (a child without population has no weight in a mean) / all children. */
  used: Int32Array;
  valued: Int32Array;
  of: Int32Array;
  /** Share of the children's population covered by the used children (by count when no child has a population). */
  share: Float64Array;
  /** The newest day of any value, fresh or not, of the area and (if it derives) of its subtree; -Infinity: none. */
  newest: Float64Array;
  /** Accumulators of the children: newest day, Σ population × value, population of the used children, population of all, min or max. */
  childNewest: Float64Array;
  weighted: Float64Array;
  usedPop: Float64Array;
  allPop: Float64Array;
  extreme: Float64Array;
};

function newDerivation(n: number): Derivation {
  const f = () => new Float64Array(n);
  const i = () => new Int32Array(n);
  return { day: NaN, value: f(), used: i(), valued: i(), of: i(), share: f(), newest: f(), childNewest: f(), weighted: f(), usedPop: f(), allPop: f(), extreme: f() };
}

/** One indicator series of one area, by date; `prefix[k]` is the sum of the first k values. */
type Series = { days: number[]; dates: LocalDate[]; values: number[]; prefix: number[] };

/** Index of the last entry on or before `day`, or -1. */
function latestOnOrBefore(days: number[], day: number): number {
  let lo = 0;
  let hi = days.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((days[mid] as number) <= day) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * What an InputSeries takes from its list of areas alone: each area's index by id, its
 * parent's index (-1: none on the list), population (0 for none), DERIVING_KIND, and the
 * indexes deepest first. Kept per list (a run classifies many blocks of days over the same
 * list, and the daily job keeps yesterday's: jobs/recompute/run.ts `RunCarry`); a list is not
 * changed once made (one whose length changed is indexed again). Measured: one day's input
 * series on the national set (pure CPU, 40 rounds, after warm-up, two runs) 14.7–18.2 ms
 * made each time, 12.8–14.4 ms kept.
 */
type AreaIndex = { n: number; at: Map<number, number>; parent: Int32Array; population: Float64Array; derivingKind: Uint8Array; deepestFirst: number[] };
const areaIndexes = new WeakMap<readonly SeriesArea[], AreaIndex>();

function areaIndex(areas: readonly SeriesArea[]): AreaIndex {
  const known = areaIndexes.get(areas);
  if (known && known.n === areas.length) return known;
  const n = areas.length;
  const at = new Map<number, number>();
  areas.forEach((a, i) => at.set(a.id, i));
  const parent = new Int32Array(n);
  areas.forEach((a, i) => (parent[i] = a.parent_id === null ? -1 : (at.get(a.parent_id) ?? -1)));
  const depth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let p = parent[i] as number; p >= 0 && d <= n; p = parent[p] as number) d++;
    depth[i] = d;
  }
  const index: AreaIndex = {
    n,
    at,
    parent,
    population: Float64Array.from(areas, (a) => (a.population && a.population > 0 ? a.population : 0)),
    derivingKind: Uint8Array.from(areas, (a) => (a.kind ? (DERIVING_KIND[a.kind] ?? 0) : 0)),
    deepestFirst: [...Array(n).keys()].sort((a, b) => (depth[b] as number) - (depth[a] as number)),
  };
  areaIndexes.set(areas, index);
  return index;
}

/** A report row's area, in `InputSeries.reportAreas`: not on the map; has successors. */
const NOT_ON_MAP = -1;
const SUCCEEDED = -2;

export class InputSeries {
  private readonly n: number;
  private readonly base: number; // the first day of report data
  private readonly len: number; // days of report data
  private readonly at: ReadonlyMap<number, number>; // area id → index
  /** Where a predecessor's reports go (domain/lineage.ts). */
  private readonly lineage: SuccessorLinks;
  private readonly parent: Int32Array; // index of the parent, -1 at the top
  /**
   * Per report field: prefix sums over days, day by day — (len + 1) rows of n areas, row d the
   * sums of days before d (`window`). A day's values of every area lie together: a day is
   * classified area after area. Measured (a 365-day national backfill, interleaved runs): by
   * area, a row of days each, reading them took ~0.5 s of Node's time more (a cache miss per read).
   */
  private readonly sums = new Map<ReportField, Float64Array>();
  private readonly counts: Float64Array;
  /** Per field read by days_since_last: the last day index ≤ each day with a positive value, or -1. */
  private readonly lastPositive = new Map<ReportField, Int32Array>();
  /** Indicator series by name, then by area index. */
  private readonly series = new Map<string, (Series | undefined)[]>();
  /** Per area: population (0 for none) and DERIVING_KIND. */
  private readonly population: Float64Array;
  private readonly derivingKind: Uint8Array;
  /** Per indicator metric: its last derivation pass (scratch space reused day after day). */
  private readonly derivations = new Map<IndicatorMetric, Derivation>();
  /** Per indicator name: for the day it holds, each area's index of its latest entry on or before it (-1: none). */
  private readonly latest = new Map<string, { day: number; at: Int32Array }>();
  /**
   * Per indicator name: for the day it holds, the packed value each area passes down to the
   * areas below it that inherit it — one array shared by all of them (a district's value is
   * the same for each of its communes; packed values are never changed once made).
   */
  private readonly passedDown = new Map<string, { day: number; at: (PackedValue | undefined)[] }>();

  constructor(
    private readonly ruleSet: RuleSet,
    private readonly areas: readonly SeriesArea[],
    from: LocalDate,
    to: LocalDate,
    reports: ReportColumns,
    indicators: readonly IndicatorRow[],
    /** Predecessors' reports and indicators, for the days before their successors existed (domain/lineage.ts). */
    lineage: SeriesLineage = NO_LINEAGE,
  ) {
    this.lineage = lineage.successors;
    this.n = areas.length;
    const index = areaIndex(areas);
    this.at = index.at;
    this.parent = index.parent;
    this.population = index.population;
    this.derivingKind = index.derivingKind;
    this.order = index.deepestFirst;
    const needs = factNeeds(ruleSet, from);
    this.base = dayNumber(needs.reportsFrom ?? from);
    this.len = dayNumber(to) - this.base + 1;
    this.counts = this.prefixed(reports, null);
    const fields = new Set(reportEntries(ruleSet).map(([, m]) => m.of));
    for (const f of fields) this.sums.set(f, this.prefixed(reports, f));
    for (const [, m] of reportEntries(ruleSet)) if (m.kind === 'days_since_last' && !this.lastPositive.has(m.of)) this.lastPositive.set(m.of, this.lastPositiveDays(this.sums.get(m.of) as Float64Array));

    for (const r of indicators) {
      const i = this.at.get(r.area_id);
      if (i === undefined) continue;
      let list = this.series.get(r.name);
      if (!list) this.series.set(r.name, (list = new Array<Series | undefined>(this.n)));
      const s = list[i] ?? (list[i] = { days: [], dates: [], values: [], prefix: [] });
      s.days.push(dayNumber(r.date));
      s.dates.push(r.date);
      s.values.push(r.value);
    }
    this.indicatorsFromPredecessors(indicators, lineage.indicators);
    for (const list of this.series.values()) for (const s of list) if (s) finishSeries(s);
  }

  /**
   * Per area, the prefix sums over days of one field (or of the number of report rows, for
   * `field` null), each area's figures including all its descendants'.
   */
  private prefixed(r: ReportColumns, field: ReportField | null): Float64Array {
    const { n, len, base } = this;
    const daily = new Float64Array(len * n);
    const at = this.reportAreas(r);
    // the field's column (all_cases: the sum of two), read straight from the typed arrays
    const a = field === null ? null : field === 'all_cases' ? r.community_cases : r[field];
    const b = field === 'all_cases' ? r.quarantine_cases : null;
    for (let k = 0; k < r.length; k++) {
      const i = at[k] as number;
      if (i === NOT_ON_MAP) continue;
      const d = (r.day[k] as number) - base;
      if (d < 0 || d >= len) continue;
      const v = a === null ? 1 : (a[k] as number) + (b === null ? 0 : (b[k] as number));
      if (i === SUCCEEDED) this.distribute(daily, r.area_id[k] as number, r.day[k] as number, d, v);
      else daily[d * n + i] += v;
    }
    // children before parents, day by day: an area's days are its own plus its children's (already summed)
    const order = this.deepestFirst();
    const parent = this.parent;
    for (let row = 0; row < len * n; row += n) {
      for (const i of order) {
        const p = parent[i] as number;
        if (p >= 0) daily[row + p] += daily[row + i] as number;
      }
    }
    const out = new Float64Array((len + 1) * n);
    for (let d = 0; d < len; d++) for (let i = 0; i < n; i++) out[(d + 1) * n + i] = (out[d * n + i] as number) + (daily[d * n + i] as number);
    return out;
  }

  /**
   * A new area's indicator values before it began, from its predecessors: on each day one of
   * them (or an ancestor it had then) has a value, the mean of the predecessors' latest values
   * (each its own, else its nearest ancestor's), weighted by the population each brought; a
   * day where the predecessors with a value brought under half the population has none.
   * Added to the area's own series, before its first day.
   */
  private indicatorsFromPredecessors(rows: readonly IndicatorRow[], sources: IndicatorSources): void {
    if (sources.size === 0) return;
    const wanted = new Set<number>();
    for (const [id, src] of sources) if (this.at.has(id)) for (const f of src.from) for (const c of f.chain) wanted.add(c);
    if (wanted.size === 0) return;
    // their rows, by area then name, in day order
    const byArea = new Map<number, Map<string, { day: number; value: number }[]>>();
    for (const r of rows) {
      if (!wanted.has(r.area_id)) continue;
      let names = byArea.get(r.area_id);
      if (!names) byArea.set(r.area_id, (names = new Map()));
      const list = names.get(r.name) ?? [];
      list.push({ day: dayNumber(r.date), value: r.value });
      names.set(r.name, list);
    }
    for (const names of byArea.values()) for (const list of names.values()) list.sort((a, b) => a.day - b.day);
    const latest = (id: number, name: string, day: number) => {
      const list = byArea.get(id)?.get(name);
      if (!list) return undefined;
      let found: { day: number; value: number } | undefined;
      for (const e of list) if (e.day <= day) found = e;
      return found;
    };
    for (const [id, src] of sources) {
      const i = this.at.get(id);
      if (i === undefined) continue;
      const names = new Set<string>();
      for (const f of src.from) for (const c of f.chain) for (const n of byArea.get(c)?.keys() ?? []) names.add(n);
      // without populations, each predecessor counts the same
      const total0 = src.from.reduce((s, f) => s + f.weight, 0);
      const weightOf = (f: { weight: number }) => (total0 > 0 ? f.weight : 1);
      const total = total0 > 0 ? total0 : src.from.length;
      for (const name of names) {
        const days = new Set<number>();
        for (const f of src.from) for (const c of f.chain) for (const e of byArea.get(c)?.get(name) ?? []) if (e.day < src.startDay) days.add(e.day);
        for (const day of [...days].sort((a, b) => a - b)) {
          let sum = 0;
          let weight = 0;
          for (const f of src.from) {
            for (const c of f.chain) {
              const e = latest(c, name, day);
              if (e) {
                sum += e.value * weightOf(f);
                weight += weightOf(f);
                break;
              }
            }
          }
          if (weight === 0 || weight < DERIVATION_MIN_SHARE * total) continue;
          let list = this.series.get(name);
          if (!list) this.series.set(name, (list = new Array<Series | undefined>(this.n)));
          const s = list[i] ?? (list[i] = { days: [], dates: [], values: [], prefix: [] });
          s.days.push(day);
          s.dates.push(fromDayNumber(day));
          s.values.push(sum / weight);
        }
      }
    }
  }

  /**
   * A report `v` of area `id` on day number `day` (column `d`), where the area has successors:
   * each successor that existed only after `day` takes its share of it, wherever that
   * successor's territory is on this map (itself, or its own successors'); the area keeps the
   * rest if it is on this map. A retired commune's report before a merger is its merged
   * successor's (share 1); on the map of the days before the merger, the commune keeps its own.
   */
  private distribute(daily: Float64Array, id: number, day: number, d: number, v: number): void {
    const links = this.lineage.get(id) ?? [];
    // almost always: a retired area's reports all predate its successors
    const all = links.every((l) => day < l.startDay);
    const into = all ? this.whereIs(id) : this.whereIsOn(id, day, links);
    for (const [i, w] of into) daily[d * this.n + i] += v * w;
  }

  /** Where a unit of an area's figures from before all its successors began lies on this map: area index → weight. Memoised. */
  private readonly territory = new Map<number, ReadonlyMap<number, number>>();

  private whereIs(id: number): ReadonlyMap<number, number> {
    const known = this.territory.get(id);
    if (known) return known;
    // a cycle (never written by a reorganisation) leads nowhere rather than forever
    this.territory.set(id, new Map());
    const out = this.spread(id, this.lineage.get(id) ?? []);
    this.territory.set(id, out);
    return out;
  }

  /** The same for a report dated `day`, after some of its successors began (an area that gave part of itself and went on). */
  private whereIsOn(id: number, day: number, links: readonly { id: number; share: number; startDay: number }[]): ReadonlyMap<number, number> {
    return this.spread(id, links.filter((l) => day < l.startDay));
  }

  /** Each link's share goes where its successor's territory is; the area keeps what no placed link took, if it is on this map. */
  private spread(id: number, links: readonly { id: number; share: number }[]): Map<number, number> {
    const out = new Map<number, number>();
    let placed = 0;
    for (const l of links) {
      const there = this.whereIs(l.id);
      if (there.size === 0) continue;
      placed += l.share;
      for (const [i, w] of there) out.set(i, (out.get(i) ?? 0) + w * l.share);
    }
    const own = this.at.get(id);
    if (own !== undefined && placed < 1 - 1e-9) out.set(own, (out.get(own) ?? 0) + (1 - placed));
    return out;
  }

  /** Per report row, its area's index; SUCCEEDED where the area has successors (its figures are spread: `distribute`); NOT_ON_MAP. Made once for every field. */
  private reportRows: { of: ReportColumns; at: Int32Array } | null = null;
  private reportAreas(r: ReportColumns): Int32Array {
    if (this.reportRows?.of === r) return this.reportRows.at;
    const at = new Int32Array(r.length);
    for (let k = 0; k < r.length; k++) {
      const id = r.area_id[k] as number;
      at[k] = this.lineage.has(id) ? SUCCEEDED : (this.at.get(id) ?? NOT_ON_MAP);
    }
    this.reportRows = { of: r, at };
    return at;
  }

  /** Area indexes, the deepest first (children before their parents). */
  private readonly order: readonly number[];
  private deepestFirst(): readonly number[] {
    return this.order;
  }

  /** Per area and day (as `prefixed`, day by day), the last day index up to it with a positive value, or -1. */
  private lastPositiveDays(prefix: Float64Array): Int32Array {
    const { n, len } = this;
    const out = new Int32Array(len * n);
    for (let d = 0; d < len; d++) {
      for (let i = 0; i < n; i++) {
        const k = d * n + i;
        out[k] = (prefix[k + n] as number) > (prefix[k] as number) ? d : d > 0 ? (out[k - n] as number) : -1;
      }
    }
    return out;
  }

  /** Sum over day indexes [lo, hi] of a prefix array, for area i. */
  private window(prefix: Float64Array, i: number, lo: number, hi: number): number {
    return (prefix[(hi + 1) * this.n + i] as number) - (prefix[Math.max(lo, 0) * this.n + i] as number);
  }

  /**
   * Every area's inputs on `date` (which must lie in the span given at construction), in
   * stored form, in the order of `areas`. Read them with `readInputs`. Plain loops: measured
   * over a 365-day national backfill (three interleaved runs), a `map` over the areas with a
   * `map` over the metrics inside took Node's CPU to 12.4–12.7 s, these loops to 11.4–11.5 s.
   */
  packedOn(date: LocalDate): PackedValue[][] {
    const day = dayNumber(date);
    const k = day - this.base;
    if (k < 0 || k >= this.len) throw new Error(`${date} is outside the loaded span`);
    const metrics = storedMetrics(this.ruleSet).map(([, m]) => m);
    const out = new Array<PackedValue[]>(this.n);
    for (let i = 0; i < this.n; i++) out[i] = new Array<PackedValue>(metrics.length);
    // metric by metric: what a metric reads on the day (an indicator's series and each
    // area's latest entry) is looked up once, not once per area
    for (let j = 0; j < metrics.length; j++) {
      const m = metrics[j] as StoredMetric[1];
      if (m.kind !== 'indicator') {
        for (let i = 0; i < this.n; i++) (out[i] as PackedValue[])[j] = this.packed(i, this.areas[i] as SeriesArea, m, k, day);
        continue;
      }
      const list = this.series.get(m.name);
      if (!list) {
        for (let i = 0; i < this.n; i++) (out[i] as PackedValue[])[j] = 'missing'; // never reported anywhere
        continue;
      }
      const latest = this.latestOn(m.name, list, day);
      for (let i = 0; i < this.n; i++) (out[i] as PackedValue[])[j] = this.indicator(i, m, day, list, latest);
    }
    return out;
  }

  /** Every area's inputs on `date`, with their details. */
  inputsOn(date: LocalDate): Map<number, Inputs> {
    const packed = this.packedOn(date);
    const read = inputsReader(this.ruleSet);
    return new Map(this.areas.map((a, i) => [a.id, read(date, a.code, packed[i] as PackedValue[])]));
  }

  private packed(i: number, a: SeriesArea, m: Exclude<StoredMetric[1], IndicatorMetric>, k: number, day: number): PackedValue {
    switch (m.kind) {
      case 'sum':
      case 'rate_per_100k':
      case 'days_since_last': {
        const w = span(m);
        if (this.window(this.counts, i, k - w + 1, k) === 0) return 'no_reports';
        if (m.kind === 'days_since_last') {
          const last = (this.lastPositive.get(m.of) as Int32Array)[k * this.n + i] as number;
          return last >= 0 && last > k - w ? k - last : w;
        }
        const sum = this.window(this.sums.get(m.of) as Float64Array, i, k - w + 1, k);
        if (m.kind === 'sum') return sum;
        return a.population ? (sum * 100_000) / a.population : 'no_population';
      }
      case 'indicator_sum':
        return this.indicatorSum(i, m, day);
      case 'population':
        return a.population ? a.population : 'no_population';
    }
  }

  /**
   * The latest value on or before the day, from the area or its nearest ancestor that has one
   * (the nearest with any value decides, then its age). When that gives no fresh value and the
   * area derives (`derives`): the value derived from its children, or `['partial', …]` when
   * they cover under half of its children's population. Otherwise `['stale', days back]` when
   * some value (of the chain, or of the subtree it derives from) exists but is too old, and
   * 'missing' when none was ever reported.
   */
  private indicator(i: number, m: IndicatorMetric, day: number, list: (Series | undefined)[], latest: Int32Array): PackedValue {
    let staleDay = -Infinity;
    let depth = 0;
    for (let j = i; j >= 0; j = this.parent[j] as number, depth++) {
      const at = latest[j] as number;
      if (at < 0) continue;
      const s = list[j] as Series;
      if (!m.inherit && depth > 0) break;
      const back = day - (s.days[at] as number);
      if (back > m.max_age_days) {
        staleDay = s.days[at] as number;
        break;
      }
      const value = s.values[at] as number;
      if (j !== i) return this.passDown(m.name, j, day, value, back);
      return back === 0 ? value : [value, back];
    }
    if (this.derives(i, m)) {
      const d = this.derivation(m, day);
      const used = d.used[i] as number;
      const share = Math.floor((d.share[i] as number) * 1000) / 1000;
      if (!Number.isNaN(d.value[i] as number)) return [d.value[i] as number, used, d.of[i] as number, share, PACKED_METHOD[indicatorAggregate(m) as Exclude<Aggregate, 'none'>]];
      const newest = d.newest[i] as number;
      if ((d.valued[i] as number) > 0 || day - newest <= m.max_age_days) return ['partial', used, d.of[i] as number, share];
      if (newest > staleDay) staleDay = newest;
    }
    return staleDay === -Infinity ? 'missing' : ['stale', day - staleDay];
  }

  /**
   * Area j's value of indicator `name` as the areas below it inherit it on `day` (its value,
   * days back, and its code): made once, then shared (no function made per call: this is
   * asked for every area, indicator and day).
   */
  private passDown(name: string, j: number, day: number, value: number, back: number): PackedValue {
    let p = this.passedDown.get(name);
    if (!p) this.passedDown.set(name, (p = { day, at: new Array<PackedValue | undefined>(this.n) }));
    else if (p.day !== day) {
      p.day = day;
      p.at.fill(undefined);
    }
    return (p.at[j] ??= [value, back, (this.areas[j] as SeriesArea).code]);
  }

  /** Each area's index of its latest entry of series `list` (of indicator `name`) on or before `day`, -1 for none; made once per name and day. */
  private latestOn(name: string, list: (Series | undefined)[], day: number): Int32Array {
    let l = this.latest.get(name);
    if (l?.day === day) return l.at;
    // the day after the one held (days are classified in order): each entry moves on, if at all, to the entries of the new day
    const next = l !== undefined && l.day === day - 1;
    if (!l) this.latest.set(name, (l = { day, at: new Int32Array(this.n) }));
    l.day = day;
    const at = l.at;
    for (let i = 0; i < this.n; i++) {
      const s = list[i];
      if (!s) at[i] = -1;
      else if (next) {
        let k = at[i] as number;
        while (k + 1 < s.days.length && (s.days[k + 1] as number) <= day) k++;
        at[i] = k;
      } else at[i] = latestOnOrBefore(s.days, day);
    }
    return at;
  }

  /** Whether area i derives a missing value of `m` from its children. */
  private derives(i: number, m: IndicatorMetric): boolean {
    const k = this.derivingKind[i] as number;
    return k !== 0 && (k === 1 || m.aggregate_from_subcommunes === true) && indicatorAggregate(m) !== 'none';
  }

  /**
   * The derived values of `m` on `day`: one bottom-up pass over the tree (deepest first), each
   * area's value being its own fresh one (at most max_age_days old) or, if it derives and has
   * none, the value derived from its children's values — the population-weighted mean
   * (children without population left out), the minimum or the maximum — when the children
   * used cover at least DERIVATION_MIN_SHARE of the children's population (of their number
   * when no child has a population). A child contributes only its own or derived value, never
   * one inherited from above. Made once per metric and day, and only when an area needs it.
   */
  private derivation(m: IndicatorMetric, day: number): Derivation {
    let d = this.derivations.get(m);
    if (d?.day === day) return d;
    if (!d) this.derivations.set(m, (d = newDerivation(this.n)));
    d.day = day;
    const list = this.series.get(m.name) ?? [];
    const latest = this.latestOn(m.name, list, day);
    const aggregate = indicatorAggregate(m);
    const mean = aggregate === 'population_weighted_mean';
    const min = aggregate === 'min';
    const communes = aggregate !== 'none' && m.aggregate_from_subcommunes === true;
    const districts = aggregate !== 'none';
    const { value, used, valued, of, share, newest, childNewest, weighted, usedPop, allPop, extreme } = d;
    used.fill(0);
    valued.fill(0);
    of.fill(0);
    share.fill(0);
    childNewest.fill(-Infinity);
    weighted.fill(0);
    usedPop.fill(0);
    allPop.fill(0);
    extreme.fill(min ? Infinity : -Infinity);
    for (const i of this.deepestFirst()) {
      const at = latest[i] as number;
      const s = list[i];
      let v = NaN;
      let last = -Infinity;
      if (at >= 0) {
        last = (s as Series).days[at] as number;
        if (day - last <= m.max_age_days) v = (s as Series).values[at] as number;
      }
      const k = this.derivingKind[i] as number;
      if (k === 1 ? districts : k === 2 && communes) {
        if ((childNewest[i] as number) > last) last = childNewest[i] as number;
        if (Number.isNaN(v) && (used[i] as number) > 0) {
          const all = allPop[i] as number;
          const sh = all > 0 ? (usedPop[i] as number) / all : (used[i] as number) / (of[i] as number);
          share[i] = sh;
          if (sh >= DERIVATION_MIN_SHARE) v = mean ? (weighted[i] as number) / (usedPop[i] as number) : (extreme[i] as number);
        }
      }
      value[i] = v;
      newest[i] = last;
      const p = this.parent[i] as number;
      if (p < 0) continue;
      const pop = this.population[i] as number;
      of[p]++;
      allPop[p] += pop;
      if (last > (childNewest[p] as number)) childNewest[p] = last;
      if (Number.isNaN(v)) continue;
      valued[p]++;
      if (mean && pop === 0) continue;
      used[p]++;
      usedPop[p] += pop;
      if (mean) weighted[p] += pop * v;
      else extreme[p] = min ? Math.min(extreme[p] as number, v) : Math.max(extreme[p] as number, v);
    }
    return d;
  }

  /** Values over the window (absent days count as zero), of the area and, if inherited, its ancestors. */
  private indicatorSum(i: number, m: IndicatorSumMetric, day: number): number {
    const list = this.series.get(m.name);
    let total = 0;
    for (let j = i; j >= 0; j = m.inherit ? (this.parent[j] as number) : -1) {
      const s = list?.[j];
      if (!s) continue;
      total += (s.prefix[latestOnOrBefore(s.days, day) + 1] as number) - (s.prefix[latestOnOrBefore(s.days, day - m.window_days) + 1] as number);
    }
    return total;
  }
}


/** Sorts a series by date and computes its prefix sums. */
function finishSeries(s: Series): void {
  const order = s.days.map((_, i) => i).sort((a, b) => (s.days[a] as number) - (s.days[b] as number));
  s.days = order.map((i) => s.days[i] as number);
  s.dates = order.map((i) => s.dates[i] as LocalDate);
  s.values = order.map((i) => s.values[i] as number);
  s.prefix = [0];
  for (const v of s.values) s.prefix.push((s.prefix[s.prefix.length - 1] as number) + v);
}

/**
 * Packed inputs: an area's inputs on a day in compact form — a backfill computes (and stores,
 * see db/storedInputs.ts) millions of them. One entry per stored metric (`storedMetrics`),
 * in name order:
 * - a plain number for a value (an indicator's: the area's own, of the day);
 * - [value, days back] for the area's own indicator value of an earlier day;
 * - [value, days back, area code] for one from an ancestor;
 * - [value, children used, children, population share, 'mean' | 'min' | 'max'] for one
 *   derived from the children (the share floored to 3 decimals);
 * - a reason code for a missing value: 'missing' (an indicator never reported), 'no_reports',
 *   'no_population'; ['stale', days back] for an indicator value too old;
 *   ['partial', children used, children, population share] for a derivation covering under half;
 * - 'stale' (rows stored before 'missing' existed): an indicator not found, read as stale.
 * The details shown to people follow from these, the rule set, the date and the area, and are
 * derived when read (`inputsReader`).
 */
export type PackedValue =
  | number
  | string
  | [number, number]
  | [number, number, string]
  | [number, number, number, number, PackedMethod]
  | ['stale', number]
  | ['partial', number, number, number];

type StoredMetric = [string, Exclude<MetricDef, { kind: 'count_met' }>];

/** Each rule set's stored metrics, ordered once (a rule set is never changed once read). */
const storedOf = new WeakMap<RuleSet, readonly StoredMetric[]>();

/**
 * The metrics whose values are packed (count_met is derived from them when classifying), by
 * name. Kept per rule set: the stored inputs of each area whose level moved are read again
 * (jobs/recompute/assemble.ts), 140,000 times over the national backfill.
 */
export function storedMetrics(rs: RuleSet): readonly StoredMetric[] {
  let known = storedOf.get(rs);
  if (!known) {
    known = Object.entries(rs.metrics)
      .filter((e): e is StoredMetric => e[1].kind !== 'count_met')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    storedOf.set(rs, known);
  }
  return known;
}

/** The detail of a missing value. */
function missingDetail(m: StoredMetric[1], reason: string, date: LocalDate, code: string, found?: LocalDate): string | undefined {
  if (reason === 'no_reports' && 'window_days' in m) return `no report in the last ${m.window_days} days`;
  if (reason === 'no_reports' && m.kind === 'days_since_last') return `no report in the last ${m.lookback_days} days`;
  if (reason === 'no_population') return m.kind === 'rate_per_100k' ? `${code} has no population` : undefined;
  if (m.kind !== 'indicator') return undefined;
  if (found) return `latest ${m.name} is from ${found}, older than ${m.max_age_days} days`;
  return reason.startsWith('missing_metric:') ? `no ${m.name} reported on or before ${date}` : `no ${m.name} on or before ${date}`;
}

/** "94.3%" of a share in [0, 1] (floored: never more than the share). */
const percent = (share: number) => `${(Math.floor(share * 1000) / 10).toFixed(1)}%`;

/** An indicator's packed value other than a plain number: where it came from, or why it is missing. */
function readIndicator(m: IndicatorMetric, p: Exclude<PackedValue, number | string>, date: LocalDate, code: string, details: boolean): MetricValue {
  if (p[0] === 'stale') {
    const reason = `stale_metric:${m.name}`;
    return details ? missing(reason, missingDetail(m, reason, date, code, addDays(date, -p[1]))) : { missing: reason };
  }
  if (p[0] === 'partial') {
    const reason = `partial_metric:${m.name}`;
    if (!details) return { missing: reason };
    return missing(reason, `${p[1]} of ${p[2]} children have a current ${m.name}, covering ${percent(p[3])} of their population (under half): not derived`);
  }
  const value = p[0];
  if (!details) return { value };
  if (p.length === 5) {
    const [, children, of, share, method] = p;
    const origin: Origin = { from: 'children', children, of, population_share: share, method: METHOD_OF[method] };
    return { value, detail: `derived from ${children} of ${of} children (${percent(share)} of their population), ${METHOD_TEXT[method]}`, origin };
  }
  const found = addDays(date, -p[1]);
  if (p.length === 3) return { value, detail: `${found} from ${p[2]}`, origin: { from: 'ancestor', code: p[2], date: found } };
  return { value, detail: found, origin: { from: 'area', date: found } };
}

function readValue(m: StoredMetric[1], p: PackedValue, date: LocalDate, code: string, details: boolean): MetricValue {
  if (typeof p === 'number') return details && m.kind === 'indicator' ? { value: p, origin: { from: 'area', date } } : { value: p };
  if (typeof p === 'string') {
    const reason = m.kind !== 'indicator' ? p : p === 'missing' ? `missing_metric:${m.name}` : p === 'stale' ? `stale_metric:${m.name}` : p;
    return details ? missing(reason, missingDetail(m, reason, date, code)) : { missing: reason };
  }
  // only indicators are packed as arrays
  return readIndicator(m as IndicatorMetric, p, date, code, details);
}

/** Reads packed inputs of rule set `rs` (see `inputsReader`). */
export type InputsReader = (date: LocalDate, code: string, packed: readonly PackedValue[], details?: boolean) => Inputs;

/**
 * The reader of packed inputs under rule set `rs`: the inputs of area `code` on `date`;
 * without `details` (for classifying only) no text is made. Make one per rule set and reuse
 * it: it orders the metrics once.
 */
export function inputsReader(rs: RuleSet): InputsReader {
  const metrics = storedMetrics(rs);
  return (date, code, packed, details = true) => {
    const out: Inputs = {};
    for (let i = 0; i < metrics.length; i++) {
      const p = packed[i];
      if (p === undefined) continue;
      const [name, m] = metrics[i] as StoredMetric;
      out[name] = readValue(m, p, date, code, details);
    }
    return out;
  };
}

/** The inputs of area `code` on `date` from its packed inputs (one read; see `inputsReader`). */
export function readInputs(rs: RuleSet, date: LocalDate, code: string, packed: readonly PackedValue[], details = true): Inputs {
  return inputsReader(rs)(date, code, packed, details);
}
