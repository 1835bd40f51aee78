import { Routes } from '../access';
import path from 'node:path';
import { notFound } from '../../errors';
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
export function uiRouter({ db, config }: AppContext): Routes {
  const r = new Routes();
  const web = path.join(projectRoot, 'web');
  const maplibre = path.dirname(require.resolve('maplibre-gl/dist/maplibre-gl.js'));

  r.get('/', 'public', (req, res) => {
    if (req.accepts(['html', 'json']) === 'json') {
      res.redirect(303, '/v1');
      return;
    }
    res.sendFile(path.join(web, 'index.html'));
  });
  r.get('/vendor/maplibre-gl.js', 'public', (_req, res) => res.sendFile(path.join(maplibre, 'maplibre-gl.js'), { maxAge: '1d' }));
  r.get('/vendor/maplibre-gl.css', 'public', (_req, res) => res.sendFile(path.join(maplibre, 'maplibre-gl.css'), { maxAge: '1d' }));

  r.get('/ui/config.json', 'read', async (_req, res) => {
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
  // the page's own files (one level, no dot-files; `send` refuses any path leaving web/)
  r.get('/ui/:file', 'public', (req, res, next) => {
    const file = String(req.params.file);
    res.sendFile(file, { root: web, dotfiles: 'deny', maxAge: '5m' }, (e) => {
      if (e && !res.headersSent) next(notFound(`no file ${file}`));
    });
  });
  return r;
}
