import type { Config } from './config';
import type { Database } from './db/database';
import { MapStore } from './db/maps';
import { RuleSetCache } from './db/rulesets';
import { KeyTouches } from './db/keys';
import { MapWorker } from './geo/mapShapes';
import { EventStreams, Gate } from './http/stream';
import { Previews } from './jobs/classifyThread';
import { Recomputations } from './jobs/recomputations';
import { jobQueue, JobQueue } from './jobs/runner';
import { Scheduler, startScheduler } from './jobs/scheduler';
import { startWebhookWorker, WebhookWorker } from './jobs/webhooks';
import { webhookPolicy } from './net/targets';
import { SizedCache } from './cache';

/**
 * The one object that owns a process's state: its database, its configuration, the caches
 * of derived views, the worker threads, and the background work (recomputations, the job
 * dispatcher, the scheduler, the webhook worker). Made once at start (`createRuntime`) and
 * passed down — to the app's routers, to the services they call — so nothing of it lives in
 * a module: two runtimes in one process (tests run several) share nothing.
 *
 * Caches are checked against `db.writeCount()`, which the repositories' write path bumps
 * itself (Database.write): this process's own changes show at once; other processes'
 * when a cache's short lifetime ends.
 */
export type Runtime = {
  readonly config: Config;
  readonly db: Database;
  /** The map worker thread and its per-database layers, ETag versions (db/maps.ts). */
  readonly maps: MapStore;
  /** Stored rule sets' definitions, kept after the first read (they never change). */
  readonly ruleSets: RuleSetCache;
  /** When each API key's last use was last written (at most once a minute per key). */
  readonly keyTouches: KeyTouches;
  /** JSON bodies of hot reads (one zone), by ETag. */
  readonly bodies: SizedCache<string>;
  /** Turns of full-detail map streams (ZONERISK_MAX_FULL_MAPS at once). */
  readonly fullMaps: Gate;
  /** Turns of briefings (ZONERISK_MAX_BRIEFINGS at once). */
  readonly briefings: Gate;
  /** Open Server-Sent Events streams, ended at shutdown. */
  readonly streams: EventStreams;
  /** Rule-set previews: the classification worker thread and the previews' turns. */
  readonly previews: Previews;
  /** This process's recomputations (their turns, and stopping them between two days). */
  readonly recomputations: Recomputations;
  /** The job dispatcher: claims queued recomputations and runs them in job processes. */
  readonly jobs: JobQueue;
  /** Builds today's hot answers ahead of the requests: at start, after recomputations (a service's: services/warm.ts; others none). */
  readonly warmUp: WarmUp;
  /**
   * Starts the background work of a service: the job dispatcher's polling (jobs left queued
   * by a restart or by other replicas are taken up now), the daily schedule (unless
   * ZONERISK_SCHEDULE=off), the webhook deliveries, and the warm-up of today's hot answers
   * (a country's shared-border topology takes seconds, a cold zone answer ~15× a kept
   * one: built now and after each recomputation, not on the first requests). Tools
   * and tests that only serve requests do not start it.
   */
  start(): void;
  /**
   * Stops the runtime's own work — streams, recomputations (between two days), the job
   * dispatcher, the scheduler, the webhook worker, the worker threads — not the database:
   * its owner closes it.
   */
  close(): Promise<void>;
};

const FULL_MAP_WAIT_MS = 30_000;

/**
 * Background building of hot answers, started with the runtime's background work (`start`),
 * told when a job succeeded (`kick`), stopped at `close`. Made by whoever creates the
 * runtime (the service passes services/warm.ts's; the runtime imports no service).
 */
export type WarmUp = { start(): void; kick(): void; stop(): Promise<void> };
const NO_WARM_UP: WarmUp = { start: () => undefined, kick: () => undefined, stop: async () => undefined };

/**
 * The runtime of a process (or of a test's app) over an open database. `owner` is the
 * process's service instance (db/instances.ts), which owns the jobs it runs; null when the
 * process registered none (tools, tests). The job dispatcher is created idle: `jobs.start()`
 * keeps it polling (the service does).
 */
export function createRuntime(config: Config, db: Database, owner: number | null = null, warmUp: (rt: Runtime) => WarmUp = () => NO_WARM_UP): Runtime {
  const worker = new MapWorker();
  const recomputations = new Recomputations(db, owner);
  const previews = new Previews();
  let warm = NO_WARM_UP;
  // a job that succeeded changed today's answers: the warm-up builds them again
  const jobs = jobQueue(db, config, recomputations, () => warm.kick());
  let closing: Promise<void> | null = null;
  let scheduler: Scheduler | null = null;
  let webhooks: WebhookWorker | null = null;
  const rt: Runtime = {
    config,
    db,
    maps: new MapStore(db, worker),
    ruleSets: new RuleSetCache(),
    keyTouches: new KeyTouches(),
    bodies: new SizedCache<string>(64 * 1024 * 1024),
    fullMaps: new Gate(config.maxFullMaps, config.maxFullMaps * 2, FULL_MAP_WAIT_MS),
    briefings: new Gate(config.maxBriefings, config.maxBriefings * 2, FULL_MAP_WAIT_MS),
    streams: new EventStreams(),
    previews,
    recomputations,
    jobs,
    get warmUp() {
      return warm;
    },
    start() {
      if (closing) return;
      warm.start();
      if (config.schedule !== 'off' && !scheduler) scheduler = startScheduler(db, { at: config.schedule, timeZone: config.reportingTimeZone, jobs });
      webhooks ??= startWebhookWorker(db, { policy: webhookPolicy(config) });
      jobs.start();
    },
    close() {
      closing ??= (async () => {
        rt.streams.endAll();
        await Promise.all([warm.stop(), recomputations.stop(), jobs.stop(), scheduler?.stop(), webhooks?.stop()]);
        await Promise.all([worker.stop(), previews.stop()]);
      })();
      return closing;
    },
  };
  warm = warmUp(rt);
  return rt;
}
