import fs from 'node:fs';
import path from 'node:path';
import { Knex } from 'knex';
import type { MultiPolygon } from 'geojson';
import { addDays, daysBetween, LocalDate } from '../src/domain/dates';
import type { MetricRow, ReportRow } from '../src/ingest/rows';
import { AREA_CODE_RE } from '../src/domain/areas';
import type { AreaInput } from '../src/geo/features';
import type { NewArea, ReorganisationPlan } from '../src/db/reorganisations';
import { seedsDir } from '../src/paths';
import { unionGeometries } from './dong-nai';

/**
 * Đồng Nai on the map of 1 July 2025: the day Vietnam abolished districts and merged its
 * communes. The 171 communes of the demo (seeds/dong-nai-communes.geojson) become 55, each
 * directly under the province (VNM.17_1); the 11 districts end on 30 June 2025.
 *
 * The lineage is seeds/dong-nai-2025-lineage.csv (see dong-nai-communes.README.md): one row
 * per old commune and new commune it went to. Every old commune goes whole to one new
 * commune, except Xã Nam Cát Tiên (VNM.17.7.2_1), split between 4375 Xã Tà Lài and 4631 Xã
 * Nam Cát Tiên. No share of that split is published and there is no boundary to cut its
 * polygon with, so (a decision of this demo, not a fact):
 * - its polygon goes whole to its namesake, Xã Nam Cát Tiên (Tà Lài is the union of its
 *   other parts);
 * - its population, and its cases after the date, are shared 50/50 (shares 0.5 and 0.5 in
 *   the lineage): the namesake takes the remainder of an odd count, the other successor the
 *   floor of half (see `splitCount`), so that no person or case is lost or counted twice.
 *
 * New communes are coded `DN2025.<new_id>` (the CSV's new_id, the GSO code of the new unit).
 */
export const REORGANISATION_DATE = '2025-07-01' as LocalDate;
export const DONG_NAI_PROVINCE = 'VNM.17_1';
export const LINEAGE_FILE = path.join(seedsDir, 'dong-nai-2025-lineage.csv');

export const NEW_COMMUNE_PREFIX = 'DN2025.';
export function newCommuneCode(newId: string | number): string {
  const code = `${NEW_COMMUNE_PREFIX}${newId}`;
  if (!/^\d+$/.test(String(newId)) || !AREA_CODE_RE.test(code)) throw new Error(`dong-nai-2025: not a new commune id: ${String(newId)}`);
  return code;
}

export type LineageRow = { old_code: string; old_name: string; old_district: string; new_id: string; new_name: string; matched_by: string; note: string };
const COLUMNS = ['old_code', 'old_name', 'old_district', 'new_id', 'new_name', 'matched_by', 'note'] as const;

/**
 * The lineage CSV. It has no quoted fields (no name holds a comma), so a plain split does;
 * a quote, a wrong header or a row of another width is refused rather than misread.
 */
export function parseLineageCsv(text: string): LineageRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim());
  if (header.join(',') !== COLUMNS.join(',')) throw new Error(`dong-nai-2025 lineage: expected header ${COLUMNS.join(',')}, got ${header.join(',')}`);
  return lines.map((line, i) => {
    if (line.includes('"')) throw new Error(`dong-nai-2025 lineage line ${i + 2}: quoted fields are not supported`);
    const f = line.split(',').map((x) => x.trim());
    if (f.length !== COLUMNS.length) throw new Error(`dong-nai-2025 lineage line ${i + 2}: ${f.length} fields, expected ${COLUMNS.length}`);
    const row = Object.fromEntries(COLUMNS.map((c, j) => [c, f[j] as string])) as LineageRow;
    if (!AREA_CODE_RE.test(row.old_code)) throw new Error(`dong-nai-2025 lineage line ${i + 2}: bad old_code ${row.old_code}`);
    newCommuneCode(row.new_id);
    return row;
  });
}

export function readLineage(file = LINEAGE_FILE): LineageRow[] {
  return parseLineageCsv(fs.readFileSync(file, 'utf8'));
}

/** Where an old commune went: each successor with the share of it that successor took (1: all of it). */
export type Successor = { code: string; share: number };
/** A new commune and its parts: share null for a whole old commune (the lineage's convention), else the part taken. */
export type NewCommune = { code: string; id: string; name: string; parts: { code: string; share: number | null }[] };
/**
 * `namesake`: for an old commune split between several successors, the one that keeps its
 * name (and its polygon, and the remainder of a split count).
 */
export type DongNai2025Mapping = { successors: Map<string, Successor[]>; namesake: Map<string, string>; communes: NewCommune[] };

/** The type prefix dropped: "Xã Nam Cát Tiên" and "Phường Nam Cát Tiên" share a namesake. */
const bareName = (name: string) => name.replace(/^(Xã|Phường|Thị trấn)\s+/u, '').normalize('NFC').toLowerCase();

/**
 * The pure mapping of the lineage: old code → [{new code, share}], and the 55 new communes
 * with their parts, sorted by code. A commune split among k successors gives each 1/k (no
 * share is published: the demo assumes equal parts).
 */
export function dongNai2025Mapping(rows: LineageRow[] = readLineage()): DongNai2025Mapping {
  const byOld = new Map<string, LineageRow[]>();
  for (const r of rows) byOld.set(r.old_code, [...(byOld.get(r.old_code) ?? []), r]);
  const successors = new Map<string, Successor[]>();
  const namesake = new Map<string, string>();
  const communes = new Map<string, NewCommune>();
  for (const [old, rs] of [...byOld].sort(([a], [b]) => a.localeCompare(b))) {
    const codes = [...new Set(rs.map((r) => newCommuneCode(r.new_id)))];
    if (codes.length !== rs.length) throw new Error(`dong-nai-2025 lineage: ${old} goes to the same new commune twice`);
    const share = 1 / rs.length;
    successors.set(old, rs.map((r) => ({ code: newCommuneCode(r.new_id), share })));
    if (rs.length > 1) {
      const same = rs.filter((r) => bareName(r.new_name) === bareName(r.old_name));
      if (same.length !== 1) throw new Error(`dong-nai-2025 lineage: ${old} is split but not one successor keeps its name`);
      namesake.set(old, newCommuneCode((same[0] as LineageRow).new_id));
    }
    for (const r of rs) {
      const code = newCommuneCode(r.new_id);
      const c = communes.get(code) ?? { code, id: r.new_id, name: r.new_name, parts: [] };
      if (c.name !== r.new_name) throw new Error(`dong-nai-2025 lineage: new commune ${r.new_id} is named both ${c.name} and ${r.new_name}`);
      c.parts.push({ code: old, share: rs.length > 1 ? share : null });
      communes.set(code, c);
    }
  }
  return { successors, namesake, communes: [...communes.values()].sort((a, b) => a.code.localeCompare(b.code)) };
}

/**
 * A count of an old commune (population, cases) shared among its successors, whole numbers
 * adding up to `n`: each successor but the namesake takes the floor of its share, the
 * namesake the remainder (Nam Cát Tiên: floor(n/2) to Tà Lài, the rest to Nam Cát Tiên).
 * An old commune that went whole to one successor gives it all of `n`.
 */
export function splitCount(n: number, oldCode: string, mapping: DongNai2025Mapping): Map<string, number> {
  const succ = mapping.successors.get(oldCode);
  if (!succ) throw new Error(`dong-nai-2025: ${oldCode} is not in the lineage`);
  if (succ.length === 1) return new Map([[(succ[0] as Successor).code, n]]);
  const keeper = mapping.namesake.get(oldCode) as string;
  const out = new Map<string, number>();
  let given = 0;
  for (const s of succ) {
    if (s.code === keeper) continue;
    const part = Math.floor(n * s.share);
    out.set(s.code, part);
    given += part;
  }
  out.set(keeper, n - given);
  return out;
}

/** The population of every new commune: the sum of its parts, a split one shared by `splitCount`. */
export function newCommunePopulations(oldCommunes: Pick<AreaInput, 'code' | 'population'>[], mapping: DongNai2025Mapping): Map<string, number> {
  const pop = new Map<string, number>(mapping.communes.map((c) => [c.code, 0]));
  for (const o of oldCommunes) {
    for (const [code, n] of splitCount(o.population ?? 0, o.code, mapping)) pop.set(code, (pop.get(code) ?? 0) + n);
  }
  return pop;
}

export type Union = (geometries: MultiPolygon[]) => Promise<MultiPolygon>;

/**
 * The reorganisation plan, with the geometry union given (the database's, in
 * `dongNai2025Plan`; tests pass their own). `oldAreas`: the areas of dongNaiAreas (the
 * province and districts are left out by kind): every commune there must be in the lineage
 * and every lineage row must name one of them.
 */
export async function buildDongNai2025Plan(oldAreas: AreaInput[], union: Union, mapping = dongNai2025Mapping()): Promise<ReorganisationPlan> {
  const oldCommunes = oldAreas.filter((a) => a.kind === 'commune');
  const byCode = new Map(oldCommunes.map((c) => [c.code, c]));
  const missing = oldCommunes.filter((c) => !mapping.successors.has(c.code)).map((c) => c.code);
  const unknown = [...mapping.successors.keys()].filter((c) => !byCode.has(c));
  if (missing.length || unknown.length) {
    throw new Error(`dong-nai-2025: communes not in the lineage: ${missing.join(', ') || 'none'}; lineage rows for unknown communes: ${unknown.join(', ') || 'none'}`);
  }
  const districts = [...new Set(oldCommunes.map((c) => c.parent).filter((p): p is string => p !== null && p !== DONG_NAI_PROVINCE))].sort();
  const population = newCommunePopulations(oldCommunes, mapping);
  const areas: NewArea[] = [];
  for (const n of mapping.communes) {
    // a split commune's polygon goes whole to its namesake; the other successors do without it
    const shapes = n.parts.filter((p) => p.share === null || mapping.namesake.get(p.code) === n.code).map((p) => (byCode.get(p.code) as AreaInput).geometry);
    if (shapes.length === 0) throw new Error(`dong-nai-2025: ${n.code} ${n.name} would have no territory`);
    areas.push({
      code: n.code,
      name: n.name,
      kind: 'commune',
      parent: DONG_NAI_PROVINCE,
      population: population.get(n.code) ?? 0,
      geometry: await union(shapes),
      predecessors: n.parts.map((p) => ({ code: p.code, share: p.share })),
      newTerritory: false,
    });
  }
  return {
    effective_date: REORGANISATION_DATE,
    retire: [...oldCommunes.map((c) => c.code).sort(), ...districts],
    areas,
    reparent: [],
    recompute: false,
    note:
      'Đồng Nai, 1 July 2025: districts abolished, 171 communes merged into 55 (seeds/dong-nai-2025-lineage.csv). ' +
      'Xã Nam Cát Tiên (VNM.17.7.2_1) is split between Xã Tà Lài and Xã Nam Cát Tiên: its polygon goes whole to Xã Nam Cát Tiên, ' +
      'its population and cases are shared 50/50 (estimated; no share is published).',
  };
}

/** The plan of 1 July 2025 for the demo's old areas, new boundaries as the union of their parts (PostGIS). */
export function dongNai2025Plan(knex: Knex, oldAreas: AreaInput[], mapping = dongNai2025Mapping()): Promise<ReorganisationPlan> {
  return buildDongNai2025Plan(oldAreas, (gs) => unionGeometries(knex, gs), mapping);
}

/**
 * Reports of the old communes dated on or after the reorganisation, summed onto the new
 * communes; a split commune's counts shared by `splitCount` (Nam Cát Tiên: floor of half to
 * Xã Tà Lài, the remainder to Xã Nam Cát Tiên). Pure.
 */
export function reportsOnNewMap(reports: ReportRow[], mapping: DongNai2025Mapping): ReportRow[] {
  const out = new Map<string, ReportRow>();
  const key = (area: string, date: string) => `${date}|${area}`;
  for (const r of reports) {
    if (r.date < REORGANISATION_DATE) continue;
    const parts = [splitCount(r.community_cases, r.area, mapping), splitCount(r.quarantine_cases, r.area, mapping), splitCount(r.deaths ?? 0, r.area, mapping)];
    for (const code of (parts[0] as Map<string, number>).keys()) {
      const row = out.get(key(code, r.date)) ?? { area: code, date: r.date, community_cases: 0, quarantine_cases: 0, deaths: 0, source: r.source ?? 'synthetic-demo' };
      row.community_cases += (parts[0] as Map<string, number>).get(code) as number;
      row.quarantine_cases += (parts[1] as Map<string, number>).get(code) as number;
      row.deaths = (row.deaths ?? 0) + ((parts[2] as Map<string, number>).get(code) as number);
      out.set(key(code, r.date), row);
    }
  }
  return [...out.values()].sort((a, b) => a.date.localeCompare(b.date) || a.area.localeCompare(b.area));
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Indicators of the new communes from the districts' (the generator's weekly rounds on or
 * after the reorganisation): each new commune's value is the mean of its parts' district
 * values weighted by the population each part brought (a split part by its share). Rounded
 * as the generator rounds (percentages to 0.1, tests per 100k to a whole number);
 * treatment_capacity_ok, a yes/no, is 1 when parts holding at least half the population had
 * capacity. Pure.
 */
export function metricsOnNewMap(
  districtMetrics: MetricRow[],
  oldCommunes: { code: string; district: string; population: number }[],
  mapping: DongNai2025Mapping,
): MetricRow[] {
  const value = new Map(districtMetrics.filter((m) => m.date >= REORGANISATION_DATE).map((m) => [`${m.date}|${m.area}|${m.name}`, m.value]));
  const rounds = [...new Set(districtMetrics.filter((m) => m.date >= REORGANISATION_DATE).map((m) => `${m.date}|${m.name}`))].sort();
  const byCode = new Map(oldCommunes.map((c) => [c.code, c]));
  const out: MetricRow[] = [];
  for (const round of rounds) {
    const [date, name] = round.split('|') as [LocalDate, string];
    for (const n of mapping.communes) {
      let weight = 0;
      let sum = 0;
      for (const p of n.parts) {
        const c = byCode.get(p.code);
        const v = c ? value.get(`${date}|${c.district}|${name}`) : undefined;
        if (!c || v === undefined) continue;
        const w = c.population * (p.share ?? 1);
        weight += w;
        sum += w * v;
      }
      if (weight <= 0) continue;
      const mean = sum / weight;
      const v = name === 'treatment_capacity_ok' ? (mean >= 0.5 ? 1 : 0) : name.endsWith('_pct') ? round1(mean) : Math.round(mean);
      out.push({ area: n.code, date, name, value: v });
    }
  }
  return out;
}

/** The first day of a demo crossing the reorganisation, unless `days` is given: 1 May 2025 (two months of the old map), or 90 days back if that is earlier. */
export const DEMO_2025_START = '2025-05-01' as LocalDate;

/** The days of a demo ending on `end` (on or after 1 July 2025). */
export function demo2025Days(end: LocalDate, days?: number): number {
  if (days !== undefined) return days;
  const start = [DEMO_2025_START, addDays(end, -89)].sort()[0] as LocalDate;
  return daysBetween(start, end) + 1;
}
