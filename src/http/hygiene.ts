import { randomUUID } from 'node:crypto';
import cors from 'cors';
import express, { Express, RequestHandler, Response } from 'express';
import rateLimit, { ipKeyGenerator } from 'express-rate-limit';
import helmet from 'helmet';
import { Config } from '../config';
import { AppError, forbidden, unauthorized } from '../errors';
import { log, requestContext } from '../log';
import { today } from '../domain/dates';
import { httpDuration, refreshFigures, registry } from '../metrics';
import type { Runtime } from '../runtime';
import { Declaration, isWrite, Routes } from './access';
import { byMetricsKey, isMetricsKey, principalOf } from './auth';
import { errorHandler, notFoundHandler } from './errors';
import { createHttpServer } from './server';
import type { Server } from 'node:http';

/**
 * What every request goes through besides its route: a request id (taken from
 * X-Request-Id when sane, else made; echoed, logged on every line, put in error bodies),
 * latency metrics and an access log line, security headers, CORS for the configured
 * origins, and rate limits per API key.
 */
export function requestIds(): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given && /^[A-Za-z0-9._:-]{1,100}$/.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: string }).path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      // client: the address express gives (behind a proxy ZONERISK_TRUST_PROXY names, the forwarded client's)
      log.info('request', { req_id: id, method: req.method, path: req.path, route, status: res.statusCode, ms: Math.round(seconds * 1000), client: req.ip });
    });
    requestContext.run({ requestId: id }, next);
  };
}

/**
 * Helmet's headers, with a content policy the map page can live with (MapLibre runs its
 * workers from blobs). HTTPS is asked of browsers (`Strict-Transport-Security`,
 * `upgrade-insecure-requests`) only when the service's public URL is https: served over
 * plain HTTP (a command centre's LAN, compose without TLS), they made browsers fetch the
 * page's own scripts over https, which failed — a blank map.
 */
export function securityHeaders(config: Config): RequestHandler {
  const basemap = config.basemapUrl ? new URL(config.basemapUrl.replace(/[{}]/g, '')).origin : null;
  const extra = basemap ? [basemap] : [];
  const https = config.publicUrl?.startsWith('https:') === true;
  return helmet({
    strictTransportSecurity: https,
    contentSecurityPolicy: {
      directives: {
        upgradeInsecureRequests: https ? [] : null,
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        childSrc: ['blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:', ...extra],
        connectSrc: ["'self'", ...extra],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
}

export function corsFor(config: Config): RequestHandler {
  if (config.corsOrigins === null) return (_req, _res, next) => next();
  return cors({
    origin: config.corsOrigins === '*' ? '*' : config.corsOrigins,
    exposedHeaders: ['ETag', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After'],
    maxAge: 600,
  });
}

/**
 * Per API key (or per address without one), per minute; writes and reads counted apart,
 * by one limiter (it runs on every request: one pass, not two). It runs after the gate and
 * judges by the route the gate matched (src/http/access.ts), never by the path's spelling:
 * only `public` routes (health, the page's files, the API documents) are not counted.
 */
export function rateLimits(config: Config): RequestHandler {
  const key = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]) => {
    const p = principalOf(res);
    return p ? `key:${p.keyId ?? 'admin'}` : `ip:${ipKeyGenerator(req.ip ?? '')}`;
  };
  return rateLimit({
    windowMs: 60_000,
    limit: (req) => (isWrite(req.method) ? config.writeRate : config.readRate),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req, res) => `${isWrite(req.method) ? 'w' : 'r'}|${key(req, res)}`,
    skip: (_req, res) => (res.locals.route as Declaration | null | undefined)?.access === 'public',
    handler: (req, _res, next, options) => {
      const writes = isWrite(req.method);
      const limit = typeof options.limit === 'number' ? options.limit : writes ? config.writeRate : config.readRate;
      next(new AppError(429, 'rate_limited', `too many ${writes ? 'writes' : 'requests'}: at most ${limit} a minute for this key`));
    },
  });
}

/** The Prometheus text of this process, the figures gauges brought up to date first (never failing for them). */
async function sendMetrics(rt: Runtime, res: Response): Promise<void> {
  await refreshFigures(rt.db, today(rt.config.reportingTimeZone));
  res.type(registry.contentType).send(await registry.metrics());
}

/**
 * GET /metrics (Prometheus text format) on the service's port. Who may scrape it:
 * - ZONERISK_METRICS_PORT set: nobody here (404) — it is served on that port (metricsApp);
 * - ZONERISK_METRICS_KEY set: `Authorization: Bearer <that key>` (the gate admits it to this
 *   route only, src/http/auth.ts), or an admin key; anyone else 401/403;
 * - neither: anyone while ZONERISK_PUBLIC_READS is on (the zero-setup default; a deployment
 *   sets one of the two — deploy/kubernetes does); with private reads, an admin key only (a
 *   reader's or reporter's key is for levels, not for the process's figures).
 */
export function metricsRoutes(rt: Runtime): Routes {
  const { metricsKey, metricsPort } = rt.config;
  // with private reads and no metrics key, an admin's (declared so: the gate refuses others unread)
  const access = rt.config.publicReads || metricsKey !== null ? 'read' : 'admin';
  return new Routes().get('/metrics', access, async (_req, res) => {
    if (metricsPort !== null) throw new AppError(404, 'not_found', 'metrics are served on their own port (ZONERISK_METRICS_PORT)');
    if (metricsKey !== null && !byMetricsKey(res)) {
      const p = principalOf(res);
      if (!p) throw unauthorized('metrics need the metrics key: Authorization: Bearer <ZONERISK_METRICS_KEY>');
      if (p.role !== 'admin') throw forbidden('metrics need the metrics key (ZONERISK_METRICS_KEY) or an admin key');
    }
    await sendMetrics(rt, res);
  });
}

/**
 * The app of the metrics listener (ZONERISK_METRICS_PORT): GET /metrics and nothing else, no
 * API key lookups; with ZONERISK_METRICS_KEY set, only with `Authorization: Bearer <it>`.
 */
export function metricsApp(rt: Runtime): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.get('/metrics', async (req, res) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (rt.config.metricsKey !== null && !isMetricsKey(rt.config, token)) throw unauthorized('metrics need the metrics key: Authorization: Bearer <ZONERISK_METRICS_KEY>');
    await sendMetrics(rt, res);
  });
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

/** The metrics listener on HOST:ZONERISK_METRICS_PORT (src/server.ts starts it with the service, closes it at shutdown). */
export async function listenForMetrics(rt: Runtime, port: number): Promise<Server> {
  const server = createHttpServer(metricsApp(rt), rt.config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, rt.config.host, resolve);
  });
  return server;
}

/** Deepest JSON nesting accepted in a body (a rule set needs about ten levels). */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of a parsed JSON value, measured without recursion (a hostile body may be 100,000 deep). */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
    }
  }
  return deepest;
}

/** `&`-separated pieces a query may have: no route takes more than a score of parameters. */
export const MAX_QUERY_PIECES = 100;

/**
 * Refuses a query of more than MAX_QUERY_PIECES pieces with a 400. Node's query parser keeps
 * the first 1,000 and drops the rest unsaid, so a parameter past them (a second `date`, a
 * `version=published`) would be ignored rather than refused.
 */
export function queryPieceLimit(): RequestHandler {
  return (req, _res, next) => {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    let pieces = q >= 0 ? 1 : 0;
    for (let i = q + 1; q >= 0 && i < url.length && pieces <= MAX_QUERY_PIECES; i++) if (url.charCodeAt(i) === 38) pieces++;
    if (pieces > MAX_QUERY_PIECES) {
      next(new AppError(400, 'too_many_parameters', `the query has more than ${MAX_QUERY_PIECES} parameters`, [{ path: '(query)', message: `more than ${MAX_QUERY_PIECES} &-separated parameters` }]));
      return;
    }
    next();
  };
}

/**
 * Refuses JSON bodies nested deeper than MAX_JSON_DEPTH with a 400 before any schema sees
 * them: validators and the rule engine recurse, and a stack overflow must not be a 500.
 */
export function jsonDepthLimit(): RequestHandler {
  return (req, _res, next) => {
    if (req.body !== null && typeof req.body === 'object' && jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      next(new AppError(400, 'too_deep', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`, [{ path: '(root)', message: `nesting deeper than ${MAX_JSON_DEPTH}` }]));
      return;
    }
    next();
  };
}

/**
 * A body declared larger than the limit is refused at once (413) and the connection closed,
 * without reading it: the body parser would otherwise read, and discard, all of it first.
 */
export function declaredBodyLimit(limit: number, what = 'ZONERISK_BODY_LIMIT'): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      res.setHeader('Connection', 'close');
      next(new AppError(413, 'payload_too_large', `the body is larger than the limit of ${what}`, [{ path: 'Content-Length', message: `at most ${limit} bytes` }]));
      return;
    }
    next();
  };
}
