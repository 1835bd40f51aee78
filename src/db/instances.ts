import os from 'node:os';
import pg from 'pg';
import { Database } from './database';
import { arrayBindings } from './knex';
import { log } from '../log';
import { closingSchedules, failedAttemptSet } from '../jobs/queue';

/**
 * Liveness of service processes, so that a job whose process died is not left "running"
 * for ever. Each process registers an instance row and holds the session advisory lock
 * (LIVENESS_CLASS, id) on a connection of its own for as long as it lives: PostgreSQL drops
 * the lock the moment that session ends, whether the process exited, was killed or lost
 * its host. Every instance sweeps at start and then periodically: a running job whose owner
 * holds no lock (or a job its dead creator was about to run) has lost its attempt — it goes
 * back to the queue after a pause while it has attempts left (automatic jobs), else it is
 * marked failed. Jobs waiting in the queue belong to no instance: any dispatcher runs them.
 */
export const LIVENESS_CLASS = 0x7a72; // "zr"
const SWEEP_MS = 30_000;

let current: number | null = null;

/**
 * A job running, or created to be run at once by its process (run_after null), whose owner
 * holds no liveness lock (binds: LIVENESS_CLASS).
 */
const UNFINISHED = `(status = 'running' OR (status = 'queued' AND run_after IS NULL))`;
const ORPHANED = `${UNFINISHED} AND owner IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ?::int::oid AND l.objid = jobs.owner::oid)`;

/** This process's instance id (null until registered: tests and tools that run no jobs). */
export function currentInstance(): number | null {
  return current;
}

export type Instance = { id: number; stop(): Promise<void> };

/**
 * Ends the attempts of jobs left unfinished by instances that are gone (only those of
 * `onlyIds` when given): queued again after a pause while attempts remain, else failed (a
 * daily run's schedule row closed with it); returns their ids.
 */
export async function sweepOrphanedJobs(db: Database, onlyIds?: number[]): Promise<number[]> {
  if (db.mode === 'embedded') {
    // one process owns an embedded data directory: at its start every unfinished job is orphaned
    const res = await db.knex.raw<{ rows: { id: number }[] }>(
      closingSchedules(`UPDATE jobs SET ${failedAttemptSet("'the process running this job stopped before it finished; run it again'")}
         WHERE ${UNFINISHED} AND owner IS DISTINCT FROM ? RETURNING *`),
      [current],
    );
    return res.rows.map((r) => Number(r.id));
  }
  const res = await db.knex.raw<{ rows: { id: number }[] }>(
    closingSchedules(`UPDATE jobs SET ${failedAttemptSet("'the process running this job (instance ' || owner || ') stopped before it finished; run it again'")}
       WHERE (?::bigint[] IS NULL OR id = ANY(?::bigint[])) AND ${ORPHANED}
       RETURNING *`),
    arrayBindings([onlyIds ?? null, onlyIds ?? null, LIVENESS_CLASS]),
  );
  return res.rows.map((r) => Number(r.id));
}

/** Jobs that look orphaned now (no live owner), not yet marked. */
async function orphanedJobs(db: Database): Promise<number[]> {
  const res = await db.knex.raw<{ rows: { id: number }[] }>(
    `SELECT id FROM jobs WHERE ${ORPHANED}`,
    [LIVENESS_CLASS],
  );
  return res.rows.map((r) => Number(r.id));
}

/**
 * Registers this process, holds its liveness lock (re-taken after the server comes back),
 * and sweeps orphaned jobs now and every 30 s.
 */
export async function registerInstance(db: Database): Promise<Instance> {
  const [row] = (await db.knex('service_instances').insert({ host: os.hostname(), pid: process.pid }).returning('id')) as { id: number }[];
  const id = Number((row as { id: number }).id);
  current = id;
  let stopped = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;

  // at start, every job without a live owner is orphaned; later a job must look orphaned in
  // two sweeps in a row: a live instance whose connection blinked takes its lock back within
  // seconds, and its job is not failed under it
  let suspects: number[] | undefined;
  const sweep = async () => {
    try {
      const failed = suspects === undefined ? await sweepOrphanedJobs(db) : suspects.length ? await sweepOrphanedJobs(db, suspects) : [];
      suspects = db.mode === 'embedded' ? [] : await orphanedJobs(db);
      if (failed.length) log.warn('jobs of stopped processes: attempt ended (queued again when attempts remain, else failed)', { jobs: failed });
    } catch (e) {
      log.warn('orphaned-job sweep failed', { error: e instanceof Error ? e.message : String(e) });
    }
  };

  const hold = async (delayMs: number): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: db.urls.session, application_name: `zonerisk-instance-${id}` });
    // a lost connection (server restart, network) is retried; the lock comes back with it
    c.on('error', (e: Error) => log.warn('liveness connection lost', { instance: id, error: e.message }));
    c.on('end', () => {
      if (stopped || client !== c) return;
      client = null;
      retry = setTimeout(() => void hold(Math.min(delayMs * 2, 5_000)), delayMs);
      retry.unref();
    });
    try {
      client = c;
      await c.connect();
      await c.query('SELECT pg_advisory_lock($1, $2)', [LIVENESS_CLASS, id]);
    } catch (e) {
      log.warn('liveness lock not taken; retrying', { instance: id, error: e instanceof Error ? e.message : String(e) });
      c.removeAllListeners('end');
      client = null;
      await c.end().catch(() => undefined);
      retry = setTimeout(() => void hold(Math.min(delayMs * 2, 5_000)), delayMs);
      retry.unref();
    }
  };

  if (db.mode === 'postgres') await hold(250);
  await sweep();
  const timer = setInterval(() => void sweep(), SWEEP_MS);
  timer.unref();
  log.info('instance registered', { instance: id });
  return {
    id,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
      if (current === id) current = null;
    },
  };
}
