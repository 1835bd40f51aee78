import type { Response } from 'express';
import { z } from 'zod';
import { AREA_KINDS } from '../../domain/areas';
import { LEVELS } from '../../domain/levels';

/**
 * Response schemas: what the API answers, as zod schemas. The handlers (or the services they
 * call) build their answers typed from these (`reply`, `z.input<typeof X>`), so that the
 * compiler refuses a field a schema does not declare or a value of the wrong type; the
 * OpenAPI document (src/http/openapi.ts) renders them as JSON Schema (output side); a test
 * (test/http/openapi-responses.test.ts) checks real answers against the document.
 *
 * Schemas shared between answers are registered here under a name (`named`): the document
 * lists them once in components/schemas and refers to them by `$ref`.
 */
/** The names of the shared components. */
export const sharedNames = new Set<string>();

/** Registers a schema as a shared component of the document (its name, what it is). */
export function named<S extends z.ZodType>(schema: S, id: string, description: string): S {
  if (sharedNames.has(id)) throw new Error(`two response schemas are named ${id}`);
  sharedNames.add(id);
  return schema.meta({ id, description });
}

/** One error shape for every 4xx and 5xx (src/errors.ts, src/http/errors.ts). */
export const ErrorBody = named(
  z.object({
    error: z.object({
      code: z.string().describe('a stable error code, e.g. invalid_query, not_found, validation_failed'),
      message: z.string().describe('what went wrong, for a person'),
      details: z.array(z.object({ path: z.string().describe('the field (query parameter, body path, header)'), message: z.string() })).describe('each problem with the field it concerns (at most 50)'),
      request_id: z.string().optional().describe('the request id of the server log lines (X-Request-Id)'),
    }),
  }),
  'ErrorBody',
  'An error: its code, message and the fields at fault',
);
export type ErrorBody = z.input<typeof ErrorBody>;

export const LocalDate = named(z.iso.date(), 'LocalDate', 'A calendar day, YYYY-MM-DD (in TZ_REPORTING)');
export const Instant = named(z.string().meta({ format: 'date-time' }), 'Instant', 'An instant, ISO 8601 in UTC (e.g. 2021-10-20T01:00:00.000Z)');
export const Level = named(z.enum(LEVELS), 'Level', 'A risk level: green (Cấp 1), yellow (Cấp 2), orange (Cấp 3), red (Cấp 4)');
export const LevelOrUnknown = named(z.enum([...LEVELS, 'unknown']), 'LevelOrUnknown', 'A risk level, or unknown (not enough data)');
export const AreaKind = named(z.enum(AREA_KINDS), 'AreaKind', 'The kind of an administrative area');
export const Bilingual = named(z.object({ vi: z.string(), en: z.string() }), 'Bilingual', 'A text in Vietnamese and English');
export const Version = z.enum(['latest', 'published']).describe('latest: everything known; published: the day as published');
export const RuleSetRef = named(z.object({ id: z.string(), name: z.string(), version: z.number().int() }), 'RuleSetRef', 'A rule set: its id (name@version), name and version');

/** A JSON object whose members are not described further (a rule set definition, an audit entry's before/after…). */
export const AnyObject = z.record(z.string(), z.unknown());

/** Any text body (HTML, CSS, JavaScript, CSV, Prometheus exposition, event stream). */
export const Text = z.string();
/** Any bytes (PDF, XLSX, a vector tile, an icon). */
export const Binary = z.string().meta({ format: 'binary' });
/** No body (204). */
export const NoContent = z.never();

/** Whether responses are checked against their schemas as they are sent (tests: ZONERISK_CHECK_RESPONSES=1). */
const checking = () => process.env.ZONERISK_CHECK_RESPONSES === '1';

/**
 * Sends a JSON answer typed by its response schema: `body` must be what the schema declares
 * (the compiler checks it). The body is not parsed on the way out (it costs); with
 * ZONERISK_CHECK_RESPONSES=1 (tests) it is, and a drift is a 500 naming the field.
 */
export function reply<S extends z.ZodType>(res: Response, schema: S, body: z.input<S>, status = 200): void {
  if (checking()) {
    const r = schema.safeParse(body);
    if (!r.success) throw new Error(`response does not match its schema: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  res.status(status).json(body);
}

/** A body typed by its response schema, for answers not sent as plain JSON (GeoJSON media type, cached bodies). */
export function shaped<S extends z.ZodType>(_schema: S, body: z.input<S>): z.input<S> {
  return body;
}
