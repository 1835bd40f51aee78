import { Routes } from '../access';
import { Request, Response } from 'express';
import { z } from 'zod';
import type { Runtime } from '../../runtime';
import { readingAt } from '../../services/levels';
import { collectionExtent, compileItemFilter, daysWithLevels, levelDays, ogcItem, ogcItems } from '../../services/maps';
import { AREA_CODE_RE } from '../../domain/areas';
import { isLocalDate, LocalDate } from '../../domain/dates';
import { badRequest, notFound } from '../../errors';
import { bodyWriter, fullMapTurn } from '../stream';
import { oneValue, todayIn } from '../schemas';
import { originOf } from '../origin';
import { parseQuery } from '../validation';
import { ogcApiDocument } from '../ogc/api';
import { bboxCrsParam, bboxParam, clampInterval, datetimeDayParam, datetimeParam, filterLangParam, filterParam, limitParam } from '../ogc/params';
import { COLLECTION_IDS, COLLECTIONS, featureSchema, geojsonFeatureSchema, queryables } from '../ogc/schema';

/**
 * OGC API – Features at /ogc, so that GDAL, QGIS or OpenLayers read the zones natively:
 * Part 1 (core, GeoJSON, OpenAPI 3.0), Part 3 (queryables, CQL2-text filter with the basic
 * comparisons) and Part 5 (schemas). One collection per kind of area — provinces,
 * districts, communes, subcommunes — and `zones` (every kind, as before): every area with
 * its level on the day `datetime` names (today by default), geometry at full detail. A
 * datetime interval answers one feature per area per day with levels in it (id
 * code@YYYY-MM-DD), at most MAX_INTERVAL_DAYS days.
 */
const CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2',
  'http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas',
  'http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features',
];
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const GEOJSON = 'application/geo+json';
const SCHEMA_JSON = 'application/schema+json';

const formatParam = z.preprocess(oneValue, z.enum(['json', 'geojson'], { error: 'only json is offered' })).optional();

export const itemsQuery = z.strictObject({
  bbox: bboxParam.optional(),
  'bbox-crs': bboxCrsParam,
  limit: limitParam,
  offset: z.preprocess(oneValue, z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(0)).default(0),
  datetime: datetimeParam.optional(),
  filter: filterParam.optional(),
  'filter-lang': filterLangParam,
  f: formatParam,
});
export const itemQuery = z.strictObject({ datetime: datetimeDayParam.optional(), f: formatParam });
/**
 * The other resources take `f`, and a `datetime` that they check and otherwise ignore: a
 * client may carry one day in its base URL and send it with every request (GDAL's
 * OAPIF:…/ogc?datetime=2021-10-31 does).
 */
const plainQuery = z.strictObject({ f: formatParam, datetime: datetimeParam.optional() });

/** The collection an :id names, or a 404 listing them. */
function collectionOf(id: string | undefined): (typeof COLLECTIONS)[string] & { id: string } {
  const c = id !== undefined && Object.hasOwn(COLLECTIONS, id) ? COLLECTIONS[id] : undefined;
  if (!c || id === undefined) throw notFound(`no collection ${id} (there are: ${COLLECTION_IDS.join(', ')})`);
  return { ...c, id };
}

/** A featureId: a code (its day from datetime) or code@YYYY-MM-DD. */
function featureIdOf(text: string): { code: string; day: LocalDate | null } {
  const at = text.lastIndexOf('@');
  const code = at < 0 ? text : text.slice(0, at);
  const day = at < 0 ? null : text.slice(at + 1);
  if (!AREA_CODE_RE.test(code) || (day !== null && !/^\d{4}-\d{2}-\d{2}$/.test(day))) throw notFound(`no feature ${text}`);
  if (day !== null && !isLocalDate(day)) throw notFound(`no feature ${text}`);
  return { code, day: day as LocalDate | null };
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
      description: 'Cấp độ dịch của tỉnh, huyện, xã (Cấp 1–4) và lịch sử / risk levels of provinces, districts, communes (Cấp 1–4) with their history, as OGC API – Features',
      links: [
        { href: root, rel: 'self', type: 'application/json', title: 'this document' },
        { href: `${root}/api`, rel: 'service-desc', type: 'application/vnd.oai.openapi+json;version=3.0', title: 'the API definition' },
        { href: `${root}/conformance`, rel: 'conformance', type: 'application/json', title: 'conformance classes' },
        { href: `${root}/collections`, rel: 'data', type: 'application/json', title: 'collections' },
      ],
    });
  });

  r.get('/ogc/api', 'read', (req, res) => {
    parseQuery(plainQuery, req.query);
    res.type('application/vnd.oai.openapi+json;version=3.0').send(JSON.stringify(ogcApiDocument(base(req))));
  });

  r.get('/ogc/conformance', 'read', (req, res) => {
    parseQuery(plainQuery, req.query);
    res.json({ conformsTo: CONFORMANCE });
  });

  const describe = (root: string, c: ReturnType<typeof collectionOf>, extent: Awaited<ReturnType<typeof collectionExtent>>) => {
    const at = `${root}/collections/${c.id}`;
    return {
      id: c.id,
      title: c.title,
      description: c.description,
      itemType: 'feature',
      crs: [CRS84],
      extent: {
        spatial: { bbox: [extent.bbox ?? [-180, -90, 180, 90]], crs: CRS84 },
        temporal: { interval: [[extent.first ? `${extent.first}T00:00:00Z` : null, extent.last ? `${extent.last}T23:59:59Z` : null]], trs: 'http://www.opengis.net/def/uom/ISO-8601/0/Gregorian' },
      },
      links: [
        { href: at, rel: 'self', type: 'application/json', title: 'this collection' },
        { href: `${at}/items`, rel: 'items', type: GEOJSON, title: c.title },
        { href: `${at}/queryables`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/queryables', type: SCHEMA_JSON, title: 'queryables' },
        // the draft's relation, which GDAL's OAPIF driver (3.6) follows
        { href: `${at}/queryables`, rel: 'queryables', type: 'application/json', title: 'queryables' },
        { href: `${at}/schema`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/schema', type: SCHEMA_JSON, title: 'feature schema (Part 5)' },
        // GDAL's OAPIF driver types its fields from a GeoJSON Feature schema at describedBy (spelt so)
        { href: `${at}/feature-schema`, rel: 'describedBy', type: SCHEMA_JSON, title: 'GeoJSON Feature schema' },
      ],
    };
  };

  r.get('/ogc/collections', 'read', async (req, res) => {
    parseQuery(plainQuery, req.query);
    const root = base(req);
    const extent = await collectionExtent(rt);
    res.json({
      links: [{ href: `${root}/collections`, rel: 'self', type: 'application/json', title: 'this document' }],
      collections: COLLECTION_IDS.map((id) => describe(root, collectionOf(id), extent)),
    });
  });

  r.get('/ogc/collections/:id', 'read', async (req, res) => {
    const c = collectionOf(req.params.id);
    parseQuery(plainQuery, req.query);
    res.json(describe(base(req), c, await collectionExtent(rt)));
  });

  /** A JSON Schema document: application/schema+json, or application/json to a client that asks only for that (GDAL). */
  const sendSchema = (req: Request, res: Response, doc: Record<string, unknown>) => {
    const type = req.accepts([SCHEMA_JSON, 'application/json']) || SCHEMA_JSON;
    res.type(type).send(JSON.stringify(doc));
  };
  r.get('/ogc/collections/:id/queryables', 'read', (req, res) => {
    const c = collectionOf(req.params.id);
    parseQuery(plainQuery, req.query);
    sendSchema(req, res, queryables(base(req), c.id));
  });
  r.get('/ogc/collections/:id/schema', 'read', (req, res) => {
    const c = collectionOf(req.params.id);
    parseQuery(plainQuery, req.query);
    sendSchema(req, res, featureSchema(base(req), c.id));
  });
  r.get('/ogc/collections/:id/feature-schema', 'read', (req, res) => {
    const c = collectionOf(req.params.id);
    parseQuery(plainQuery, req.query);
    sendSchema(req, res, geojsonFeatureSchema(base(req), c.id));
  });

  r.get('/ogc/collections/:id/items', 'read', async (req, res) => {
    const c = collectionOf(req.params.id);
    const q = parseQuery(itemsQuery, req.query);
    const filter = q.filter ? compileItemFilter(q.filter) : undefined;
    const interval = q.datetime !== undefined && !('day' in q.datetime);
    let days: LocalDate[];
    let datetimeText: string;
    if (!q.datetime || 'day' in q.datetime) {
      days = [q.datetime?.day ?? todayIn(config)];
      datetimeText = (oneValue(req.query.datetime) as string | undefined) ?? (days[0] as string);
    } else {
      const { first, last } = await levelDays(rt);
      const span = clampInterval(q.datetime, first, last);
      days = span ? await daysWithLevels(rt, span.from, span.to) : [];
      datetimeText = oneValue(req.query.datetime) as string;
    }
    const asOf = await readingAt(rt, { date: days[days.length - 1] ?? todayIn(config), asOf: null, version: 'latest' });
    const root = base(req);
    const at = `${root}/collections/${c.id}`;
    const link = (offset: number, rel: string) => {
      const params = new URLSearchParams({ limit: String(q.limit), offset: String(offset), datetime: datetimeText });
      for (const name of ['bbox', 'bbox-crs', 'filter', 'filter-lang'] as const) {
        const v = oneValue(req.query[name]);
        if (typeof v === 'string') params.set(name, v);
      }
      return { href: `${at}/items?${params}`, rel, type: GEOJSON };
    };
    // full-detail geometry, up to 10,000 features: one of the few streams allowed at once (as zones.geojson)
    const turn = await fullMapTurn(rt.fullMaps, res);
    if (!turn) return;
    try {
      res.type(GEOJSON);
      const pieces = ogcItems(
        rt,
        { days, asOf, kind: c.kind, bbox: q.bbox, filter, dayIds: interval },
        {
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
        },
      );
      const write = bodyWriter(res);
      for await (const piece of pieces) if (!(await write(piece))) return; // the client has gone
      res.end();
    } finally {
      turn.release();
    }
  });

  r.get('/ogc/collections/:id/items/:featureId', 'read', async (req, res) => {
    const c = collectionOf(req.params.id);
    const q = parseQuery(itemQuery, req.query);
    const { code, day } = featureIdOf(req.params.featureId ?? '');
    if (day && q.datetime && q.datetime !== day) throw badRequest('Tham số truy vấn không hợp lệ — invalid query parameters', [{ path: 'datetime', message: `the feature ${req.params.featureId} is of ${day}` }], 'invalid_query');
    const date = day ?? q.datetime ?? todayIn(config);
    const feature = await ogcItem(rt, code, c.kind, date, day !== null);
    if (!feature) throw notFound(`no feature ${req.params.featureId} in ${c.id}`);
    const root = base(req);
    const at = `${root}/collections/${c.id}`;
    const self = `${at}/items/${encodeURIComponent(req.params.featureId ?? '')}${day ? '' : `?datetime=${date}`}`;
    const links = [
      { href: self, rel: 'self', type: GEOJSON, title: 'this feature' },
      { href: at, rel: 'collection', type: 'application/json', title: c.title },
      ...(c.id === 'zones' ? [] : [{ href: `${root}/collections/zones/items/${encodeURIComponent(req.params.featureId ?? '')}${day ? '' : `?datetime=${date}`}`, rel: 'alternate', type: GEOJSON, title: 'the same area in zones' }]),
      { href: `${originOf(config, req)}/v1/zones/${encodeURIComponent(code)}?date=${date}`, rel: 'describedby', type: 'application/json', title: 'the zone with its reasons (REST API)' },
    ];
    // the feature's text ends with its closing brace: the links go in before it (the geometry is not parsed again)
    res.type(GEOJSON).send(`${feature.slice(0, -1)},"links":${JSON.stringify(links)}}`);
  });

  return r;
}
