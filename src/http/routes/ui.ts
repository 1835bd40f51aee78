import { Routes } from '../access';
import fs from 'node:fs';
import path from 'node:path';
import { notFound } from '../../errors';
import { mapPageSettings } from '../../services/maps';
import { LEVEL_INFO } from '../../domain/levels';
import { projectRoot } from '../../paths';
import type { Runtime } from '../../runtime';
import { todayIn } from '../schemas';
import { reply } from '../responses/common';
import { MapPageSettings } from '../responses/service';

/**
 * The command-centre map page at `/`: static files from web/ and MapLibre GL from the
 * app's own node_modules (nothing from the internet), plus the page's settings. A client
 * asking for JSON only at `/` gets the API index instead.
 */
export function uiRouter(rt: Runtime): Routes {
  const { config } = rt;
  const r = new Routes();
  const web = path.join(projectRoot, 'web');
  // the page's script and styles, bundled from web/src by `npm run build` (web/build.mjs)
  const bundle = path.join(projectRoot, 'dist', 'web');
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

  // browsers ask for /favicon.ico on every page whatever the page links: the same icon
  r.get('/favicon.ico', 'public', (_req, res) => res.type('image/svg+xml').sendFile(path.join(web, 'favicon.svg'), { maxAge: '1d' }));
  r.get('/ui/bundle/:file', 'public', (req, res, next) => {
    const file = String(req.params.file);
    res.sendFile(file, { root: bundle, dotfiles: 'deny', maxAge: '5m' }, (e) => {
      if (e && !res.headersSent) next(notFound(`no file ${file}${fs.existsSync(bundle) ? '' : ': the page is not built (npm run build)'}`));
    });
  });

  r.get('/ui/config.json', 'read', async (_req, res) => {
    const { bounds, days, places } = await mapPageSettings(rt);
    reply(res, MapPageSettings, {
      today: todayIn(config),
      time_zone: config.reportingTimeZone,
      days,
      bounds,
      places,
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
