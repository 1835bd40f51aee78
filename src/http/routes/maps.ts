import { Router } from 'express';
import { mapEtag, zoneFeatureCollection } from '../../db/maps';
import { readingPoint } from '../../db/publications';
import { notModified } from '../caching';
import { bodyWriter } from '../stream';
import { AppContext } from '../context';
import { todayIn, zonesGeoQuery } from '../schemas';
import { parseQuery } from '../validation';
import { asOfOf } from './zones';

/** Maps: zones as GeoJSON (streamed, cached by ETag). */
export function mapsRouter({ db, config }: AppContext): Router {
  const r = Router();
  // every route here only reads: a replica serves them when there is one
  const knex = db.read;

  r.get('/v1/zones.geojson', async (req, res) => {
    const q = parseQuery(zonesGeoQuery, req.query);
    const date = q.date ?? todayIn(config);
    const asOf = await readingPoint(knex, date, asOfOf(q), q.version);
    const query = { date, asOf, kind: q.kind, parent: q.parent, level: q.level, bbox: q.bbox, zoom: q.zoom };
    if (notModified(req, res, await mapEtag(knex, query, 'zones.geojson'))) return;
    res.type('application/geo+json');
    const write = bodyWriter(res);
    for await (const piece of zoneFeatureCollection(knex, query)) {
      if (!(await write(piece))) return; // the client has gone
    }
    res.end();
  });

  return r;
}
