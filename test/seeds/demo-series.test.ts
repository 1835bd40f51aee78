import { createHash } from 'node:crypto';
import { generateDemoSeries, DemoCommune, WAVE_GAP } from '../../seeds/demo-series';
import { addDays, LocalDate } from '../../src/domain/dates';

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

describe('synthetic demo series over many months', () => {
  const longEnd = '2026-12-02' as LocalDate;
  const days = 581; // 2025-05-01 .. 2026-12-02, across the reorganisation of 1 July 2025
  const weeklyOn = '2025-07-01' as LocalDate;
  const series = generateDemoSeries(grid(), { end: longEnd, days, weeklyOn });
  const weekly = () => {
    const weeks = new Array<number>(Math.ceil(days / 7)).fill(0);
    series.reports.forEach((r, i) => {
      const w = Math.floor(Math.floor(i / 100) / 7);
      weeks[w] = (weeks[w] as number) + r.community_cases + r.quarantine_cases;
    });
    return weeks;
  };

  test('series of up to 90 days are exactly what they were before the later waves existed', () => {
    // sha256 of JSON.stringify(generateDemoSeries(grid(), { end: 2021-10-31, days })) before the change
    const before: Record<number, string> = {
      1: '819a6ee23fdc7a532da1c186d0d28733a39597e0d83f6c404452f973f35409ac',
      30: 'fb3fbd03a5ad7d6c9249bfb168486e75c5130b6952c568e1b01b5254c61765e3',
      90: '1e3c7d5f1df43e92a6996f433914e654b319eeb3595e5e02bc58b205a06e826a',
    };
    for (const [n, hash] of Object.entries(before)) {
      const s = generateDemoSeries(grid(), { end, days: Number(n) });
      expect(createHash('sha256').update(JSON.stringify(s)).digest('hex')).toBe(hash);
    }
    // the default weekly rounds fall on the end date: naming it changes nothing
    expect(generateDemoSeries(grid(), { end, weeklyOn: end })).toEqual(generateDemoSeries(grid(), { end }));
  });

  test('is deterministic, covers every day up to the end and crosses 1 July 2025', () => {
    expect(generateDemoSeries([...grid()].reverse(), { end: longEnd, days, weeklyOn })).toEqual(series);
    expect(series.reports).toHaveLength(100 * days);
    const dates = [...new Set(series.reports.map((r) => r.date))].sort();
    expect(dates).toHaveLength(days);
    expect(dates[0]).toBe('2025-05-01');
    expect(dates[dates.length - 1]).toBe(longEnd);
    expect(dates).toContain('2025-06-30');
    expect(dates).toContain('2025-07-01');
  });

  test('waves recur every 120–150 days from fresh seeds, receding in between', () => {
    const weeks = weekly();
    // a peak is a week above a third of the largest, higher than the four weeks either side
    const top = Math.max(...weeks);
    const peaks = weeks.map((w, i) => ({ w, i })).filter(({ w, i }) => w > top / 3 && weeks.slice(Math.max(0, i - 4), i + 5).every((x) => x <= w));
    expect(peaks.length).toBeGreaterThanOrEqual(4);
    for (let k = 1; k < peaks.length; k++) {
      const a = (peaks[k - 1] as { i: number }).i;
      const b = (peaks[k] as { i: number }).i;
      expect(b - a).toBeGreaterThanOrEqual(Math.floor(WAVE_GAP.min / 7) - 4);
      // between two waves the epidemic recedes well below both peaks
      expect(Math.min(...weeks.slice(a, b + 1))).toBeLessThan(Math.min(weeks[a] as number, weeks[b] as number) / 3);
    }
    // waves differ in strength
    expect(new Set(peaks.map((p) => Math.round(p.w / 100))).size).toBeGreaterThan(1);
    // the seeds: three for the first wave (the same as a short series'), then 2–4 per later wave
    expect(series.seeds.length).toBeGreaterThanOrEqual(3 + 2 * 3);
    expect(series.seeds.slice(0, 3)).toEqual(generateDemoSeries(grid(), { end: longEnd, days: 90 }).seeds);
  });

  test('indicators: weekly rounds on 1 July 2025 and every 7 days, vaccination rising then levelling off', () => {
    const dates = [...new Set(series.metrics.map((m) => m.date))].sort();
    expect(dates).toContain(weeklyOn);
    expect(dates[0] as string <= '2025-05-01').toBe(true);
    expect(dates[0] as string > '2025-04-24').toBe(true);
    for (let i = 1; i < dates.length; i++) expect(addDays(dates[i - 1] as LocalDate, 7)).toBe(dates[i]);
    const dose1 = series.metrics.filter((m) => m.name === 'vaccination_18plus_1dose_pct');
    for (const d of ['D00', 'D01', 'D10', 'D11']) {
      const values = dose1.filter((m) => m.area === d).sort((a, b) => a.date.localeCompare(b.date)).map((m) => m.value);
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
      expect(values[values.length - 1]).toBeGreaterThan((values[0] as number) + 30);
      // a plateau: the last six months move by less than a point
      const last = values.slice(-26);
      expect((last[last.length - 1] as number) - (last[0] as number)).toBeLessThan(1);
    }
    for (const m of series.metrics) {
      if (m.name.endsWith('_pct')) expect(m.value).toBeGreaterThanOrEqual(0);
      if (m.name.endsWith('_pct')) expect(m.value).toBeLessThanOrEqual(100);
      if (m.name === 'treatment_capacity_ok') expect([0, 1]).toContain(m.value);
    }
  });
});
