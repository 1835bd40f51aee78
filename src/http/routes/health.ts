import { Routes } from '../access';
import type { Runtime } from '../../runtime';
import { readiness } from '../../services/health';
import { reply } from '../responses/common';
import { ApiIndex, Health, Ready } from '../responses/service';

export function healthRouter(rt: Runtime): Routes {
  const { db } = rt;
  const r = new Routes();
  // A map of the API (the command-centre map page is at /, for browsers).
  r.get('/v1', 'public', (_req, res) => {
    reply(res, ApiIndex, {
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

  r.get('/health', 'public', (_req, res) => {
    reply(res, Health, { status: 'ok' });
  });
  // ready: see services/health.ts.
  // Public and not rate-limited, so requests arriving while a reading runs share it (a flood
  // of /ready costs one query at a time, not the pool).
  let reading: ReturnType<typeof readiness> | null = null;
  r.get('/ready', 'public', async (_req, res) => {
    reading ??= readiness(rt).finally(() => (reading = null));
    const { status, body } = await reading;
    reply(res, Ready, body, status);
  });
  return r;
}
