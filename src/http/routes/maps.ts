import { once } from 'node:events';
import { Router } from 'express';
import { mapEtag, zoneFeatureCollection } from '../../db/maps';
import { readingPoint } from '../../db/publications';
import { AppContext } from '../context';
import { todayIn, zonesGeoQuery } from '../schemas';
import { parseQuery } from '../validation';

/** Does an If-None-Match header name this ETag (weak comparison, RFC 9110 §13.1.2)? */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/** Maps: zones as GeoJSON (streamed, cached by ETag). */
export function mapsRouter({ db, config }: AppContext): Router {
  const r = Router();
  const { knex } = db;

  r.get('/v1/zones.geojson', async (req, res) => {
    const q = parseQuery(zonesGeoQuery, req.query);
    const date = q.date ?? todayIn(config);
    const asOf = await readingPoint(knex, date, q.as_of ? new Date(q.as_of) : null, q.version);
    const query = { date, asOf, kind: q.kind, parent: q.parent, level: q.level, bbox: q.bbox, zoom: q.zoom };
    const etag = await mapEtag(knex, query, 'zones.geojson');
    res.setHeader('ETag', etag);
    // revalidate often (levels change with every recomputation); a 304 costs a few queries
    res.setHeader('Cache-Control', 'public, max-age=60, must-revalidate');
    if (matches(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    res.type('application/geo+json');
    for await (const piece of zoneFeatureCollection(knex, query)) {
      if (!res.write(piece)) await once(res, 'drain');
    }
    res.end();
  });

  return r;
}
