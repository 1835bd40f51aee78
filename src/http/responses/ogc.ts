import { z } from 'zod';
import { BBox, Geometry } from './areas';
import { AreaKind, LevelOrUnknown, LocalDate, named } from './common';

/**
 * OGC API – Features (landing page, conformance, collections, items) and the vector tiles'
 * TileJSON: generic, correct shapes. The routes (src/http/routes/ogc.ts, tiles.ts) are not
 * typed from them yet.
 */

export const Link = named(
  z.object({ href: z.string(), rel: z.string(), type: z.string().optional(), title: z.string().optional(), hreflang: z.string().optional(), templated: z.boolean().optional() }),
  'Link',
  'A link (OGC API, RFC 8288)',
);

export const OgcLanding = z.looseObject({ title: z.string().optional(), description: z.string().optional(), links: z.array(Link) });
export const OgcConformance = z.object({ conformsTo: z.array(z.string()) });

export const OgcCollection = named(
  z.looseObject({
    id: z.string(),
    title: z.string().optional(),
    description: z.string().optional(),
    itemType: z.string().optional(),
    crs: z.array(z.string()).optional(),
    extent: z
      .looseObject({
        spatial: z.looseObject({ bbox: z.array(BBox), crs: z.string().optional() }).optional(),
        temporal: z.looseObject({ interval: z.array(z.array(z.string().nullable())), trs: z.string().optional() }).optional(),
      })
      .optional(),
    links: z.array(Link),
  }),
  'OgcCollection',
  'An OGC API – Features collection',
);
export const OgcCollections = z.looseObject({ links: z.array(Link), collections: z.array(OgcCollection) });

/** A zone as a GeoJSON feature (OGC items, GET /v1/zones.geojson, the tiles' properties). */
export const ZoneProperties = z.looseObject({
  code: z.string(),
  name: z.string(),
  kind: AreaKind,
  parent: z.string().nullable(),
  level: LevelOrUnknown,
  level_number: z.number().int().nullable(),
  color: z.string().optional(),
  since: LocalDate.nullable(),
  community_cases_7d: z.number().int().nullable().optional(),
  incidence_per_100k_7d: z.number().nullable().optional(),
  population: z.number().int().nullable().optional(),
  // the day the feature describes (OGC items: a day of a datetime interval)
  date: LocalDate.optional(),
});

export const Feature = named(
  z.looseObject({ type: z.literal('Feature'), id: z.union([z.string(), z.number()]).optional(), bbox: BBox.optional(), geometry: Geometry.nullable(), properties: z.record(z.string(), z.unknown()).nullable(), links: z.array(Link).optional() }),
  'Feature',
  'A GeoJSON feature (RFC 7946)',
);
export const ZoneFeature = named(Feature.extend({ properties: ZoneProperties }), 'ZoneFeature', "A zone with its level on a day, as a GeoJSON feature");

export const FeatureCollection = named(
  z.looseObject({
    type: z.literal('FeatureCollection'),
    features: z.array(ZoneFeature),
    bbox: BBox.optional(),
    links: z.array(Link).optional(),
    numberMatched: z.number().int().optional(),
    numberReturned: z.number().int().optional(),
    timeStamp: z.string().optional(),
  }),
  'FeatureCollection',
  'Zones as a GeoJSON FeatureCollection (RFC 7946; OGC API items add links and counts)',
);

export const TileJson = z.looseObject({
  tilejson: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  tiles: z.array(z.string()),
  minzoom: z.number().int().optional(),
  maxzoom: z.number().int().optional(),
  bounds: z.array(z.number()).optional(),
  vector_layers: z.array(z.looseObject({ id: z.string(), description: z.string().optional(), minzoom: z.number().optional(), maxzoom: z.number().optional(), fields: z.record(z.string(), z.string()) })),
});

/**
 * A JSON Schema document (queryables, a collection's schema): its members are JSON Schema
 * keywords ($schema and $id too, left undeclared: a document validator would read a declared
 * `$id` property as a second schema id).
 */
export const JsonSchemaDocument = z.looseObject({
  title: z.string().optional(),
  type: z.string().optional(),
  properties: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
