import { Routes } from '../access';
import type { Runtime } from '../../runtime';
import { keptMapBody, zonesMap } from '../../services/maps';
import { notModified } from '../caching';
import { bodyWriter, fullMapTurn } from '../stream';
import { zonesGeoQuery } from '../schemas';
import { parseQuery } from '../validation';
import { readingOf } from './zones';

/** Maps: zones as GeoJSON (simplified: kept by ETag; full detail: streamed, a few at a time). */
export function mapsRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.get('/v1/zones.geojson', 'read', async (req, res) => {
    const q = parseQuery(zonesGeoQuery, req.query);
    const map = await zonesMap(rt, readingOf(rt, q), { kind: q.kind, parent: q.parent, level: q.level, bbox: q.bbox, zoom: q.zoom });
    if (notModified(req, res, map.etag)) return;
    res.type('application/geo+json');
    if (map.query.zoom !== undefined) {
      // simplified maps are a few megabytes for a country: kept by ETag (and gzipped) by the runtime's map store, shared with the warm-up
      const gzip = req.acceptsEncodings('gzip') === 'gzip';
      const body = await keptMapBody(rt, map, gzip);
      if (gzip) res.setHeader('Content-Encoding', 'gzip');
      res.send(body);
      return;
    }
    // full detail can be hundreds of megabytes: streamed, never kept, a few at a time (each
    // holds its zones and a batch of geometry while its client reads): ZONERISK_MAX_FULL_MAPS
    // at once, a few waiting, the rest 503 with Retry-After
    const turn = await fullMapTurn(rt.fullMaps, res);
    if (!turn) return; // the client hung up while waiting
    try {
      const write = bodyWriter(res);
      for await (const piece of map.pieces()) {
        if (!(await write(piece))) return; // the client has gone
      }
      res.end();
    } finally {
      turn.release();
    }
  });

  return r;
}
