import { Knex } from 'knex';
import type { MultiPolygon } from 'geojson';
import { AreaKind, searchKey } from '../domain/areas';
import type { AreaInput } from '../geo/features';
import { arrayBindings } from './knex';
import type { Database } from './database';
import { Actor, audit } from './audit';
import { AREA_IMPORT_LOCK, AREAS_LOCK } from './locks';
import { badRequest, DetailCollector, notFound, unprocessable } from '../errors';
import { log } from '../log';
import { BatchRef, BatchSource, closeBatch, openBatch } from './imports';
import { REPAIR_HINT } from '../geo/features';
import type { LocalDate } from '../domain/dates';

export type AreaRecord = {
  code: string;
  name: string;
  kind: AreaKind;
  parent: string | null;
  population: number | null;
  /** The first and last days the area exists (inclusive; null: open). */
  valid_from: string | null;
  valid_to: string | null;
};

export type ImportWarning = { code: 'overlap'; message: string; areas: [string, string]; overlap_m2: number };

/** A boundary made valid by an import with `repair` (CONTRACT: `repairs`). */
export type Repair = { code: string; feature: string; problem: string; action: string; area_change_m2: number };

/** Holes between neighbours of one kind next to what an import changed: how many, how large, the largest. */
export type GapReport = { count: number; area_m2: number; worst: { areas: string[]; area_m2: number; at: [number, number] }[] };

export type ImportAreasResult = {
  created: number;
  updated: number;
  unchanged: number;
  warnings: ImportWarning[];
  /** Total number of overlapping pairs (warnings lists the largest ones). */
  overlaps: number;
  gaps: GapReport;
  /** Only with `repair`: every boundary the import made valid. */
  repairs?: Repair[];
  import?: BatchRef;
};

export type ImportAreasOptions = {
  /** Names the input feature `i` in error details. */
  featurePath?: (i: number) => string;
  actor?: Actor;
  /** Make invalid boundaries valid (within REPAIR_TOLERANCE) instead of refusing them. */
  repair?: boolean;
  /** The file this import reads, recorded as its batch. */
  batch?: BatchSource;
  /**
   * A reorganisation's new areas (db/reorganisations.ts): every code must be new (codes are
   * unique over all time) and the areas begin on this day.
   */
  validFrom?: LocalDate;
};

/**
 * What a repair may do (`repair=true`). Repeated vertices closer than `repeatedDegrees`
 * (1e-8°, about 1 mm) are merged; then PostGIS's ST_MakeValid, structure method, rebuilds the
 * polygons from their rings: spikes and back-tracks of zero width vanish, crossing rings are
 * split where they cross, holes are cut from their shells; the loops under `sliverM2` (1 m²)
 * that a crossing leaves as polygons of their own are dropped. A repair that changes a
 * boundary's area by more than `maxChangeM2` (100 m²) or by more than `maxChangeShare` of it
 * (0.1 %) — whichever is smaller, but never less than `alwaysAllowedM2` (1 m²) — is refused,
 * repair or not: it is not an artefact but a drawing to be fixed by whoever drew it.
 */
export const REPAIR_TOLERANCE = { repeatedDegrees: 1e-8, sliverM2: 1, maxChangeM2: 100, maxChangeShare: 0.001, alwaysAllowedM2: 1 } as const;

/** The largest area change a repair of a boundary of `m2` may make (see REPAIR_TOLERANCE). */
export function allowedRepairChange(m2: number): number {
  const t = REPAIR_TOLERANCE;
  return Math.max(t.alwaysAllowedM2, Math.min(t.maxChangeM2, t.maxChangeShare * m2));
}

/** Gaps below this are rounding noise between neighbours. */
const GAP_MIN_M2 = 1;

const MAX_WARNINGS = 20;
/** Overlaps below this are rounding noise between coarse neighbours, not worth a warning. */
const OVERLAP_MIN_M2 = 1;
const STAGE_BATCH = 500;

const rankSql = (col: string) =>
  `CASE ${col} WHEN 'province' THEN 0 WHEN 'district' THEN 1 WHEN 'commune' THEN 2 WHEN 'subcommune' THEN 3 END`;

/** Pieces of at most this many vertices stand for a boundary in the overlap check (ST_Subdivide). */
const PIECE_VERTICES = 256;

/**
 * Upserts areas by code, all or nothing. `featurePath(i)` names the input feature for
 * error details. Parents may come in the same import, in any order.
 *
 * Reporting goes on during an import. Imports queue behind each other (a lock of their
 * own), and the import holds nothing a report ingest waits for while it stages, checks,
 * compares overlaps and writes: report ingests take the areas lock shared, and an import
 * that creates areas takes it exclusively only as its last statement before the commit —
 * which waits for the ingests already running (none of them can see the new areas: they
 * are not committed) and holds new ones for the commit alone, so that no ingest sees an
 * area appear half-way (it numbers rows by the area ids it found at its start: see
 * db/facts/keyTuples.ts). An import that only changes areas takes no such lock: ids stay, and a
 * concurrent ingest sees the tree and the shapes either before or after it, whole.
 *
 * Its own work is bounded by the size of what changes: unchanged features (the same
 * shape, name, parent…) are left out of every check, and overlaps are compared piece by
 * piece — each changed boundary, and each existing one of more than 2,048 vertices near
 * it, cut into pieces of at most PIECE_VERTICES vertices (ST_Subdivide), so
 * that a 200,000-vertex polygon over 10,000 areas is thousands of small intersections,
 * not 10,000 intersections of a 200,000-vertex polygon.
 */
export async function importAreas(db: Database, areas: AreaInput[], opts: ImportAreasOptions = {}): Promise<ImportAreasResult> {
  checkDuplicateCodes(areas, opts);
  return db.write((trx) => importAreasIn(trx, areas, opts));
}

function checkDuplicateCodes(areas: AreaInput[], opts: ImportAreasOptions): void {
  const featurePath = opts.featurePath ?? ((i: number) => `features[${i}]`);
  const actor = opts.actor ?? 'system';
  const dupes = new DetailCollector();
  const firstIndex = new Map<string, number>();
  areas.forEach((a, i) => {
    const prev = firstIndex.get(a.code);
    if (prev === undefined) firstIndex.set(a.code, i);
    else dupes.add(`${featurePath(i)}.properties.code`, `duplicate code ${a.code} (also at ${featurePath(prev)})`);
  });
  dupes.throwIfAny((n) => `${n} duplicate area code(s) in one import`);
}

/** importAreas inside a transaction of the caller's (a reorganisation's), holding the import lock. */
export async function importAreasIn(trx: Knex.Transaction, areas: AreaInput[], opts: ImportAreasOptions = {}): Promise<ImportAreasResult> {
  checkDuplicateCodes(areas, opts);
  const featurePath = opts.featurePath ?? ((i: number) => `features[${i}]`);
  const actor = opts.actor ?? 'system';
  const started = Date.now();
  const step = (name: string) => log.debug('areas import step', { step: name, ms: Date.now() - started });
  await trx.raw('SELECT pg_advisory_xact_lock(?)', [AREA_IMPORT_LOCK]);
  const batch = opts.batch ? await openBatch(trx, actor, opts.batch) : null;
  await trx.raw(`CREATE TEMP TABLE stage_areas (
      idx int NOT NULL, code text NOT NULL, name text NOT NULL, name_search text NOT NULL,
      kind text NOT NULL, parent text, population int, geom geometry NOT NULL, keep_parent boolean NOT NULL,
      during daterange NOT NULL DEFAULT '(,)') ON COMMIT DROP`);
  for (let start = 0; start < areas.length; start += STAGE_BATCH) {
    const batch = areas.slice(start, start + STAGE_BATCH);
    await trx.raw(
      `INSERT INTO stage_areas
       SELECT t.idx, t.code, t.name, t.name_search, t.kind, t.parent, t.population,
              ST_Multi(ST_ForcePolygonCCW(ST_SetSRID(ST_GeomFromGeoJSON(t.geojson), 4326))), t.keep_parent
       FROM unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::text[], ?::boolean[])
            AS t(idx, code, name, name_search, kind, parent, population, geojson, keep_parent)`,
      arrayBindings([
        batch.map((_, i) => start + i),
        batch.map((a) => a.code),
        batch.map((a) => a.name),
        batch.map((a) => searchKey(a.name)),
        batch.map((a) => a.kind),
        batch.map((a) => a.parent),
        batch.map((a) => a.population),
        batch.map((a) => JSON.stringify(a.geometry)),
        batch.map((a) => a.keepParent === true),
      ]),
    );
  }
  // a feature that gave no parent at all keeps the one stored (a file whose field map has none)
  await trx.raw(
    `UPDATE stage_areas s SET parent = p.code FROM areas a JOIN areas p ON p.id = a.parent_id
     WHERE s.keep_parent AND a.code = s.code`,
  );
  // the days each staged area exists: a stored area's own, a reorganisation's from its date
  if (opts.validFrom) await trx.raw(`UPDATE stage_areas SET during = daterange(?::date, NULL, '[]')`, [opts.validFrom]);
  else await trx.raw(`UPDATE stage_areas s SET during = daterange(a.valid_from, a.valid_to, '[]') FROM areas a WHERE a.code = s.code`);
  if (opts.validFrom) {
    const taken = await trx.raw<{ rows: { idx: number; code: string }[] }>('SELECT s.idx, s.code FROM stage_areas s JOIN areas a ON a.code = s.code ORDER BY s.idx LIMIT 50');
    const errors = new DetailCollector();
    for (const r of taken.rows) errors.add(`${featurePath(r.idx)}.properties.code`, `area code ${r.code} is already used (codes are unique over all time): a new area needs a new code`);
    errors.throwIfAny((n) => `${n} new area code(s) already in use`, 'code_in_use');
  }
  step('staged');

  // What changes: new codes, and existing ones whose name, kind, population, parent or
  // shape differ. Everything below looks at these only; the overlap and gap checks at the
  // `reshaped` ones alone (new, or a new shape or kind: what can make or close an overlap or
  // a hole). A new census or a re-parenting of every commune compares no geometry.
  await trx.raw(
    `CREATE TEMP TABLE stage_changed ON COMMIT DROP AS
     SELECT s.idx, s.code, (a.id IS NULL) AS is_new,
            (a.id IS NULL OR a.kind IS DISTINCT FROM s.kind OR ST_AsEWKB(a.geom) IS DISTINCT FROM ST_AsEWKB(s.geom)) AS reshaped
     FROM stage_areas s
     LEFT JOIN areas a ON a.code = s.code
     LEFT JOIN areas ap ON ap.id = a.parent_id
     WHERE a.id IS NULL
        OR a.name IS DISTINCT FROM s.name
        OR a.kind IS DISTINCT FROM s.kind
        OR a.population IS DISTINCT FROM s.population
        OR ap.code IS DISTINCT FROM s.parent
        OR ST_AsEWKB(a.geom) IS DISTINCT FROM ST_AsEWKB(s.geom)`,
  );
  await trx.raw('CREATE UNIQUE INDEX ON stage_changed (idx); CREATE INDEX ON stage_changed (code); ANALYZE stage_changed');
  step('compared');

  // PostGIS has the last word on validity (rings crossing each other, holes outside shells…);
  // an unchanged shape is the stored one, valid already.
  const errors = new DetailCollector();
  const repairs = opts.repair ? await repairBoundaries(trx, areas, featurePath, errors) : undefined;
  // a repaired boundary is compared as repaired (it was invalid, so never a stored shape: reshaped already; said here, not assumed)
  if (repairs?.length) await trx.raw('UPDATE stage_changed c SET reshaped = true FROM stage_repairs r WHERE r.idx = c.idx AND NOT c.reshaped');
  errors.throwIfAny((n) => `${n} boundar${n === 1 ? 'y' : 'ies'} cannot be repaired within the tolerance; nothing was written`, 'repair_refused');
  const invalid = await trx.raw<{ rows: { idx: number; reason: string }[] }>(
    `SELECT s.idx, ST_IsValidReason(s.geom) AS reason
     FROM stage_changed c JOIN stage_areas s ON s.idx = c.idx
     WHERE NOT ST_IsValid(s.geom) ORDER BY s.idx LIMIT 50`,
  );
  for (const r of invalid.rows) errors.add(`${featurePath(r.idx)}.geometry`, `${areas[r.idx]?.code}: ${r.reason}; ${REPAIR_HINT}`);
  errors.throwIfAny((n) => `${n} invalid geometr${n === 1 ? 'y' : 'ies'}`, 'invalid_geometry');
  step('validated');

  const parents = await trx.raw<{ rows: { idx: number; parent: string; parent_kind: string | null }[] }>(
    `SELECT s.idx, s.parent, coalesce(sp.kind, ap.kind) AS parent_kind
     FROM stage_areas s
     LEFT JOIN stage_areas sp ON sp.code = s.parent
     LEFT JOIN areas ap ON ap.code = s.parent
     WHERE s.parent IS NOT NULL
       AND (coalesce(sp.kind, ap.kind) IS NULL
            OR ${rankSql('coalesce(sp.kind, ap.kind)')} >= ${rankSql('s.kind')})
     ORDER BY s.idx LIMIT 50`,
  );
  for (const r of parents.rows) {
    const a = areas[r.idx] as AreaInput;
    errors.add(
      `${featurePath(r.idx)}.properties.parent`,
      r.parent_kind === null
        ? `unknown parent area ${r.parent} (not in this import nor in the database)`
        : `a ${a.kind} cannot have a ${r.parent_kind} (${r.parent}) as parent: the parent must be of a higher kind`,
    );
  }
  // Changing an existing parent's kind must not leave its other children above it.
  const orphans = await trx.raw<{ rows: { idx: number; child: string; child_kind: string }[] }>(
    `SELECT s.idx, c.code AS child, c.kind AS child_kind
     FROM stage_areas s
     JOIN areas p ON p.code = s.code
     JOIN areas c ON c.parent_id = p.id
     WHERE ${rankSql('s.kind')} >= ${rankSql('c.kind')}
       AND NOT EXISTS (SELECT 1 FROM stage_areas sc WHERE sc.code = c.code)
     ORDER BY s.idx LIMIT 50`,
  );
  for (const r of orphans.rows) {
    errors.add(`${featurePath(r.idx)}.properties.kind`, `area ${r.child} (${r.child_kind}) is a child of this area, which cannot become a ${areas[r.idx]?.kind}`);
  }
  errors.throwIfAny((n) => `${n} invalid parent reference(s)`, 'invalid_parent');

  const counts = await trx.raw<{ rows: { created: number; updated: number; reshaped: number }[] }>(
    `SELECT count(*) FILTER (WHERE is_new)::int AS created, count(*) FILTER (WHERE NOT is_new)::int AS updated, count(*) FILTER (WHERE reshaped)::int AS reshaped FROM stage_changed`,
  );
  const created = counts.rows[0]?.created ?? 0;
  const updated = counts.rows[0]?.updated ?? 0;
  const reshaped = counts.rows[0]?.reshaped ?? 0;
  const overlaps = reshaped > 0 ? await overlapsOf(trx) : [];
  step('overlaps');
  // for the audit trail: what the changed areas were before (geometry by its hash)
  const before = await trx.raw<{ rows: Record<string, unknown>[] }>(
    `SELECT a.code, a.name, a.kind, p.code AS parent, a.population, md5(ST_AsEWKB(a.geom)) AS geom_md5
     FROM stage_changed c JOIN areas a ON a.code = c.code LEFT JOIN areas p ON p.id = a.parent_id
     WHERE NOT c.is_new ORDER BY a.code LIMIT 200`,
  );
  const changed = await trx.raw<{ rows: { code: string }[] }>('SELECT code FROM stage_changed ORDER BY code LIMIT 1000');

  // changed areas updated, new ones inserted: not one upsert, which would take an id from the
  // identity for every updated area too, leaving gaps in the ids (the check of zone_levels'
  // areas proves them by their id range where it has none: migration 21); imports take turns
  await trx.raw(
    `UPDATE areas a SET name = s.name, name_search = s.name_search, kind = s.kind, population = s.population,
       geom = s.geom, label_point = ST_PointOnSurface(s.geom), updated_at = now()
     FROM stage_areas s JOIN stage_changed c ON c.idx = s.idx
     WHERE NOT c.is_new AND a.code = s.code`,
  );
  await trx.raw(
    `INSERT INTO areas (code, name, name_search, kind, population, geom, label_point, valid_from)
     SELECT s.code, s.name, s.name_search, s.kind, s.population, s.geom, ST_PointOnSurface(s.geom), lower(s.during)
     FROM stage_areas s JOIN stage_changed c ON c.idx = s.idx
     WHERE c.is_new`,
  );
  const moved = await trx.raw<{ rowCount: number | null }>(
    `UPDATE areas a SET parent_id = p.id, updated_at = now()
     FROM stage_changed c JOIN stage_areas s ON s.idx = c.idx LEFT JOIN areas p ON p.code = s.parent
     WHERE a.code = c.code AND a.parent_id IS DISTINCT FROM p.id`,
  );
  // the tree follows ids and parents only
  if (created > 0 || (moved.rowCount ?? 0) > 0) await rebuildAreaTree(trx);
  step('written');
  const gaps = reshaped > 0 ? await gapsNear(trx) : { count: 0, area_m2: 0, worst: [] };
  step('gaps');

  const significant = overlaps.filter((r) => r.m2 >= OVERLAP_MIN_M2).sort((x, y) => y.m2 - x.m2);
  const warnings: ImportWarning[] = significant.slice(0, MAX_WARNINGS).map((r) => ({
    code: 'overlap',
    message: `${r.a} and ${r.b} overlap by ${Math.round(r.m2)} m²`,
    areas: [r.a, r.b],
    overlap_m2: Math.round(r.m2),
  }));
  const result: ImportAreasResult = { created, updated, unchanged: areas.length - created - updated, warnings, overlaps: significant.length, gaps };
  if (repairs) result.repairs = repairs;
  await audit(trx, actor, {
    action: 'areas.import',
    areas: changed.rows.map((r) => r.code),
    before: { areas: before.rows },
    after: { created, updated, unchanged: result.unchanged, overlaps: result.overlaps, gaps: gaps.count, repaired: repairs?.map((r) => r.code), changed: changed.rows.map((r) => r.code) },
  });
  if (batch && opts.batch) result.import = await closeBatch(trx, batch, areas.length, result, opts.batch);
  // Last, and only when areas are created: report ingests running now finish first, those
  // arriving now wait for the commit alone (see above).
  if (created > 0) await trx.raw('SELECT pg_advisory_xact_lock(?)', [AREAS_LOCK]);
  step('ingests held');
  return result;
}

/** Rebuilds area_tree from the areas' parents (the database's own zonerisk_rebuild_area_tree(), migration 20261201000011). */
export async function rebuildAreaTree(trx: Knex.Transaction): Promise<void> {
  await trx.raw('SELECT zonerisk_rebuild_area_tree()');
}

/**
 * m² of `g`'s planar area in degrees² (lon/lat), scaled at latitude `phi` by WGS 84's local
 * area element (the meridian's and the prime vertical's radii of curvature, times cos φ).
 * Within a piece of a few hundred vertices the scale barely varies: on the national bench
 * set this agrees with PostGIS's geodesic area (geography) within 0.02 % for communes
 * (0.12 % for whole provinces), and costs a planar area — the geodesic one took 0.6 ms a
 * polygon, most of the overlap check's time.
 */
const WGS84_A2_1_E2 = 6378137 ** 2 * (1 - 0.00669437999014);
const m2Sql = (g: string, phi: string) =>
  `(ST_Area(${g}) * ${(Math.PI / 180) ** 2 * WGS84_A2_1_E2} * cosd(${phi}) / power(1 - 0.00669437999014 * power(sind(${phi}), 2), 2))`;

/**
 * Pairs of areas of one kind whose interiors overlap, at least one of them reshaped by this
 * import (new, or a new shape or kind: staged in stage_areas / stage_changed), with the
 * overlap in m². Compared piece by
 * piece: the changed boundaries cut into pieces of at most PIECE_VERTICES vertices, and the
 * other areas of their kinds whose box meets a piece — cut too when they have more than
 * eight times that (a commune of 500 vertices is one piece). The pieces of one area do not overlap
 * each other, so a pair's overlap is the sum of its pieces' overlaps; a piece that covers
 * the other (the inside of a large polygon over a commune) adds the other's area without an
 * intersection being built.
 */
async function overlapsOf(trx: Knex.Transaction): Promise<{ a: string; b: string; m2: number }[]> {
  await trx.raw(
    `CREATE TEMP TABLE stage_pieces ON COMMIT DROP AS
     SELECT s.code, s.kind, true AS changed, s.during, ST_Subdivide(s.geom, ${PIECE_VERTICES}) AS g
     FROM stage_changed c JOIN stage_areas s ON s.idx = c.idx
     WHERE c.reshaped`,
  );
  await trx.raw('CREATE INDEX ON stage_pieces USING gist (g); ANALYZE stage_pieces');
  // the other side: stored areas near a changed one (a changed area's new shape is in the pieces already)
  await trx.raw(
    `INSERT INTO stage_pieces (code, kind, changed, during, g)
     SELECT a.code, a.kind, false, daterange(a.valid_from, a.valid_to, '[]'), x.g
     FROM areas a
     CROSS JOIN LATERAL (
       SELECT ST_Subdivide(a.geom, ${PIECE_VERTICES}) AS g WHERE ST_NPoints(a.geom) > ${8 * PIECE_VERTICES}
       UNION ALL SELECT a.geom WHERE ST_NPoints(a.geom) <= ${8 * PIECE_VERTICES}
     ) x
     WHERE a.id IN (SELECT b.id FROM stage_pieces p JOIN areas b ON b.geom && p.g AND b.kind = p.kind AND daterange(b.valid_from, b.valid_to, '[]') && p.during)
       AND NOT EXISTS (SELECT 1 FROM stage_changed c WHERE c.code = a.code AND c.reshaped)`,
  );
  await trx.raw('ANALYZE stage_pieces');
  // the latitude of the middle of where the two pieces' boxes meet
  const phi = '(greatest(ST_YMin(p.g), ST_YMin(q.g)) + least(ST_YMax(p.g), ST_YMax(q.g))) / 2';
  const res = await trx.raw<{ rows: { a: string; b: string; m2: number }[] }>(
    `SELECT p.code AS a, q.code AS b,
            sum(${m2Sql(`CASE WHEN ST_Covers(p.g, q.g) THEN q.g WHEN ST_Covers(q.g, p.g) THEN p.g ELSE ST_Intersection(p.g, q.g) END`, phi)}) AS m2
     FROM stage_pieces p
     JOIN stage_pieces q ON q.g && p.g AND q.kind = p.kind AND q.code <> p.code AND (NOT q.changed OR p.code < q.code) AND q.during && p.during
     WHERE p.changed AND ST_Intersects(p.g, q.g)
     GROUP BY p.code, q.code`,
  );
  return res.rows;
}

export type ListAreasQuery = {
  /** The areas in force that day, with that day's parent, name and population. */
  date: LocalDate;
  kind?: AreaKind;
  parent?: string;
  bbox?: [number, number, number, number];
  q?: string;
  limit: number;
  cursor?: string;
};

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function areaId(knex: Knex, code: string): Promise<number | null> {
  const row = await knex('areas').where({ code }).first<{ id: number } | undefined>('id');
  return row?.id ?? null;
}

export async function listAreas(knex: Knex, query: ListAreasQuery): Promise<{ items: AreaRecord[]; next_cursor: string | null }> {
  const q = knex
    .from(knex.raw('zonerisk_areas_on(?::date) AS a', [query.date]))
    .leftJoin('areas as p', 'p.id', 'a.parent_id')
    .select<AreaRecord[]>('a.code', 'a.name', 'a.kind', 'p.code as parent', 'a.population', knex.raw('a.valid_from::text AS valid_from'), knex.raw('a.valid_to::text AS valid_to'))
    .orderBy('a.code')
    .limit(query.limit + 1);
  if (query.kind) q.where('a.kind', query.kind);
  if (query.parent !== undefined) {
    const parentId = await areaId(knex, query.parent);
    if (parentId === null) throw unprocessable(`unknown area ${query.parent}`, [{ path: 'parent', message: `no area has code ${query.parent}` }], 'unknown_area');
    q.where('a.parent_id', parentId);
  }
  if (query.bbox) {
    const [x1, y1, x2, y2] = query.bbox;
    q.whereRaw('a.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326) AND ST_Intersects(a.geom, ST_MakeEnvelope(?, ?, ?, ?, 4326))', [x1, y1, x2, y2, x1, y1, x2, y2]);
  }
  if (query.q) q.whereRaw(`a.name_search LIKE ? ESCAPE '\\'`, [`%${escapeLike(searchKey(query.q))}%`]);
  if (query.cursor !== undefined) q.where('a.code', '>', query.cursor);
  const rows = await q;
  const more = rows.length > query.limit;
  const items = more ? rows.slice(0, query.limit) : rows;
  const last = items[items.length - 1];
  return { items, next_cursor: more && last ? encodeCursor(last.code) : null };
}

export function encodeCursor(code: string): string {
  return Buffer.from(JSON.stringify({ after: code })).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as { after?: unknown }).after === 'string') {
      return (parsed as { after: string }).after;
    }
  } catch {
    /* fall through */
  }
  throw badRequest('cursor is not one this service issued', [{ path: 'cursor', message: 'invalid cursor' }], 'invalid_query');
}

export type AreaFeature = {
  type: 'Feature';
  id: string;
  geometry: MultiPolygon;
  bbox: [number, number, number, number];
  properties: AreaRecord & { label_point: [number, number]; created_at: string; updated_at: string };
};

/** An area as a Feature: its latest attributes, or (with `date`) those of that day — a 404 when it did not exist then. */
export async function getAreaFeature(knex: Knex, code: string, date?: LocalDate): Promise<AreaFeature> {
  if (date !== undefined) {
    const on = await knex.raw<{ rows: unknown[] }>('SELECT 1 FROM zonerisk_areas_on(?::date) WHERE code = ?', [date, code]);
    const exists = await knex('areas').where({ code }).first<{ valid_from: string | null; valid_to: string | null } | undefined>(knex.raw('valid_from::text AS valid_from, valid_to::text AS valid_to'));
    if (exists && on.rows.length === 0) {
      throw notFound(`khu vực ${code} không tồn tại ngày ${date} — area ${code} did not exist on ${date} (it exists from ${exists.valid_from ?? 'the start'} to ${exists.valid_to ?? 'now'}); see GET /v1/areas/${code}/lineage`);
    }
  }
  const row = await knex
    .from(date === undefined ? 'areas as a' : knex.raw('zonerisk_areas_on(?::date) AS a', [date]))
    .leftJoin('areas as p', 'p.id', 'a.parent_id')
    .where('a.code', code)
    .first<
      | (AreaRecord & { geometry: string; xmin: number; ymin: number; xmax: number; ymax: number; lx: number; ly: number; created_at: Date; updated_at: Date })
      | undefined
    >(
      'a.code',
      'a.name',
      'a.kind',
      'p.code as parent',
      'a.population',
      knex.raw('a.valid_from::text AS valid_from'),
      knex.raw('a.valid_to::text AS valid_to'),
      'a.created_at',
      'a.updated_at',
      knex.raw('ST_AsGeoJSON(a.geom, 7) AS geometry'),
      knex.raw('ST_XMin(a.geom) AS xmin, ST_YMin(a.geom) AS ymin, ST_XMax(a.geom) AS xmax, ST_YMax(a.geom) AS ymax'),
      knex.raw('ST_X(a.label_point) AS lx, ST_Y(a.label_point) AS ly'),
    );
  if (!row) throw notFound(`no area has code ${code}`);
  return {
    type: 'Feature',
    id: row.code,
    bbox: [row.xmin, row.ymin, row.xmax, row.ymax],
    geometry: JSON.parse(row.geometry) as MultiPolygon,
    properties: {
      code: row.code,
      name: row.name,
      kind: row.kind,
      parent: row.parent,
      population: row.population,
      valid_from: row.valid_from,
      valid_to: row.valid_to,
      label_point: [row.lx, row.ly],
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    },
  };
}


/** A province or district as the map page places it: its extent and where its name goes. */
export type Place = {
  code: string;
  name: string;
  kind: 'province' | 'district';
  parent: string | null;
  bbox: [number, number, number, number];
  label: [number, number];
  /** The days it exists (the page shows the places of its day). */
  valid_from: string | null;
  valid_to: string | null;
};

/** Every province and district, by kind then name (a country: about 770 rows). */
export async function places(knex: Knex): Promise<Place[]> {
  const res = await knex.raw<{ rows: { code: string; name: string; kind: 'province' | 'district'; parent: string | null; x0: number; y0: number; x1: number; y1: number; lx: number; ly: number; valid_from: string | null; valid_to: string | null }[] }>(
    `SELECT a.code, a.name, a.kind, p.code AS parent, a.valid_from::text AS valid_from, a.valid_to::text AS valid_to,
            round(ST_XMin(a.geom)::numeric, 5)::float8 AS x0, round(ST_YMin(a.geom)::numeric, 5)::float8 AS y0,
            round(ST_XMax(a.geom)::numeric, 5)::float8 AS x1, round(ST_YMax(a.geom)::numeric, 5)::float8 AS y1,
            round(ST_X(a.label_point)::numeric, 5)::float8 AS lx, round(ST_Y(a.label_point)::numeric, 5)::float8 AS ly
     FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
     WHERE a.kind IN ('province', 'district') AND a.geom IS NOT NULL
     ORDER BY a.kind = 'province' DESC, a.name, a.code`,
  );
  return res.rows.map((r) => ({ code: r.code, name: r.name, kind: r.kind, parent: r.parent, bbox: [r.x0, r.y0, r.x1, r.y1], label: [r.lx, r.ly], valid_from: r.valid_from, valid_to: r.valid_to }));
}

/**
 * Makes the changed boundaries that PostGIS finds invalid (or that the import's own check
 * flagged) valid, in stage_areas, as REPAIR_TOLERANCE says; answers what was done to each.
 * A repair beyond the tolerance, or one that leaves nothing of a boundary, goes into `errors`.
 */
async function repairBoundaries(trx: Knex.Transaction, areas: AreaInput[], featurePath: (i: number) => string, errors: DetailCollector): Promise<Repair[]> {
  const flagged = areas.flatMap((a, i) => (a.defect ? [i] : []));
  const t = REPAIR_TOLERANCE;
  const phi = (g: string) => `(ST_YMin(${g}) + ST_YMax(${g})) / 2`;
  await trx.raw(
    `CREATE TEMP TABLE stage_repairs ON COMMIT DROP AS
     SELECT s.idx, ST_IsValidReason(s.geom) AS reason,
            ST_NPoints(s.geom) - ST_NPoints(d.g) AS repeated, ST_NumGeometries(s.geom) AS parts_before,
            ST_NumGeometries(v.g) - ST_NumGeometries(k.g) AS slivers,
            s.geom AS before, ST_ForcePolygonCCW(k.g) AS after
     FROM stage_changed c JOIN stage_areas s ON s.idx = c.idx
     CROSS JOIN LATERAL (SELECT ST_RemoveRepeatedPoints(s.geom, ${t.repeatedDegrees}) AS g) d
     CROSS JOIN LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(d.g, 'method=structure'), 3)) AS g) v
     -- the loops a back-track leaves, under slivers m², go (unless nothing else is left)
     CROSS JOIN LATERAL (SELECT coalesce((SELECT ST_Multi(ST_Collect(p.geom ORDER BY p.path)) FROM ST_Dump(v.g) p
                                          WHERE ST_Area(p.geom::geography) >= ${t.sliverM2}), v.g) AS g) k
     WHERE NOT ST_IsValid(s.geom) OR s.idx = ANY(?::int[])`,
    arrayBindings([flagged]),
  );
  const rows = await trx.raw<{ rows: { idx: number; reason: string; repeated: number; slivers: number; parts_before: number; parts_after: number; empty: boolean; m2_before: number; m2_after: number }[] }>(
    `SELECT idx, reason, repeated, slivers, parts_before, ST_NumGeometries(after) AS parts_after, ST_IsEmpty(after) AS empty,
            ${m2Sql('before', phi('before'))} AS m2_before, ${m2Sql('after', phi('before'))} AS m2_after
     FROM stage_repairs ORDER BY idx`,
  );
  const repairs: Repair[] = [];
  for (const r of rows.rows) {
    const a = areas[r.idx] as AreaInput;
    const path = `${featurePath(r.idx)}.geometry`;
    const problem = a.defect?.reason ?? r.reason;
    const change = Math.abs(r.m2_after - r.m2_before);
    if (r.empty) {
      errors.add(path, `${a.code}: ${problem}; sửa hình sẽ không còn gì — making it valid leaves no area: fix the boundary in a GIS tool`);
      continue;
    }
    const allowed = allowedRepairChange(r.m2_after);
    if (change > allowed) {
      const pct = r.m2_before > 0 ? ` (${((change * 100) / Math.abs(r.m2_before)).toFixed(2)} %)` : '';
      errors.add(
        path,
        `${a.code}: ${problem}; sửa hình làm thay đổi diện tích ${Math.round(change)} m², quá mức cho phép ${Math.round(allowed)} m² — repair would change the area by ${Math.round(change)} m²${pct}, more than the ${Math.round(allowed)} m² allowed (100 m² or 0.1 %, whichever is smaller): fix the boundary in a GIS tool`,
      );
      continue;
    }
    const did = ['made valid with ST_MakeValid (structure method)'];
    if (r.repeated > 0) did.unshift(`${r.repeated} repeated vertex(es) within ${t.repeatedDegrees}° merged`);
    if (r.slivers > 0) did.push(`${r.slivers} loop(s) under ${t.sliverM2} m² left by the crossing dropped`);
    if (r.parts_after !== r.parts_before) did.push(`${r.parts_before} → ${r.parts_after} polygon(s)`);
    repairs.push({ code: a.code, feature: featurePath(r.idx), problem, action: did.join('; '), area_change_m2: Math.round(change * 100) / 100 });
  }
  if (repairs.length) await trx.raw('UPDATE stage_areas s SET geom = r.after FROM stage_repairs r WHERE r.idx = s.idx AND NOT ST_IsEmpty(r.after)');
  return repairs;
}

/**
 * Gaps between neighbours of one kind around what the import reshaped: the holes of the union
 * of the areas of that kind near a reshaped one (its box, widened by 0.01°) that touch a
 * reshaped area, with the areas around each. Holes of at least GAP_MIN_M2.
 */
async function gapsNear(trx: Knex.Transaction): Promise<GapReport> {
  // the areas of each changed kind near a changed one, indexed: each hole's neighbours are found by the index
  await trx.raw(
    `CREATE TEMP TABLE stage_near ON COMMIT DROP AS
     SELECT a.id, a.kind, a.code, a.geom, EXISTS (SELECT 1 FROM stage_changed c WHERE c.code = a.code AND c.reshaped) AS changed
     FROM areas a
     WHERE a.id IN (SELECT n.id FROM stage_changed sc JOIN areas ca ON ca.code = sc.code AND sc.reshaped
                    JOIN areas n ON n.kind = ca.kind AND n.geom && ST_Expand(ca.geom, 0.01)
                      AND daterange(n.valid_from, n.valid_to, '[]') && daterange(ca.valid_from, ca.valid_to, '[]'))`,
  );
  await trx.raw('CREATE INDEX ON stage_near USING gist (geom); ANALYZE stage_near');
  const res = await trx.raw<{ rows: { areas: string[]; m2: number; lon: number; lat: number }[] }>(
    `WITH holes AS (
       SELECT u.kind, r.geom AS hole
       -- one area of a kind has no neighbour to leave a gap with
       FROM (SELECT kind, ST_UnaryUnion(ST_Collect(geom)) AS g FROM stage_near GROUP BY kind HAVING count(*) > 1) u
       CROSS JOIN LATERAL ST_Dump(u.g) p
       CROSS JOIN LATERAL ST_DumpRings(p.geom) r
       WHERE r.path[1] > 0),
     gaps AS (
       SELECT h.kind, h.hole, ${m2Sql('h.hole', '(ST_YMin(h.hole) + ST_YMax(h.hole)) / 2')} AS m2,
              array(SELECT n.code FROM stage_near n WHERE n.kind = h.kind AND ST_DWithin(n.geom, h.hole, 1e-9) ORDER BY n.code) AS areas,
              EXISTS (SELECT 1 FROM stage_near n WHERE n.changed AND n.kind = h.kind AND ST_DWithin(n.geom, h.hole, 1e-9)) AS touches_change
       FROM holes h)
     SELECT areas, m2, ST_X(ST_PointOnSurface(hole)) AS lon, ST_Y(ST_PointOnSurface(hole)) AS lat
     FROM gaps WHERE touches_change AND m2 >= ${GAP_MIN_M2} ORDER BY m2 DESC`,
  );
  const rows = res.rows;
  return {
    count: rows.length,
    area_m2: Math.round(rows.reduce((s, r) => s + r.m2, 0)),
    worst: rows.slice(0, MAX_WARNINGS).map((r) => ({ areas: r.areas, area_m2: Math.round(r.m2), at: [Math.round(r.lon * 1e6) / 1e6, Math.round(r.lat * 1e6) / 1e6] })),
  };
}
