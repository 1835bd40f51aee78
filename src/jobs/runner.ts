import { ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../db/database';
import { log, logLevel } from '../log';
import { projectRoot } from '../paths';
import { getJob, Job, runRecomputeJob } from './recompute';

/**
 * Where background recomputations run. On a real server each one runs in a process of its
 * own (`zonerisk run-job <id>`): a year's backfill of a country computes for minutes, and in
 * the service's own thread (and heap) it would hold up every request behind it. The child
 * takes the same lock as any recomputation, registers its own instance (a child that dies
 * leaves a job the sweep marks failed), stops between two days on SIGTERM, and ends at once
 * if the service dies (its IPC channel closes). The embedded engine has one session, so
 * there jobs run in the service itself.
 */
const children = new Set<ChildProcess>();
const JOB_NICENESS = 10;

export function runJobInBackground(db: Database, job: Job): Promise<Job> {
  if (db.mode === 'embedded') return runRecomputeJob(db, job);
  // the job's process connects where this one does (its reads are the job's own: primary)
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.urls.primary, DATABASE_SESSION_URL: db.urls.session, ZONERISK_LOG_LEVEL: logLevel() };
  delete env.DATABASE_READ_URL;
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'zonerisk.js'), 'run-job', String(job.id)], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  // interactive reads come first: the backfill yields the CPU to the service (and takes longer)
  if (child.pid !== undefined) {
    try {
      os.setPriority(child.pid, JOB_NICENESS);
    } catch {
      // not permitted here: the job runs at the service's priority
    }
  }
  return new Promise<Job>((resolve, reject) => {
    child.once('error', (e) => {
      children.delete(child);
      reject(e);
    });
    child.once('exit', (code) => {
      children.delete(child);
      getJob(db.knex, job.id).then((j) => {
        if (j?.status === 'succeeded') resolve(j);
        else reject(new Error(j?.error ?? `the job's process exited with ${code}`));
      }, reject);
    });
  });
}

/** SIGTERM to every job process (each stops between two days and records where), and waits for them. */
export async function stopChildJobs(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** Logs a background job's failure (the job row already says why). */
export function inBackground(p: Promise<Job>, job: Job, what: string): void {
  p.catch((e: unknown) => log.warn(what, { job: job.id, error: e instanceof Error ? e.message : String(e) }));
}
