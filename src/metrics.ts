import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of this process, served at GET /metrics. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'zonerisk_' });

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

export const jobsCoalesced = counter('zonerisk_jobs_coalesced_total', 'Late-data recomputations folded into a pending job instead of queuing a new one');
