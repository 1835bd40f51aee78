import path from 'node:path';
import express, { Router } from 'express';
import { areasExtent } from '../../db/maps';
import { LEVEL_INFO } from '../../domain/levels';
import { projectRoot } from '../../paths';
import { AppContext } from '../context';
import { todayIn } from '../schemas';

/**
 * The command-centre map page at `/`: static files from web/ and MapLibre GL from the
 * app's own node_modules (nothing from the internet), plus the page's settings. A client
 * asking for JSON only at `/` gets the API index instead.
 */
export function uiRouter({ db, config }: AppContext): Router {
  const r = Router();
  const web = path.join(projectRoot, 'web');
  const maplibre = path.dirname(require.resolve('maplibre-gl/dist/maplibre-gl.js'));

  r.get('/', (req, res) => {
    if (req.accepts(['html', 'json']) === 'json') {
      res.redirect(303, '/v1');
      return;
    }
    res.sendFile(path.join(web, 'index.html'));
  });
  r.use('/ui', express.static(web, { index: false, maxAge: '5m' }));
  r.get('/vendor/maplibre-gl.js', (_req, res) => res.sendFile(path.join(maplibre, 'maplibre-gl.js'), { maxAge: '1d' }));
  r.get('/vendor/maplibre-gl.css', (_req, res) => res.sendFile(path.join(maplibre, 'maplibre-gl.css'), { maxAge: '1d' }));

  r.get('/ui/config.json', async (_req, res) => {
    const [bounds, days] = await Promise.all([
      areasExtent(db.read),
      // one index probe per day (a loose index scan), not a pass over every level row
      db.read.raw<{ rows: { date: string }[] }>(
        `WITH RECURSIVE d AS (
           SELECT min(date) AS date FROM zone_levels
           UNION ALL SELECT (SELECT min(z.date) FROM zone_levels z WHERE z.date > d.date) FROM d WHERE d.date IS NOT NULL
         ) SELECT date::text AS date FROM d WHERE date IS NOT NULL`,
      ),
    ]);
    res.json({
      today: todayIn(config),
      days: days.rows.map((d) => d.date),
      bounds,
      levels: LEVEL_INFO,
      basemap: config.basemapUrl ?? null,
      basemap_attribution: config.basemapAttribution ?? null,
    });
  });
  return r;
}
