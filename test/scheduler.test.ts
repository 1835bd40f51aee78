import { today } from '../src/domain/dates';
import { embedded, testContext } from './helpers/context';
import { Service, serviceEnv, startProcess, stopProcess } from './helpers/service';

/**
 * Two service processes against one database, the daily recomputation due: exactly one of
 * them runs it (the claim on schedule_runs), and it is the previous and current day.
 */
const ctx = testContext();
afterAll(() => ctx.close());

if (embedded()) {
  test.skip('two processes cannot share an embedded data directory: this test runs with DATABASE_URL (PostgreSQL)', () => undefined);
} else {
  test('two replicas, the run due: exactly one recomputes', async () => {
    const day = today(ctx.config.reportingTimeZone);
    await ctx.demo(day);
    const env = serviceEnv({ ZONERISK_SCHEDULE: '00:00' }); // due since local midnight, whenever the test runs
    const services: Service[] = await Promise.all([startProcess(env), startProcess(env)]);
    try {
      const runs = async () => (await ctx.db.knex('schedule_runs').select('day', 'claimed_by', 'job_id', 'finished_at', 'error')) as { day: string; claimed_by: string; job_id: number; finished_at: Date | null; error: string | null }[];
      for (let i = 0; i < 120 && !(await runs())[0]?.finished_at; i++) await new Promise((r) => setTimeout(r, 250));
      await new Promise((r) => setTimeout(r, 1500)); // time for a second run, were there one
      const all = await runs();
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ day, error: null });
      expect(services.map((s) => `:${s.proc.pid}`).some((p) => all[0]?.claimed_by.endsWith(p))).toBe(true);
      const jobs = (await ctx.db.knex('jobs').whereRaw("params->>'trigger' = 'schedule'")) as { id: number; status: string; days: number; params: { from: string; to: string } }[];
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ id: all[0]?.job_id, status: 'succeeded', days: 2 });
      expect(jobs[0]?.params.to).toBe(day);
    } finally {
      for (const s of services) expect(await stopProcess(s)).toBe(0);
    }
  }, 120_000);
}
