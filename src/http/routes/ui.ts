import { Routes } from '../access';
import path from 'node:path';
import { notFound } from '../../errors';
import { mapPageSettings } from '../../services/maps';
import { LEVEL_INFO } from '../../domain/levels';
import { projectRoot } from '../../paths';
import type { Runtime } from '../../runtime';
import { todayIn } from '../schemas';

/**
 * The command-centre map page at `/`: static files from web/ and MapLibre GL from the
 * app's own node_modules (nothing from the internet), plus the page's settings. A client
 * asking for JSON only at `/` gets the API index instead.
 */
export function uiRouter(rt: Runtime): Routes {
  const { config } = rt;
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
    const { bounds, days } = await mapPageSettings(rt);
    res.json({
      today: todayIn(config),
      days,
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
