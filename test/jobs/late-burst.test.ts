import fs from 'node:fs';
import { addDays, LocalDate } from '../../src/domain/dates';
import { embedded, testContext } from '../helpers/context';
import { Service, serviceEnv, startProcess, stopProcess, writeFigures } from '../helpers/service';

/**
 * The recompute queue on a real PostgreSQL with real service processes (two replicas of one
 * installation, the default ZONERISK_JOB_PROCESSES=1 each):
 * - 100 concurrent late POST /v1/reports on classified days: each service has at most one
 *   job process at any moment, at most one late-data job is pending at any moment (the
 *   writes coalesce, across both processes), connections stay far below max_connections,
 *   nothing is left queued, running or failed — and the stored levels are those a fresh
 *   recomputation gives (it changes nothing and writes nothing);
 * - a job process killed mid-run: the attempt is failed and visible (/v1/jobs, /metrics),
 *   the job retried after its pause, and it succeeds;
 * - a service stopped while a late job runs: the job goes back to the queue and the next
 *   start runs it.
 */
const ctx = testContext();
afterAll(() => ctx.close());
const ADMIN = 'late-burst-test-admin-key';
const END = '2021-10-31' as LocalDate;
const DAYS = 31;
const FROM = addDays(END, -(DAYS - 1));
const WRITES = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type JobRow = { id: number; status: string; attempts: number; max_attempts: number; error: string | null; last_error: string | null; next_attempt_at: string | null; merged: number; changed: number; params: { from: string; to: string; trigger: string } };

/** The `zonerisk run-job` processes whose parent is `pid` (from /proc). */
function jobProcessesOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const c of children.split(' ').filter(Boolean).map(Number)) {
      try {
        if (fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').includes('run-job')) out.push(c);
      } catch {
        // it exited meanwhile
      }
    }
  }
  return out;
}

if (embedded()) {
  test.skip('job processes and several service processes need a real PostgreSQL: this test runs with DATABASE_URL', () => undefined);
} else {
  const env = serviceEnv({
    ZONERISK_ADMIN_KEY: ADMIN,
    ZONERISK_WRITE_RATE: '100000',
    ZONERISK_READ_RATE: '1000000',
    ZONERISK_JOB_PROCESSES: '1',
  });
  const call = (s: Service, pathAndQuery: string, init: RequestInit = {}) =>
    fetch(`${s.url}${pathAndQuery}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  const knex = () => ctx.db.knex;
  const jobs = async (): Promise<JobRow[]> => (await knex()('jobs').orderBy('id')) as JobRow[];
  async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000, everyMs = 50): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(everyMs);
    }
  }
  /** No job queued or running. */
  const settled = () => waitFor('the queue to settle', async () => (await knex()('jobs').whereIn('status', ['queued', 'running']).count<{ c: number }[]>('* as c'))[0]?.c == 0, 120_000, 100);
  /** Latest level row per area and day in the window: what the service answers. */
  const levels = async () =>
    (
      await knex().raw<{ rows: { area_id: number; date: string; level: string; raw_level: string; since: string; inputs: unknown }[] }>(
        `SELECT DISTINCT ON (area_id, date) area_id, date::text, level, raw_level, since::text, inputs FROM zone_levels
         WHERE date BETWEEN ? AND ? ORDER BY area_id, date, computed_at DESC`,
        [FROM, END],
      )
    ).rows;
  let communes: string[] = [];
  let services: Service[] = [];

  beforeAll(async () => {
    await ctx.demo(END, DAYS);
    communes = (await knex()('areas').where({ kind: 'commune' }).orderBy('code').limit(WRITES).pluck('code')) as string[];
    expect(communes).toHaveLength(WRITES);
    const started = await Promise.allSettled([startProcess(env), startProcess(env)]);
    services = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of started) if (r.status === 'rejected') throw r.reason;
  }, 180_000);
  afterAll(async () => {
    for (const s of services) await stopProcess(s);
  });

  test('100 concurrent late writes: bounded job processes, one pending job, no exhaustion, levels as a fresh recomputation', async () => {
    const maxConnections = Number((await knex().raw<{ rows: { max_connections: string }[] }>('SHOW max_connections')).rows[0]?.max_connections);
    const jobsBefore = (await jobs()).length;
    const peak = { processesPerService: 0, connectionsDb: 0, connectionsServer: 0, pendingLate: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const s of services) peak.processesPerService = Math.max(peak.processesPerService, jobProcessesOf(s.proc.pid as number).length);
        const r = (
          await knex().raw<{ rows: { db: number; server: number; pending: number }[] }>(
            `SELECT count(*) FILTER (WHERE datname = current_database())::int AS db, count(*)::int AS server,
                    (SELECT count(*)::int FROM jobs WHERE status = 'queued' AND params->>'trigger' = 'late_data') AS pending
             FROM pg_stat_activity WHERE backend_type = 'client backend'`,
          )
        ).rows[0];
        peak.connectionsDb = Math.max(peak.connectionsDb, r?.db ?? 0);
        peak.connectionsServer = Math.max(peak.connectionsServer, r?.server ?? 0);
        peak.pendingLate = Math.max(peak.pendingLate, r?.pending ?? 0);
        await sleep(25);
      }
    })();

    const began = Date.now();
    // each write: one commune, a classified day of the last three weeks, a cluster large enough to move levels
    const answers = await Promise.all(
      communes.map(async (area, i) => {
        const date = addDays(END, -(3 + (i % 20)));
        const res = await call(services[i % 2] as Service, '/v1/reports', { method: 'POST', body: JSON.stringify({ reports: [{ area, date, community_cases: 40 + i, quarantine_cases: i % 7 }] }) });
        return { status: res.status, body: (await res.json()) as { recompute: { job: number; from: string; to: string } | null } };
      }),
    );
    const answeredMs = Date.now() - began;
    expect(answers.map((a) => a.status)).toEqual(Array(WRITES).fill(200));
    // every answer names the job that will recompute its days (contract: {job, from, to})
    for (const [i, a] of answers.entries()) {
      expect(a.body.recompute).toEqual({ job: expect.any(Number), from: expect.any(String), to: END });
      expect((a.body.recompute?.from ?? '') <= addDays(END, -(3 + (i % 20)))).toBe(true);
    }
    await settled();
    const settledMs = Date.now() - began;
    sampling = false;
    await sampler;

    const created = (await jobs()).slice(jobsBefore);
    expect(created.every((j) => j.params.trigger === 'late_data')).toBe(true);
    expect(created.filter((j) => j.status !== 'succeeded')).toEqual([]);
    expect(created.every((j) => j.attempts === 1)).toBe(true);
    expect(peak.processesPerService).toBeLessThanOrEqual(1);
    expect(peak.processesPerService).toBe(1); // the sampler did see the job processes
    expect(peak.pendingLate).toBeLessThanOrEqual(1);
    expect(peak.connectionsDb).toBeLessThan(maxConnections / 2);
    // the writes were taken by few jobs: each job ran once, and at most one was pending at a time
    expect(created.length).toBeLessThanOrEqual(10);
    expect(created.reduce((n, j) => n + j.merged, 0) + created.length).toBe(WRITES);
    const changedByLateJobs = created.reduce((n, j) => n + Number(j.changed), 0);
    expect(changedByLateJobs).toBeGreaterThan(0); // the burst did move levels: the equality below means something

    // a fresh recomputation of the window finds nothing to change, and writes nothing
    const stored = await levels();
    const fresh = await call(services[0] as Service, '/v1/recompute', { method: 'POST', body: JSON.stringify({ from: FROM, to: END }) });
    expect(fresh.status).toBe(200);
    const freshBody = (await fresh.json()) as { changed: number; job: { written: number; status: string } };
    expect(freshBody).toMatchObject({ changed: 0, job: { status: 'succeeded', written: 0 } });
    expect(await levels()).toEqual(stored);

    writeFigures('late-burst', {
      late_writes: WRITES,
      services: services.length,
      job_processes_setting: 1,
      max_job_processes_seen_per_service: peak.processesPerService,
      max_pending_late_jobs_seen: peak.pendingLate,
      jobs_created: created.length,
      writes_merged_into_pending_jobs: created.reduce((n, j) => n + j.merged, 0),
      peak_connections_this_database: peak.connectionsDb,
      peak_connections_whole_server: peak.connectionsServer,
      max_connections: maxConnections,
      level_changes_by_late_jobs: changedByLateJobs,
      all_answered_ms: answeredMs,
      settled_ms: settledMs,
      fresh_recompute: { changed: freshBody.changed, written: freshBody.job.written },
    });
  }, 180_000);

  test('a job process killed mid-run: the attempt fails visibly, the job is retried after its pause and succeeds', async () => {
    const s = services[0] as Service;
    const res = await call(s, '/v1/reports', { method: 'POST', body: JSON.stringify({ reports: [{ area: communes[0], date: FROM, community_cases: 900, quarantine_cases: 0 }] }) });
    expect(res.status).toBe(200);
    const id = ((await res.json()) as { recompute: { job: number } }).recompute.job;
    const [pid] = await waitFor('the job process', async () => {
      const p = jobProcessesOf(s.proc.pid as number);
      return p.length ? p : null;
    }, 30_000, 5);
    process.kill(pid as number, 'SIGKILL');
    const failed = await waitFor('the failed attempt', async () => {
      const j = ((await (await call(s, `/v1/jobs/${id}`)).json()) as JobRow);
      return j.status === 'queued' && j.attempts === 1 ? j : null;
    }, 30_000);
    expect(failed).toMatchObject({ max_attempts: 3, error: expect.stringMatching(/SIGKILL/), last_error: expect.stringMatching(/SIGKILL/), next_attempt_at: expect.any(String) });
    // the failure is listed, and counted
    const queued = (await (await call(s, '/v1/jobs?status=queued')).json()) as { items: JobRow[] };
    expect(queued.items.map((j) => j.id)).toContain(id);
    const metrics = await waitFor('the failure counted', async () => {
      const text = await (await call(s, '/metrics')).text();
      return /zonerisk_job_attempts_failed_total\{trigger="late_data",outcome="retried"\} 1/.test(text) ? text : null;
    }, 10_000, 100);
    expect(metrics).toMatch(/zonerisk_jobs\{status="queued"\} [1-9]/);
    const done = await waitFor('the retry', async () => {
      const j = ((await (await call(s, `/v1/jobs/${id}`)).json()) as JobRow);
      return j.status === 'succeeded' || j.status === 'failed' ? j : null;
    }, 60_000, 100);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, error: null, last_error: expect.stringMatching(/SIGKILL/), next_attempt_at: null });
    const list = (await (await call(s, '/v1/jobs?limit=3')).json()) as { items: JobRow[] };
    expect(list.items[0]?.id).toBe(id); // newest first
    expect(list.items).toHaveLength(3);
    const page = (await (await call(s, '/v1/jobs?limit=1')).json()) as { items: JobRow[]; next_cursor: string };
    expect(page.next_cursor).toBe(String(id));
    expect(((await (await call(s, `/v1/jobs?cursor=${page.next_cursor}&limit=1`)).json()) as { items: JobRow[] }).items[0]?.id).toBe(list.items[1]?.id);
    const bad = await call(s, '/v1/jobs?status=lost');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe('status');
  }, 120_000);

  test('a service stopped while a late job runs: the job goes back to the queue and the next start runs it', async () => {
    const s = services[1] as Service;
    const res = await call(s, '/v1/reports', { method: 'POST', body: JSON.stringify({ reports: [{ area: communes[1], date: FROM, community_cases: 700, quarantine_cases: 0 }] }) });
    const id = ((await res.json()) as { recompute: { job: number } }).recompute.job;
    await waitFor('the job process', async () => jobProcessesOf(s.proc.pid as number).length > 0, 30_000, 5);
    // the other replica must not take it up meanwhile: it is stopped first
    await stopProcess(services[0] as Service);
    expect(await stopProcess(s)).toBe(0);
    const left = (await knex()('jobs').where({ id }).first()) as JobRow;
    expect(left).toMatchObject({ status: 'queued', attempts: 0 });
    services = [await startProcess(env)];
    const done = await waitFor('the job after the restart', async () => {
      const j = (await knex()('jobs').where({ id }).first()) as JobRow;
      return j.status === 'succeeded' || j.status === 'failed' ? j : null;
    }, 60_000, 100);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
  }, 120_000);
}
