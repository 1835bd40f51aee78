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
import { tileFields } from '../ogc/schema';

/**
 * Vector tiles of the zones of one kind (layer `zones`, the GeoJSON's properties; without
 * `kind`, communes — polygons of several kinds would lie over each other) and a TileJSON per
 * kind whose tile URL names it.
 * One path for both database modes: geometry comes from the shared-border simplification
 * for the tile's zoom and is encoded in the map worker (geo/tiles.ts). PostGIS's ST_AsMVT
 * is not in the embedded build; this way a tile is the same whichever engine serves it. Tiles are cached under the ETag of what they show: a recomputation, an
 * override or a late report changes the tag, and the old tiles are never served again.
 */
const MAX_ZOOM = 14;
const DEFAULT_KIND = 'commune';
const KIND_NAMES = { province: 'tỉnh / provinces', district: 'huyện / districts', commune: 'xã, phường / communes and wards', subcommune: 'thôn, ấp, khu phong tỏa / villages and lockdown areas' } as const;

export const tileQuery = z.strictObject({
  date: levelsQuery.shape.date,
  as_of: levelsQuery.shape.as_of,
  version: levelsQuery.shape.version,
  kind: z.preprocess(oneValue, z.enum(AREA_KINDS)).optional(),
});

/**
 * The tile's coordinates from the path; 400 naming each that is not a whole number in range.
 * `spelled`: the path wrote them as the numbers are written (no leading zeros) — a tile has
 * one URL, so `/tiles/zones/08/0/0.mvt` is redirected (308) to `/tiles/zones/8/0/0.mvt`.
 */
function tileCoords(params: Record<string, string>): { z: number; x: number; y: number; spelled: boolean } {
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
  return { z, x, y, spelled: zs === String(z) && xs === String(x) && ys === String(y) };
}

export function tilesRouter(rt: Runtime): Routes {
  const r = new Routes();
  const { config } = rt;
  const cache = new SizedCache<Buffer>(64 * 2 ** 20);

  r.get('/tiles/zones/:z/:x/:y.mvt', 'read', async (req, res) => {
    const { z, x, y, spelled } = tileCoords(req.params as Record<string, string>);
    const q = parseQuery(tileQuery, req.query);
    const query = req.originalUrl.indexOf('?');
    const path = query >= 0 ? req.originalUrl.slice(0, query) : req.originalUrl;
    // the path as sent (params are decoded: `%38` is 8): anything but the plain numbers is redirected,
    // relatively (`../../`), so that a service behind a path prefix stays under it
    if (!spelled || !path.endsWith(`/${z}/${x}/${y}.mvt`)) {
      return res.redirect(308, `../../${z}/${x}/${y}.mvt${query >= 0 ? req.originalUrl.slice(query) : ''}`);
    }
    const { etag, bytes } = await zonesTile(rt, readingOf(rt, q), q.kind ?? DEFAULT_KIND, z, x, y);
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
    const kind = q.kind ?? DEFAULT_KIND;
    // the tile URL names the kind, always (a TileJSON per kind)
    const params = new URLSearchParams(Object.entries({ ...q, kind }).filter((e): e is [string, string] => typeof e[1] === 'string' && !(e[0] === 'version' && e[1] === 'latest')));
    const extent = await areasExtent(rt);
    res.json({
      tilejson: '3.0.0',
      name: `zonerisk ${kind}`,
      description: `Cấp độ dịch (Cấp 1–4) của ${KIND_NAMES[kind]}`,
      tiles: [`${originOf(config, req)}/tiles/zones/{z}/{x}/{y}.mvt?${params}`],
      minzoom: 0,
      maxzoom: MAX_ZOOM,
      bounds: extent ?? [-180, -85.0511, 180, 85.0511],
      vector_layers: [
        {
          id: 'zones',
          description: `one polygon per area (${kind}) with its level on the day: level green, yellow, orange, red or unknown; level_number 1–4; color #rrggbb; since YYYY-MM-DD; a property without a value is absent`,
          minzoom: 0,
          maxzoom: MAX_ZOOM,
          fields: tileFields(),
        },
      ],
    });
  });

  return r;
}
