import { seedDemo } from '../../seeds';
import { addDays, dateRange, LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';
import { jobEnded } from '../helpers/jobs';

/**
 * Indicators derived up the hierarchy, end to end on the demo: its indicators exist only per
 * district, so the province (VNM.17_1) has a coverage only by deriving it from its districts
 * — the population-weighted mean of their current values — and with it a level on every day
 * its districts have one; the zone answer says where the value came from.
 */
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
const PROVINCE = 'VNM.17_1';
let first: LocalDate;

const waitForJob = (id: number) => jobEnded(ctx, id, 120);

/** The districts' latest values of `name` on or before `date`, at most 14 days old, with their populations. */
async function districtValues(name: string, date: LocalDate): Promise<{ code: string; population: number | null; value: number | null }[]> {
  const res = await ctx.db.knex.raw<{ rows: { code: string; population: number | null; value: number | null }[] }>(
    `SELECT d.code, d.population,
            (SELECT m.value FROM metrics m WHERE m.area_id = d.id AND m.name = ? AND m.date <= ?::date AND m.date >= ?::date - 14
              ORDER BY m.date DESC LIMIT 1)::float8 AS value
     FROM areas d JOIN areas p ON p.id = d.parent_id
     WHERE d.kind = 'district' AND p.code = ? ORDER BY d.code`,
    [name, date, date, PROVINCE],
  );
  return res.rows;
}

beforeAll(async () => {
  await ctx.reset();
  const seeded = await seedDemo(ctx.db, END);
  first = seeded.from;
  await http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').set('Content-Type', 'application/json').send({ effective_from: '2021-01-01' }).expect(200);
  const res = await http().post('/v1/recompute').set('Content-Type', 'application/json').send({ from: first, to: END });
  const job = res.status === 202 ? await waitForJob(res.body.job.id) : res.body.job;
  expect(job).toMatchObject({ status: 'succeeded' });
}, 600_000);
afterAll(() => ctx.close());

describe('the demo province derives its indicators from its districts', () => {
  test('the province has a level on every demo day (the districts report weekly, from before the first day)', async () => {
    const h = (await http().get(`/v1/zones/${PROVINCE}/history?from=${first}&to=${END}`).expect(200)).body as { days: { date: string; level: string }[] };
    expect(h.days).toHaveLength(dateRange(first, END).length);
    expect(h.days.length).toBeGreaterThan(80);
    expect(h.days.filter((d) => d.level === 'unknown')).toEqual([]);
  });

  test('GET /v1/zones/VNM.17_1 says its coverage was derived, from how many districts and how much of the population', async () => {
    for (const date of [END, addDays(END, -40)]) {
      const z = (await http().get(`/v1/zones/${PROVINCE}?date=${date}`).expect(200)).body;
      expect(z.level).not.toBe('unknown');
      const districts = await districtValues('vaccination_18plus_1dose_pct', date);
      const used = districts.filter((d) => d.value !== null && (d.population ?? 0) > 0);
      expect(used.length).toBe(districts.length);
      const pop = used.reduce((s, d) => s + (d.population as number), 0);
      expect(z.inputs.vaccination_18plus_1dose_pct).toBeCloseTo(used.reduce((s, d) => s + (d.population as number) * (d.value as number), 0) / pop, 9);
      expect(z.input_details.vaccination_18plus_1dose_pct.detail).toBe(`derived from ${used.length} of ${districts.length} children (100.0% of their population), population-weighted mean`);
      // treatment capacity: met only where every district met it
      const capacity = await districtValues('treatment_capacity_ok', date);
      expect(z.inputs.treatment_capacity_ok).toBe(Math.min(...capacity.map((d) => d.value as number)));
      expect(z.input_details.treatment_capacity_ok.detail).toMatch(/^derived from 11 of 11 children \(100\.0% of their population\), minimum$/);
    }
  });

  test('a district keeps its own value and a commune its district’s: derivation only fills what is missing', async () => {
    const d = (await http().get(`/v1/zones/VNM.17.1_1?date=${END}`).expect(200)).body;
    expect(d.input_details.vaccination_18plus_1dose_pct?.detail ?? '').not.toMatch(/derived/);
    const [own] = (await districtValues('vaccination_18plus_1dose_pct', END)).filter((x) => x.code === 'VNM.17.1_1');
    expect(d.inputs.vaccination_18plus_1dose_pct).toBe(own?.value);
    const c = (await http().get(`/v1/zones/VNM.17.1.10_1?date=${END}`).expect(200)).body;
    expect(c.input_details.vaccination_18plus_1dose_pct.detail).toMatch(/from VNM\.17\.1_1$/);
  });
});
