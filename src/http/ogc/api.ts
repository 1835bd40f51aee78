import { COLLECTION_IDS } from './schema';

/**
 * The OpenAPI 3.0 document of /ogc (OGC API – Features, `service-desc`): every operation
 * with its parameters (shared ones under components, which GDAL's OAPIF driver resolves to
 * learn that `filter-lang` offers cql-text) and its responses. Reads are public unless
 * ZONERISK_PUBLIC_READS=false, then they need a key: security is "none, or a bearer key".
 * Checked by `redocly lint` (recommended rules) in test/http/ogc-conformance.test.ts.
 */
export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;

const ref = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const json = (description: string, schema: Record<string, unknown>, type = 'application/json') => ({ description, content: { [type]: { schema } } });
const errors = (notFound: string | null) => ({
  400: { $ref: '#/components/responses/BadRequest' },
  ...(notFound ? { 404: { description: notFound, content: { 'application/json': { schema: { $ref: '#/components/schemas/Exception' } } } } } : {}),
});
const links = { type: 'array', items: { $ref: '#/components/schemas/Link' } };
const collection = {
  type: 'object',
  required: ['id', 'links'],
  properties: { id: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' }, itemType: { type: 'string' }, crs: { type: 'array', items: { type: 'string' } }, extent: { type: 'object' }, links },
};
const jsonSchemaDoc = { type: 'object', required: ['$schema', '$id', 'type', 'properties'], properties: { $schema: { type: 'string' }, $id: { type: 'string' }, type: { type: 'string' }, properties: { type: 'object' } } };

export function ogcApiDocument(root: string): Record<string, unknown> {
  const op = (operationId: string, summary: string, description: string, parameters: { $ref: string }[], ok: Record<string, unknown>, notFound: string | null = null) => ({
    get: {
      operationId,
      summary,
      description,
      tags: ['OGC API – Features'],
      // items and an item read datetime; elsewhere it is checked and ignored (a client may carry a day in its base URL)
      parameters: [...parameters, ...(parameters.some((p) => /\/datetime(Day)?$/.test(p.$ref)) ? [] : [ref('datetimeIgnored')]), ref('f')],
      responses: { 200: ok, ...errors(notFound) },
    },
  });
  return {
    openapi: '3.0.3',
    info: {
      title: 'zonerisk – OGC API Features',
      version: '1.1.0',
      description:
        'Cấp độ dịch theo vùng (Cấp 1–4) dưới dạng OGC API – Features / zone risk levels as OGC API – Features: Part 1 (core, GeoJSON, OpenAPI 3.0), Part 3 (queryables, CQL2-text filter: basic comparisons) and Part 5 (schemas). One collection per kind of area, and `zones` with every kind.',
      license: { name: 'Data: as published by the command centre', url: `${root}` },
    },
    servers: [{ url: root, description: 'this service' }],
    security: [{}, { bearerKey: [] }],
    tags: [{ name: 'OGC API – Features', description: 'zones and their levels' }],
    paths: {
      '/': op('getLandingPage', 'Trang đầu / landing page', 'Links to the API definition, the conformance classes and the collections.', [], json('the landing page', { type: 'object', required: ['links'], properties: { title: { type: 'string' }, description: { type: 'string' }, links } })),
      '/api': op('getApiDocument', 'Tài liệu API / this API definition', 'This OpenAPI 3.0 document.', [], json('the OpenAPI document', { type: 'object' }, 'application/vnd.oai.openapi+json;version=3.0')),
      '/conformance': op('getConformance', 'Lớp tuân thủ / conformance classes', 'The conformance classes the API implements.', [], json('the conformance classes', { type: 'object', required: ['conformsTo'], properties: { conformsTo: { type: 'array', items: { type: 'string' } } } })),
      '/collections': op('getCollections', 'Các tập dữ liệu / collections', 'One collection per kind of area (provinces, districts, communes, subcommunes) and zones (every kind).', [], json('the collections', { type: 'object', required: ['links', 'collections'], properties: { links, collections: { type: 'array', items: collection } } })),
      '/collections/{collectionId}': op('describeCollection', 'Một tập dữ liệu / one collection', 'The collection: its extent and links to its items, queryables and schema.', [ref('collectionId')], json('the collection', collection), 'no such collection'),
      '/collections/{collectionId}/queryables': op(
        'getQueryables',
        'Thuộc tính lọc được / queryables',
        'The properties a filter may name, as JSON Schema (Part 3).',
        [ref('collectionId')],
        { description: 'the queryables', content: { 'application/schema+json': { schema: jsonSchemaDoc }, 'application/json': { schema: jsonSchemaDoc } } },
        'no such collection',
      ),
      '/collections/{collectionId}/schema': op(
        'getSchema',
        'Lược đồ đối tượng / feature schema',
        'The features as JSON Schema with x-ogc-role (Part 5).',
        [ref('collectionId')],
        { description: 'the schema', content: { 'application/schema+json': { schema: jsonSchemaDoc } } },
        'no such collection',
      ),
      '/collections/{collectionId}/feature-schema': op(
        'getGeoJsonFeatureSchema',
        'Lược đồ GeoJSON / GeoJSON Feature schema',
        'The features as a JSON Schema of a GeoJSON Feature (the describedBy link that GDAL reads to type fields).',
        [ref('collectionId')],
        { description: 'the schema', content: { 'application/schema+json': { schema: jsonSchemaDoc } } },
        'no such collection',
      ),
      '/collections/{collectionId}/items': op(
        'getFeatures',
        'Các vùng với cấp độ / features',
        'The areas of the collection with their level on a day (datetime, today by default), or one feature per area per day with levels in a datetime interval (at most 31 days), ordered by day then code; bbox and a CQL2-text filter narrow them.',
        [ref('collectionId'), ref('bbox'), ref('bbox-crs'), ref('datetime'), ref('filter'), ref('filter-lang'), ref('limit'), ref('offset')],
        json('a page of features, with numberMatched and next/prev links', { $ref: '#/components/schemas/FeatureCollection' }, 'application/geo+json'),
        'no such collection',
      ),
      '/collections/{collectionId}/items/{featureId}': op(
        'getFeature',
        'Một vùng / one feature',
        'One area with its level on a day: featureId is its code (the day: datetime, today by default) or code@YYYY-MM-DD.',
        [ref('collectionId'), ref('featureId'), ref('datetimeDay')],
        json('the feature, with self and collection links', { $ref: '#/components/schemas/Feature' }, 'application/geo+json'),
        'no such feature in the collection',
      ),
    },
    components: {
      securitySchemes: { bearerKey: { type: 'http', scheme: 'bearer', description: 'an API key, needed for reads when ZONERISK_PUBLIC_READS=false' } },
      parameters: {
        collectionId: { name: 'collectionId', in: 'path', required: true, description: 'the collection', schema: { type: 'string', enum: COLLECTION_IDS } },
        featureId: { name: 'featureId', in: 'path', required: true, description: 'an area code, or code@YYYY-MM-DD', schema: { type: 'string', maxLength: 80 } },
        bbox: {
          name: 'bbox',
          in: 'query',
          required: false,
          description: 'minLon,minLat,maxLon,maxLat (or six numbers with heights, which are ignored), in CRS84',
          schema: { type: 'array', minItems: 4, maxItems: 6, items: { type: 'number' } },
          style: 'form',
          explode: false,
        },
        'bbox-crs': { name: 'bbox-crs', in: 'query', required: false, description: 'only CRS84 is offered', schema: { type: 'string', enum: ['http://www.opengis.net/def/crs/OGC/1.3/CRS84'] } },
        datetime: {
          name: 'datetime',
          in: 'query',
          required: false,
          description: 'a day (YYYY-MM-DD, or an RFC 3339 instant: its date) — the areas with their level that day; or an interval a/b, ../b, a/.., a/ — one feature per area per day with levels in it (id code@day), at most 31 days once clamped to the days with levels',
          schema: { type: 'string', maxLength: 80 },
        },
        datetimeIgnored: { name: 'datetime', in: 'query', required: false, description: 'accepted (and checked) so that a client may carry one day in its base URL; it changes nothing here', schema: { type: 'string', maxLength: 80 } },
        datetimeDay: { name: 'datetime', in: 'query', required: false, description: 'the day (YYYY-MM-DD or an instant) when featureId is a bare code', schema: { type: 'string', maxLength: 40 } },
        filter: {
          name: 'filter',
          in: 'query',
          required: false,
          description: "CQL2-text (basic comparisons = <> < <= > >=, IS NULL, AND, OR, NOT, parentheses) on the queryables, e.g. level = 'red' AND incidence_per_100k_7d > 50; at most 4096 characters",
          schema: { type: 'string', maxLength: 4096 },
        },
        'filter-lang': { name: 'filter-lang', in: 'query', required: false, description: 'cql2-text (cql-text: the same, as older clients name it)', schema: { type: 'string', enum: ['cql2-text', 'cql-text'], default: 'cql2-text' } },
        limit: { name: 'limit', in: 'query', required: false, description: `features per page; more than ${MAX_LIMIT} is taken as ${MAX_LIMIT}`, schema: { type: 'integer', minimum: 1, default: DEFAULT_LIMIT }, style: 'form', explode: false },
        offset: { name: 'offset', in: 'query', required: false, description: 'features to skip (the next link carries it)', schema: { type: 'integer', minimum: 0, default: 0 } },
        f: { name: 'f', in: 'query', required: false, description: 'the format: JSON only', schema: { type: 'string', enum: ['json', 'geojson'] } },
      },
      responses: {
        BadRequest: { description: 'a parameter is wrong: the error names it', content: { 'application/json': { schema: { $ref: '#/components/schemas/Exception' } } } },
      },
      schemas: {
        Link: { type: 'object', required: ['href', 'rel'], properties: { href: { type: 'string' }, rel: { type: 'string' }, type: { type: 'string' }, title: { type: 'string' } } },
        Exception: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'array', items: { type: 'object' } }, request_id: { type: 'string' } } } },
        },
        Feature: {
          type: 'object',
          required: ['type', 'id', 'properties', 'geometry'],
          properties: { type: { type: 'string', enum: ['Feature'] }, id: { type: 'string' }, properties: { type: 'object' }, geometry: { type: 'object', nullable: true }, links },
        },
        FeatureCollection: {
          type: 'object',
          required: ['type', 'features'],
          properties: {
            type: { type: 'string', enum: ['FeatureCollection'] },
            numberMatched: { type: 'integer', minimum: 0 },
            numberReturned: { type: 'integer', minimum: 0 },
            timeStamp: { type: 'string', format: 'date-time' },
            links,
            features: { type: 'array', items: { $ref: '#/components/schemas/Feature' } },
          },
        },
      },
    },
  };
}
