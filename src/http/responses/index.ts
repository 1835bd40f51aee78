import type { z } from 'zod';
import * as admin from './admin';
import * as areas from './areas';
import { Briefing } from './briefing';
import { Binary, NoContent, Text } from './common';
import * as ogc from './ogc';
import * as rules from './rulesets';
import * as service from './service';
import * as summary from './summary';
import * as zones from './zones';

/**
 * What each operation answers when it succeeds: its schema (JSON, or the item of a streamed
 * or binary answer) and its status codes (default 200). Errors are the shared ErrorBody
 * (src/http/openapi.ts adds them). A test fails if an operation has no entry here.
 */
export type Answer = {
  schema: z.ZodType;
  /** the success statuses answered with this schema (default [200]; 204: no body) */
  status?: number[];
  /** what the answer is, when more than "OK" needs saying */
  description?: string;
};

const ok = (schema: z.ZodType, description?: string, status?: number[]): Answer => ({ schema, ...(description ? { description } : {}), ...(status ? { status } : {}) });
const html = ok(Text, 'An HTML page');
const none = ok(NoContent, 'Done; no body', [204]);

export const RESPONSES: Record<string, Answer> = {
  'GET /': ok(Text, 'The map page (HTML); a client accepting only JSON is redirected (303) to /v1'),
  'GET /v1': ok(service.ApiIndex),
  'GET /health': ok(service.Health),
  'GET /ready': ok(service.Ready, 'Ready (200), or not (503) with what is not', [200, 503]),
  'GET /metrics': ok(Text, 'Prometheus text exposition format'),
  'GET /openapi.json': ok(service.OpenApiDocument, 'This OpenAPI 3.1 document'),
  'GET /docs': html,
  'GET /vendor/maplibre-gl.js': ok(Text, 'JavaScript'),
  'GET /vendor/maplibre-gl.css': ok(Text, 'CSS'),
  'GET /ui/{file}': ok(Text, 'A file of web/ (HTML, JavaScript, CSS, SVG)'),
  'GET /ui/bundle/{file}': ok(Text, 'A bundled script or style sheet'),
  'GET /favicon.ico': ok(Text, 'An SVG icon'),
  'GET /ui/config.json': ok(service.MapPageSettings),
  'POST /v1/areas': ok(areas.AreaImport, 'Imported: counts, overlaps, gaps, repairs and the batch'),
  'POST /v1/reorganisations': ok(areas.ReorganisationResult, 'Recorded', [201]),
  'GET /v1/reorganisations': ok(areas.Reorganisations),
  'GET /v1/areas/{code}/lineage': ok(areas.Lineage),
  'GET /v1/areas/{code}/aliases': ok(areas.Aliases),
  'POST /v1/areas/{code}/aliases': ok(areas.AliasesAdded),
  'DELETE /v1/areas/{code}/aliases/{id}': none,
  'GET /v1/imports': ok(areas.Imports),
  'GET /v1/imports/{id}': ok(areas.ImportRecord),
  'GET /v1/import-profiles': ok(areas.ImportProfiles),
  'GET /v1/import-profiles/{name}': ok(areas.ImportProfile),
  'POST /v1/import-profiles': ok(areas.ImportProfile, 'Saved: created (201) or replaced (200)', [200, 201]),
  'DELETE /v1/import-profiles/{name}': none,
  'GET /v1/areas': ok(areas.AreaList),
  'GET /v1/areas/{code}': ok(areas.AreaFeature, 'The area as a GeoJSON Feature'),
  'GET /v1/areas/{code}/reports': ok(areas.Reports),
  'GET /v1/areas/{code}/metrics': ok(areas.Metrics),
  'POST /v1/reports': ok(areas.FactImport),
  'POST /v1/metrics': ok(areas.FactImport),
  'GET /v1/rule-sets': ok(rules.RuleSets),
  'GET /v1/rule-sets/timeline': ok(rules.Timeline),
  'GET /v1/rule-sets/presets': ok(rules.Presets),
  'GET /v1/rule-sets/{id}': ok(rules.RuleSet),
  'POST /v1/rule-sets': ok(rules.RuleSetStored, 'Stored (201), or the identical version already stored (200)', [200, 201]),
  'POST /v1/rule-sets/{id}/activate': ok(rules.Activated),
  'POST /v1/rule-sets/{id}/preview': ok(summary.Preview),
  'POST /v1/recompute': ok(rules.Recompute, 'Done (200), or queued as a job to poll (202, Location: /v1/jobs/{id})', [200, 202]),
  'GET /v1/jobs': ok(rules.Jobs),
  'GET /v1/jobs/{id}': ok(rules.Job),
  'GET /v1/zones': ok(zones.ZoneList),
  'GET /v1/zones/{code}': ok(zones.ZoneDetail),
  'GET /v1/zones/{code}/history': ok(zones.ZoneHistory),
  'POST /v1/zones/{code}/overrides': ok(zones.OverrideSet, 'Set', [201]),
  'DELETE /v1/zones/{code}/overrides/{id}': ok(zones.OverrideEnded),
  'POST /v1/zones/{code}/overrides/{id}/withdraw': ok(zones.OverrideWithdrawn),
  'GET /v1/changes': ok(summary.Changes),
  'GET /v1/summary': ok(summary.Summary),
  'GET /briefing': html,
  'GET /v1/briefing': ok(Briefing),
  'GET /v1/briefing.xlsx': ok(Binary, 'An XLSX workbook'),
  'GET /v1/briefing.pdf': ok(Binary, 'A PDF document'),
  'GET /v1/briefing.csv': ok(Text, 'CSV, UTF-8 with BOM'),
  'POST /v1/publications': ok(summary.Publication, 'Published (201), or the same publication again (200: nothing changed since)', [200, 201]),
  'GET /v1/publications': ok(summary.Publications),
  'GET /v1/zones.geojson': ok(ogc.FeatureCollection, 'Zones as a GeoJSON FeatureCollection (streamed at full detail)'),
  'GET /ogc': ok(ogc.OgcLanding),
  'GET /ogc/api': ok(service.OpenApiDocument, 'The OGC API – Features definition (OpenAPI 3.0)'),
  'GET /ogc/conformance': ok(ogc.OgcConformance),
  'GET /ogc/collections': ok(ogc.OgcCollections),
  'GET /ogc/collections/{id}': ok(ogc.OgcCollection),
  'GET /ogc/collections/{id}/queryables': ok(ogc.JsonSchemaDocument, 'The queryables as a JSON Schema (application/json to a client asking only for that)'),
  'GET /ogc/collections/{id}/schema': ok(ogc.JsonSchemaDocument, 'The feature properties as a JSON Schema (application/json to a client asking only for that)'),
  'GET /ogc/collections/{id}/feature-schema': ok(ogc.JsonSchemaDocument, 'A feature as a JSON Schema (application/json to a client asking only for that)'),
  'GET /ogc/collections/{id}/items': ok(ogc.FeatureCollection, 'A page of features, with next/prev links'),
  'GET /ogc/collections/{id}/items/{featureId}': ok(ogc.ZoneFeature, 'One feature'),
  'GET /tiles/zones/{z}/{x}/{y}.mvt': ok(Binary, 'A Mapbox vector tile'),
  'GET /tiles/zones.json': ok(ogc.TileJson),
  'POST /v1/keys': ok(admin.NewApiKey, 'Created: the key is shown this once', [201]),
  'GET /v1/keys': ok(admin.ApiKeys),
  'DELETE /v1/keys/{id}': ok(admin.ApiKey, 'Revoked'),
  'GET /v1/changes/stream': ok(Text, 'Server-Sent Events: each `event: level` has `id:` and `data:` a LevelEvent (JSON)'),
  'POST /v1/webhooks': ok(admin.Webhook, 'Registered', [201]),
  'GET /v1/webhooks': ok(admin.Webhooks),
  'DELETE /v1/webhooks/{id}': ok(admin.Webhook, 'Disabled'),
  'GET /v1/webhooks/{id}/deliveries': ok(admin.Deliveries),
  'GET /v1/audit': ok(admin.Audit),
};
