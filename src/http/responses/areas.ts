import { z } from 'zod';
import { AnyObject, AreaKind, Instant, LocalDate, named } from './common';

/** Areas, their reports and indicators, names, imports of boundaries, reorganisations and lineage. */

export const Area = named(
  z.object({
    code: z.string(),
    name: z.string(),
    kind: AreaKind,
    parent: z.string().nullable(),
    population: z.number().int().nullable(),
    valid_from: LocalDate.nullable().describe('its first day (null: always existed)'),
    valid_to: LocalDate.nullable().describe('its last day (null: still exists)'),
  }),
  'Area',
  'An administrative area (without its boundary)',
);

export const AreaList = z.object({ items: z.array(Area), next_cursor: z.string().nullable() });

/** GeoJSON geometry (RFC 7946) — not described further: a Polygon or MultiPolygon for areas. */
export const Geometry = named(
  z.object({
    type: z.enum(['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'GeometryCollection']),
    coordinates: z.array(z.unknown()).optional().describe('nested arrays of [lon, lat] positions'),
    geometries: z.array(z.unknown()).optional().describe('a GeometryCollection: its geometries'),
    bbox: z.array(z.number()).optional(),
  }),
  'Geometry',
  'A GeoJSON geometry (RFC 7946), longitude/latitude in WGS 84',
);

export const BBox = z.array(z.number()).min(4).max(6).describe('minLon, minLat, maxLon, maxLat');

export const AreaFeature = z.object({
  type: z.literal('Feature'),
  id: z.string(),
  bbox: BBox.optional(),
  geometry: Geometry.nullable(),
  properties: z.object({
    ...Area.shape,
    label_point: z.array(z.number()).nullable().optional().describe('where its label goes (lon, lat)'),
    created_at: Instant,
    updated_at: Instant,
  }),
});

const ReportFields = {
  date: LocalDate,
  community_cases: z.number().int(),
  quarantine_cases: z.number().int(),
  deaths: z.number().int().nullable(),
  source: z.string().nullable(),
  revision: z.number().int(),
  recorded_at: Instant,
};
export const Reports = z.object({
  items: z.array(z.object({ ...ReportFields, revisions: z.array(z.object({ ...ReportFields, date: LocalDate.optional(), superseded_at: Instant })).optional().describe('revisions=true: earlier values, oldest first') })),
});
export const Metrics = z.object({ items: z.array(z.object({ date: LocalDate, name: z.string(), value: z.number(), revision: z.number().int(), recorded_at: Instant })) });

const Alias = z.object({ id: z.number().int(), alias: z.string(), created_at: Instant, created_by: z.string().nullable() });
export const Aliases = z.object({ code: z.string(), items: z.array(Alias) });
export const AliasesAdded = Aliases.extend({ added: z.number().int(), unchanged: z.number().int() });

const LineageLink = z.object({ code: z.string(), name: z.string(), kind: z.string(), event: z.string(), share: z.number().nullable(), date: LocalDate, generation: z.number().int() });
export const Lineage = z.object({
  code: z.string(),
  name: z.string(),
  valid_from: LocalDate.nullable(),
  valid_to: LocalDate.nullable(),
  predecessors: z.array(LineageLink),
  successors: z.array(LineageLink),
  parents: z.array(z.object({ date: LocalDate, from: z.string().nullable(), to: z.string().nullable() })),
  truncated: z.literal(true).optional(),
});

export const Reorganisations = z.object({
  items: z.array(z.object({ id: z.number().int(), effective_date: LocalDate, at: Instant, note: z.string().nullable(), retired: z.number().int(), created: z.number().int(), reparented: z.number().int(), lineage: z.number().int() })),
});

const ImportWarning = z.object({ code: z.literal('overlap'), message: z.string(), areas: z.array(z.string()), overlap_m2: z.number() });
const GapReport = z.object({ count: z.number().int(), area_m2: z.number(), worst: z.array(z.object({ areas: z.array(z.string()), area_m2: z.number(), at: z.array(z.number()) })) });
const Repair = z.object({ code: z.string(), feature: z.string(), problem: z.string(), action: z.string(), area_change_m2: z.number() });
export const BatchRef = named(z.object({ id: z.number().int(), same_as: z.number().int().nullable() }), 'BatchRef', 'The import batch a write made (same_as: the first batch of the same content)');

export const AreaImport = z.looseObject({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  warnings: z.array(ImportWarning),
  overlaps: z.number().int(),
  gaps: GapReport,
  repairs: z.array(Repair).optional(),
  import: BatchRef.optional(),
});

export const ReorganisationResult = z.object({
  id: z.number().int(),
  effective_date: LocalDate,
  retired: z.array(z.string()),
  created: z.array(z.string()),
  reparented: z.array(z.string()),
  lineage: z.number().int(),
  areas: z.object({ warnings: z.array(ImportWarning), overlaps: z.number().int(), gaps: GapReport, repairs: z.array(Repair).optional() }),
  recompute: z.object({ from: LocalDate, to: LocalDate }).nullable(),
  moved_reports: z.number().int(),
  recompute_job: z.object({ job: z.number().int(), from: LocalDate, to: LocalDate }).nullable(),
});

/** POST /v1/reports, /v1/metrics: what was written (or, dry_run=true, how the names resolved). */
export const FactImport = z.union([
  z.looseObject({
    inserted: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    earliest_changed_date: LocalDate.nullable(),
    import: BatchRef.optional(),
    recompute: z.object({ job: z.number().int(), from: LocalDate, to: LocalDate }).nullable(),
  }),
  z.looseObject({ rows: z.number().int(), resolved: z.number().int(), unresolved: z.array(AnyObject), unresolved_rows: z.number().int(), matches: z.array(AnyObject) }).describe('dry_run=true'),
]);

export const ImportRecord = named(
  z.object({
    id: z.number().int(),
    kind: z.enum(['areas', 'reports', 'metrics']),
    actor: z.string(),
    at: Instant,
    file_name: z.string().nullable(),
    content_sha256: z.string(),
    bytes: z.number().int(),
    format: z.string(),
    profile: z.string().nullable(),
    rows: z.number().int().nullable(),
    result: z.unknown().describe('what the import answered'),
    same_as: z.number().int().nullable(),
  }),
  'ImportRecord',
  'An import batch: who sent which file, when, and what it did',
);
export const Imports = z.object({ items: z.array(ImportRecord), next_cursor: z.number().int().nullable() });

export const ImportProfile = named(
  z.object({
    name: z.string(),
    kind: z.enum(['areas', 'reports', 'metrics']),
    map: z.record(z.string(), z.string()),
    options: AnyObject,
    built_in: z.boolean().optional(),
    updated_at: Instant.optional(),
    updated_by: z.string().optional(),
  }),
  'ImportProfile',
  'A named field map (boundary files) or column map (spreadsheets)',
);
export const ImportProfiles = z.object({ items: z.array(ImportProfile) });
