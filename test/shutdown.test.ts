import { LocalDate } from '../src/domain/dates';
import { embedded, testContext } from './helpers/context';
import { serviceEnv, startProcess, stopProcess } from './helpers/service';

/**
 * SIGTERM during a long backfill: the service stops the job between two days and exits 0;
 * every day written is whole (each day is one statement), the job says where it stopped.
 */
const ctx = testContext();
afterAll(() => ctx.close());
const ADMIN = 'shutdown-test-admin-key';

if (embedded()) {
  test.skip('the test process holds the embedded data directory: this test runs with DATABASE_URL (PostgreSQL)', () => undefined);
} else {
  test('SIGTERM mid-backfill leaves no half-written day', async () => {
    await ctx.demo('2021-10-31' as LocalDate);
    const service = await startProcess(serviceEnv({ ZONERISK_ADMIN_KEY: ADMIN }));
    let exit: number | null = -1;
    let jobId = 0;
    try {
      const res = await fetch(`${service.url}/v1/recompute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
        body: JSON.stringify({ from: '2019-01-01', to: '2021-10-31' }),
      });
      expect(res.status).toBe(202);
      // the request's log line carries its id, which the response names
      const requestId = res.headers.get('x-request-id') as string;
      await new Promise((r) => setTimeout(r, 100));
      const line = service.logs.map((l) => JSON.parse(l) as { msg: string; req_id?: string; route?: string }).find((l) => l.msg === 'request' && l.req_id === requestId);
      expect(line).toMatchObject({ route: '/v1/recompute' });
      jobId = ((await res.json()) as { job: { id: number } }).job.id;
      const daysDone = async () => Number(((await ctx.db.knex('jobs').where({ id: jobId }).first('days_done')) as { days_done: number }).days_done);
      for (let i = 0; i < 200 && (await daysDone()) < 5; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await daysDone()).toBeGreaterThanOrEqual(5);
      // a client watching the change stream must not keep the service from stopping
      const watching = await fetch(`${service.url}/v1/changes/stream`);
      expect(watching.status).toBe(200);
    } finally {
      const asked = Date.now();
      exit = await stopProcess(service);
      expect(Date.now() - asked).toBeLessThan(15_000);
    }
    expect(exit).toBe(0);
    const job = (await ctx.db.knex('jobs').where({ id: jobId }).first()) as { status: string; days: number; days_done: number; error: string };
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/stopping/);
    expect(job.days_done).toBeLessThan(job.days);
    const areas = Number((await ctx.db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c);
    const days = (await ctx.db.knex.raw<{ rows: { date: string; n: number }[] }>('SELECT date::text, count(*)::int AS n FROM zone_levels GROUP BY date ORDER BY date')).rows;
    expect(days.length).toBe(job.days_done);
    expect(days.filter((d) => d.n !== areas)).toEqual([]); // every written day is whole
  }, 120_000);
}
