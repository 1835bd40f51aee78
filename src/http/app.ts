import compression from 'compression';
import express, { Express } from 'express';
import { AppContext } from './context';
import { errorHandler, notFoundHandler } from './errors';
import { areasRouter } from './routes/areas';
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
import { eventsRouter } from './routes/events';
import { authenticate } from './auth';
import { corsFor, declaredBodyLimit, jsonDepthLimit, metricsRouter, rateLimits, requestIds, securityHeaders } from './hygiene';
import { buildOpenApi } from './openapi';
import path from 'node:path';
import { projectRoot } from '../paths';

export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
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
  const limit = ctx.config.bodyLimitBytes;
  // who is calling, before any body is read: an unauthenticated write is refused unread
  app.use(authenticate(ctx));
  app.use(rateLimits(ctx.config));
  app.use(metricsRouter());
  app.use(declaredBodyLimit(limit));
  app.use(express.json({ type: ['application/json', 'application/geo+json'], limit, strict: true }));
  app.use(express.text({ type: 'text/csv', limit, defaultCharset: 'utf-8' }));
  app.use(jsonDepthLimit());

  // the hottest reads first: express walks the routers in this order for every request
  app.use(mapsRouter(ctx));
  app.use(zonesRouter(ctx));
  app.use(tilesRouter(ctx));
  app.use(commandRouter(ctx));
  app.use(healthRouter(ctx));
  app.use(areasRouter(ctx));
  app.use(factsRouter(ctx));
  app.use(ruleSetsRouter(ctx));
  app.use(recomputeRouter(ctx));
  app.use(ogcRouter(ctx));
  app.use(uiRouter(ctx));
  app.use(keysRouter(ctx));
  app.use(auditRouter(ctx));
  app.use(eventsRouter(ctx));

  // the API document describes the routes registered above (and these two)
  let openApi: Record<string, unknown> | null = null;
  app.get('/openapi.json', (_req, res) => {
    openApi ??= buildOpenApi(app);
    res.json(openApi);
  });
  app.get('/docs', (_req, res) => res.sendFile(path.join(projectRoot, 'web', 'docs.html')));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
