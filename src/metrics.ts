import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from './db/database';
import { Figures, figuresOn } from './db/figures';
import { AREA_KINDS } from './domain/areas';
import { dayNumber, LocalDate } from './domain/dates';
import { LEVELS } from './domain/levels';

/**
 * Prometheus metrics of this process, served at GET /metrics. The process's own
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …) keep prom-client's standard
 * names, as stock Node.js dashboards expect; the service's are `zonerisk_*`.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** A counter or gauge of this registry (`zonerisk_` names; labels, if any). */
const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [registry] });
const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });

export const httpDuration = new Histogram({
  name: 'zonerisk_http_request_duration_seconds',
  help: 'HTTP request latency by method, route and status',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const recomputeDuration = new Histogram({
  name: 'zonerisk_recompute_duration_seconds',
  help: 'Duration of recompute jobs by trigger (api, cli, schedule, late_data) and outcome',
  labelNames: ['trigger', 'status'],
  buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  registers: [registry],
});

export const recomputeDays = counter('zonerisk_recompute_days_total', 'Days recomputed (every area of a day counts once)');

export const lastRecomputeSuccess = gauge('zonerisk_recompute_last_success_timestamp_seconds', 'When the last recompute job of this process succeeded (Unix time)');

export const webhookBacklog = gauge('zonerisk_webhook_backlog', 'Webhook deliveries waiting to be sent or retried');

/** Where the job gauges read from at each scrape (set by the service's job dispatcher). */
type JobCounts = { byStatus: Record<string, number>; due: number };
let jobCountSource: (() => Promise<JobCounts>) | null = null;
let lastJobCounts: Promise<JobCounts | null> | null = null;

/** The service's dispatcher names how to count jobs; null stops it (at shutdown). */
export function observeJobs(source: (() => Promise<JobCounts>) | null): void {
  jobCountSource = source;
}

/** One database read per scrape for both gauges; a failed read leaves them as they were. */
function readJobCounts(): Promise<JobCounts | null> {
  if (!jobCountSource) return Promise.resolve(null);
  lastJobCounts ??= jobCountSource()
    .catch(() => null)
    .finally(() => setTimeout(() => (lastJobCounts = null), 100).unref());
  return lastJobCounts;
}

export const jobsByStatus = new Gauge({
  name: 'zonerisk_jobs',
  help: 'Recompute jobs in the database by status (queued includes those waiting to be retried)',
  labelNames: ['status'],
  registers: [registry],
  async collect() {
    const c = await readJobCounts();
    if (c) for (const [status, n] of Object.entries(c.byStatus)) this.set({ status }, n);
  },
});

export const jobQueueDepth = new Gauge({
  name: 'zonerisk_job_queue_depth',
  help: 'Queued recompute jobs that are due and wait for a job process',
  registers: [registry],
  async collect() {
    const c = await readJobCounts();
    if (c) this.set(c.due);
  },
});

export const jobProcesses = gauge('zonerisk_job_processes', 'Job processes (or in-process runs, embedded engine) this service has running now');

export const jobAttemptsFailed = counter('zonerisk_job_attempts_failed_total', "Failed recompute job attempts seen by this service's dispatcher, by trigger and outcome (retried: queued again; failed: no attempt left)", ['trigger', 'outcome']);

export const jobsCoalesced = counter('zonerisk_jobs_coalesced_total', 'Late-data and override recomputations folded into a pending job instead of queuing a new one');

/** The figures gauges (docs/OPERATIONS.md, Metrics). */
const areasGauge = new Gauge({ name: 'zonerisk_areas', help: "Areas valid today (TZ_REPORTING) by kind and effective level (an override's, else the computed one; unknown: none)", labelNames: ['kind', 'level'], registers: [registry] });
const lastClassifiedDay = gauge('zonerisk_last_classified_day_timestamp_seconds', 'The latest day with computed levels, as the Unix time of its 00:00 UTC');
const classifiedDaysBehind = gauge('zonerisk_last_classified_day_age_days', 'Days from the latest day with computed levels to today (TZ_REPORTING): 0 when today is classified');
const lastIngest = gauge('zonerisk_last_ingest_timestamp_seconds', 'When facts last arrived: the latest import batch, or report recorded for one of the last three report days (Unix time)');
const figuresUp = gauge('zonerisk_figures_up', 'Whether the last read of the figures gauges (areas, last classified day, last ingest, webhook backlog) succeeded: 1 yes, 0 no (they keep their last values)');

/** Figures are read at most this often (a scrape in between reuses them). */
export const FIGURES_TTL_MS = 5_000;
/** A figures read that takes longer is given up (the scrape answers without it). */
const FIGURES_TIMEOUT_MS = 3_000;

/** Sets the figures gauges (every kind × level is written, zeros included). */
export function showFigures(f: Figures, today: LocalDate): void {
  areasGauge.reset();
  for (const kind of AREA_KINDS) for (const level of [...LEVELS, 'unknown']) areasGauge.set({ kind, level }, 0);
  for (const a of f.areas) areasGauge.set({ kind: a.kind, level: a.level }, a.n);
  if (f.lastClassifiedDay) {
    lastClassifiedDay.set(dayNumber(f.lastClassifiedDay) * 86_400);
    classifiedDaysBehind.set(dayNumber(today) - dayNumber(f.lastClassifiedDay));
  }
  if (f.lastIngestAt) lastIngest.set(f.lastIngestAt.getTime() / 1000);
  webhookBacklog.set(f.webhookBacklog);
}

type Read = { at: number; today: LocalDate; done: Promise<void> };
const reads = new WeakMap<Database, Read>();

/**
 * The figures gauges brought up to date from `db` for `today`: one statement (db/figures.ts)
 * at most every FIGURES_TTL_MS per database, shared by the scrapes that arrive meanwhile.
 * Never rejects: a database that fails or does not answer within FIGURES_TIMEOUT_MS leaves
 * the gauges as they were and sets `zonerisk_figures_up` to 0 — /metrics still answers,
 * with the process's metrics (an outage is when they matter most).
 */
export function refreshFigures(db: Database, today: LocalDate, now = Date.now()): Promise<void> {
  const last = reads.get(db);
  if (last && last.today === today && now - last.at < FIGURES_TTL_MS) return last.done;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), FIGURES_TIMEOUT_MS);
  });
  const done = Promise.race([figuresOn(db.read, today), timeout])
    .then(
      (f) => {
        showFigures(f, today);
        figuresUp.set(1);
      },
      () => {
        figuresUp.set(0);
        reads.delete(db); // tried again at the next scrape
      },
    )
    .finally(() => clearTimeout(timer));
  reads.set(db, { at: now, today, done });
  return done;
}
