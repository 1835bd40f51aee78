import pg from 'pg';
import { connectDatabase, Database } from '../../src/db/database';
import { migrateLatest } from '../../src/db/migrate';
import { activateRuleSet, createFromPreset } from '../../src/db/rulesets';
import { addDays, LocalDate } from '../../src/domain/dates';
import { seedDemo } from '../../seeds';
import { clusterTestsEnabled, CLUSTER_TESTS_SKIPPED, Cluster, createCluster, createDatabase, destroyAll } from '../helpers/clusters';
import { Service, serviceEnv, startProcess, stopProcess, writeFigures } from '../helpers/service';

/**
 * Faults on a real PostgreSQL (a cluster of the test's own, so that restarting it disturbs
 * nothing else) under a real `zonerisk serve` process:
 * - the server restarted in the middle of a bulk ingest and of a backfill: requests in
 *   flight get a 503 naming the cause, the service reconnects by itself, /ready says so, and
 *   the database holds the whole batch or none of it, and only whole days;
 * - the service killed with SIGKILL in the middle of a backfill: the next start marks the
 *   job failed, and running it again completes it.
 * The figures are printed at the end (npm run test:faults).
 */
const ADMIN = 'faults-test-admin-key';
const END = '2021-10-31' as LocalDate;
const figures: Record<string, unknown> = {};

type Job = { id: number; status: string; days: number; days_done: number; error: string | null };

if (!clusterTestsEnabled()) {
  test.skip(CLUSTER_TESTS_SKIPPED, () => undefined);
} else {
  let cluster: Cluster;
  let url: string;
  let db: Database;
  let service: Service | null = null;
  let areaCount = 0;

  const env = () => serviceEnv({ ZONERISK_ADMIN_KEY: ADMIN, ZONERISK_WRITE_RATE: '100000', ZONERISK_READ_RATE: '1000000' }, url);
  const call = (pathAndQuery: string, init: RequestInit = {}) =>
    fetch(`${(service as Service).url}${pathAndQuery}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers as Record<string, string> | undefined) } });
  const post = (pathAndQuery: string, body: string, type = 'application/json') => call(pathAndQuery, { method: 'POST', body, headers: { 'content-type': type } });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** A query that survives the server going away under the test's own pool: retried until it answers. */
  async function settled<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (Date.now() > until) throw e;
        await sleep(200);
      }
    }
  }
  const job = (id: number) => settled(async () => (await db.knex('jobs').where({ id }).first()) as Job);

  /**
   * Holds every write of levels (a lock on level_chunks in a transaction of its own) until
   * released or until the server goes: a running job's next day waits for it, so that the
   * fault lands while the job is running however fast it computes (a job of 400 days of the
   * demo's areas takes about a second: waiting for five days to be recorded, progress being
   * recorded at most every 500 ms, left the fault to land after the job had ended).
   */
  async function holdWrites(): Promise<() => Promise<void>> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined); // the server restarted under it
    await client.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE level_chunks IN SHARE MODE');
    return () => client.end().catch(() => undefined); // ends the transaction with the session
  }
  async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn().catch(() => null);
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }
  /** Every day in zone_levels has a row for every area: no half-written day. */
  async function partialDays(): Promise<{ date: string; n: number }[]> {
    const days = (await settled(() => db.knex.raw<{ rows: { date: string; n: number }[] }>('SELECT date::text, count(DISTINCT area_id)::int AS n FROM zone_levels GROUP BY date ORDER BY date'))).rows;
    return days.filter((d) => d.n !== areaCount);
  }
  /** Posting the same range again completes it: every day of it present and whole. */
  async function rerunCompletes(from: LocalDate): Promise<Job> {
    const rerun = await post('/v1/recompute', JSON.stringify({ from, to: END }));
    expect(rerun.status).toBe(202);
    const id = ((await rerun.json()) as { job: { id: number } }).job.id;
    const done = await waitFor('the rerun to finish', async () => {
      const j = await job(id);
      return j.status === 'succeeded' || j.status === 'failed' ? j : null;
    }, 120_000);
    expect(done).toMatchObject({ status: 'succeeded', days_done: done.days });
    expect(await partialDays()).toEqual([]);
    const days = Number((await db.knex.raw<{ rows: { n: number }[] }>('SELECT count(DISTINCT date)::int AS n FROM zone_levels WHERE date BETWEEN ? AND ?', [from, END])).rows[0]?.n);
    expect(days).toBe(done.days);
    return done;
  }
  /** /ready polled every 50 ms while `during` runs: the statuses seen, and when it was last not ready. */
  async function watchReady<T>(during: () => Promise<T>): Promise<{ value: T; statuses: number[]; readyAfterMs: number }> {
    const statuses: number[] = [];
    let stop = false;
    const poll = (async () => {
      while (!stop) {
        const status = await call('/ready').then(
          (r) => r.status,
          () => 0,
        );
        statuses.push(status);
        await sleep(50);
      }
    })();
    const value = await during();
    const returned = Date.now();
    await waitFor('/ready to be 200 again', async () => (await call('/ready')).status === 200);
    const readyAfterMs = Date.now() - returned;
    stop = true;
    await poll;
    return { value, statuses, readyAfterMs };
  }

  beforeAll(async () => {
    cluster = createCluster('faults', 25433);
    url = await createDatabase(cluster, 'zonerisk_faults');
    db = connectDatabase(url, 4, false);
    await migrateLatest(db.knex);
    await seedDemo(db, END);
    const { rule_set } = await createFromPreset(db, 'vn-moh-4800-2021');
    await activateRuleSet(db, rule_set.id, '2000-01-01' as LocalDate);
    areaCount = Number((await db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c);
    service = await startProcess(env());
  }, 180_000);

  afterAll(async () => {
    if (process.env.ZONERISK_FAULTS_LOG === '1' && service) process.stdout.write(`${service.logs.filter((l) => !l.includes('"msg":"request"')).join('\n')}\n`);
    if (service) await stopProcess(service);
    await db?.close();
    destroyAll();
    writeFigures('faults', figures);
  }, 60_000);

  test('PostgreSQL restarted mid-ingest: 503, reconnects, the batch is whole or absent', async () => {
    // 171 communes × 1,500 days (years before the demo): a batch that takes a while to write
    const communes = (await db.knex('areas').where({ kind: 'commune' }).select('code')) as { code: string }[];
    const lines = ['area,date,community_cases,quarantine_cases'];
    for (let d = 0; d < 1500; d++) {
      const date = addDays('2014-01-01' as LocalDate, d);
      for (const c of communes) lines.push(`${c.code},${date},${(d * 7) % 13},${d % 5}`);
    }
    const csv = `${lines.join('\n')}\n`;
    const batchRows = lines.length - 1;
    const inBatch = async () => Number((await settled(() => db.knex('reports').where('date', '<', '2018-02-09').count<{ c: number }[]>('* as c')))[0]?.c);
    expect(await inBatch()).toBe(0);

    const restart = await watchReady(async () => {
      const ingest = post('/v1/reports', csv, 'text/csv');
      // reads in flight at the same moment
      const reads = Array.from({ length: 4 }, () => call('/v1/zones?kind=commune'));
      // restart once the batch is being written (its COPY is running in the server)
      await waitFor('the ingest COPY to run', async () => (await cluster.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE 'COPY reports%' AND state = 'active'"))[0]?.n, 30_000);
      const t = Date.now();
      await cluster.restart();
      const restartMs = Date.now() - t;
      const res = await ingest;
      const readStatuses = await Promise.all(reads.map((r) => r.then((x) => x.status)));
      return { res, body: (await res.json()) as { error: { code: string; message: string } }, restartMs, readStatuses };
    });
    const { res, body } = restart.value;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(body.error.code).toBe('database_unavailable');
    expect(body.error.message).toMatch(/database is not available/);
    // reads in flight either finished before the restart or failed cleanly: never a 500
    for (const s of restart.value.readStatuses) expect([200, 503]).toContain(s);
    expect(restart.statuses).toContain(503);
    // none of the batch (the transaction died with the server)
    expect(await inBatch()).toBe(0);

    // the service reconnected by itself: the same batch goes through whole
    const again = await post('/v1/reports', csv, 'text/csv');
    expect(again.status).toBe(200);
    expect(((await again.json()) as { inserted: number }).inserted).toBe(batchRows);
    expect(await inBatch()).toBe(batchRows);
    figures.restart_mid_ingest = {
      batch_rows: batchRows,
      ingest_status: res.status,
      reads_in_flight: restart.value.readStatuses,
      server_restart_ms: restart.value.restartMs,
      ready_again_after_restart_ms: restart.readyAfterMs,
      ready_statuses_seen: [...new Set(restart.statuses)],
      rows_of_the_failed_batch_kept: 0,
      resent_batch_inserted: batchRows,
    };
  }, 120_000);

  test('PostgreSQL restarted mid-recompute: the job fails, every day is whole, a rerun completes', async () => {
    const from = '2020-09-01' as LocalDate;
    const res = await post('/v1/recompute', JSON.stringify({ from, to: END }));
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { job: { id: number } }).job.id;
    await waitFor('its first day recomputed', async () => (await job(id)).days_done >= 1);
    const release = await holdWrites();
    const restart = await watchReady(() => cluster.restart());
    await release();
    const failed = await waitFor('the job to be marked failed', async () => {
      const j = await job(id);
      return j.status === 'failed' ? j : null;
    });
    if (process.env.ZONERISK_FAULTS_LOG === '1') process.stdout.write(`${(service as Service).logs.filter((l) => !l.includes('"msg":"request"')).join('\n')}\n`);
    expect(failed.error).toMatch(/database became unavailable during the run .*run the job again/);
    expect(failed.days_done).toBeLessThan(failed.days);
    expect(await partialDays()).toEqual([]);
    const daysBefore = Number((await db.knex.raw<{ rows: { n: number }[] }>('SELECT count(DISTINCT date)::int AS n FROM zone_levels')).rows[0]?.n);

    const done = await rerunCompletes(from);
    figures.restart_mid_recompute = {
      job_days: failed.days,
      days_written_before_restart: failed.days_done,
      days_present_after_restart: daysBefore,
      half_written_days: 0,
      job_status: failed.status,
      job_error: failed.error,
      ready_again_after_restart_ms: restart.readyAfterMs,
      rerun: `${done.status}, ${done.days_done}/${done.days} days`,
    };
  }, 180_000);

  test('SIGKILL mid-backfill: the next start marks the job failed, a rerun completes it', async () => {
    await settled(() => db.knex.raw('TRUNCATE level_chunks, level_events'));
    const from = '2020-06-01' as LocalDate;
    const res = await post('/v1/recompute', JSON.stringify({ from, to: END }));
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { job: { id: number } }).job.id;
    await waitFor('its first day recomputed', async () => (await job(id)).days_done >= 1);
    const release = await holdWrites();
    const killed = service as Service;
    await new Promise<void>((resolve) => {
      killed.proc.removeAllListeners('exit');
      killed.proc.once('exit', () => resolve());
      killed.proc.kill('SIGKILL');
    });
    service = null;
    await release();
    expect((await job(id)).status).toBe('running'); // nobody told the database
    expect(await partialDays()).toEqual([]);

    const t = Date.now();
    service = await startProcess(env());
    const startMs = Date.now() - t;
    const failed = await job(id); // marked before the new process listens
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/stopped before it finished/);

    const done = await rerunCompletes(from);
    figures.sigkill_mid_backfill = {
      job_days: failed.days,
      days_written_before_kill: `${(await job(id)).days_done} recorded as done`,
      half_written_days: 0,
      marked_failed_at_next_start: true,
      restart_to_listening_ms: startMs,
      rerun: `${done.status}, ${done.days_done}/${done.days} days`,
    };
  }, 180_000);
}
