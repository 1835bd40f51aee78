import { Client } from 'pg';
import { connectDatabase, Database } from '../../src/db/database';
import { migrateLatest } from '../../src/db/migrate';
import { activateRuleSet, createFromPreset } from '../../src/db/rulesets';
import { LocalDate } from '../../src/domain/dates';
import { Recomputations } from '../../src/jobs/recomputations';
import { seedDemo } from '../../seeds';
import { clusterTestsEnabled, CLUSTER_TESTS_SKIPPED, Cluster, createCluster, createDatabase, createReplica, destroyAll, Pooler, startPgBouncer } from '../helpers/clusters';
import { Service, startProcess, stopProcess, writeFigures } from '../helpers/service';

/**
 * Scale-out on existing engines: a PostgreSQL primary, a streaming replica made with
 * pg_basebackup, PgBouncer in transaction mode in front of the primary, and two
 * `zonerisk serve` processes. Each app writes through PgBouncer, keeps its session locks on
 * a direct connection (DATABASE_SESSION_URL) and reads from the replica (DATABASE_READ_URL).
 * With the replica's replay paused, writes still succeed (they go to the primary) while
 * reads still show the old state (they come from the replica); resumed, the reads catch up.
 */
const ADMIN = 'replica-test-admin-key';
const END = '2021-10-31' as LocalDate;
const CODE = 'VNM.17.1.10_1';
const DB = 'zonerisk_replica';

if (!clusterTestsEnabled()) {
  test.skip(CLUSTER_TESTS_SKIPPED, () => undefined);
} else {
  let primary: Cluster;
  let replica: Cluster;
  let pooler: Pooler | null;
  let db: Database;
  const apps: Service[] = [];
  const figures: Record<string, unknown> = {};

  const call = (app: Service, pathAndQuery: string, init: RequestInit = {}) =>
    fetch(`${app.url}${pathAndQuery}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  const json = async <T>(res: Response | Promise<Response>): Promise<T> => (await (await res).json()) as T;
  const level = async (app: Service) => (await json<{ level: string }>(call(app, `/v1/zones/${CODE}?date=${END}`))).level;
  const lsn = async (c: Cluster, sql: string) => ((await c.query<{ l: string }>(sql))[0] as { l: string }).l;

  /** Waits until the replica has replayed everything the primary has written so far. */
  async function caughtUp(): Promise<number> {
    const t = Date.now();
    const target = await lsn(primary, 'SELECT pg_current_wal_lsn()::text AS l');
    for (;;) {
      const done = await replica.query<{ ok: boolean }>(`SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn AS ok`);
      if (done[0]?.ok) return Date.now() - t;
      if (Date.now() - t > 30_000) throw new Error('the replica did not catch up in 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  beforeAll(async () => {
    primary = createCluster('primary', 25434);
    const url = await createDatabase(primary, DB);
    db = connectDatabase(url, 4, false);
    await migrateLatest(db.knex);
    await seedDemo(db, END);
    const { rule_set } = await createFromPreset(db, 'vn-moh-4800-2021');
    await activateRuleSet(db, rule_set.id, '2000-01-01' as LocalDate);
    const recomputations = new Recomputations(db);
    await recomputations.runJob(await recomputations.createJob('2021-10-25' as LocalDate, END, 'test'));
    replica = createReplica(primary, 'replica', 25435);
    pooler = startPgBouncer(primary, [DB], 25436);
    for (let i = 0; i < 2; i++) {
      apps.push(
        await startProcess({
          ...process.env,
          DATABASE_URL: pooler ? pooler.url(DB) : url,
          DATABASE_SESSION_URL: url,
          DATABASE_READ_URL: replica.url(DB),
          PORT: '0',
          HOST: '127.0.0.1',
          ZONERISK_SCHEDULE: 'off',
          ZONERISK_ADMIN_KEY: ADMIN,
          ZONERISK_LOG_LEVEL: 'info',
        }),
      );
    }
  }, 180_000);

  afterAll(async () => {
    for (const a of apps) await stopProcess(a);
    await db?.close();
    pooler?.stop();
    destroyAll();
    writeFigures('replica', figures);
  }, 60_000);

  test('both apps are ready, with the replica in recovery', async () => {
    for (const a of apps) {
      const ready = await json<{ status: string; read_replica: { status: string; standby: boolean } }>(call(a, '/ready'));
      expect(ready).toMatchObject({ status: 'ready', read_replica: { status: 'ok', standby: true } });
    }
    figures.replication_catch_up_ms = await caughtUp();
    figures.pgbouncer = pooler ? 'transaction mode, in front of the primary' : 'not installed: apps wrote to the primary directly';
  });

  test('writes go to the primary and reads come from the replica', async () => {
    const [a, b] = apps as [Service, Service];
    await caughtUp();
    const before = await level(b);
    expect(['green', 'yellow', 'orange', 'red', 'unknown']).toContain(before);
    const target = before === 'red' ? 'green' : 'red';
    const reportsOf = async (app: Service) => (await json<{ items: { community_cases: number }[] }>(call(app, `/v1/areas/${CODE}/reports?from=${END}&to=${END}`))).items[0]?.community_cases;
    const casesBefore = await reportsOf(b);

    await replica.query('SELECT pg_wal_replay_pause()');
    try {
      // a write through one app (an override), a recomputation and a correction through the other
      const o = await call(a, `/v1/zones/${CODE}/overrides`, { method: 'POST', body: JSON.stringify({ level: target, reason: 'replica test', from: END }) });
      expect(o.status).toBe(201);
      const rc = await call(b, '/v1/recompute', { method: 'POST', body: JSON.stringify({ date: END }) });
      expect(rc.status).toBe(200);
      const jobId = (await json<{ job: { id: number; status: string } }>(rc)).job.id;
      const fix = await call(b, '/v1/reports', { method: 'POST', body: JSON.stringify({ reports: [{ area: CODE, date: END, community_cases: 987, quarantine_cases: 0 }] }) });
      expect(fix.status).toBe(200);
      // a write-after-read path reads the primary: the job is there at once, on the other app too
      expect((await json<{ id: number; status: string }>(call(a, `/v1/jobs/${jobId}`))).status).toBe('succeeded');
      // the reads come from the paused replica: the old state, on both apps
      expect(await level(a)).toBe(before);
      expect(await level(b)).toBe(before);
      expect(await reportsOf(a)).toBe(casesBefore);
      // the primary has it all
      expect(Number((await db.knex('overrides').count<{ c: number }[]>('* as c'))[0]?.c)).toBe(1);
      expect(((await db.knex('reports as r').join('areas as a', 'a.id', 'r.area_id').where({ 'a.code': CODE, 'r.date': END }).first('community_cases')) as { community_cases: number }).community_cases).toBe(987);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()');
    }
    figures.replay_after_resume_ms = await caughtUp();
    // answers are cached under a data version re-read at most once a second: visible within ~1 s
    const t = Date.now();
    for (;;) {
      const [la, lb] = [await level(a), await level(b)];
      if (la === target && lb === target) break;
      if (Date.now() - t > 3_000) throw new Error(`apps still answer ${la}/${lb} 3 s after the replica caught up`);
      await new Promise((r) => setTimeout(r, 50));
    }
    figures.visible_on_both_apps_after_catch_up_ms = Date.now() - t;
    expect(await reportsOf(b)).toBe(987);
    // nothing was ever written on the replica: it is still a standby, and said no to nothing
    expect((await replica.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]?.r).toBe(true);
    figures.reads_while_replay_paused = `old level ${before} on both apps; primary had ${target}`;
  }, 60_000);

  test('transactions went through PgBouncer, session locks did not', async () => {
    if (!pooler) return; // figures say so
    const c = new Client({ connectionString: pooler.url('pgbouncer') });
    await c.connect();
    try {
      const stats = (await c.query<{ database: string; total_xact_count: string }>('SHOW STATS')).rows.find((r) => r.database === DB);
      expect(Number(stats?.total_xact_count)).toBeGreaterThan(10);
      figures.pgbouncer_transactions = Number(stats?.total_xact_count);
    } finally {
      await c.end();
    }
    // the session locks (instance liveness) are held on direct connections to the primary
    const held = await primary.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 31346::oid AND granted");
    expect(held[0]?.n).toBe(2);
  });
}
