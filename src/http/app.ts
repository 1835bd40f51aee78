import compression from 'compression';
import express, { Express, NextFunction, raw as rawBytes, Request, Response, Router } from 'express';
import type { Runtime } from '../runtime';
import { errorHandler, notFoundHandler } from './errors';
import { areasRouter } from './routes/areas';
import { reorganisationsRouter } from './routes/reorganisations';
import { factsRouter } from './routes/facts';
import { healthRouter } from './routes/health';
import { commandRouter } from './routes/command';
import { recomputeRouter } from './routes/recompute';
import { ruleSetsRouter } from './routes/rulesets';
import { zonesRouter } from './routes/zones';
import { mapsRouter } from './routes/maps';
import { ogcRouter } from './routes/ogc';
import { tilesRouter } from './routes/tiles';
import { uiRouter } from './routes/ui';
import { keysRouter } from './routes/keys';
import { auditRouter } from './routes/audit';
import { importsRouter } from './routes/imports';
import { eventsRouter } from './routes/events';
import { briefingRouter } from './routes/briefing';
import { gate, respell } from './auth';
import { Declaration, Routes, RouteTable, SMALL_BODY_BYTES } from './access';
import { AppError } from '../errors';
import { isUtf8 } from 'node:buffer';
import { corsFor, declaredBodyLimit, jsonDepthLimit, metricsRoutes, queryPieceLimit, rateLimits, requestIds, securityHeaders } from './hygiene';
import { buildOpenApi } from './openapi';
import { keepJsonBytes, refuseDuplicateKeys, refuseLoneSurrogates } from './jsonBody';
import { RAW_BODY_TYPES } from './schemas';
import path from 'node:path';
import { projectRoot } from '../paths';

export function createApp(ctx: Runtime): Express {
  const app = express();
  // routes match exactly as declared: letter case and a trailing slash count (src/http/access.ts)
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  // a proxy's X-Forwarded-* is believed only from the proxies ZONERISK_TRUST_PROXY names (links: src/http/origin.ts)
  if (ctx.config.trustProxy !== null) app.set('trust proxy', ctx.config.trustProxy);
  app.use(requestIds());
  app.use(securityHeaders(ctx.config));
  app.use(corsFor(ctx.config));
  // gzip or brotli, as the client accepts, for anything over 1 kB (GeoJSON shrinks ~4×); a
  // client that accepts no encoding (scripts, integrations) skips the response wrapping
  const compress = compression({ threshold: 1024 });
  app.use((req, res, next) => {
    if (req.headers['accept-encoding']) return compress(req, res, next);
    res.vary('Accept-Encoding');
    next();
  });

  // the hottest reads first: express walks the routers in this order for every request
  const routers: Routes[] = [
    mapsRouter(ctx),
    zonesRouter(ctx),
    tilesRouter(ctx),
    commandRouter(ctx),
    healthRouter(ctx),
    metricsRoutes(ctx),
    areasRouter(ctx),
    reorganisationsRouter(ctx),
    factsRouter(ctx),
    ruleSetsRouter(ctx),
    recomputeRouter(ctx),
    ogcRouter(ctx),
    uiRouter(ctx),
    keysRouter(ctx),
    auditRouter(ctx),
    importsRouter(ctx),
    eventsRouter(ctx),
    briefingRouter(ctx),
  ];
  // the API document describes the routes registered here (and these two)
  let openApi: Record<string, unknown> | null = null;
  const documents = new Routes()
    .get('/openapi.json', 'public', (_req, res) => {
      openApi ??= buildOpenApi(app, table, { publicUrl: ctx.config.publicUrl });
      res.json(openApi);
    })
    .get('/docs', 'public', (_req, res) => res.sendFile(path.join(projectRoot, 'web', 'docs.html')));
  routers.push(documents);
  const table = new RouteTable(routers.flatMap((r) => r.declarations));
  app.locals.routeTable = table;

  // who is calling and which route they ask for, before any body is read: a refused write is refused unread
  app.use(gate(ctx, table));
  app.use(rateLimits(ctx.config));
  app.use(queryPieceLimit());
  app.use(respell());
  // bodies as large as the route takes (src/http/access.ts BodySize), declared sizes refused unread
  const bulk = bodyParsers(ctx.config.bodyLimitBytes, 'ZONERISK_BODY_LIMIT');
  const small = bodyParsers(Math.min(SMALL_BODY_BYTES, ctx.config.bodyLimitBytes), 'this route');
  // a GET or HEAD has no body to read: whatever is sent with one is never parsed (nor scanned)
  app.use((req, res, next) => (req.method === 'GET' || req.method === 'HEAD' ? next() : ((res.locals.route as Declaration | null)?.body === 'bulk' ? bulk : small)(req, res, next)));
  // each check of a body's bytes or values is its own turn of the event loop: at the body
  // limit each holds it 0.1–0.2 s (a 31 MB body: parse, depth, duplicate keys), not 0.4 s together
  app.use(anotherTurnForABody);
  app.use(jsonDepthLimit());
  app.use(anotherTurnForABody);
  // then a key twice in one object (422 naming its path; after the depth limit, so paths stay short)
  app.use(refuseDuplicateKeys());
  app.use(anotherTurnForABody);
  // then a string that is no Unicode (a lone surrogate's escape: 422 naming its path)
  app.use(refuseLoneSurrogates());
  app.use(anotherTurnForABody);
  for (const r of routers) app.use(r.router);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

/**
 * JSON (UTF-8 only; its bytes kept for refuseDuplicateKeys, src/http/jsonBody.ts) and CSV (as
 * bytes: the ingest reads bytes and refuses bad UTF-8 by line) up to `limit`.
 */
function bodyParsers(limit: number, what: string): Router {
  return Router().use(
    declaredBodyLimit(limit, what),
    express.json({
      type: ['application/json', 'application/geo+json'],
      limit,
      strict: true,
      verify: (_req, res, buf, encoding) => {
        keepJsonBytes(res, buf, encoding); // 415 for a charset other than UTF-8, first
        utf8Only(_req, res, buf);
      },
    }),
    rawBytes({ type: [...RAW_BODY_TYPES], limit }),
  );
}

/** A request with a body goes on in the event loop's next turn (other requests run between). */
function anotherTurnForABody(req: Request, _res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') next();
  else setImmediate(() => next());
}

/** The route declarations of an app made by createApp (the authorisation test walks them). */
export function routeTableOf(app: Express): RouteTable {
  return app.locals.routeTable as RouteTable;
}

/** A JSON body must be UTF-8: bad bytes are refused (400), not stored as U+FFFD. */
function utf8Only(_req: unknown, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) throw new AppError(400, 'invalid_utf8', 'the body is not valid UTF-8', [{ path: '(body)', message: 'invalid UTF-8 byte sequence' }]);
}
