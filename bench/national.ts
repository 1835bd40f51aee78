import { randomPoint, voronoi } from '@turf/turf';
import type { Feature, Polygon, Position } from 'geojson';
import { prng } from '../seeds/demo-series';
import type { AreaInput } from '../src/geo/features';
import { addDays, LocalDate } from '../src/domain/dates';

/**
 * A synthetic national data set for benchmarks, generated deterministically: communes as
 * Voronoi cells over the country's extent whose edges are bent into gentle arcs of 15–150
 * points each (so cells have ~100–1,000 vertices and neighbours still share every border
 * exactly), grouped into districts and provinces; populations from 1,000 to 150,000; a
 * year of daily reports with waves moving through the provinces; weekly district
 * indicators.
 */
export type NationalOptions = { communes: number; districts: number; provinces: number; days: number; end: LocalDate; seed?: number };

export type NationalSet = {
  communes: AreaInput[];
  /** Districts and provinces without geometry: the bench unions their children in PostGIS. */
  parents: { code: string; name: string; kind: 'district' | 'province'; parent: string | null; children: string[] }[];
  population: Map<string, number>;
  districtOf: Map<string, string>;
  provinceOf: Map<string, string>;
};

const BBOX: [number, number, number, number] = [102.2, 8.6, 109.4, 23.3];

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The points strictly between p and q on a shallow arc; the same for both cells sharing the edge. */
function bentEdge(p: Position, q: Position): Position[] {
  const kp = `${p[0]},${p[1]}`;
  const kq = `${q[0]},${q[1]}`;
  const forward = kp < kq;
  const [a, b] = forward ? [p, q] : [q, p];
  const rand = prng(hashString(forward ? `${kp}|${kq}` : `${kq}|${kp}`));
  const k = 15 + Math.floor(rand() * 136);
  const bulge = (rand() - 0.5) * 0.08; // at most 4 % of the edge length, either side
  const [ax, ay] = a as [number, number];
  const [bx, by] = b as [number, number];
  const dx = bx - ax;
  const dy = by - ay;
  const pts: Position[] = [];
  for (let j = 1; j <= k; j++) {
    const t = j / (k + 1);
    const off = bulge * Math.sin(Math.PI * t);
    pts.push([+(ax + dx * t - dy * off).toFixed(6), +(ay + dy * t + dx * off).toFixed(6)]);
  }
  return forward ? pts : pts.reverse();
}

function bend(ring: Position[]): Position[] {
  const out: Position[] = [];
  for (let i = 0; i < ring.length - 1; i++) {
    const p = ring[i] as Position;
    out.push([+(p[0] as number).toFixed(6), +(p[1] as number).toFixed(6)], ...bentEdge(p, ring[i + 1] as Position));
  }
  out.push(out[0] as Position);
  return out;
}

function nearest(p: Position, seeds: Position[]): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < seeds.length; i++) {
    const s = seeds[i] as Position;
    const d = ((s[0] as number) - (p[0] as number)) ** 2 + ((s[1] as number) - (p[1] as number)) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

export function generateNational(o: NationalOptions): NationalSet {
  const rand = prng(o.seed ?? 7);
  // turf's random points use Math.random: draw our own for determinism
  const points = randomPoint(o.communes, { bbox: BBOX });
  points.features.forEach((f) => {
    f.geometry.coordinates = [BBOX[0] + rand() * (BBOX[2] - BBOX[0]), BBOX[1] + rand() * (BBOX[3] - BBOX[1])];
  });
  const cells = voronoi(points, { bbox: BBOX }).features as Feature<Polygon>[];
  const provinceSeeds: Position[] = Array.from({ length: o.provinces }, () => [BBOX[0] + rand() * (BBOX[2] - BBOX[0]), BBOX[1] + rand() * (BBOX[3] - BBOX[1])]);
  const districtSeeds: Position[] = Array.from({ length: o.districts }, () => [BBOX[0] + rand() * (BBOX[2] - BBOX[0]), BBOX[1] + rand() * (BBOX[3] - BBOX[1])]);
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  const districtCode = (d: number) => `P${pad(nearest(districtSeeds[d] as Position, provinceSeeds) + 1, 2)}.D${pad(d + 1, 3)}`;

  const communes: AreaInput[] = [];
  const population = new Map<string, number>();
  const districtOf = new Map<string, string>();
  const provinceOf = new Map<string, string>();
  const children = new Map<string, string[]>();
  cells.forEach((cell, i) => {
    if (!cell) return;
    const seed = points.features[i]?.geometry.coordinates as Position;
    const d = nearest(seed, districtSeeds);
    const dc = districtCode(d);
    const code = `${dc}.C${pad(i + 1, 5)}`;
    const pop = Math.round(1000 * Math.exp(rand() * Math.log(150)));
    communes.push({ code, name: `Xã ${i + 1}`, kind: 'commune', parent: null, population: pop, geometry: { type: 'MultiPolygon', coordinates: [[bend(cell.geometry.coordinates[0] as Position[])]] } });
    population.set(code, pop);
    districtOf.set(code, dc);
    provinceOf.set(code, dc.split('.')[0] as string);
    children.set(dc, [...(children.get(dc) ?? []), code]);
  });
  const parents: NationalSet['parents'] = [];
  const provinces = new Map<string, string[]>();
  for (const [dc, kids] of children) {
    const pc = dc.split('.')[0] as string;
    parents.push({ code: dc, name: `Huyện ${dc}`, kind: 'district', parent: pc, children: kids });
    provinces.set(pc, [...(provinces.get(pc) ?? []), dc]);
  }
  for (const [pc, kids] of provinces) parents.push({ code: pc, name: `Tỉnh ${pc}`, kind: 'province', parent: null, children: kids });
  return { communes, parents, population, districtOf, provinceOf };
}

/** Daily report CSV lines (without header), date-major, for `days` days ending `end`. */
export function* nationalReports(set: NationalSet, o: NationalOptions): Generator<string> {
  const rand = prng((o.seed ?? 7) + 1);
  const start = addDays(o.end, -(o.days - 1));
  // each province: one or two waves, a start day, a peak height per 100k per day
  const waves = new Map<string, { start: number; height: number }[]>();
  for (const pc of new Set(set.provinceOf.values())) {
    const n = 1 + Math.floor(rand() * 2);
    waves.set(pc, Array.from({ length: n }, () => ({ start: Math.floor(rand() * o.days), height: 1 + rand() * 60 })));
  }
  const codes = set.communes.map((c) => c.code);
  const local = new Map(codes.map((c) => [c, 0.2 + rand() * 1.6]));
  for (let t = 0; t < o.days; t++) {
    const date = addDays(start, t);
    let chunk = '';
    for (const code of codes) {
      const pop = set.population.get(code) as number;
      let perDay = 0;
      for (const w of waves.get(set.provinceOf.get(code) as string) ?? []) {
        const x = (t - w.start) / 20;
        if (x > 0) perDay += w.height * x * x * Math.exp(2 * (1 - x));
      }
      const lambda = (perDay * (local.get(code) as number) * pop) / 100_000;
      // cheap deterministic draw: the mean, plus noise
      const cases = Math.max(0, Math.round(lambda + (rand() - 0.5) * 2 * Math.sqrt(lambda)));
      const community = Math.round(cases * 0.6);
      chunk += `${code},${date},${community},${cases - community},0,bench\n`;
    }
    yield chunk;
  }
}

/** Weekly district indicators, CSV lines (without header). */
export function nationalMetrics(set: NationalSet, o: NationalOptions): string {
  const rand = prng((o.seed ?? 7) + 2);
  const start = addDays(o.end, -(o.days - 1));
  let out = '';
  const districts = set.parents.filter((p) => p.kind === 'district').map((p) => p.code);
  const offset = new Map(districts.map((d) => [d, rand() * 20 - 10]));
  for (let t = 0; t < o.days; t += 7) {
    const date = addDays(start, t);
    for (const d of districts) {
      const base = Math.min(99, Math.max(0, 20 + 75 / (1 + Math.exp(-(t - o.days / 3) / 20)) + (offset.get(d) as number)));
      out += `${d},${date},vaccination_18plus_1dose_pct,${base.toFixed(1)}\n`;
      out += `${d},${date},vaccination_65plus_full_pct,${Math.max(0, base - 12).toFixed(1)}\n`;
      out += `${d},${date},treatment_capacity_ok,${rand() < 0.9 ? 1 : 0}\n`;
    }
  }
  return out;
}
