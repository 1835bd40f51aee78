import { z } from 'zod';
import { AREA_KINDS } from '../domain/areas';
import { BRIEFING_FORMATS } from '../domain/briefing';
import { isLocalDate, LocalDate, today } from '../domain/dates';
import { areaCodeSchema } from '../domain/areas';
import { LINEAGE_EVENTS } from '../domain/lineage';
import { freeText, nameText } from '../domain/text';

/** Request schemas at the HTTP edge. */
const queryDate = z
  .string()
  .refine(isLocalDate, 'phải là ngày dạng YYYY-MM-DD — must be a date YYYY-MM-DD')
  .transform((d) => d as LocalDate);

/**
 * A query parameter's one value. A parameter given more than once (`?date=a&date=b`) is
 * refused, naming it (which one was meant is not guessed); called outside a schema, on a
 * query already checked, it answers the value.
 */
export const oneValue = (v: unknown, ctx?: z.RefinementCtx): unknown => {
  if (!Array.isArray(v)) return v;
  if (!ctx) return v[v.length - 1];
  ctx.addIssue({ code: 'custom', message: 'được cho nhiều lần: chỉ cho một lần — is given more than once: give it once' });
  return z.NEVER;
};

export const bboxSchema = z
  .string()
  .transform((text, ctx) => {
    const parts = text.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
    if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) {
      ctx.addIssue({ code: 'custom', message: 'phải là bốn số: minLon,minLat,maxLon,maxLat — must be four numbers: minLon,minLat,maxLon,maxLat' });
      return z.NEVER;
    }
    const [x1, y1, x2, y2] = parts as [number, number, number, number];
    if (x1 < -180 || x2 > 180 || y1 < -90 || y2 > 90) ctx.addIssue({ code: 'custom', message: 'phải nằm trong kinh độ -180..180 và vĩ độ -90..90 — must be within lon -180..180 and lat -90..90' });
    if (x1 > x2 || y1 > y2) ctx.addIssue({ code: 'custom', message: 'giá trị nhỏ nhất không được vượt giá trị lớn nhất — minimum must not exceed maximum' });
    return [x1, y1, x2, y2] as [number, number, number, number];
  });

/** `GET /v1/areas/{code}?date=`: the area as it was that day (default: its latest attributes). */
export const areaDateQuery = z.strictObject({ date: z.preprocess(oneValue, queryDate).optional() });

export const listAreasQuery = z.strictObject({
  date: z.preprocess(oneValue, queryDate).optional(),
  kind: z.preprocess(oneValue, z.enum(AREA_KINDS)).optional(),
  parent: z.preprocess(oneValue, areaCodeSchema).optional(),
  bbox: z.preprocess(oneValue, bboxSchema).optional(),
  q: z.preprocess(oneValue, z.string().trim().min(1).max(100)).optional(),
  limit: z.preprocess(oneValue, z.coerce.number().int().min(1).max(1000)).default(100),
  cursor: z.preprocess(oneValue, z.string().max(200)).optional(),
});

export const dateRangeQuery = z
  .strictObject({
    from: z.preprocess(oneValue, queryDate).optional(),
    to: z.preprocess(oneValue, queryDate).optional(),
    revisions: z.preprocess(oneValue, z.enum(['true', 'false'])).optional(),
    name: z.preprocess(oneValue, z.string().min(1).max(64)).optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from không được sau to — from must not be after to', path: ['from'] });

export const areaCodeParam = areaCodeSchema;

export const reportsBody = z.strictObject({ reports: z.array(z.unknown(), { error: 'phải là mảng — must be an array' }) });
export const metricsBody = z.strictObject({ metrics: z.array(z.unknown(), { error: 'phải là mảng — must be an array' }) });

export const ruleSetIdParam = z.string().regex(/^[A-Za-z0-9._-]{1,80}@[0-9]{1,6}$/, 'phải là mã bộ tiêu chí, như vn-moh-4800-2021@1 — must be a rule set id such as vn-moh-4800-2021@1');

export const dateQuery = z.object({ date: z.preprocess(oneValue, queryDate).optional() }).loose();

/**
 * An instant in a query (`as_of`, the audit's `since`/`until`): an ISO timestamp of a real
 * calendar day (2026-02-30 is refused, not read as 2 March), from year 1000 on, with its
 * offset — an instant without one would be read in the server's own time zone.
 */
const isInstant = (s: string): boolean => !Number.isNaN(Date.parse(s)) && /^[1-9]\d{3}-\d{2}-\d{2}T[^]*(Z|[+-]\d{2}:?\d{2})$/i.test(s) && isLocalDate(s.slice(0, 10));

export const instantQuery = z.string().refine(isInstant, 'phải là thời điểm ISO có múi giờ, như 2021-10-20T08:00:00Z hoặc 2021-10-20T15:00:00+07:00 — must be an ISO timestamp with its offset, such as 2021-10-20T08:00:00Z or 2021-10-20T15:00:00+07:00');

/**
 * The audit's `since`/`until`: an instant as above, or a day (YYYY-MM-DD) — from its start
 * (`since`) or to its end (`until`: the whole day) in TZ_REPORTING, as a reader of the trail
 * asks "what happened on 20/10".
 */
export const instantOrDayQuery = z
  .string()
  .refine(
    (s) => isInstant(s) || (/^[1-9]\d{3}-\d{2}-\d{2}$/.test(s) && isLocalDate(s)),
    'phải là một ngày, như 2021-10-20 (cả ngày theo TZ_REPORTING), hoặc thời điểm ISO có múi giờ, như 2021-10-20T08:00:00Z hoặc 2021-10-20T15:00:00+07:00 — must be a day such as 2021-10-20 (the whole day in TZ_REPORTING) or an ISO timestamp with its offset, such as 2021-10-20T08:00:00Z or 2021-10-20T15:00:00+07:00',
  );

/** Reads of levels: which day, known when, published or latest. */
export const levelsQuery = z.strictObject({
  date: z.preprocess(oneValue, queryDate).optional(),
  as_of: z.preprocess(oneValue, instantQuery).optional(),
  version: z.preprocess(oneValue, z.enum(['published', 'latest'])).default('latest'),
  kind: z.preprocess(oneValue, z.enum(AREA_KINDS)).optional(),
  parent: z.preprocess(oneValue, areaCodeSchema).optional(),
  level: z.preprocess(oneValue, z.enum(['green', 'yellow', 'orange', 'red', 'unknown'])).optional(),
  from: z.preprocess(oneValue, queryDate).optional(),
  to: z.preprocess(oneValue, queryDate).optional(),
  since: z.preprocess(oneValue, queryDate).optional(),
  until: z.preprocess(oneValue, queryDate).optional(),
});
export type LevelsQuery = z.infer<typeof levelsQuery>;

/** `GET /v1/zones`: also `within` (every area under that code) and `figures=true` (the list's figures beside each level). */
export const zonesListQuery = levelsQuery.extend({
  within: z.preprocess(oneValue, areaCodeSchema).optional(),
  figures: z.preprocess(oneValue, z.enum(['true', 'false'])).optional(),
});

/** The change feed: a reading of levels over days, in pages (see GET /v1/changes). */
export const changesQuery = levelsQuery.omit({ date: true, level: true, from: true, to: true }).extend({
  limit: z.preprocess(oneValue, z.coerce.number().int().min(1).max(10_000)).default(10_000).describe('changes per page, 1–10,000 (default 10,000); a page also covers at most 31 days'),
  cursor: z.preprocess(oneValue, z.string().max(300)).optional().describe("the previous page's next_cursor, with the same other parameters"),
});

export function todayIn(config: { reportingTimeZone: string }): LocalDate {
  return today(config.reportingTimeZone);
}

export const recomputeBody = z.union([
  z.strictObject({ date: queryDate }),
  z.strictObject({ from: queryDate, to: queryDate }).refine((b) => b.from <= b.to, { message: 'from không được sau to — from must not be after to', path: ['from'] }),
], { error: 'phải là {"date": "YYYY-MM-DD"} hoặc {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"} — must be {"date": "YYYY-MM-DD"} or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}' });

export const overrideBody = z.strictObject({
  level: z.enum(['green', 'yellow', 'orange', 'red'], { error: 'phải là green, yellow, orange hoặc red (xanh, vàng, cam, đỏ) — must be green, yellow, orange or red' }),
  reason: freeText(1000).trim().min(1, 'không được để trống — must not be empty'),
  from: queryDate,
  until: queryDate.optional(),
  note: freeText(2000).optional(),
  author: freeText(200).optional(),
}).refine((b) => !b.until || b.from <= b.until, { message: 'until không được trước from — until must not be before from', path: ['until'] });

/** `DELETE /v1/zones/{code}/overrides/{id}?from=`: the first day without the override (default: today in TZ_REPORTING). */
export const overrideEndQuery = z.strictObject({
  from: z.preprocess(oneValue, queryDate).optional().describe('the first day the override no longer applies (default: today in TZ_REPORTING); its last day is the day before'),
});

/** `DELETE /v1/zones/{code}/overrides/{id}` body (optional): `{"until"}`, the override's last day — instead of `?from=`. */
export const overrideEndBody = z.strictObject({
  until: queryDate.optional().describe("the override's last day (instead of ?from=)"),
});

/** `POST /v1/zones/{code}/overrides/{id}/withdraw`: why the override is withdrawn (entered by mistake). */
export const overrideWithdrawBody = z.strictObject({
  reason: freeText(1000).trim().min(1, 'không được để trống — must not be empty'),
});

/** `POST /v1/rule-sets/{id}/activate`: the day the set is in force from (default: today in TZ_REPORTING). */
export const activateBody = z.strictObject({ effective_from: queryDate.optional() });

/** `GET /v1/rule-sets/timeline`: the timeline as recorded at `as_of` (default: now). */
export const timelineQuery = z.strictObject({ as_of: levelsQuery.shape.as_of });

export const publicationBody = z.strictObject({ date: queryDate, note: freeText(2000).optional() });

/** `GET /v1/briefing` (and `.xlsx`, `.pdf`, `.csv`): the weekly briefing of an area (default: every commune) for the week ending `date`. */
export const briefingQuery = z.strictObject({
  date: levelsQuery.shape.date.describe('the last day of the week briefed (default: today in TZ_REPORTING)'),
  parent: levelsQuery.shape.parent.describe('a province or district: its communes (default: every commune)'),
  version: levelsQuery.shape.version,
  as_of: levelsQuery.shape.as_of,
  format: z.preprocess(oneValue, z.enum(BRIEFING_FORMATS, { error: 'phải là json, xlsx, pdf hoặc csv — must be json, xlsx, pdf or csv' })).optional().describe('json (default), xlsx, pdf or csv; the same as the path ending .xlsx, .pdf, .csv'),
});

/** `GET /briefing`: the printable page of the same briefing (HTML; its files are linked from it). */
export const briefingPageQuery = briefingQuery.omit({ format: true });

/** `GET /v1/zones.geojson`: the levels query's reading point and filters, a box and a zoom. */
export const zonesGeoQuery = z.strictObject({
  date: levelsQuery.shape.date,
  as_of: levelsQuery.shape.as_of,
  version: levelsQuery.shape.version,
  kind: levelsQuery.shape.kind,
  parent: levelsQuery.shape.parent,
  level: levelsQuery.shape.level,
  bbox: z.preprocess(oneValue, bboxSchema).optional(),
  zoom: z.preprocess(oneValue, z.coerce.number({ error: 'phải là số nguyên 0–22 — must be a whole number 0–22' }).int('phải là số nguyên 0–22 — must be a whole number 0–22').min(0).max(22)).optional(),
});

/** `true` or `false` in a query string. */
const flagQuery = z.preprocess(oneValue, z.enum(['true', 'false'], { error: 'phải là true hoặc false — must be true or false' })).transform((v) => v === 'true');
export const profileName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'phải gồm 1–64 ký tự a-z 0-9 . _ - (bắt đầu bằng chữ hoặc số) — must be 1–64 characters from a-z 0-9 . _ - (starting with a letter or digit)');
/** The file's name as the user knows it (recorded with the import's batch). */
const fileNameQuery = z.preprocess(oneValue, z.string().min(1).max(255).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'không được chứa ký tự điều khiển — must not contain control characters'));

/**
 * `POST /v1/areas`: `repair=true`; a saved field map (`profile`) or one given here
 * (`fields=code:Com_ID,name:Ten_Xa`), the file's CRS when it does not declare one (`crs`),
 * the GeoPackage layer (`layer`), and the file's name for the batch (`file_name`).
 */
export const importAreasQuery = z.strictObject({
  repair: flagQuery.optional(),
  profile: z.preprocess(oneValue, profileName).optional(),
  fields: z.preprocess(oneValue, z.string().min(1).max(1000)).optional(),
  crs: z.preprocess(oneValue, z.string().min(1).max(8000)).optional(),
  layer: z.preprocess(oneValue, z.string().min(1).max(200)).optional(),
  file_name: fileNameQuery.optional(),
});
export type ImportAreasQuery = z.infer<typeof importAreasQuery>;

/** `POST /v1/reports` and `/v1/metrics`: `dry_run=true`, a saved column map (`profile`) or one given here (`columns=area_name:Tên xã`), `file_name`. */
export const importFactsQuery = z.strictObject({
  dry_run: flagQuery.optional(),
  profile: z.preprocess(oneValue, profileName).optional(),
  columns: z.preprocess(oneValue, z.string().min(1).max(2000)).optional(),
  file_name: fileNameQuery.optional(),
});
export type ImportFactsQuery = z.infer<typeof importFactsQuery>;

export const importsListQuery = z.strictObject({
  kind: z.preprocess(oneValue, z.enum(['areas', 'reports', 'metrics'])).optional(),
  limit: z.preprocess(oneValue, z.coerce.number().int().min(1).max(500)).default(50),
  cursor: z.preprocess(oneValue, z.coerce.number().int().min(1)).optional(),
});

/** The content types of boundary files (POST /v1/areas). */
export const BOUNDARY_TYPES = [
  'application/json',
  'application/geo+json',
  'application/zip',
  'application/x-zip-compressed',
  'application/geopackage+sqlite3',
  'application/vnd.google-earth.kml+xml',
  'application/vnd.google-earth.kmz',
] as const;

/** The content types of reports and indicators. */
export const FACT_TYPES = ['application/json', 'text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'] as const;

/** Bodies read as bytes (the JSON ones are parsed). */
export const RAW_BODY_TYPES = ['text/csv', ...BOUNDARY_TYPES.slice(2), FACT_TYPES[2]];

export const aliasesBody = z.strictObject({
  aliases: z.array(nameText(200).pipe(z.string().trim().min(1, 'không được để trống — must not be empty')), { error: 'phải là mảng các tên — must be an array of names' }).min(1, 'cần ít nhất một tên — give at least one name').max(100, 'tối đa 100 tên mỗi lần — at most 100 names at once'),
});

export const profileBody = z.strictObject({
  name: profileName,
  kind: z.enum(['areas', 'reports', 'metrics'], { error: 'phải là areas, reports hoặc metrics — must be areas, reports or metrics' }),
  map: z.record(z.string().regex(/^(?!_)[a-z_]{1,40}$/, 'phải là tên trường hoặc cột, như code, area_name — must be a field or column name such as code, area_name'), z.string().max(200), { error: 'phải là đối tượng gồm các tên — must be an object of names' }),
});

/** A predecessor as a reorganisation names it: `{code, share?, event?}`, or "CODE" / "CODE:0.5". */
const predecessorSchema = z.union([
  z.strictObject({ code: areaCodeSchema, share: z.number().gt(0).max(1).nullable().optional(), event: z.enum(LINEAGE_EVENTS).optional() }),
  z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}(:(0(\.\d{1,12})?|1(\.0{1,12})?))?$/, 'phải là mã địa bàn, có thể kèm phần chia: "CODE" hoặc "CODE:0.5" — must be an area code, optionally with its share: "CODE" or "CODE:0.5"')
    .transform((t) => {
      const [code, share] = t.split(':') as [string, string | undefined];
      return { code, share: share === undefined ? null : Number(share) };
    })
    .refine((p) => p.share === null || p.share > 0, 'phần chia phải lớn hơn 0 (địa bàn không nhận phần nào thì không kế thừa) — a share must be above 0 (an area that took none of it is not its successor)'),
]);
export const predecessorsSchema = z.array(predecessorSchema).max(500);

/** `POST /v1/reorganisations` (CONTRACT): the areas retired, the new areas with their predecessors, the re-parentings, on one day. */
export const reorganisationBody = z.strictObject({
  effective_date: queryDate,
  retire: z.array(areaCodeSchema).max(20_000).default([]),
  areas: z.unknown().optional(),
  reparent: z.array(z.strictObject({ code: areaCodeSchema, parent: areaCodeSchema })).max(20_000).default([]),
  /** Predecessors by new area code, for areas whose features do not carry them (a boundary file read by `zonerisk reorganise --areas`). */
  predecessors: z.record(areaCodeSchema, predecessorsSchema).optional(),
  recompute: z.boolean().default(false),
  /** Reports of a retired area dated on or after the day go to the one successor that took it whole (summed by day). */
  move_reports: z.boolean().default(false),
  repair: z.boolean().default(false),
  note: z.string().max(500).optional(),
});
export type ReorganisationBody = z.infer<typeof reorganisationBody>;
