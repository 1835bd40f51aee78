import { generateDemoSeries, DemoCommune } from '../../seeds/demo-series';
import { LocalDate } from '../../src/domain/dates';

/** A 10×10 grid of communes in 4 districts, each the neighbour of the ones beside it. */
function grid(): DemoCommune[] {
  const out: DemoCommune[] = [];
  for (let i = 0; i < 10; i++) {
    for (let j = 0; j < 10; j++) {
      const neighbours: string[] = [];
      if (i > 0) neighbours.push(`C${i - 1}-${j}`);
      if (i < 9) neighbours.push(`C${i + 1}-${j}`);
      if (j > 0) neighbours.push(`C${i}-${j - 1}`);
      if (j < 9) neighbours.push(`C${i}-${j + 1}`);
      out.push({ code: `C${i}-${j}`, district: `D${Math.floor(i / 5)}${Math.floor(j / 5)}`, population: 5000 + ((i * 7 + j * 13) % 10) * 3000, neighbours });
    }
  }
  return out;
}

const end = '2021-10-31' as LocalDate;

describe('synthetic demo series', () => {
  const series = generateDemoSeries(grid(), { end });

  test('is deterministic', () => {
    expect(generateDemoSeries(grid(), { end })).toEqual(series);
    expect(generateDemoSeries([...grid()].reverse(), { end })).toEqual(series);
  });

  test('covers 90 days for every commune, ending on the given date', () => {
    expect(series.reports).toHaveLength(100 * 90);
    const dates = [...new Set(series.reports.map((r) => r.date))].sort();
    expect(dates[0]).toBe('2021-08-03');
    expect(dates[dates.length - 1]).toBe(end);
    for (const r of series.reports) {
      expect(r.community_cases).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(r.quarantine_cases)).toBe(true);
    }
  });

  test('starts in a few communes, spreads to many, then recedes', () => {
    const byWeek = (week: number) => series.reports.filter((_, i) => Math.floor(Math.floor(i / 100) / 7) === week);
    const affected = (week: number) => new Set(byWeek(week).filter((r) => r.community_cases + r.quarantine_cases > 0).map((r) => r.area)).size;
    const total = (week: number) => byWeek(week).reduce((s, r) => s + r.community_cases + r.quarantine_cases, 0);
    expect(affected(0)).toBeLessThanOrEqual(3);
    const weeks = Array.from({ length: 12 }, (_, w) => total(w));
    const peak = Math.max(...weeks);
    const peakWeek = weeks.indexOf(peak);
    expect(peakWeek).toBeGreaterThan(2);
    expect(peakWeek).toBeLessThan(11);
    expect(Math.max(...Array.from({ length: 12 }, (_, w) => affected(w)))).toBeGreaterThan(50);
    expect(weeks[11]).toBeLessThan(peak / 3);
    expect(series.seeds).toHaveLength(3);
  });

  test('vaccination coverage rises over time in every district', () => {
    const dose1 = series.metrics.filter((m) => m.name === 'vaccination_18plus_1dose_pct');
    for (const d of ['D00', 'D01', 'D10', 'D11']) {
      const values = dose1.filter((m) => m.area === d).sort((a, b) => a.date.localeCompare(b.date)).map((m) => m.value);
      expect(values.length).toBeGreaterThanOrEqual(12);
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
      expect(values[values.length - 1]).toBeGreaterThan((values[0] as number) + 30);
    }
    for (const m of series.metrics) {
      if (m.name.endsWith('_pct')) expect(m.value).toBeGreaterThanOrEqual(0);
      if (m.name.endsWith('_pct')) expect(m.value).toBeLessThanOrEqual(100);
      if (m.name === 'treatment_capacity_ok') expect([0, 1]).toContain(m.value);
    }
  });
});
