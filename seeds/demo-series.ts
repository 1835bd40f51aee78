import { addDays, daysBetween, LocalDate } from '../src/domain/dates';
import type { MetricRow, ReportRow } from '../src/ingest/rows';

/**
 * SYNTHETIC demo data — not real surveillance figures. A deterministic epidemic wave that
 * starts in a few communes, spreads to neighbouring communes week by week, peaks and then
 * recedes over ~90 days, with vaccination coverage rising (then levelling off) over the same
 * period. A longer series has more waves: a new one every 120–150 days, each from fresh seed
 * communes among the most populous, with its own strength, receding before the next. It only
 * exists so that a fresh install has something realistic to classify and map.
 *
 * The first 90 days are the same as they always were (the later waves draw from a random
 * stream of their own and begin on day 120 at the earliest), so a series of 90 days or fewer
 * is exactly the original one.
 */
export type DemoCommune = { code: string; district: string; population: number; neighbours: string[] };
/**
 * `weeklyOn`: a day the weekly indicator rounds fall on (and every 7 days either side);
 * default `end`. The 2025 demo puts it on the reorganisation day so that a round falls on
 * the new map's first day.
 */
export type DemoOptions = { end: LocalDate; days?: number; seed?: number; weeklyOn?: LocalDate };
/** `seeds`: the seed communes of every wave that begins inside the series, the first wave's first. */
export type DemoSeries = { reports: ReportRow[]; metrics: MetricRow[]; seeds: string[] };

/** mulberry32: small, fast, and the same numbers on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(lambda: number, rand: () => number): number {
  if (lambda <= 0) return 0;
  if (lambda > 40) {
    // normal approximation (Box–Muller) for large means
    const u = Math.max(rand(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  }
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

/** Hops from the seed communes over the neighbour graph (breadth first). */
function hopDistances(communes: DemoCommune[], seeds: string[]): Map<string, number> {
  const byCode = new Map(communes.map((c) => [c.code, c]));
  const dist = new Map<string, number>(seeds.map((s) => [s, 0]));
  let frontier = [...seeds];
  while (frontier.length) {
    const next: string[] = [];
    for (const code of frontier) {
      for (const n of byCode.get(code)?.neighbours ?? []) {
        if (!dist.has(n)) {
          dist.set(n, (dist.get(code) as number) + 1);
          next.push(n);
        }
      }
    }
    frontier = next.sort();
  }
  return dist;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Later waves: the first begins on day 120 at the earliest, so 90-day series never see one. */
export const WAVE_GAP = { min: 120, max: 150 } as const;

type CommuneWave = { arrival: number; peakPer100k: number };
type LaterWave = { start: number; recedeFrom: number; seeds: string[]; plan: CommuneWave[] };

/**
 * The waves after the first, over `days` days, from a random stream of their own: every
 * 120–150 days 2–4 seed communes (among the 40 most populous, none a seed of the wave
 * before), a strength of 0.35–1.25 times the first wave's, a spread a little faster than the
 * first's, and restrictions that bite 45–64 days after the wave begins.
 */
function laterWaves(communes: DemoCommune[], days: number, seed: number, firstSeeds: string[]): LaterWave[] {
  const rand = prng((Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995) >>> 0);
  const byPop = [...communes].sort((a, b) => b.population - a.population || a.code.localeCompare(b.code));
  const top = byPop.slice(0, 40);
  const waves: LaterWave[] = [];
  let start = 0;
  let previous = firstSeeds;
  for (;;) {
    start += WAVE_GAP.min + Math.floor(rand() * (WAVE_GAP.max - WAVE_GAP.min + 1));
    if (start >= days) return waves;
    const count = 2 + Math.floor(rand() * 3);
    const fresh = top.filter((c) => !previous.includes(c.code));
    const seeds: string[] = [];
    while (seeds.length < Math.min(count, fresh.length)) {
      const pick = (fresh[Math.floor(rand() * fresh.length)] as DemoCommune).code;
      if (!seeds.includes(pick)) seeds.push(pick);
    }
    const strength = 0.35 + rand() * 0.9;
    const recedeFrom = start + 45 + Math.floor(rand() * 20);
    const hops = hopDistances(communes, seeds);
    const plan = communes.map((c) => {
      const h = hops.get(c.code);
      const reached = h !== undefined && rand() < 0.95 - 0.06 * h;
      const arrival = h === undefined ? Infinity : start + 3 + h * 6 + Math.floor(rand() * 5);
      const peakPer100k = reached ? strength * Math.exp(Math.log(2) + rand() * Math.log(40)) : 0;
      return { arrival: reached ? arrival : Infinity, peakPer100k };
    });
    waves.push({ start, recedeFrom, seeds, plan });
    previous = seeds;
  }
}

/** Expected cases of one commune on day t from a wave that reached it on `arrival`: gamma-shaped, peaking 12 days after. */
function waveCases(population: number, w: CommuneWave, t: number): number {
  if (t < w.arrival) return 0;
  const x = (t - w.arrival) / 12;
  return ((w.peakPer100k * population) / 100_000) * Math.pow(x, 2) * Math.exp(2 * (1 - x));
}
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

export function generateDemoSeries(communesIn: DemoCommune[], opts: DemoOptions): DemoSeries {
  const days = opts.days ?? 90;
  const rand = prng(opts.seed ?? 20210701);
  const communes = [...communesIn].sort((a, b) => a.code.localeCompare(b.code));
  const start = addDays(opts.end, -(days - 1));

  // Seeds: the most populous commune and two more among the twenty most populous.
  const byPop = [...communes].sort((a, b) => b.population - a.population || a.code.localeCompare(b.code));
  const top = byPop.slice(0, 20);
  const seeds = [top[0] as DemoCommune];
  while (seeds.length < Math.min(3, top.length)) {
    const pick = top[Math.floor(rand() * top.length)] as DemoCommune;
    if (!seeds.includes(pick)) seeds.push(pick);
  }
  const hops = hopDistances(communes, seeds.map((s) => s.code));
  const later = laterWaves(communes, days, opts.seed ?? 20210701, seeds.map((s) => s.code));

  // Each commune: when the wave arrives, how hard it hits (peak cases per 100k per day).
  const plan = communes.map((c) => {
    const h = hops.get(c.code);
    const reached = h !== undefined && rand() < 0.97 - 0.07 * h;
    const arrival = h === undefined ? Infinity : 3 + h * 7 + Math.floor(rand() * 5);
    const peakPer100k = reached ? Math.exp(Math.log(2) + rand() * Math.log(40)) : 0; // 2–80 per 100k per day
    return { c, arrival: reached ? arrival : Infinity, peakPer100k };
  });

  const reports: ReportRow[] = [];
  const districtCases = new Map<string, number[]>();
  const districtPop = new Map<string, number>();
  for (const { c } of plan) districtPop.set(c.district, (districtPop.get(c.district) ?? 0) + c.population);
  const laterPlans = later.map((w) => ({ w, byCode: new Map(communes.map((c, i) => [c.code, w.plan[i] as CommuneWave])) }));

  for (let t = 0; t < days; t++) {
    const date = addDays(start, t);
    // Restrictions bite after day 55: transmission everywhere recedes.
    const recession = t > 55 ? Math.exp(-(t - 55) / 9) : 1;
    const communityShare = clamp(0.65 - t * 0.004, 0.3, 0.65); // tracing improves over time
    for (const { c, arrival, peakPer100k } of plan) {
      let lambda = 0;
      if (t >= arrival) {
        const x = (t - arrival) / 12; // gamma-shaped local epidemic peaking 12 days after arrival
        lambda = (peakPer100k * c.population) / 100_000 * Math.pow(x, 2) * Math.exp(2 * (1 - x)) * recession;
      }
      // the later waves, each receding under its own restrictions (none before day 120)
      for (const { w, byCode } of laterPlans) {
        if (t < w.start) continue;
        const cases = waveCases(c.population, byCode.get(c.code) as CommuneWave, t);
        if (cases > 0) lambda += cases * (t > w.recedeFrom ? Math.exp(-(t - w.recedeFrom) / 9) : 1);
      }
      const community = poisson(lambda * communityShare, rand);
      const quarantine = poisson(lambda * (1 - communityShare), rand);
      const deaths = poisson((community + quarantine) * 0.008, rand);
      reports.push({ area: c.code, date, community_cases: community, quarantine_cases: quarantine, deaths, source: 'synthetic-demo' });
      const series = districtCases.get(c.district) ?? new Array<number>(days).fill(0);
      series[t] = (series[t] ?? 0) + community + quarantine;
      districtCases.set(c.district, series);
    }
  }

  // District indicators, weekly (as provinces reported them), plus a few days of lag noise.
  const metrics: MetricRow[] = [];
  const districts = [...districtPop.keys()].sort();
  const offsets = new Map(districts.map((d) => [d, { vax: rand() * 14 - 9, lag: Math.floor(rand() * 8) }]));
  // the first weekly round falls on or before the first demo day (t ≤ 0), so that every day has a fresh value
  const anchor = daysBetween(start, opts.weeklyOn ?? opts.end);
  const lastRound = days - 1 - ((((days - 1 - anchor) % 7) + 7) % 7);
  for (let t = lastRound; t > -7; t -= 7) {
    const date = addDays(start, t);
    for (const d of districts) {
      const o = offsets.get(d) as { vax: number; lag: number };
      const s = t - o.lag;
      const dose1 = clamp(22 + 75 / (1 + Math.exp(-(s - 40) / 9)) + o.vax, 0, 99.5);
      const full = clamp(8 + 80 / (1 + Math.exp(-(s - 62) / 10)) + o.vax, 0, dose1);
      const elderly = clamp(full - 6 + o.vax / 2, 0, 100);
      const series = districtCases.get(d) as number[];
      const week = t < 0 ? 0 : series.slice(Math.max(0, t - 6), t + 1).reduce((a, b) => a + b, 0);
      const per100k = (week * 100_000) / (districtPop.get(d) as number);
      metrics.push(
        { area: d, date, name: 'vaccination_18plus_1dose_pct', value: round1(dose1) },
        { area: d, date, name: 'vaccination_18plus_full_pct', value: round1(full) },
        { area: d, date, name: 'vaccination_65plus_full_pct', value: round1(elderly) },
        { area: d, date, name: 'treatment_capacity_ok', value: per100k > 250 ? 0 : 1 },
        { area: d, date, name: 'test_positivity_pct', value: round1(clamp(0.8 + per100k / 25, 0, 40)) },
        { area: d, date, name: 'tests_per_100k_week', value: Math.round(450 + per100k * 4) },
      );
    }
  }
  return { reports, metrics, seeds: [...seeds.map((s) => s.code), ...later.flatMap((w) => w.seeds)] };
}
