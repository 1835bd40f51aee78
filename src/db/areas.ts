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

export type AreaRecord = {
  code: string;
  name: string;
  kind: AreaKind;
  parent: string | null;
  population: number | null;
};

export type ImportWarning = { code: 'overlap'; message: string; areas: [string, string]; overlap_m2: number };

export type ImportAreasResult = {
  created: number;
  updated: number;
  unchanged: number;
  warnings: ImportWarning[];
  /** Total number of overlapping pairs (warnings lists the largest ones). */
  overlaps: number;
};

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
export async function importAreas(
  db: Database,
  areas: AreaInput[],
  featurePath: (i: number) => string = (i) => `features[${i}]`,
  actor: Actor = 'system',
): Promise<ImportAreasResult> {
  const dupes = new DetailCollector();
  const firstIndex = new Map<string, number>();
  areas.forEach((a, i) => {
    const prev = firstIndex.get(a.code);
    if (prev === undefined) firstIndex.set(a.code, i);
    else dupes.add(`${featurePath(i)}.properties.code`, `duplicate code ${a.code} (also at ${featurePath(prev)})`);
  });
  dupes.throwIfAny((n) => `${n} duplicate area code(s) in one import`);

  return db.write(async (trx) => {
    const started = Date.now();
    const step = (name: string) => log.debug('areas import step', { step: name, ms: Date.now() - started });
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [AREA_IMPORT_LOCK]);
    await trx.raw(`CREATE TEMP TABLE stage_areas (
        idx int NOT NULL, code text NOT NULL, name text NOT NULL, name_search text NOT NULL,
        kind text NOT NULL, parent text, population int, geom geometry NOT NULL) ON COMMIT DROP`);
    for (let start = 0; start < areas.length; start += STAGE_BATCH) {
      const batch = areas.slice(start, start + STAGE_BATCH);
      await trx.raw(
        `INSERT INTO stage_areas
         SELECT t.idx, t.code, t.name, t.name_search, t.kind, t.parent, t.population,
                ST_Multi(ST_ForcePolygonCCW(ST_SetSRID(ST_GeomFromGeoJSON(t.geojson), 4326)))
         FROM unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::text[])
              AS t(idx, code, name, name_search, kind, parent, population, geojson)`,
        arrayBindings([
          batch.map((_, i) => start + i),
          batch.map((a) => a.code),
          batch.map((a) => a.name),
          batch.map((a) => searchKey(a.name)),
          batch.map((a) => a.kind),
          batch.map((a) => a.parent),
          batch.map((a) => a.population),
          batch.map((a) => JSON.stringify(a.geometry)),
        ]),
      );
    }
    step('staged');

    // What changes: new codes, and existing ones whose name, kind, population, parent or
    // shape differ. Everything below looks at these only.
    await trx.raw(
      `CREATE TEMP TABLE stage_changed ON COMMIT DROP AS
       SELECT s.idx, s.code, (a.id IS NULL) AS is_new
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
    const invalid = await trx.raw<{ rows: { idx: number; reason: string }[] }>(
      `SELECT s.idx, ST_IsValidReason(s.geom) AS reason
       FROM stage_changed c JOIN stage_areas s ON s.idx = c.idx
       WHERE NOT ST_IsValid(s.geom) ORDER BY s.idx LIMIT 50`,
    );
    const errors = new DetailCollector();
    for (const r of invalid.rows) errors.add(`${featurePath(r.idx)}.geometry`, `${areas[r.idx]?.code}: ${r.reason}`);
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

    const counts = await trx.raw<{ rows: { created: number; updated: number }[] }>(
      `SELECT count(*) FILTER (WHERE is_new)::int AS created, count(*) FILTER (WHERE NOT is_new)::int AS updated FROM stage_changed`,
    );
    const created = counts.rows[0]?.created ?? 0;
    const updated = counts.rows[0]?.updated ?? 0;
    const overlaps = created + updated > 0 ? await overlapsOf(trx) : [];
    step('overlaps');
    // for the audit trail: what the changed areas were before (geometry by its hash)
    const before = await trx.raw<{ rows: Record<string, unknown>[] }>(
      `SELECT a.code, a.name, a.kind, p.code AS parent, a.population, md5(ST_AsEWKB(a.geom)) AS geom_md5
       FROM stage_changed c JOIN areas a ON a.code = c.code LEFT JOIN areas p ON p.id = a.parent_id
       WHERE NOT c.is_new ORDER BY a.code LIMIT 200`,
    );
    const changed = await trx.raw<{ rows: { code: string }[] }>('SELECT code FROM stage_changed ORDER BY code LIMIT 1000');

    await trx.raw(
      `INSERT INTO areas (code, name, name_search, kind, population, geom, label_point)
       SELECT s.code, s.name, s.name_search, s.kind, s.population, s.geom, ST_PointOnSurface(s.geom)
       FROM stage_areas s JOIN stage_changed c ON c.idx = s.idx
       ON CONFLICT (code) DO UPDATE SET
         name = EXCLUDED.name, name_search = EXCLUDED.name_search, kind = EXCLUDED.kind,
         population = EXCLUDED.population, geom = EXCLUDED.geom, label_point = EXCLUDED.label_point,
         updated_at = now()`,
    );
    const moved = await trx.raw<{ rowCount: number | null }>(
      `UPDATE areas a SET parent_id = p.id
       FROM stage_changed c JOIN stage_areas s ON s.idx = c.idx LEFT JOIN areas p ON p.code = s.parent
       WHERE a.code = c.code AND a.parent_id IS DISTINCT FROM p.id`,
    );
    // the tree follows ids and parents only
    if (created > 0 || (moved.rowCount ?? 0) > 0) await rebuildAreaTree(trx);
    step('written');

    const significant = overlaps.filter((r) => r.m2 >= OVERLAP_MIN_M2).sort((x, y) => y.m2 - x.m2);
    const warnings: ImportWarning[] = significant.slice(0, MAX_WARNINGS).map((r) => ({
      code: 'overlap',
      message: `${r.a} and ${r.b} overlap by ${Math.round(r.m2)} m²`,
      areas: [r.a, r.b],
      overlap_m2: Math.round(r.m2),
    }));
    const result = { created, updated, unchanged: areas.length - created - updated, warnings, overlaps: significant.length };
    await audit(trx, actor, {
      action: 'areas.import',
      areas: changed.rows.map((r) => r.code),
      before: { areas: before.rows },
      after: { created, updated, unchanged: result.unchanged, overlaps: result.overlaps, changed: changed.rows.map((r) => r.code) },
    });
    // Last, and only when areas are created: report ingests running now finish first, those
    // arriving now wait for the commit alone (see above).
    if (created > 0) await trx.raw('SELECT pg_advisory_xact_lock(?)', [AREAS_LOCK]);
    step('ingests held');
    return result;
  });
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
 * Pairs of areas of one kind whose interiors overlap, at least one of them changed by this
 * import (staged in stage_areas / stage_changed), with the overlap in m². Compared piece by
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
     SELECT s.code, s.kind, true AS changed, ST_Subdivide(s.geom, ${PIECE_VERTICES}) AS g
     FROM stage_changed c JOIN stage_areas s ON s.idx = c.idx`,
  );
  await trx.raw('CREATE INDEX ON stage_pieces USING gist (g); ANALYZE stage_pieces');
  // the other side: stored areas near a changed one (a changed area's new shape is in the pieces already)
  await trx.raw(
    `INSERT INTO stage_pieces (code, kind, changed, g)
     SELECT a.code, a.kind, false, x.g
     FROM areas a
     CROSS JOIN LATERAL (
       SELECT ST_Subdivide(a.geom, ${PIECE_VERTICES}) AS g WHERE ST_NPoints(a.geom) > ${8 * PIECE_VERTICES}
       UNION ALL SELECT a.geom WHERE ST_NPoints(a.geom) <= ${8 * PIECE_VERTICES}
     ) x
     WHERE a.id IN (SELECT b.id FROM stage_pieces p JOIN areas b ON b.geom && p.g AND b.kind = p.kind)
       AND NOT EXISTS (SELECT 1 FROM stage_changed c WHERE c.code = a.code)`,
  );
  await trx.raw('ANALYZE stage_pieces');
  // the latitude of the middle of where the two pieces' boxes meet
  const phi = '(greatest(ST_YMin(p.g), ST_YMin(q.g)) + least(ST_YMax(p.g), ST_YMax(q.g))) / 2';
  const res = await trx.raw<{ rows: { a: string; b: string; m2: number }[] }>(
    `SELECT p.code AS a, q.code AS b,
            sum(${m2Sql(`CASE WHEN ST_Covers(p.g, q.g) THEN q.g WHEN ST_Covers(q.g, p.g) THEN p.g ELSE ST_Intersection(p.g, q.g) END`, phi)}) AS m2
     FROM stage_pieces p
     JOIN stage_pieces q ON q.g && p.g AND q.kind = p.kind AND q.code <> p.code AND (NOT q.changed OR p.code < q.code)
     WHERE p.changed AND ST_Intersects(p.g, q.g)
     GROUP BY p.code, q.code`,
  );
  return res.rows;
}

export type ListAreasQuery = {
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
  const q = knex('areas as a')
    .leftJoin('areas as p', 'p.id', 'a.parent_id')
    .select<AreaRecord[]>('a.code', 'a.name', 'a.kind', 'p.code as parent', 'a.population')
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

export async function getAreaFeature(knex: Knex, code: string): Promise<AreaFeature> {
  const row = await knex('areas as a')
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
      label_point: [row.lx, row.ly],
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    },
  };
}


/** A province or district as the map page places it: its extent and where its name goes. */
export type Place = { code: string; name: string; kind: 'province' | 'district'; parent: string | null; bbox: [number, number, number, number]; label: [number, number] };

/** Every province and district, by kind then name (a country: about 770 rows). */
export async function places(knex: Knex): Promise<Place[]> {
  const res = await knex.raw<{ rows: { code: string; name: string; kind: 'province' | 'district'; parent: string | null; x0: number; y0: number; x1: number; y1: number; lx: number; ly: number }[] }>(
    `SELECT a.code, a.name, a.kind, p.code AS parent,
            round(ST_XMin(a.geom)::numeric, 5)::float8 AS x0, round(ST_YMin(a.geom)::numeric, 5)::float8 AS y0,
            round(ST_XMax(a.geom)::numeric, 5)::float8 AS x1, round(ST_YMax(a.geom)::numeric, 5)::float8 AS y1,
            round(ST_X(a.label_point)::numeric, 5)::float8 AS lx, round(ST_Y(a.label_point)::numeric, 5)::float8 AS ly
     FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
     WHERE a.kind IN ('province', 'district') AND a.geom IS NOT NULL
     ORDER BY a.kind = 'province' DESC, a.name, a.code`,
  );
  return res.rows.map((r) => ({ code: r.code, name: r.name, kind: r.kind, parent: r.parent, bbox: [r.x0, r.y0, r.x1, r.y1], label: [r.lx, r.ly] }));
}
