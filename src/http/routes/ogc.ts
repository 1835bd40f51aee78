import { Routes } from '../access';
import { Request } from 'express';
import { z } from 'zod';
import type { Runtime } from '../../runtime';
import { readingAt } from '../../services/levels';
import { collectionExtent, collectionItems, zoneFeature } from '../../services/maps';
import { LocalDate } from '../../domain/dates';
import { notFound } from '../../errors';
import { bodyWriter, fullMapTurn } from '../stream';
import { bboxSchema, oneValue, todayIn } from '../schemas';
import { originOf } from '../origin';
import { parseQuery } from '../validation';

/**
 * OGC API – Features, Part 1 (core, GeoJSON, OpenAPI 3.0) at /ogc, so that GDAL, QGIS or
 * OpenLayers read the zones natively. One collection, `zones`: every area with its level
 * on the day `datetime` names (today by default), geometry at full detail.
 */
const CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
];
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const MAX_LIMIT = 10_000;

const formatParam = z.preprocess(oneValue, z.enum(['json', 'geojson'], { error: 'only json is offered' })).optional();

/** A date, or an instant whose (UTC) date is taken; intervals are not offered. */
const datetimeParam = z.preprocess(
  oneValue,
  z
    .string()
    .refine((s) => !s.includes('/'), 'must be one date or instant (intervals are not offered: levels are per day)')
    .refine((s) => /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(s) && !Number.isNaN(Date.parse(s.slice(0, 10))), 'must be a date YYYY-MM-DD or an RFC 3339 instant')
    .transform((s) => s.slice(0, 10) as LocalDate),
);

export const itemsQuery = z.strictObject({
  bbox: z.preprocess(oneValue, bboxSchema).optional(),
  limit: z.preprocess(oneValue, z.coerce.number().int('must be a whole number').min(1).max(MAX_LIMIT)).default(100),
  offset: z.preprocess(oneValue, z.coerce.number().int('must be a whole number').min(0)).default(0),
  datetime: datetimeParam.optional(),
  f: formatParam,
});
export const itemQuery = z.strictObject({ datetime: datetimeParam.optional(), f: formatParam });
const plainQuery = z.strictObject({ f: formatParam });

function openApi(root: string) {
  const params = {
    bbox: { name: 'bbox', in: 'query', required: false, schema: { type: 'array', minItems: 4, maxItems: 4, items: { type: 'number' } }, style: 'form', explode: false },
    limit: { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 }, style: 'form', explode: false },
    offset: { name: 'offset', in: 'query', required: false, schema: { type: 'integer', minimum: 0, default: 0 } },
    datetime: { name: 'datetime', in: 'query', required: false, schema: { type: 'string' }, description: 'a date (YYYY-MM-DD) or instant: the day whose levels are shown' },
  };
  const ok = (description: string, type = 'application/json') => ({ 200: { description, content: { [type]: { schema: { type: 'object' } } } } });
  return {
    openapi: '3.0.3',
    info: { title: 'zonerisk – OGC API Features', version: '1.0.0', description: 'Zone risk levels (Cấp 1–4) as OGC API – Features' },
    servers: [{ url: root }],
    paths: {
      '/': { get: { summary: 'landing page', operationId: 'getLandingPage', responses: ok('the landing page') } },
      '/conformance': { get: { summary: 'conformance classes', operationId: 'getConformance', responses: ok('conformance classes') } },
      '/collections': { get: { summary: 'collections', operationId: 'getCollections', responses: ok('the collections') } },
      '/collections/zones': { get: { summary: 'the zones collection', operationId: 'describeZones', responses: ok('the collection') } },
      '/collections/zones/items': {
        get: { summary: 'zones with their level', operationId: 'getZones', parameters: [params.bbox, params.limit, params.offset, params.datetime], responses: ok('zones', 'application/geo+json') },
      },
      '/collections/zones/items/{featureId}': {
        get: {
          summary: 'one zone',
          operationId: 'getZone',
          parameters: [{ name: 'featureId', in: 'path', required: true, schema: { type: 'string' } }, params.datetime],
          responses: { ...ok('the zone', 'application/geo+json'), 404: { description: 'no such zone' } },
        },
      },
    },
  };
}

export function ogcRouter(rt: Runtime): Routes {
  const r = new Routes();
  const { config } = rt;
  /** The base URL of the OGC API: on the configured origin, never on the request's Host. */
  const base = (req: Request) => `${originOf(config, req)}/ogc`;

  r.get('/ogc', 'read', (req, res) => {
    parseQuery(plainQuery, req.query);
    const root = base(req);
    res.json({
      title: 'zonerisk',
      description: 'Commune and ward risk levels (Cấp 1–4) with their history, as OGC API – Features',
      links: [
        { href: root, rel: 'self', type: 'application/json', title: 'this document' },
        { href: `${root}/api`, rel: 'service-desc', type: 'application/vnd.oai.openapi+json;version=3.0', title: 'the API definition' },
        { href: `${root}/conformance`, rel: 'conformance', type: 'application/json', title: 'conformance classes' },
        { href: `${root}/collections`, rel: 'data', type: 'application/json', title: 'collections' },
      ],
    });
  });

  r.get('/ogc/api', 'read', (req, res) => {
    res.type('application/vnd.oai.openapi+json;version=3.0').send(JSON.stringify(openApi(base(req))));
  });

  r.get('/ogc/conformance', 'read', (req, res) => {
    parseQuery(plainQuery, req.query);
    res.json({ conformsTo: CONFORMANCE });
  });

  const describeZones = async (root: string) => {
    const { bbox: extent, first, last } = await collectionExtent(rt);
    return {
      id: 'zones',
      title: 'Zones',
      description: 'Every area with its level on a day (datetime; today by default): Cấp 1 green to Cấp 4 red',
      itemType: 'feature',
      crs: [CRS84],
      extent: {
        spatial: { bbox: [extent ?? [-180, -90, 180, 90]], crs: CRS84 },
        temporal: { interval: [[first ? `${first}T00:00:00Z` : null, last ? `${last}T23:59:59Z` : null]], trs: 'http://www.opengis.net/def/uom/ISO-8601/0/Gregorian' },
      },
      links: [
        { href: `${root}/collections/zones`, rel: 'self', type: 'application/json', title: 'this collection' },
        { href: `${root}/collections/zones/items`, rel: 'items', type: 'application/geo+json', title: 'the zones' },
      ],
    };
  };

  r.get('/ogc/collections', 'read', async (req, res) => {
    parseQuery(plainQuery, req.query);
    const root = base(req);
    res.json({
      links: [{ href: `${root}/collections`, rel: 'self', type: 'application/json', title: 'this document' }],
      collections: [await describeZones(root)],
    });
  });

  r.get('/ogc/collections/:id', 'read', async (req, res) => {
    parseQuery(plainQuery, req.query);
    if (req.params.id !== 'zones') throw notFound(`no collection ${req.params.id} (there is one: zones)`);
    res.json(await describeZones(base(req)));
  });

  r.get('/ogc/collections/:id/items', 'read', async (req, res) => {
    if (req.params.id !== 'zones') throw notFound(`no collection ${req.params.id} (there is one: zones)`);
    const q = parseQuery(itemsQuery, req.query);
    const date = q.datetime ?? todayIn(config);
    const asOf = await readingAt(rt, { date, asOf: null, version: 'latest' });
    const root = base(req);
    const link = (offset: number, rel: string) => {
      const params = new URLSearchParams({ limit: String(q.limit), offset: String(offset), datetime: date });
      if (q.bbox) params.set('bbox', q.bbox.join(','));
      return { href: `${root}/collections/zones/items?${params}`, rel, type: 'application/geo+json' };
    };
    // full-detail geometry, up to 10,000 features: one of the few streams allowed at once (as zones.geojson)
    const turn = await fullMapTurn(rt.fullMaps, res);
    if (!turn) return;
    try {
      res.type('application/geo+json');
      const pieces = collectionItems(rt, date, asOf, q.bbox, {
        offset: q.offset,
        limit: q.limit,
        members: (matched, returned) => ({
          numberMatched: matched,
          numberReturned: returned,
          timeStamp: new Date().toISOString(),
          links: [
            link(q.offset, 'self'),
            ...(q.offset + returned < matched ? [link(q.offset + q.limit, 'next')] : []),
            ...(q.offset > 0 ? [link(Math.max(0, q.offset - q.limit), 'prev')] : []),
          ],
        }),
      });
      const write = bodyWriter(res);
      for await (const piece of pieces) if (!(await write(piece))) return; // the client has gone
      res.end();
    } finally {
      turn.release();
    }
  });

  r.get('/ogc/collections/:id/items/:featureId', 'read', async (req, res) => {
    if (req.params.id !== 'zones') throw notFound(`no collection ${req.params.id} (there is one: zones)`);
    const q = parseQuery(itemQuery, req.query);
    const date = q.datetime ?? todayIn(config);
    const feature = await zoneFeature(rt, req.params.featureId, date);
    if (!feature) throw notFound(`no zone ${req.params.featureId}`);
    res.type('application/geo+json').send(feature);
  });

  return r;
}
