import { randomUUID } from 'node:crypto';
import cors from 'cors';
import { RequestHandler } from 'express';
import rateLimit, { ipKeyGenerator } from 'express-rate-limit';
import helmet from 'helmet';
import { Config } from '../config';
import { AppError } from '../errors';
import { log, requestContext } from '../log';
import { httpDuration, registry } from '../metrics';
import { Declaration, isWrite, Routes } from './access';
import { principalOf } from './auth';

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
      log.info('request', { req_id: id, method: req.method, path: req.path, route, status: res.statusCode, ms: Math.round(seconds * 1000) });
    });
    requestContext.run({ requestId: id }, next);
  };
}

/** Helmet's headers, with a content policy the map page can live with (MapLibre runs its workers from blobs). */
export function securityHeaders(config: Config): RequestHandler {
  const basemap = config.basemapUrl ? new URL(config.basemapUrl.replace(/[{}]/g, '')).origin : null;
  const extra = basemap ? [basemap] : [];
  return helmet({
    contentSecurityPolicy: {
      directives: {
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

/** GET /metrics: Prometheus text format. */
export function metricsRoutes(): Routes {
  return new Routes().get('/metrics', 'read', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
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
