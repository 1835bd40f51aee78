import type { Express } from 'express';
import type { Access, Declaration, RouteTable } from './access';
import { z } from 'zod';
import { LocalDate } from '../domain/dates';
import { ruleSetSchema } from '../domain/rules/definition';
import { metricFormat, reportFormat } from '../ingest/rows';
import { auditQuery } from './routes/audit';
import { streamQuery, webhookBody } from './routes/events';
import { createKeyBody } from './routes/keys';
import { itemQuery, itemsQuery } from './routes/ogc';
import { tileQuery } from './routes/tiles';
import { jobsQuery } from './routes/recompute';
import { ErrorBody, NoContent, sharedNames } from './responses/common';
import { RESPONSES } from './responses';
import {
  briefingPageQuery,
  briefingQuery,
  changesQuery,
  dateQuery,
  dateRangeQuery,
  levelsQuery,
  zonesListQuery,
  listAreasQuery,
  areaDateQuery,
  activateBody,
  overrideBody,
  overrideEndBody,
  overrideEndQuery,
  overrideWithdrawBody,
  publicationBody,
  recomputeBody,
  timelineQuery,
  zonesGeoQuery,
  importAreasQuery,
  importFactsQuery,
  importsListQuery,
  reorganisationBody,
  aliasesBody,
  profileBody,
} from './schemas';

/**
 * The OpenAPI 3.1 document. Paths and methods come from the routes the app has actually
 * registered; parameters and bodies from the same zod schemas that validate requests (as
 * JSON Schema 2020-12, input side). What is written here by hand is only each operation's
 * summary and which schema it uses — and a test fails if a route has no entry.
 */
type Op = {
  summary: string;
  tag: string;
  query?: z.ZodType;
  body?: z.ZodType;
  /** media types of the body besides application/json */
  bodyTypes?: string[];
  produces?: string;
};

const SOME_DATE = '2100-01-01' as LocalDate;
const areaFeatures = z.object({ type: z.literal('FeatureCollection'), features: z.array(z.object({ type: z.literal('Feature'), properties: z.record(z.string(), z.unknown()), geometry: z.unknown() })) });

export const OPERATIONS: Record<string, Op> = {
  'GET /': { summary: 'The command-centre map page (HTML); a JSON-only client is sent to /v1', tag: 'maps', produces: 'text/html' },
  'GET /v1': { summary: 'Index of the API', tag: 'service' },
  'GET /health': { summary: 'Liveness: 200 while the process runs', tag: 'service' },
  'GET /ready': { summary: 'Readiness: 200 when the database answers and migrations are current, else 503', tag: 'service' },
  'GET /metrics': { summary: 'Prometheus metrics', tag: 'service', produces: 'text/plain' },
  'GET /openapi.json': { summary: 'This document', tag: 'service' },
  'GET /docs': { summary: 'API documentation page (HTML)', tag: 'service', produces: 'text/html' },
  'GET /vendor/maplibre-gl.js': { summary: 'MapLibre GL, served by the app for the map page', tag: 'maps', produces: 'text/javascript' },
  'GET /vendor/maplibre-gl.css': { summary: 'MapLibre GL styles', tag: 'maps', produces: 'text/css' },
  'GET /ui/{file}': { summary: "The map page's own scripts and styles (web/)", tag: 'maps', produces: 'text/plain' },
  'GET /ui/bundle/{file}': { summary: "The command-centre page's script and styles, bundled from web/src by npm run build", tag: 'maps', produces: 'text/javascript' },
  'GET /favicon.ico': { summary: "The page's icon (SVG)", tag: 'maps', produces: 'image/svg+xml' },
  'GET /ui/config.json': { summary: "The page's settings: days with levels, bounds, level colours, basemap, the provinces and districts (extent, label point)", tag: 'maps' },
  'POST /v1/areas': {
    summary:
      'Import areas, upsert by code, all or nothing: a GeoJSON FeatureCollection, a zipped Shapefile (with .prj), a GeoPackage or KML/KMZ, in any CRS they declare (or ?crs=); ?fields= or ?profile= maps the attributes; ?repair=true makes invalid boundaries valid and lists the repairs; the answer adds overlaps, gaps and the import batch',
    tag: 'areas',
    query: importAreasQuery,
    body: areaFeatures,
    bodyTypes: ['application/geo+json', 'application/zip', 'application/geopackage+sqlite3', 'application/vnd.google-earth.kml+xml', 'application/vnd.google-earth.kmz'],
  },
  'POST /v1/reorganisations': {
    summary:
      'A map change on one day, all or nothing: the areas retired (they end the day before), the new areas with their predecessors (merge, split by share, rename…), the re-parentings; refused (422) if a retired area’s population is unaccounted for, a new area has no predecessor, an area keeps a retired parent, or levels are stored from the day on (unless recompute=true)',
    tag: 'areas',
    body: reorganisationBody,
  },
  'GET /v1/reorganisations': { summary: 'The reorganisations recorded, latest day first: day, when written, note, how many areas retired, created, re-parented', tag: 'areas' },
  'GET /v1/areas/{code}/lineage': { summary: 'An area’s predecessors and successors through time (event, share, day, generation) and its earlier parents', tag: 'areas' },
  'GET /v1/areas/{code}/aliases': { summary: 'Confirmed alternative names of an area (used by name resolution)', tag: 'areas' },
  'POST /v1/areas/{code}/aliases': { summary: 'Confirm names of an area, e.g. a dry run’s candidate as the user chose it (a reporter: for its own areas)', tag: 'areas', body: aliasesBody },
  'DELETE /v1/areas/{code}/aliases/{id}': { summary: 'Remove an alias', tag: 'areas' },
  'GET /v1/imports': { summary: 'Import batches, newest first: who, when, file name, SHA-256, format, profile, rows, what it did, same_as for content sent before', tag: 'areas', query: importsListQuery },
  'GET /v1/imports/{id}': { summary: 'One import batch', tag: 'areas' },
  'GET /v1/import-profiles': { summary: 'Named field maps (boundary files) and column maps (spreadsheets), the built-in ones first', tag: 'areas' },
  'GET /v1/import-profiles/{name}': { summary: 'One import profile', tag: 'areas' },
  'POST /v1/import-profiles': { summary: 'Save an import profile (create or replace by name)', tag: 'areas', body: profileBody },
  'DELETE /v1/import-profiles/{name}': { summary: 'Delete a saved import profile', tag: 'areas' },
  'GET /v1/areas': { summary: 'List the areas in force on a day (date, default today) by kind, parent (of that day), bbox, name; each with valid_from and valid_to', tag: 'areas', query: listAreasQuery },
  'GET /v1/areas/{code}': { summary: 'One area as a GeoJSON Feature: its latest attributes, or (date) those of that day', tag: 'areas', produces: 'application/geo+json', query: areaDateQuery },
  'GET /v1/areas/{code}/reports': { summary: "An area's daily reports (with revisions on request)", tag: 'reports', query: dateRangeQuery },
  'GET /v1/areas/{code}/metrics': { summary: "An area's indicators", tag: 'reports', query: dateRangeQuery },
  'POST /v1/reports': {
    summary:
      'Upsert daily reports, all or nothing: JSON, CSV (comma or semicolon, UTF-8 or Windows-1258, dd/mm/yyyy or ISO dates, Vietnamese headers) or XLSX; a row may name its area (area_name, parent_name) instead of its code; ?dry_run=true resolves the names and writes nothing',
    tag: 'reports',
    query: importFactsQuery,
    body: z.object({ reports: z.array(reportFormat.schema(SOME_DATE)) }),
    bodyTypes: ['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  },
  'POST /v1/metrics': {
    summary: 'Upsert indicators, all or nothing: JSON, CSV or XLSX as for reports, by code or by name; ?dry_run=true',
    tag: 'reports',
    query: importFactsQuery,
    body: z.object({ metrics: z.array(metricFormat.schema(SOME_DATE)) }),
    bodyTypes: ['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  },
  'GET /v1/rule-sets': { summary: 'Rule sets, the one in force today marked active', tag: 'classification' },
  'GET /v1/rule-sets/timeline': { summary: 'Which rule set is in force on which days (the periods, as recorded at as_of)', tag: 'classification', query: timelineQuery },
  'GET /v1/rule-sets/presets': { summary: 'The built-in presets', tag: 'classification' },
  'GET /v1/rule-sets/{id}': { summary: 'One rule set with its definition', tag: 'classification' },
  'POST /v1/rule-sets': { summary: 'Store a rule set (a definition, or {"preset": id}) as the next version of its name', tag: 'classification', body: z.union([ruleSetSchema, z.object({ preset: z.string() })]) },
  'POST /v1/rule-sets/{id}/activate': {
    summary: 'Put a rule set in force from effective_from (default today); days already classified from then on are recomputed by the job the answer names',
    tag: 'classification',
    body: activateBody,
  },
  'POST /v1/rule-sets/{id}/preview': { summary: 'What a rule set would say for a day (nothing written)', tag: 'classification', query: dateQuery },
  'POST /v1/recompute': { summary: 'Recompute a day or a range (over 31 days: 202 and a job)', tag: 'classification', body: recomputeBody },
  'GET /v1/jobs': { summary: 'Recompute jobs, newest first, by status (failed ones with their error; queued ones with their next attempt)', tag: 'classification', query: jobsQuery },
  'GET /v1/jobs/{id}': { summary: 'A recompute job', tag: 'classification' },
  'GET /v1/zones': { summary: 'Levels of every area on a day, as known at a time, latest or published; figures=true adds population, 7-day cases and incidence, override, computed_at', tag: 'classification', query: zonesListQuery },
  'GET /v1/zones/{code}': { summary: "One zone's level with inputs and explanation", tag: 'classification', query: levelsQuery },
  'GET /v1/zones/{code}/history': { summary: "A zone's levels day by day and its changes", tag: 'classification', query: levelsQuery },
  'POST /v1/zones/{code}/overrides': { summary: 'Command-centre override of a level for a period', tag: 'classification', body: overrideBody },
  'DELETE /v1/zones/{code}/overrides/{id}': { summary: 'End an override from today (or ?from=, or {"until"}): the days before keep it', tag: 'classification', query: overrideEndQuery, body: overrideEndBody },
  'POST /v1/zones/{code}/overrides/{id}/withdraw': { summary: 'Withdraw an override entered by mistake (gone from latest reads; kept for as_of and the audit)', tag: 'classification', body: overrideWithdrawBody },
  'GET /v1/changes': { summary: 'Level changes over a period, in pages of at most 31 days and `limit` changes: follow next_cursor until null', tag: 'classification', query: changesQuery },
  'GET /v1/summary': { summary: 'Counts and population per level, escalations and de-escalations', tag: 'classification', query: levelsQuery },
  'GET /briefing': { summary: 'The weekly briefing as a printable page (HTML, A4 print styles): heading, map of the levels (inline SVG), counts, 24 hours, red and orange communes, changes, overrides, rule set, communes not reporting; links to its files', tag: 'classification', query: briefingPageQuery, produces: 'text/html' },
  'GET /v1/briefing': { summary: 'The weekly steering-committee briefing of an area (JSON, Vietnamese first): counts, 24-hour figures, red and orange communes, the week’s changes, overrides, every commune', tag: 'classification', query: briefingQuery },
  'GET /v1/briefing.xlsx': { summary: 'The weekly briefing as an XLSX workbook (Tổng hợp, Danh sách xã/phường, Thay đổi)', tag: 'classification', query: briefingQuery, produces: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
  'GET /v1/briefing.pdf': { summary: 'The weekly briefing as a PDF (A4, Vietnamese)', tag: 'classification', query: briefingQuery, produces: 'application/pdf' },
  'GET /v1/briefing.csv': { summary: 'The weekly briefing’s commune list as CSV (UTF-8 with BOM, Vietnamese header)', tag: 'classification', query: briefingQuery, produces: 'text/csv' },
  'POST /v1/publications': { summary: "Mark a day's levels as published", tag: 'classification', body: publicationBody },
  'GET /v1/publications': { summary: 'Published days', tag: 'classification' },
  'GET /v1/zones.geojson': { summary: 'Zones as GeoJSON, simplified for a zoom with shared borders kept', tag: 'maps', query: zonesGeoQuery, produces: 'application/geo+json' },
  'GET /ogc': { summary: 'OGC API – Features landing page', tag: 'ogc' },
  'GET /ogc/api': { summary: 'OGC API – Features definition (OpenAPI 3.0)', tag: 'ogc', produces: 'application/vnd.oai.openapi+json;version=3.0' },
  'GET /ogc/conformance': { summary: 'OGC API conformance classes', tag: 'ogc' },
  'GET /ogc/collections': { summary: 'OGC API collections', tag: 'ogc' },
  'GET /ogc/collections/{id}': { summary: 'One OGC API collection', tag: 'ogc' },
  'GET /ogc/collections/{id}/queryables': { summary: 'The properties a CQL2 filter may name, with their types (OGC API – Features Part 3), as JSON Schema', tag: 'ogc', produces: 'application/schema+json' },
  'GET /ogc/collections/{id}/schema': { summary: "The collection's feature properties and their types (OGC API – Features Part 5), as JSON Schema", tag: 'ogc', produces: 'application/schema+json' },
  'GET /ogc/collections/{id}/feature-schema': { summary: "A GeoJSON feature of the collection, as JSON Schema", tag: 'ogc', produces: 'application/schema+json' },
  'GET /ogc/collections/{id}/items': { summary: 'OGC API items (zones of a day)', tag: 'ogc', query: itemsQuery, produces: 'application/geo+json' },
  'GET /ogc/collections/{id}/items/{featureId}': { summary: 'One OGC API item', tag: 'ogc', query: itemQuery, produces: 'application/geo+json' },
  'GET /tiles/zones/{z}/{x}/{y}.mvt': { summary: 'A vector tile of the zones (layer zones)', tag: 'maps', query: tileQuery, produces: 'application/vnd.mapbox-vector-tile' },
  'GET /tiles/zones.json': { summary: 'TileJSON 3 of the zone tiles', tag: 'maps', query: tileQuery },
  'POST /v1/keys': { summary: 'Create an API key (shown once)', tag: 'auth', body: createKeyBody },
  'GET /v1/keys': { summary: 'API keys (never their secrets)', tag: 'auth' },
  'DELETE /v1/keys/{id}': { summary: 'Revoke an API key', tag: 'auth' },
  'GET /v1/changes/stream': { summary: 'Level changes as Server-Sent Events (resumable with Last-Event-ID)', tag: 'events', query: streamQuery, produces: 'text/event-stream' },
  'POST /v1/webhooks': { summary: 'Register a webhook: level changes POSTed in signed batches', tag: 'events', body: webhookBody },
  'GET /v1/webhooks': { summary: 'Webhooks (never their secrets)', tag: 'events' },
  'DELETE /v1/webhooks/{id}': { summary: 'Disable a webhook', tag: 'events' },
  'GET /v1/webhooks/{id}/deliveries': { summary: "A webhook's delivery log", tag: 'events' },
  'GET /v1/audit': { summary: 'The audit trail of writes', tag: 'auth', query: auditQuery },
};

/** Every METHOD + path the app has registered, paths in OpenAPI form (`{param}`). */
export function appRoutes(app: Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${layer.route.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
      else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return [...new Set(out)];
}

/**
 * A zod schema as JSON Schema 2020-12: its input side (parameters, bodies) or its output side
 * (answers). Schemas registered as shared components (src/http/responses/common.ts `named`)
 * go to components/schemas under their own names, once, and are referred to by `$ref`; other
 * local `$defs` (recursive parts) are hoisted under the operation's name. References are
 * rewritten, since a reference resolves against the whole document.
 */
function jsonSchema(schema: z.ZodType, name: string, components: Record<string, unknown>, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  const { $defs, $schema: _ignored, ...rest } = out as { $defs?: Record<string, unknown>; $schema?: string };
  const shared = new Set(Object.keys($defs ?? {}).filter((k) => sharedNames.has(k)));
  const rewrite = (v: unknown) =>
    JSON.parse(JSON.stringify(v).replace(/"#\/\$defs\/([^"]+)"/g, (_m, k: string) => `"#/components/schemas/${shared.has(k) ? k : `${name}_${k}`}"`)) as Record<string, unknown>;
  for (const [k, v] of Object.entries($defs ?? {})) {
    const key = shared.has(k) ? k : `${name}_${k}`;
    const body = rewrite(v);
    // a shared schema is the same wherever it is used — unless its input and output sides differ
    if (shared.has(k) && key in components && JSON.stringify(components[key]) !== JSON.stringify(body)) throw new Error(`shared schema ${k} differs between uses`);
    components[key] = body;
  }
  return rewrite(rest);
}

const ACCESS_TEXT: Record<Access, string> = {
  public: 'Access: public.',
  read: 'Access: data read — public unless ZONERISK_PUBLIC_READS=false, then any valid API key.',
  report: 'Access: a reporter key (areas inside its scope only) or an admin key.',
  admin: 'Access: an admin key.',
};

function operation(key: string, op: Op, access: Access, components: Record<string, unknown>) {
  const auth = access !== 'public';
  const [method, path] = key.split(' ') as [string, string];
  const params = [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const opName = `${method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`;
  if (op.query) {
    const s = jsonSchema(op.query, `${opName}Query`, components) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, schema] of Object.entries(s.properties ?? {})) params.push({ name, in: 'query', required: (s.required ?? []).includes(name), schema: schema as { type: string } });
  }
  const media = op.produces ?? 'application/json';
  const answer = RESPONSES[key];
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } });
  const responses: Record<string, unknown> = {};
  if (answer) {
    const schema = answer.schema === NoContent ? null : jsonSchema(answer.schema, `${opName}Response`, components, 'output');
    for (const status of answer.status ?? [200]) {
      responses[status] = status === 204 || !schema ? { description: answer.description ?? 'Done; no body' } : { description: answer.description ?? 'OK', content: { [media]: { schema } } };
    }
  }
  responses['4XX'] = error('A client mistake: the error names the field and the reason');
  if (auth) responses['401'] = error('No valid API key');
  if (access === 'report' || access === 'admin') responses['403'] = error("The key's role or area scope does not allow it");
  responses['5XX'] = error('The service could not answer (503 with Retry-After: the database is unavailable or busy; retry shortly)');
  return {
    method: method.toLowerCase(),
    path,
    body: {
      summary: op.summary,
      description: ACCESS_TEXT[access],
      'x-access': access,
      operationId: opName,
      tags: [op.tag],
      ...(params.length ? { parameters: params } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries([
                ['application/json', { schema: jsonSchema(op.body, `${opName}Body`, components) }],
                ...(op.bodyTypes ?? []).map((t) => [t, { schema: t === 'text/csv' ? { type: 'string', description: 'CSV with a header line' } : jsonSchema(op.body as z.ZodType, `${opName}Body`, components) }]),
              ]),
            },
          }
        : {}),
      security: access === 'public' ? [] : access === 'read' ? [{}, { apiKey: [] }] : [{ apiKey: [] }],
      responses,
    },
  };
}

/** A declaration's METHOD + path in OpenAPI form (`{param}`). */
export const openApiKey = (d: Pick<Declaration, 'method' | 'path'>) => `${d.method} ${d.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`;

/** The tags of the operations, with what each covers. */
const TAGS = [
  { name: 'classification', description: 'Levels (Cấp 1–4): zones, their explanation and history, overrides, the change feed, the summary, briefings, rule sets, recomputation' },
  { name: 'areas', description: 'Administrative areas: boundaries, names, imports, reorganisations and lineage' },
  { name: 'reports', description: 'Daily reports and indicators' },
  { name: 'maps', description: 'The map page, GeoJSON and vector tiles' },
  { name: 'ogc', description: 'OGC API – Features' },
  { name: 'events', description: 'Level changes as Server-Sent Events and webhooks' },
  { name: 'auth', description: 'API keys and the audit trail' },
  { name: 'service', description: 'Health, readiness, metrics and this document' },
];

/** Where the document is served from: ZONERISK_PUBLIC_URL when set (config.publicUrl), else relative to the document. */
export type OpenApiOptions = { publicUrl?: string | null };

/**
 * The document. `security` says who may call each operation (src/http/access.ts): `[]` on
 * public ones; `[{}, {apiKey: []}]` on data reads — anonymous or with a key, since reads are
 * public unless ZONERISK_PUBLIC_READS=false (then a key is needed: the 401 is declared);
 * `[{apiKey: []}]` on the rest.
 */
export function buildOpenApi(app: Express, table: RouteTable, options: OpenApiOptions = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, unknown> = {};
  jsonSchema(ErrorBody, 'ErrorBody', components, 'output');
  const accessOf = new Map(table.declarations.map((d) => [openApiKey(d), d.access]));
  for (const route of appRoutes(app)) {
    const op = OPERATIONS[route];
    const access = accessOf.get(route);
    if (!op || !access) continue; // the tests insist every route has an entry and a declaration
    const o = operation(route, op, access, components);
    (paths[o.path] ??= {})[o.method] = o.body;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'zonerisk',
      version: '0.1.0',
      description:
        'Zone-level epidemic risk classification (Cấp 1–4) for command centres. Access: data reads are public unless the service runs with ZONERISK_PUBLIC_READS=false (their `security` lists both no key and an API key); writes need an API key (Authorization: Bearer …).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [options.publicUrl ? { url: options.publicUrl.replace(/\/+$/, '') || '/', description: 'this service (ZONERISK_PUBLIC_URL)' } : { url: '/', description: 'this service (relative to the document)' }],
    tags: TAGS,
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an API key: zr_<prefix>_<secret>, or ZONERISK_ADMIN_KEY' } },
    },
  };
}
