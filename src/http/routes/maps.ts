import { Routes } from '../access';
import { mapEtag, zoneFeatureCollection } from '../../db/maps';
import { readingPoint } from '../../db/publications';
import { KeptBodies, notModified } from '../caching';
import { bodyWriter, fullMapTurn } from '../stream';
import { AppContext } from '../context';
import { todayIn, zonesGeoQuery } from '../schemas';
import { parseQuery } from '../validation';
import { asOfOf } from './zones';

/** Maps: zones as GeoJSON (simplified: kept by ETag; full detail: streamed, a few at a time). */
export function mapsRouter({ db, config }: AppContext): Routes {
  const r = new Routes();
  // every route here only reads: a replica serves them when there is one
  const knex = db.read;
  // simplified maps (a zoom given) are a few megabytes for a country: kept, by ETag
  const kept = new KeptBodies(128 * 2 ** 20);

  r.get('/v1/zones.geojson', 'read', async (req, res) => {
    const q = parseQuery(zonesGeoQuery, req.query);
    const date = q.date ?? todayIn(config);
    const asOf = await readingPoint(knex, date, asOfOf(q), q.version);
    const query = { date, asOf, kind: q.kind, parent: q.parent, level: q.level, bbox: q.bbox, zoom: q.zoom };
    const etag = await mapEtag(knex, query, 'zones.geojson');
    if (notModified(req, res, etag)) return;
    res.type('application/geo+json');
    if (query.zoom !== undefined) {
      await kept.send(req, res, etag, async () => {
        const pieces: Buffer[] = [];
        for await (const piece of zoneFeatureCollection(knex, query)) pieces.push(typeof piece === 'string' ? Buffer.from(piece) : piece);
        return Buffer.concat(pieces);
      });
      return;
    }
    // full detail can be hundreds of megabytes: streamed, never kept, a few at a time (each
    // holds its zones and a batch of geometry while its client reads): ZONERISK_MAX_FULL_MAPS
    // at once, a few waiting, the rest 503 with Retry-After
    const turn = await fullMapTurn(config, res);
    if (!turn) return; // the client hung up while waiting
    try {
      const write = bodyWriter(res);
      for await (const piece of zoneFeatureCollection(knex, query)) {
        if (!(await write(piece))) return; // the client has gone
      }
      res.end();
    } finally {
      turn.release();
    }
  });

  return r;
}
