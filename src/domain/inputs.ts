import { addDays, dayNumber, LocalDate } from './dates';
import { MetricDef, ReportField, RuleSet } from './rules/definition';
import { Inputs, MetricValue } from './rules/engine';

/**
 * The inputs a rule set needs, for every area on every day of a span, from the reports and
 * indicators of that span (loaded once, see db/inputs.ts). Pure: facts in, inputs out.
 *
 * Report metrics: each area's daily figures are summed up the hierarchy (an area's figures
 * are those of its whole subtree) and turned into prefix sums, so any window of any day is
 * two lookups. Indicators: the latest value on or before the day, from the area or its
 * nearest ancestor that has one; indicator sums: a window over the area (and, if inherited,
 * its ancestors). Days are day numbers (see `dayNumber`).
 */
export type SeriesArea = { id: number; code: string; parent_id: number | null; population: number | null };

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
  return {
    reportsFrom: reports.length ? addDays(from, -(widest - 1)) : null,
    indicators: [...new Set(indicators.map(([, m]) => m.name))],
    indicatorsFrom: addDays(from, -Math.max(0, ...indicators.map(([, m]) => m.max_age_days))),
    sums: [...new Set(sums.map(([, m]) => m.name))],
    sumsFrom: addDays(from, -(Math.max(1, ...sums.map(([, m]) => m.window_days)) - 1)),
  };
}

const missing = (reason: string, detail?: string): MetricValue => (detail ? { missing: reason, detail } : { missing: reason });

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

export class InputSeries {
  private readonly n: number;
  private readonly base: number; // the first day of report data
  private readonly len: number; // days of report data
  private readonly at = new Map<number, number>(); // area id → index
  private readonly parent: Int32Array; // index of the parent, -1 at the top
  /** Per report field: prefix sums over days, (len + 1) per area. */
  private readonly sums = new Map<ReportField, Float64Array>();
  private readonly counts: Float64Array;
  /** Per field read by days_since_last: the last day index ≤ each day with a positive value, or -1. */
  private readonly lastPositive = new Map<ReportField, Int32Array>();
  /** Indicator series by name, then by area index. */
  private readonly series = new Map<string, (Series | undefined)[]>();

  constructor(
    private readonly ruleSet: RuleSet,
    private readonly areas: readonly SeriesArea[],
    from: LocalDate,
    to: LocalDate,
    reports: ReportColumns,
    indicators: readonly IndicatorRow[],
  ) {
    this.n = areas.length;
    areas.forEach((a, i) => this.at.set(a.id, i));
    this.parent = new Int32Array(this.n);
    areas.forEach((a, i) => (this.parent[i] = a.parent_id === null ? -1 : (this.at.get(a.parent_id) ?? -1)));
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
    for (const list of this.series.values()) for (const s of list) if (s) finishSeries(s);
  }

  /**
   * Per area, the prefix sums over days of one field (or of the number of report rows, for
   * `field` null), each area's figures including all its descendants'.
   */
  private prefixed(r: ReportColumns, field: ReportField | null): Float64Array {
    const { n, len, base } = this;
    const daily = new Float64Array(n * len);
    for (let k = 0; k < r.length; k++) {
      const i = this.at.get(r.area_id[k] as number);
      const d = (r.day[k] as number) - base;
      if (i === undefined || d < 0 || d >= len) continue;
      daily[i * len + d] += field === null ? 1 : value(r, field, k);
    }
    // children before parents: an area's days are its own plus its children's (already summed)
    for (const i of this.deepestFirst()) {
      const p = this.parent[i] as number;
      if (p < 0) continue;
      for (let d = 0; d < len; d++) daily[p * len + d] += daily[i * len + d] as number;
    }
    const out = new Float64Array(n * (len + 1));
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let d = 0; d < len; d++) {
        acc += daily[i * len + d] as number;
        out[i * (len + 1) + d + 1] = acc;
      }
    }
    return out;
  }

  private order: number[] | null = null;
  private deepestFirst(): number[] {
    if (this.order) return this.order;
    const depth = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) {
      let d = 0;
      for (let p = this.parent[i] as number; p >= 0 && d <= this.n; p = this.parent[p] as number) d++;
      depth[i] = d;
    }
    this.order = [...Array(this.n).keys()].sort((a, b) => (depth[b] as number) - (depth[a] as number));
    return this.order;
  }

  private lastPositiveDays(prefix: Float64Array): Int32Array {
    const { n, len } = this;
    const out = new Int32Array(n * len);
    for (let i = 0; i < n; i++) {
      let last = -1;
      for (let d = 0; d < len; d++) {
        if ((prefix[i * (len + 1) + d + 1] as number) > (prefix[i * (len + 1) + d] as number)) last = d;
        out[i * len + d] = last;
      }
    }
    return out;
  }

  /** Sum over day indexes [lo, hi] of a prefix array, for area i. */
  private window(prefix: Float64Array, i: number, lo: number, hi: number): number {
    const row = i * (this.len + 1);
    return (prefix[row + hi + 1] as number) - (prefix[row + Math.max(lo, 0)] as number);
  }

  /**
   * Every area's inputs on `date` (which must lie in the span given at construction), in
   * stored form, in the order of `areas`. Read them with `readInputs`.
   */
  packedOn(date: LocalDate): PackedValue[][] {
    const day = dayNumber(date);
    const k = day - this.base;
    if (k < 0 || k >= this.len) throw new Error(`${date} is outside the loaded span`);
    const metrics = storedMetrics(this.ruleSet);
    return this.areas.map((a, i) => metrics.map(([, m]) => this.packed(i, a, m, k, day)));
  }

  /** Every area's inputs on `date`, with their details. */
  inputsOn(date: LocalDate): Map<number, Inputs> {
    const packed = this.packedOn(date);
    const read = inputsReader(this.ruleSet);
    return new Map(this.areas.map((a, i) => [a.id, read(date, a.code, packed[i] as PackedValue[])]));
  }

  private packed(i: number, a: SeriesArea, m: StoredMetric[1], k: number, day: number): PackedValue {
    switch (m.kind) {
      case 'sum':
      case 'rate_per_100k':
      case 'days_since_last': {
        const w = span(m);
        if (this.window(this.counts, i, k - w + 1, k) === 0) return 'no_reports';
        if (m.kind === 'days_since_last') {
          const last = (this.lastPositive.get(m.of) as Int32Array)[i * this.len + k] as number;
          return last >= 0 && last > k - w ? k - last : w;
        }
        const sum = this.window(this.sums.get(m.of) as Float64Array, i, k - w + 1, k);
        if (m.kind === 'sum') return sum;
        return a.population ? (sum * 100_000) / a.population : 'no_population';
      }
      case 'indicator':
        return this.indicator(i, m, day);
      case 'indicator_sum':
        return this.indicatorSum(i, m, day);
      case 'population':
        return a.population ? a.population : 'no_population';
    }
  }

  /** The latest value on or before the day, from the area or its nearest ancestor that has one. */
  private indicator(i: number, m: IndicatorMetric, day: number): PackedValue {
    const list = this.series.get(m.name);
    let depth = 0;
    for (let j = i; j >= 0; j = this.parent[j] as number, depth++) {
      const s = list?.[j];
      const at = s ? latestOnOrBefore(s.days, day) : -1;
      if (!s || at < 0) continue;
      if (!m.inherit && depth > 0) break;
      const back = day - (s.days[at] as number);
      if (back > m.max_age_days) return ['stale', back];
      const value = s.values[at] as number;
      if (j !== i) return [value, back, (this.areas[j] as SeriesArea).code];
      return back === 0 ? value : [value, back];
    }
    return 'stale';
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

function value(r: ReportColumns, field: ReportField, k: number): number {
  switch (field) {
    case 'community_cases':
      return r.community_cases[k] as number;
    case 'quarantine_cases':
      return r.quarantine_cases[k] as number;
    case 'all_cases':
      return (r.community_cases[k] as number) + (r.quarantine_cases[k] as number);
    case 'deaths':
      return r.deaths[k] as number;
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
 * in name order: a plain number for a value; [value, days back] for an indicator value
 * from an earlier day, [value, days back, area code] for one from an ancestor; a reason
 * code for a missing value ('stale', or ['stale', days back] for a value too old). The
 * details shown to people follow from these, the rule set, the date and the area, and are
 * derived when read (`inputsReader`).
 */
export type PackedValue = number | string | [number, number] | [number, number, string] | ['stale', number];

type StoredMetric = [string, Exclude<MetricDef, { kind: 'count_met' }>];

/** The metrics whose values are packed (count_met is derived from them when classifying), by name. */
export function storedMetrics(rs: RuleSet): StoredMetric[] {
  return Object.entries(rs.metrics)
    .filter((e): e is StoredMetric => e[1].kind !== 'count_met')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The detail of a missing value. */
function missingDetail(m: StoredMetric[1], reason: string, date: LocalDate, code: string, found?: LocalDate): string | undefined {
  if (reason === 'no_reports' && 'window_days' in m) return `no report in the last ${m.window_days} days`;
  if (reason === 'no_reports' && m.kind === 'days_since_last') return `no report in the last ${m.lookback_days} days`;
  if (reason === 'no_population') return m.kind === 'rate_per_100k' ? `${code} has no population` : undefined;
  if (m.kind === 'indicator') return found ? `latest ${m.name} is from ${found}, older than ${m.max_age_days} days` : `no ${m.name} on or before ${date}`;
  return undefined;
}

function readValue(m: StoredMetric[1], p: PackedValue, date: LocalDate, code: string, details: boolean): MetricValue {
  if (typeof p === 'number') return { value: p };
  if (typeof p === 'string') {
    const reason = p === 'stale' && m.kind === 'indicator' ? `stale_metric:${m.name}` : p;
    return details ? missing(reason, missingDetail(m, reason, date, code)) : { missing: reason };
  }
  if (p[0] === 'stale') {
    const reason = `stale_metric:${(m as IndicatorMetric).name}`;
    return details ? missing(reason, missingDetail(m, reason, date, code, addDays(date, -p[1]))) : { missing: reason };
  }
  if (!details) return { value: p[0] };
  const found = addDays(date, -p[1]);
  return { value: p[0], detail: p.length === 3 ? `${found} from ${p[2]}` : found } as MetricValue;
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
