import type { MultiPolygon } from 'geojson';
import {
  buildDongNai2025Plan,
  demo2025Days,
  dongNai2025Mapping,
  metricsOnNewMap,
  newCommuneCode,
  parseLineageCsv,
  readLineage,
  REORGANISATION_DATE,
  reportsOnNewMap,
  splitCount,
} from '../../seeds/dong-nai-2025';
import { readCommunes } from '../../seeds/dong-nai';
import { generateDemoSeries, DemoCommune } from '../../seeds/demo-series';
import { AREA_CODE_RE, gadmParentCode } from '../../src/domain/areas';
import type { AreaInput } from '../../src/geo/features';
import type { LocalDate } from '../../src/domain/dates';
import type { MetricRow, ReportRow } from '../../src/ingest/rows';

const NAM_CAT_TIEN = 'VNM.17.7.2_1';
const TA_LAI = 'DN2025.4375';
const NAM_CAT_TIEN_NEW = 'DN2025.4631';

/** The old communes as dongNaiAreas gives them, without the database (districts and province left out: the plan takes them from the parents). */
function oldCommunes(): AreaInput[] {
  return readCommunes().map((f) => ({
    code: f.properties.code,
    name: f.properties.name,
    kind: 'commune',
    parent: gadmParentCode(f.properties.code),
    population: f.properties.population,
    geometry: (f.geometry.type === 'Polygon' ? { type: 'MultiPolygon', coordinates: [f.geometry.coordinates] } : f.geometry) as MultiPolygon,
  }));
}

/** A stand-in for the PostGIS union: the parts' polygons side by side. */
const collect = async (gs: MultiPolygon[]): Promise<MultiPolygon> => ({ type: 'MultiPolygon', coordinates: gs.flatMap((g) => g.coordinates) });

describe('Đồng Nai 2025 lineage', () => {
  const rows = readLineage();
  const mapping = dongNai2025Mapping(rows);

  test('the CSV: 172 rows, 171 old communes, 55 new communes, no quoted fields', () => {
    expect(rows).toHaveLength(172);
    expect(new Set(rows.map((r) => r.old_code)).size).toBe(171);
    expect(new Set(rows.map((r) => r.new_id)).size).toBe(55);
    expect(mapping.communes).toHaveLength(55);
  });

  test('the parse refuses what it would misread', () => {
    const header = 'old_code,old_name,old_district,new_id,new_name,matched_by,note';
    expect(parseLineageCsv(`${header}\r\nVNM.1.1_1,A,B,7,C,name,\r\n`)).toEqual([{ old_code: 'VNM.1.1_1', old_name: 'A', old_district: 'B', new_id: '7', new_name: 'C', matched_by: 'name', note: '' }]);
    expect(() => parseLineageCsv(`${header}\nVNM.1.1_1,"A, B",B,7,C,name,\n`)).toThrow(/quoted/);
    expect(() => parseLineageCsv(`${header}\nVNM.1.1_1,A,B,7,C,name\n`)).toThrow(/6 fields/);
    expect(() => parseLineageCsv(`old_code,new_id\nVNM.1.1_1,7\n`)).toThrow(/header/);
    expect(() => parseLineageCsv(`${header}\nVNM.1.1_1,A,B,x7,C,name,\n`)).toThrow(/new commune id/);
  });

  test('new commune codes are DN2025.<new_id> and valid area codes', () => {
    expect(newCommuneCode(4375)).toBe('DN2025.4375');
    for (const c of mapping.communes) {
      expect(c.code).toMatch(/^DN2025\.\d+$/);
      expect(AREA_CODE_RE.test(c.code)).toBe(true);
      expect(c.code).toBe(`DN2025.${c.id}`);
    }
  });

  test("every old commune's shares add up to 1", () => {
    expect(mapping.successors.size).toBe(171);
    for (const [, succ] of mapping.successors) expect(succ.reduce((s, x) => s + x.share, 0)).toBeCloseTo(1, 10);
    // and the new communes' parts say the same: null for a whole commune
    const taken = new Map<string, number>();
    for (const c of mapping.communes) for (const p of c.parts) taken.set(p.code, (taken.get(p.code) ?? 0) + (p.share ?? 1));
    expect(taken.size).toBe(171);
    for (const [, share] of taken) expect(share).toBeCloseTo(1, 10);
  });

  test('Xã Nam Cát Tiên is split 50/50 between Xã Tà Lài and Xã Nam Cát Tiên, its namesake', () => {
    expect(mapping.successors.get(NAM_CAT_TIEN)).toEqual([
      { code: TA_LAI, share: 0.5 },
      { code: NAM_CAT_TIEN_NEW, share: 0.5 },
    ]);
    expect(mapping.namesake.get(NAM_CAT_TIEN)).toBe(NAM_CAT_TIEN_NEW);
    expect([...mapping.namesake.keys()]).toEqual([NAM_CAT_TIEN]); // the only split
    const taLai = mapping.communes.find((c) => c.code === TA_LAI);
    const namCatTien = mapping.communes.find((c) => c.code === NAM_CAT_TIEN_NEW);
    expect(taLai?.name).toBe('Xã Tà Lài');
    expect(namCatTien?.name).toBe('Xã Nam Cát Tiên');
    expect(taLai?.parts).toContainEqual({ code: NAM_CAT_TIEN, share: 0.5 });
    expect(namCatTien?.parts).toContainEqual({ code: NAM_CAT_TIEN, share: 0.5 });
    expect(splitCount(7, NAM_CAT_TIEN, mapping)).toEqual(new Map([[TA_LAI, 3], [NAM_CAT_TIEN_NEW, 4]]));
    expect(splitCount(0, NAM_CAT_TIEN, mapping)).toEqual(new Map([[TA_LAI, 0], [NAM_CAT_TIEN_NEW, 0]]));
    expect(splitCount(5, 'VNM.17.1.10_1', mapping)).toEqual(new Map([['DN2025.15895', 5]]));
    expect(() => splitCount(1, 'VNM.99.1_1', mapping)).toThrow(/not in the lineage/);
  });
});

describe('Đồng Nai 2025 reorganisation plan', () => {
  const mapping = dongNai2025Mapping();
  const old = oldCommunes();
  let plan: Awaited<ReturnType<typeof buildDongNai2025Plan>>;
  beforeAll(async () => {
    plan = await buildDongNai2025Plan(old, collect, mapping);
  });

  test('retires the 171 old communes and the 11 districts on 1 July 2025, creates 55 communes under the province', () => {
    expect(plan.effective_date).toBe(REORGANISATION_DATE);
    expect(REORGANISATION_DATE).toBe('2025-07-01');
    expect(plan.retire).toHaveLength(182);
    expect(new Set(plan.retire).size).toBe(182);
    expect(plan.retire.filter((c) => c.split('.').length === 4)).toHaveLength(171);
    expect(plan.retire.filter((c) => c.split('.').length === 3).sort()).toEqual([...new Set(old.map((c) => c.parent as string))].sort());
    expect(plan.retire).not.toContain('VNM.17_1');
    expect(plan.areas).toHaveLength(55);
    expect(plan.reparent).toEqual([]);
    for (const a of plan.areas) {
      expect(a).toMatchObject({ kind: 'commune', parent: 'VNM.17_1', newTerritory: false });
      expect(a.predecessors.length).toBeGreaterThan(0);
    }
  });

  test('population: the sum of the parts, the split commune shared floor/remainder, the province total kept', () => {
    const pop = new Map(old.map((c) => [c.code, c.population as number]));
    const total = plan.areas.reduce((s, a) => s + (a.population as number), 0);
    expect(total).toBe(3_097_107);
    const split = pop.get(NAM_CAT_TIEN) as number;
    for (const a of plan.areas) {
      const whole = a.predecessors.filter((p) => p.share === null).reduce((s, p) => s + (pop.get(p.code) as number), 0);
      const extra = a.code === TA_LAI ? Math.floor(split / 2) : a.code === NAM_CAT_TIEN_NEW ? split - Math.floor(split / 2) : 0;
      expect(a.population).toBe(whole + extra);
      expect(Number.isInteger(a.population)).toBe(true);
    }
  });

  test("geometry: the union of the parts; the split commune's polygon goes whole to its namesake", () => {
    const geom = new Map(old.map((c) => [c.code, c.geometry]));
    const ncl = (geom.get(NAM_CAT_TIEN) as MultiPolygon).coordinates[0];
    const taLai = plan.areas.find((a) => a.code === TA_LAI) as AreaInput;
    const namCatTien = plan.areas.find((a) => a.code === NAM_CAT_TIEN_NEW) as AreaInput;
    expect(namCatTien.geometry.coordinates).toContainEqual(ncl);
    expect(taLai.geometry.coordinates).not.toContainEqual(ncl);
    // every other old polygon goes to exactly one new commune
    const owners = new Map<string, number>();
    for (const a of plan.areas) for (const p of a.geometry.coordinates) owners.set(JSON.stringify(p), (owners.get(JSON.stringify(p)) ?? 0) + 1);
    expect(owners.size).toBe(171);
    expect([...owners.values()].every((n) => n === 1)).toBe(true);
  });

  test('refuses old communes that the lineage does not know, and lineage rows for communes that are not there', async () => {
    await expect(buildDongNai2025Plan(old.slice(1), collect, mapping)).rejects.toThrow(/unknown communes: VNM/);
    const extra: AreaInput = { ...(old[0] as AreaInput), code: 'VNM.17.1.99_1' };
    await expect(buildDongNai2025Plan([...old, extra], collect, mapping)).rejects.toThrow(/not in the lineage: VNM.17.1.99_1/);
  });
});

describe('Đồng Nai 2025 facts on the new map', () => {
  const mapping = dongNai2025Mapping();
  const d = (s: string) => s as LocalDate;

  test('reports on or after the date are summed onto the new communes; the split ones shared floor/remainder', () => {
    const rows: ReportRow[] = [
      { area: 'VNM.17.1.14_1', date: d('2025-06-30'), community_cases: 50, quarantine_cases: 0, deaths: 0, source: 'synthetic-demo' },
      { area: 'VNM.17.1.14_1', date: d('2025-07-01'), community_cases: 2, quarantine_cases: 1, deaths: 0, source: 'synthetic-demo' },
      { area: 'VNM.17.1.15_1', date: d('2025-07-01'), community_cases: 3, quarantine_cases: 4, deaths: 1, source: 'synthetic-demo' },
      { area: NAM_CAT_TIEN, date: d('2025-07-01'), community_cases: 5, quarantine_cases: 1, deaths: 1, source: 'synthetic-demo' },
      { area: 'VNM.17.7.15_1', date: d('2025-07-01'), community_cases: 10, quarantine_cases: 0, deaths: 0, source: 'synthetic-demo' },
    ];
    expect(reportsOnNewMap(rows, mapping)).toEqual([
      { area: 'DN2025.17943', date: '2025-07-01', community_cases: 5, quarantine_cases: 5, deaths: 1, source: 'synthetic-demo' },
      { area: TA_LAI, date: '2025-07-01', community_cases: 12, quarantine_cases: 0, deaths: 0, source: 'synthetic-demo' },
      { area: NAM_CAT_TIEN_NEW, date: '2025-07-01', community_cases: 3, quarantine_cases: 1, deaths: 1, source: 'synthetic-demo' },
    ]);
  });

  test("indicators of a new commune: its parts' district values weighted by the population they brought", () => {
    const communes = [
      { code: 'VNM.17.7.3_1', district: 'VNM.17.7_1', population: 3000 }, // → Tà Lài, whole
      { code: NAM_CAT_TIEN, district: 'VNM.17.3_1', population: 2000 }, // → half to Tà Lài (a made-up district, to tell them apart)
    ];
    const m = (area: string, name: string, value: number): MetricRow => ({ area, date: d('2025-07-01'), name, value });
    const metrics = [
      m('VNM.17.7_1', 'vaccination_18plus_full_pct', 80),
      m('VNM.17.3_1', 'vaccination_18plus_full_pct', 60),
      m('VNM.17.7_1', 'treatment_capacity_ok', 1),
      m('VNM.17.3_1', 'treatment_capacity_ok', 0),
      m('VNM.17.7_1', 'tests_per_100k_week', 500),
      m('VNM.17.3_1', 'tests_per_100k_week', 901),
      { ...m('VNM.17.7_1', 'tests_per_100k_week', 1), date: d('2025-06-24') }, // before the date: left out
    ];
    const out = metricsOnNewMap(metrics, communes, mapping);
    const of = (area: string, name: string) => out.filter((x) => x.area === area && x.name === name).map((x) => x.value);
    // Tà Lài: 3000 × 80 + 1000 × 60 over 4000
    expect(of(TA_LAI, 'vaccination_18plus_full_pct')).toEqual([75]);
    expect(of(TA_LAI, 'treatment_capacity_ok')).toEqual([1]);
    expect(of(TA_LAI, 'tests_per_100k_week')).toEqual([Math.round((3000 * 500 + 1000 * 901) / 4000)]);
    // Nam Cát Tiên: only its half of the old commune is known here
    expect(of(NAM_CAT_TIEN_NEW, 'vaccination_18plus_full_pct')).toEqual([60]);
    expect(of(NAM_CAT_TIEN_NEW, 'treatment_capacity_ok')).toEqual([0]);
    expect(out.every((x) => x.date === '2025-07-01')).toBe(true);
    expect(new Set(out.map((x) => x.area))).toEqual(new Set([TA_LAI, NAM_CAT_TIEN_NEW]));
  });

  test('the default span: from 1 May 2025 (or 90 days back if earlier) to the end, unless days are given', () => {
    expect(demo2025Days(d('2026-12-02'))).toBe(581);
    expect(demo2025Days(d('2025-07-01'))).toBe(90);
    expect(demo2025Days(d('2025-08-01'))).toBe(93);
    expect(demo2025Days(d('2026-12-02'), 30)).toBe(30);
  });

  test('a whole demo series on the real communes carried over the date: counts kept, indicators from the first day', () => {
    // the real communes; neighbours by district only (no database here)
    const communes: DemoCommune[] = oldCommunes().map((c) => ({ code: c.code, district: c.parent as string, population: c.population as number, neighbours: [] }));
    for (const c of communes) c.neighbours = communes.filter((o) => o.district === c.district && o.code !== c.code).map((o) => o.code);
    const end = d('2025-09-30');
    const series = generateDemoSeries(communes, { end, days: demo2025Days(end), weeklyOn: REORGANISATION_DATE });
    const after = series.reports.filter((r) => r.date >= REORGANISATION_DATE);
    const moved = reportsOnNewMap(series.reports, mapping);
    const sum = (rs: ReportRow[]) => rs.reduce((s, r) => s + r.community_cases + r.quarantine_cases + (r.deaths ?? 0), 0);
    expect(sum(moved)).toBe(sum(after));
    expect(sum(moved)).toBeGreaterThan(0);
    expect(moved).toHaveLength(55 * 92);
    const indicators = metricsOnNewMap(series.metrics, communes, mapping);
    const firstDay = indicators.filter((m) => m.date === REORGANISATION_DATE);
    expect(new Set(firstDay.map((m) => m.area)).size).toBe(55);
    expect(firstDay).toHaveLength(55 * 6);
    // weekly from the date
    expect([...new Set(indicators.map((m) => m.date))].sort()).toEqual(Array.from({ length: 14 }, (_, i) => new Date(Date.UTC(2025, 6, 1 + 7 * i)).toISOString().slice(0, 10)));
  });
});
