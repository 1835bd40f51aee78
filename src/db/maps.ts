import { createHash } from 'node:crypto';
import { Knex } from 'knex';
import { AreaKind } from '../domain/areas';
import { addDays, LocalDate } from '../domain/dates';
import { Cql2Type } from '../domain/cql2';
import { LEVEL_INFO } from '../domain/levels';
import { incidencePer100k } from '../domain/metrics';
import { Layer, LayerRows, MapWorker } from '../geo/mapShapes';
import { arrayBindings } from './knex';
import type { Database } from './database';
import { levelSpan, zoneCore, ZoneFilter, zonesOn, ZoneRow } from './levels';

/**
 * Zones as map features: levels and figures from the store, geometry either as stored
 * (full detail, straight from PostGIS) or simplified for a zoom with shared borders kept
 * shared (see geo/simplify.ts). Simplification works on all areas of a kind at once, so a
 * border looks the same whatever the request's filter; that topology is built once per
 * kind and kept until the areas change.
 */
export type MapQuery = ZoneFilter & { date: LocalDate; asOf: Date | null; bbox?: [number, number, number, number] | undefined; zoom?: number | undefined };

const VERSION_TTL_MS = 1000;

type Page = { offset: number; limit: number; members: (matched: number, returned: number) => Record<string, unknown> };

/**
 * The properties of an OGC API feature a filter may name, with their types: the map
 * properties (but color, which is the level's) and `date`, the day whose level the feature
 * shows. The names are SQL column names of the filter's query (see `filterZones`).
 */
export const ITEM_COLUMNS = {
  code: 'string',
  name: 'string',
  kind: 'string',
  parent: 'string',
  level: 'string',
  level_number: 'number',
  since: 'date',
  community_cases_7d: 'number',
  incidence_per_100k_7d: 'number',
  population: 'number',
  date: 'date',
} as const satisfies Record<string, Cql2Type>;
export type ItemColumn = keyof typeof ITEM_COLUMNS;

/** A filter compiled to SQL over ITEM_COLUMNS (binds in order). */
export type CompiledFilter = { sql: string; binds: (string | number)[] };

/**
 * A page of OGC API items: the areas (of a kind, in a box, passing a filter) on each of
 * `days` in turn (ordered by day, then code), as known at `asOf`; `dayIds` names each
 * feature code@day (an interval's features), else by its code.
 */
export type ItemsQuery = { days: LocalDate[]; asOf: Date | null; kind?: AreaKind | undefined; bbox?: [number, number, number, number] | undefined; filter?: CompiledFilter | undefined; dayIds: boolean };

/**
 * The maps of one runtime's database: the map worker that simplifies and encodes them, the
 * topology layers it keeps (one per area kind), and recent answers of the version query
 * behind ETags (a tile burst asks once a second). Reads go to the read pool.
 */
export class MapStore {
  private readonly versions = new Map<string, { at: number; writes: number; v: Promise<string> }>();
  private readonly knex: Knex;
  constructor(
    private readonly db: Database,
    readonly worker: MapWorker,
  ) {
    this.knex = db.read;
  }

  /**
   * What a map response depends on, as a weak ETag: areas, the day's levels, overrides, the
   * week's reports. The versions are read in one snapshot of committed data, so a response
   * built afterwards is never older than its tag says. This process's own writes show at
   * once; other processes' within a second. Requests arriving while the versions are being
   * read wait for that one reading (a burst must not become a burst of queries).
   */
  async etag(q: MapQuery, variant: string): Promise<string> {
    const asOf = q.asOf ? q.asOf.toISOString() : 'infinity';
    const memo = this.versions;
    const memoKey = `${q.date}|${asOf}`;
    let hit = memo.get(memoKey);
    const writes = this.db.writeCount();
    if (!hit || Date.now() - hit.at >= VERSION_TTL_MS || hit.writes !== writes) {
      const entry = { at: Date.now(), writes, v: versionOf(this.knex, q.date, asOf) };
      if (memo.size > 1000) memo.clear();
      memo.set(memoKey, entry);
      // a failed reading is not kept: the next request asks again
      entry.v.catch(() => memo.get(memoKey) === entry && memo.delete(memoKey));
      hit = entry;
    }
    const key = JSON.stringify([variant, q.date, asOf, q.kind, q.parent, q.level, q.bbox, q.zoom, await hit.v]);
    return `W/"${createHash('sha256').update(key).digest('base64url').slice(0, 27)}"`;
  }

  /** Builds the shared-border topology of the communes of `date`'s map ahead of the first map request (it takes seconds for a country, in the map worker). */
  async warm(date: LocalDate): Promise<void> {
    const any = await this.knex('areas').where({ kind: 'commune' }).first('id');
    if (!any) return;
    const { layers, rows } = await layersOf(this.knex, ['commune'], date);
    await this.worker.warm(layers[0] as Layer, rows);
  }

  /**
   * The FeatureCollection, in pieces of text (a few hundred features each) so that a whole
   * country streams instead of being built as one string. `page` takes a slice of the zones
   * (by code) and adds top-level members (OGC API's numberMatched, links…).
   */
  collection(q: MapQuery, page?: Page): AsyncGenerator<string | Buffer> {
    return zoneFeatureCollection(this.knex, this.worker, q, page);
  }

  /** A page of OGC API items, in pieces of text (see ItemsQuery). */
  items(q: ItemsQuery, page: Page): AsyncGenerator<string | Buffer> {
    return itemsCollection(this.knex, this.worker, q, page);
  }

  /** One OGC API item: the area `code` (of `kind`, when given) on `date` with its day, or null. */
  async item(code: string, kind: AreaKind | undefined, date: LocalDate, dayId: boolean): Promise<string | null> {
    const zones = await zonesOn(this.knex, date, null, { code, kind }, 'levels');
    for await (const piece of featureTexts(this.knex, this.worker, zones, { date, asOf: null }, { day: date, dayIds: dayId })) return piece.toString();
    return null;
  }

  /** A vector tile of the zones in it (and a margin around it), geometry simplified for zoom `q.zoom`. */
  tile(q: MapQuery & { zoom: number }, x: number, y: number): Promise<Buffer> {
    return tileBytes(this.knex, this.worker, q, x, y);
  }

  /** The extent of all areas: [minLon, minLat, maxLon, maxLat], or null without areas. */
  extent(): Promise<[number, number, number, number] | null> {
    return areasExtent(this.knex);
  }

  /** The first and last days with levels (the temporal extent). */
  levelDays(): Promise<[string | null, string | null]> {
    return levelSpan(this.knex);
  }
}

async function versionOf(knex: Knex, date: LocalDate, asOf: string): Promise<string> {
  const res = await knex.raw<{ rows: { v: string }[] }>(
    `SELECT concat_ws('|',
       (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM areas),
       (SELECT coalesce(max(computed_at)::text, '') FROM zone_levels WHERE date = ?::date AND computed_at <= ?::timestamptz + interval '999 microseconds'),
       (SELECT count(*) || ':' || coalesce(max(created_at)::text, '') || ':' || coalesce(max(ended_at)::text, '') FROM overrides),
       (SELECT count(*) || ':' || coalesce(max(recorded_at)::text, '') FROM reports WHERE date BETWEEN ?::date - 6 AND ?::date)) AS v`,
    [date, asOf, date, date],
  );
  return res.rows[0]?.v ?? '';
}

/** Community cases over the 7 days ending `date`, of each area's whole subtree (null: no report). */
export async function cases7(knex: Knex, date: LocalDate, ids: number[]): Promise<Map<number, number>> {
  const res = await knex.raw<{ rows: { area_id: number; cases: number }[] }>(
    `SELECT t.ancestor AS area_id, sum(r.community_cases)::int AS cases
     FROM area_tree t JOIN reports r ON r.area_id = t.descendant AND r.date BETWEEN ? AND ?
     WHERE t.ancestor = ANY(?::int[]) AND t.during @> ?::date
     GROUP BY t.ancestor`,
    arrayBindings([addDays(date, -6), date, ids, date]),
  );
  return new Map(res.rows.map((r) => [r.area_id, r.cases]));
}

/**
 * Areas of these kinds on `date` as map-worker layers: the topology of each kind on the map of
 * that day, named by the kind and the first day of that map (the map's epoch: the areas and
 * their shapes are the same every day of it), versioned by the areas' version.
 */
async function layersOf(knex: Knex, kinds: AreaKind[], date: LocalDate): Promise<{ layers: Layer[]; index: Map<AreaKind, number>; rows: (key: string) => Promise<LayerRows> }> {
  const v = await knex.raw<{ rows: { v: string; epoch: string | null }[] }>(
    `SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') AS v,
            (SELECT max(d)::text FROM (
               SELECT valid_from AS d FROM areas WHERE valid_from <= ?::date
               UNION ALL SELECT valid_to + 1 FROM areas WHERE valid_to < ?::date
               UNION ALL SELECT attributes_from FROM areas WHERE attributes_from <= ?::date
               UNION ALL SELECT valid_to + 1 FROM area_versions WHERE valid_to < ?::date) x) AS epoch
     FROM areas`,
    [date, date, date, date],
  );
  const version = v.rows[0]?.v ?? '';
  const epoch = (v.rows[0]?.epoch ?? 'origin') as LocalDate | 'origin';
  // any day of the epoch draws its map; its first day does (the origin: any day before every change)
  const day = epoch === 'origin' ? date : epoch;
  const index = new Map<AreaKind, number>();
  const kindOf = new Map<string, AreaKind>();
  const layers: Layer[] = [];
  for (const kind of kinds) {
    if (index.has(kind)) continue;
    index.set(kind, layers.length);
    const key = epoch === 'origin' ? kind : `${kind}@${epoch}`;
    kindOf.set(key, kind);
    layers.push({ key, version });
  }
  const rows = async (key: string) => {
    const res = await knex.raw<{ rows: LayerRows }>(`SELECT id, ST_AsGeoJSON(geom, 9) AS g FROM zonerisk_areas_on(?::date) WHERE kind = ?`, [day, kindOf.get(key) as AreaKind]);
    return res.rows;
  };
  return { layers, index, rows };
}

/** A zone's map properties (the contract's, plus kind and parent). */
function properties(z: ZoneRow, cases: number | undefined) {
  const { since, ...core } = zoneCore(z);
  return {
    ...core,
    color: LEVEL_INFO[z.level].color,
    since,
    community_cases_7d: cases ?? null,
    incidence_per_100k_7d: incidencePer100k(cases, z.population),
    population: z.population,
  };
}

const BATCH = 200;
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A Feature's text up to its geometry (with `day`: the day as property `date`, and in the id too with `dayIds`). */
const featurePrefix = (z: ZoneRow, cases: number | undefined, day?: ItemDay) =>
  day
    ? `{"type":"Feature","id":${JSON.stringify(day.dayIds ? `${z.code}@${day.day}` : z.code)},"properties":${JSON.stringify({ ...properties(z, cases), date: day.day })},"geometry":`
    : `{"type":"Feature","id":${JSON.stringify(z.code)},"properties":${JSON.stringify(properties(z, cases))},"geometry":`;

/** OGC API items carry their day. */
type ItemDay = { day: LocalDate; dayIds: boolean; cases?: Map<number, number> | undefined };

/**
 * The features of these zones as text, in pieces: simplified for `q.zoom` by the map worker
 * (one piece), or at full detail as stored, a few hundred at a time (geometry from PostGIS).
 */
async function* featureTexts(knex: Knex, worker: MapWorker, zones: ZoneRow[], q: MapQuery, day?: ItemDay): AsyncGenerator<string | Buffer> {
  if (zones.length === 0) return;
  const cases = day?.cases ?? (await cases7(knex, q.date, zones.map((z) => z.area_id)));
  if (q.zoom !== undefined) {
    const { layers, index, rows } = await layersOf(knex, zones.map((z) => z.kind), q.date);
    const prefixes: string[] = [];
    for (let start = 0; start < zones.length; start += BATCH) {
      // a country is thousands of features: let other requests run between two batches
      if (start > 0) await yieldToOthers();
      for (const z of zones.slice(start, start + BATCH)) prefixes.push(featurePrefix(z, cases.get(z.area_id), day));
    }
    yield await worker.bytes({ op: 'features', layers, zoom: q.zoom, layer: zones.map((z) => index.get(z.kind) as number), ids: zones.map((z) => z.area_id), prefixes }, rows);
    return;
  }
  for (const [i, batch] of (await fullDetailBatches(knex, zones)).entries()) {
    if (i > 0) await yieldToOthers();
    // full detail as stored; exterior rings counter-clockwise (RFC 7946)
    const res = await knex.raw<{ rows: { id: number; g: string }[] }>(
      `SELECT id, ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7) AS g FROM zonerisk_areas_on(?::date) WHERE id = ANY(?::int[])`,
      arrayBindings([q.date, batch.map((z) => z.area_id)]),
    );
    const geometry = new Map(res.rows.map((r) => [r.id, r.g]));
    yield batch.map((z) => `${featurePrefix(z, cases.get(z.area_id), day)}${geometry.get(z.area_id) ?? 'null'}}`).join(',');
  }
}

/** Stored geometry read per full-detail batch, at most (bytes, about 16 a vertex): ~1.6 MB of GeoJSON text. */
const BATCH_STORED_BYTES = 2 ** 20;

/**
 * The zones cut into batches for reading their full-detail geometry: at most BATCH areas
 * and about BATCH_STORED_BYTES of stored geometry each (a lone larger area is a batch of its
 * own), so that a stream holds one bounded batch at a time whatever the shapes — 200
 * provinces of 10,000 vertices would otherwise be one 50 MB read. The sizes come from
 * the stored values' headers (pg_column_size: nothing is decompressed or read from TOAST).
 * Batches by id rather than a server-side cursor: a cursor would keep a connection (and
 * its snapshot) for as long as a slow client takes to read.
 */
async function fullDetailBatches(knex: Knex, zones: ZoneRow[]): Promise<ZoneRow[][]> {
  const res = await knex.raw<{ rows: { id: number; b: number }[] }>(
    'SELECT id, pg_column_size(geom) AS b FROM areas WHERE id = ANY(?::int[])',
    arrayBindings([zones.map((z) => z.area_id)]),
  );
  const bytes = new Map(res.rows.map((r) => [r.id, r.b]));
  const batches: ZoneRow[][] = [];
  let batch: ZoneRow[] = [];
  let size = 0;
  for (const z of zones) {
    const b = bytes.get(z.area_id) ?? 0;
    if (batch.length > 0 && (batch.length >= BATCH || size + b > BATCH_STORED_BYTES)) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(z);
    size += b;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * The FeatureCollection, in pieces of text (a few hundred features each) so that a whole
 * country streams instead of being built as one string. `members` adds top-level members
 * (OGC API's numberMatched, links…); `page` takes a slice of the zones (by code).
 */
async function* zoneFeatureCollection(knex: Knex, worker: MapWorker, q: MapQuery, page?: Page): AsyncGenerator<string | Buffer> {
  const all = await zonesOn(knex, q.date, q.asOf, q);
  const zones = page ? all.slice(page.offset, page.offset + page.limit) : all;
  const extra = page ? JSON.stringify(page.members(all.length, zones.length)).slice(1, -1) : '';
  yield `{"type":"FeatureCollection",${extra ? `${extra},` : ''}"features":[`;
  let first = true;
  for await (const piece of featureTexts(knex, worker, zones, q)) {
    if (!first) yield ',';
    yield piece;
    first = false;
  }
  yield ']}';
}

/**
 * The zones (of one day) whose properties pass a compiled filter, in their order: the
 * properties as the features show them (the effective level, the rounded incidence…) go to
 * the database as arrays in one statement and the filter is a WHERE over them — one
 * set-based query, every literal a bind. (The level an override sets and the incidence are
 * worked out in code, so the filter runs on exactly what the client sees.)
 */
async function filterZones(knex: Knex, date: LocalDate, zones: ZoneRow[], cases: Map<number, number>, filter: CompiledFilter): Promise<ZoneRow[]> {
  if (zones.length === 0) return zones;
  const props = zones.map((z) => properties(z, cases.get(z.area_id)));
  const col = <K extends keyof (typeof props)[number]>(k: K) => props.map((p) => p[k]);
  const res = await knex.raw<{ rows: { i: number }[] }>(
    `SELECT z.i FROM (
       SELECT u.*, ?::date AS date
       FROM unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::float8[], ?::date[], ?::float8[], ?::float8[], ?::float8[])
         AS u(i, code, name, kind, parent, level, level_number, since, community_cases_7d, incidence_per_100k_7d, population)
     ) z
     WHERE ${filter.sql}
     ORDER BY z.i`,
    arrayBindings([
      date,
      zones.map((_, i) => i),
      col('code'),
      col('name'),
      col('kind'),
      col('parent'),
      col('level'),
      col('level_number'),
      col('since'),
      col('community_cases_7d'),
      col('incidence_per_100k_7d'),
      col('population'),
      ...filter.binds,
    ]),
  );
  return res.rows.map((r) => zones[r.i] as ZoneRow);
}

/** The SQL column of a filterable property in filterZones' query (the names are ITEM_COLUMNS' own). */
export function itemColumn(name: string): { sql: string; type: Cql2Type } {
  if (!Object.hasOwn(ITEM_COLUMNS, name)) throw new Error(`not a filterable property: ${name}`);
  return { sql: `z."${name}"`, type: ITEM_COLUMNS[name as ItemColumn] };
}

/**
 * A page of OGC API items over days, streamed: each day's zones are read (and filtered)
 * in turn to count them, and kept only where the page falls, so that a month of a
 * country's days holds one or two days in memory.
 */
async function* itemsCollection(knex: Knex, worker: MapWorker, q: ItemsQuery, page: Page): AsyncGenerator<string | Buffer> {
  const parts: { day: LocalDate; zones: ZoneRow[]; cases: Map<number, number> | undefined }[] = [];
  let matched = 0;
  const end = page.offset + page.limit;
  for (const day of q.days) {
    let zones = await zonesOn(knex, day, q.asOf, { kind: q.kind, bbox: q.bbox }, 'levels');
    let cases: Map<number, number> | undefined;
    if (q.filter && zones.length > 0) {
      cases = await cases7(knex, day, zones.map((z) => z.area_id));
      zones = await filterZones(knex, day, zones, cases, q.filter);
    }
    const from = Math.max(page.offset - matched, 0);
    const to = Math.min(end - matched, zones.length);
    if (from < to) parts.push({ day, zones: zones.slice(from, to), cases });
    matched += zones.length;
  }
  const returned = parts.reduce((n, p) => n + p.zones.length, 0);
  yield `{"type":"FeatureCollection",${JSON.stringify(page.members(matched, returned)).slice(1, -1)},"features":[`;
  let first = true;
  for (const part of parts) {
    for await (const piece of featureTexts(knex, worker, part.zones, { date: part.day, asOf: q.asOf }, { day: part.day, dayIds: q.dayIds, cases: part.cases })) {
      if (!first) yield ',';
      yield piece;
      first = false;
    }
  }
  yield ']}';
}

/** The extent of all areas: [minLon, minLat, maxLon, maxLat], or null without areas. */
async function areasExtent(knex: Knex): Promise<[number, number, number, number] | null> {
  const res = await knex.raw<{ rows: { x1: number | null; y1: number; x2: number; y2: number }[] }>(
    'SELECT ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2 FROM (SELECT ST_Extent(geom) AS e FROM areas) x',
  );
  const r = res.rows[0];
  return r && r.x1 !== null ? [r.x1, r.y1, r.x2, r.y2] : null;
}

/** A tile's bounds in lon/lat (Web Mercator tiling), grown by `margin` of its size on each side. */
export function tileBounds(z: number, x: number, y: number, margin = 0): [number, number, number, number] {
  const n = 2 ** z;
  const lon = (i: number) => (i / n) * 360 - 180;
  const lat = (j: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * j) / n))) * 180) / Math.PI;
  const clampLon = (v: number) => Math.max(-180, Math.min(180, v));
  const clampLat = (v: number) => Math.max(-85.0511, Math.min(85.0511, v));
  return [clampLon(lon(x - margin)), clampLat(lat(y + 1 + margin)), clampLon(lon(x + 1 + margin)), clampLat(lat(y - margin))];
}

/** A vector tile of the zones in it (and a margin around it), geometry simplified for zoom `q.zoom` (made by the map worker). */
async function tileBytes(knex: Knex, worker: MapWorker, q: MapQuery & { zoom: number }, x: number, y: number): Promise<Buffer> {
  const zones = await zonesOn(knex, q.date, q.asOf, q);
  const cases = await cases7(knex, q.date, zones.map((z) => z.area_id));
  const { layers, index, rows } = await layersOf(knex, zones.map((z) => z.kind), q.date);
  const features = zones.map((z) => ({
    layer: index.get(z.kind) as number,
    id: z.area_id,
    // vector tiles carry no nulls: an absent property means "none"
    properties: Object.fromEntries(Object.entries(properties(z, cases.get(z.area_id))).filter(([, v]) => v !== null)) as Record<string, string | number>,
  }));
  return worker.bytes({ op: 'tile', layers, zoom: q.zoom, x, y, features }, rows);
}

/** An area's geometry for a static map: its code, kind and simplified GeoJSON geometry (null: no geometry). */
export type ShapeRow = { code: string; kind: AreaKind; g: string | null };

/**
 * The geometry of a static map (the briefing's), in one statement: the areas `codes` (the
 * communes, filled) and `outlines` (their districts, drawn over them), each simplified with
 * ST_SimplifyPreserveTopology at a tolerance of 1/`units` of the communes' extent (about one
 * unit of a box `units` wide: finer detail would not show), coordinates to 6 decimals. A
 * country's 10,600 communes come back as ~10 points each, whatever is stored.
 */
export async function staticMapShapes(knex: Knex, codes: readonly string[], outlines: readonly string[], units: number): Promise<ShapeRow[]> {
  if (codes.length === 0) return [];
  const res = await knex.raw<{ rows: ShapeRow[] }>(
    `WITH e AS (SELECT ST_Extent(geom) AS b FROM areas WHERE code = ANY(?::text[])),
     t AS (SELECT greatest(ST_XMax(b) - ST_XMin(b), ST_YMax(b) - ST_YMin(b)) / ? AS tol FROM e)
     SELECT a.code, a.kind, ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, t.tol), 6) AS g
     FROM areas a CROSS JOIN t
     WHERE a.code = ANY(?::text[]) OR a.code = ANY(?::text[])`,
    arrayBindings([codes, units, codes, outlines]),
  );
  return res.rows;
}
