import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of this process, served at GET /metrics. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'zonerisk_' });

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

export const recomputeDays = new Counter({
  name: 'zonerisk_recompute_days_total',
  help: 'Days recomputed (every area of a day counts once)',
  registers: [registry],
});

export const lastRecomputeSuccess = new Gauge({
  name: 'zonerisk_recompute_last_success_timestamp_seconds',
  help: 'When the last recompute job of this process succeeded (Unix time)',
  registers: [registry],
});

export const webhookBacklog = new Gauge({
  name: 'zonerisk_webhook_backlog',
  help: 'Webhook deliveries waiting to be sent or retried',
  registers: [registry],
});
