import os from 'node:os';
import pg from 'pg';
import { Database } from './database';
import { endOrphanedAttempts, insertInstance, orphanedJobIds } from './jobs';
import { LIVENESS_CLASS } from './locks';
import { log } from '../log';

/**
 * Liveness of service processes, so that a job whose process died is not left "running"
 * for ever. Each process registers an instance row and holds the session advisory lock
 * (LIVENESS_CLASS, id) on a connection of its own for as long as it lives: PostgreSQL drops
 * the lock the moment that session ends, whether the process exited, was killed or lost
 * its host. Every instance sweeps at start and then periodically: a running job whose owner
 * holds no lock (or a job its dead creator was about to run) has lost its attempt — it goes
 * back to the queue after a pause while it has attempts left (automatic jobs), else it is
 * marked failed (db/jobs.ts endOrphanedAttempts). Jobs waiting in the queue belong to no
 * instance: any dispatcher runs them.
 *
 * The instance's id is the owner that this process's recomputations and job dispatcher
 * write into the jobs they create and claim (jobs/recomputations.ts, jobs/runner.ts).
 */
const SWEEP_MS = 30_000;

export type Instance = { id: number; stop(): Promise<void> };

/**
 * Registers this process, holds its liveness lock (re-taken after the server comes back),
 * and sweeps orphaned jobs now and every 30 s. Pass the instance's id down as the owner of
 * the jobs this process runs.
 */
export async function registerInstance(db: Database): Promise<Instance> {
  const id = await insertInstance(db, os.hostname(), process.pid);
  let stopped = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;

  // at start, every job without a live owner is orphaned; later a job must look orphaned in
  // two sweeps in a row: a live instance whose connection blinked takes its lock back within
  // seconds, and its job is not failed under it
  let suspects: number[] | undefined;
  const sweep = async () => {
    try {
      const scope = (onlyIds?: number[]) => (db.mode === 'embedded' ? { mode: 'embedded' as const, self: id } : { mode: 'postgres' as const, onlyIds });
      const failed = suspects === undefined ? await endOrphanedAttempts(db, scope()) : suspects.length ? await endOrphanedAttempts(db, scope(suspects)) : [];
      suspects = db.mode === 'embedded' ? [] : await orphanedJobIds(db);
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
    },
  };
}
