import { Router } from 'express';
import { migrationsCurrent } from '../../db/migrate';
import { AppContext } from '../context';

export function healthRouter({ db }: AppContext): Router {
  const r = Router();
  // A map of the API (the command-centre map page is at /, for browsers).
  r.get('/v1', (_req, res) => {
    res.json({
      service: 'zonerisk',
      description: 'zone-level epidemic risk classification (Cấp 1–4)',
      engine: db.mode,
      links: {
        map: '/',
        health: '/health',
        ready: '/ready',
        areas: '/v1/areas?kind=commune',
        area: '/v1/areas/{code}',
        reports: '/v1/areas/{code}/reports?from=&to=',
        metrics: '/v1/areas/{code}/metrics?name=',
        zones: '/v1/zones?date=',
        zones_geojson: '/v1/zones.geojson?date=&kind=&zoom=',
        ogc: '/ogc',
        tiles: '/tiles/zones.json',
      },
    });
  });

  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/ready', async (_req, res) => {
    try {
      const current = await migrationsCurrent(db.knex);
      if (!current) {
        res.status(503).json({ status: 'not_ready', database: 'ok', migrations: 'pending' });
        return;
      }
      res.json({ status: 'ready', database: 'ok', migrations: 'current', engine: db.mode });
    } catch {
      res.status(503).json({ status: 'not_ready', database: 'unavailable' });
    }
  });
  return r;
}
