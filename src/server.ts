import { AddressInfo } from 'node:net';
import { Config } from './config';
import { Database, openDatabase } from './db/database';
import { migrateLatest } from './db/migrate';
import { today } from './domain/dates';
import { createApp } from './http/app';
import { createRuntime } from './runtime';
import { Recomputations } from './jobs/recomputations';
import { log } from './log';
import { registerInstance } from './db/instances';
import { createHttpServer } from './http/server';
import { listenForMetrics } from './http/hygiene';
import { classifyDemo, seedDemo } from '../seeds';
import { Warmer } from './services/warm';

export type RunningService = { url: string; db: Database; close(): Promise<void> };

async function isEmpty(db: Database): Promise<boolean> {
  const row = await db.knex('areas').count<{ count: number }[]>('* as count');
  return Number(row[0]?.count ?? 0) === 0;
}

type PoolStats = { numUsed(): number; numPendingAcquires(): number };

/** Waits (at most `ms`) until no connection of the database's pools is in use or awaited. */
async function drained(db: Database, ms: number): Promise<void> {
  const pools = [db.knex, db.read, db.session].map((k) => (k.client as { pool?: PoolStats }).pool).filter((p): p is PoolStats => Boolean(p));
  const until = Date.now() + ms;
  while (Date.now() < until && pools.some((p) => p.numUsed() + p.numPendingAcquires() > 0)) await new Promise((r) => setTimeout(r, 20));
}

/** Opens the database, migrates, loads the demo into an empty embedded database, listens. */
export async function startService(config: Config): Promise<RunningService> {
  const db = await openDatabase(config);
  try {
    const applied = await migrateLatest(db.knex);
    if (applied.length) log.info('migrations applied', { migrations: applied });
    if (db.mode === 'embedded' && (await isEmpty(db))) {
      const started = Date.now();
      const r = await seedDemo(db, today(config.reportingTimeZone));
      log.info('demo data loaded into the empty embedded database (synthetic case series)', {
        areas: r.areas.created,
        reports: r.reports.inserted,
        metrics: r.metrics.inserted,
        from: r.from,
        to: r.to,
        ms: Date.now() - started,
      });
      // before this process registers as an instance: the demo's job is owned by none
      const job = await classifyDemo(db, r.from, r.to, new Recomputations(db, null));
      log.info('demo classified with vn-moh-4800-2021', { job: job.id, days: job.days_done, ms: Date.now() - started });
    }
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
  // before the first job can be created: jobs left by dead processes are marked failed now
  const instance = await registerInstance(db).catch(async (e: unknown) => {
    await db.close().catch(() => undefined);
    throw e;
  });
  // the service builds today's hot answers ahead of the requests (services/warm.ts)
  const rt = createRuntime(config, db, instance.id, (r) => new Warmer(() => r));
  // a start that fails from here on closes what it opened
  const abandon = async () => {
    await rt.close();
    await instance.stop();
    await db.close().catch(() => undefined);
  };
  const app = createApp(rt);
  const server = createHttpServer(app, config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  }).catch(async (e: unknown) => {
    // the port is taken (or not ours): nothing is left open, so the process ends and its supervisor sees it
    await abandon();
    throw e;
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  log.info('zonerisk listening', { url, engine: db.mode });
  // GET /metrics on a port of its own (ZONERISK_METRICS_PORT), for the scraper only
  const metrics =
    config.metricsPort === null
      ? null
      : await listenForMetrics(rt, config.metricsPort).catch(async (e: unknown) => {
          await new Promise((resolve) => server.close(resolve));
          await abandon();
          throw e;
        });
  if (metrics) log.info('metrics listening', { port: (metrics.address() as AddressInfo).port });
  // the job queue, the daily schedule, webhook deliveries, the map warm-up (src/runtime.ts)
  rt.start();
  let closing: Promise<void> | null = null;
  return {
    url,
    db,
    close() {
      closing ??= (async () => {
        // stop accepting, let requests in flight finish, stop recomputations between two days
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        metrics?.close();
        metrics?.closeAllConnections();
        // streams end, recomputations stop between two days, the dispatcher claims nothing
        // more, the scheduler and the webhook worker stop
        const stopped = rt.close();
        await closed;
        await stopped;
        // a handler can still be running for a client that hung up: let its queries finish
        await drained(db, 10_000);
        await instance.stop();
        await db.close();
      })();
      return closing;
    },
  };
}
