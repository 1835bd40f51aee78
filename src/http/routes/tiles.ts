import { Routes } from '../access';
import { z } from 'zod';
import { AREA_KINDS } from '../../domain/areas';
import type { Runtime } from '../../runtime';
import { areasExtent, zonesTile } from '../../services/maps';
import { badRequest } from '../../errors';
import { levelsQuery, oneValue } from '../schemas';
import { notModified, SizedCache } from '../caching';
import { originOf } from '../origin';
import { parseQuery } from '../validation';
import { readingOf } from './zones';

/**
 * Vector tiles of the zones (layer `zones`, the GeoJSON's properties) and their TileJSON.
 * One path for both database modes: geometry comes from the shared-border simplification
 * for the tile's zoom and is encoded in the map worker (geo/tiles.ts). PostGIS's ST_AsMVT
 * is not in the embedded build; this way a tile is the same whichever engine serves it. Tiles are cached under the ETag of what they show: a recomputation, an
 * override or a late report changes the tag, and the old tiles are never served again.
 */
const MAX_ZOOM = 14;

export const tileQuery = z.strictObject({
  date: levelsQuery.shape.date,
  as_of: levelsQuery.shape.as_of,
  version: levelsQuery.shape.version,
  kind: z.preprocess(oneValue, z.enum(AREA_KINDS)).optional(),
});

function tileCoords(params: Record<string, string>): { z: number; x: number; y: number } {
  const [zs, xs, ys] = [params.z, params.x, params.y];
  const z = Number(zs);
  const x = Number(xs);
  const y = Number(ys);
  const problems: { path: string; message: string }[] = [];
  if (!/^\d+$/.test(zs ?? '') || z > MAX_ZOOM) problems.push({ path: 'z', message: `must be a whole number 0–${MAX_ZOOM}` });
  const n = 2 ** Math.min(z, MAX_ZOOM);
  if (!/^\d+$/.test(xs ?? '') || x >= n) problems.push({ path: 'x', message: `must be a whole number 0–${n - 1} at this zoom` });
  if (!/^\d+$/.test(ys ?? '') || y >= n) problems.push({ path: 'y', message: `must be a whole number 0–${n - 1} at this zoom` });
  if (problems.length) throw badRequest('not a tile', problems, 'invalid_tile');
  return { z, x, y };
}

export function tilesRouter(rt: Runtime): Routes {
  const r = new Routes();
  const { config } = rt;
  const cache = new SizedCache<Buffer>(64 * 2 ** 20);

  r.get('/tiles/zones/:z/:x/:y.mvt', 'read', async (req, res) => {
    const { z, x, y } = tileCoords(req.params as Record<string, string>);
    const q = parseQuery(tileQuery, req.query);
    const { etag, bytes } = await zonesTile(rt, readingOf(rt, q), q.kind, z, x, y);
    if (notModified(req, res, etag)) return;
    let tile = cache.get(etag);
    if (!tile) {
      tile = await bytes();
      cache.set(etag, tile);
    }
    res.type('application/vnd.mapbox-vector-tile').send(tile);
  });

  r.get('/tiles/zones.json', 'read', async (req, res) => {
    const q = parseQuery(tileQuery, req.query);
    const params = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => typeof e[1] === 'string' && !(e[0] === 'version' && e[1] === 'latest')));
    const extent = await areasExtent(rt);
    res.json({
      tilejson: '3.0.0',
      name: 'zonerisk zones',
      description: 'Risk levels of communes, districts and provinces (Cấp 1–4)',
      tiles: [`${originOf(config, req)}/tiles/zones/{z}/{x}/{y}.mvt${params.size ? `?${params}` : ''}`],
      minzoom: 0,
      maxzoom: MAX_ZOOM,
      bounds: extent ?? [-180, -85.0511, 180, 85.0511],
      vector_layers: [
        {
          id: 'zones',
          description: 'one polygon per area, with its level on the day',
          minzoom: 0,
          maxzoom: MAX_ZOOM,
          fields: {
            code: 'String',
            name: 'String',
            kind: 'String: province, district, commune',
            parent: 'String',
            level: 'String: green, yellow, orange, red, unknown',
            level_number: 'Number: 1–4 (absent when unknown)',
            color: 'String: #rrggbb',
            since: 'String: YYYY-MM-DD',
            community_cases_7d: 'Number',
            incidence_per_100k_7d: 'Number',
            population: 'Number',
          },
        },
      ],
    });
  });

  return r;
}
