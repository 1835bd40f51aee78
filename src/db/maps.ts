import { createHash } from 'node:crypto';
import { Knex } from 'knex';
import { AreaKind } from '../domain/areas';
import { addDays, dateRange, LocalDate } from '../domain/dates';
import { Cql2Type } from '../domain/cql2';
import { LEVEL_INFO } from '../domain/levels';
import { incidencePer100k } from '../domain/metrics';
import { KeptMapBodies } from '../geo/mapBodies';
import { Layer, LayerRows, LayerSource, MapWorker } from '../geo/mapShapes';
import { arrayBindings } from './knex';
import type { Database } from './database';
import { asOfClause, fewBelow, levelSpan, zoneCore, ZoneFilter, zonesOn, ZoneRow } from './levels';
import { Turns } from '../turns';

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

/** Days of zones kept (each a country's areas with their properties: a few MB). */
const DAYS_KEPT = 6;
/** Days of an interval's items kept apart (see MapStore.dayRef). */
const INTERVAL_DAYS_KEPT = 3;
/** Matched lists (a bbox, a filter, a kind of a kept day) kept, and interval counts. */
const MATCHES_KEPT = 32;

/** A zone of a kept day: its area, kind and map properties as features show them (nulls included). */
export type MapZone = { id: number; code: string; kind: AreaKind; props: MapProperties };
type MapProperties = ReturnType<typeof properties>;

/** The map of a day (its epoch: see layersOf) and the areas' version it was read at. */
type DayMap = { version: string; epoch: LocalDate | 'origin' };

/**
 * One day's zones as every map answer of that day shows them — read once per (date, as-of,
 * data version: the version string behind the ETags) and shared by every tile, page and map
 * of that day: the properties (levels, overrides, the week's cases, incidence…), in the
 * database's code order.
 */
export class KeptDay {
  private readonly byKind = new Map<string, number[]>();
  private boxed: { shapes: DayShapes; boxes: Float64Array } | null = null;
  constructor(
    readonly key: string,
    readonly date: LocalDate,
    readonly zones: MapZone[],
  ) {}

  /** Indices (into `zones`, in code order) of the zones of `kind` (every kind without one). */
  indices(kind: AreaKind | undefined): number[] {
    const name = kind ?? '*';
    let list = this.byKind.get(name);
    if (!list) {
      list = [];
      for (let i = 0; i < this.zones.length; i++) if (!kind || (this.zones[i] as MapZone).kind === kind) list.push(i);
      this.byKind.set(name, list);
    }
    return list;
  }

  /**
   * The zones of `kind` whose bounding box (from `shapes`, the day's areas) meets `bbox`
   * [minLon, minLat, maxLon, maxLat], in code order.
   */
  meeting(kind: AreaKind | undefined, bbox: [number, number, number, number], shapes: DayShapes): MapZone[] {
    if (this.boxed?.shapes !== shapes) {
      // minLon, minLat, maxLon, maxLat of zone i at 4i… (NaN: no geometry)
      const boxes = new Float64Array(this.zones.length * 4).fill(NaN);
      this.zones.forEach((z, i) => {
        const box = shapes.boxes.get(z.id);
        if (box) boxes.set(box, i * 4);
      });
      this.boxed = { shapes, boxes };
    }
    const [x1, y1, x2, y2] = bbox;
    const b = this.boxed.boxes;
    const out: MapZone[] = [];
    for (const i of this.indices(kind)) {
      const k = i * 4;
      // NaN (no geometry) fails every comparison: left out, as ST_Intersects leaves it
      if ((b[k] as number) <= x2 && (b[k + 2] as number) >= x1 && (b[k + 1] as number) <= y2 && (b[k + 3] as number) >= y1) out.push(this.zones[i] as MapZone);
    }
    return out;
  }
}

/**
 * The maps of one runtime's database: the map worker that simplifies and encodes them, the
 * topology layers it keeps (one per area kind), recent answers of the version query
 * behind ETags (a tile burst asks once a second), the kept days (KeptDay), and the kept
 * simplified map bodies (shared by the route and the warm-up). Reads go to the read pool.
 */
export class MapStore {
  private readonly versions = new Map<string, { at: number; writes: number; v: Promise<string> }>();
  private readonly days = new Map<string, Promise<KeptDay>>();
  private readonly intervalDays = new Map<string, Promise<KeptDay>>();
  private readonly shapes = new Map<string, Promise<DayShapes>>();
  private readonly matches = new Map<string, Promise<number[]>>();
  private readonly counts = new Map<string, Promise<Map<string, number>>>();
  private readonly extents = new Map<string, Promise<[number, number, number, number] | null>>();
  /** Turns of reading a whole day (a country's day is ~0.3 s of database work). */
  private readonly dayReads = new Turns({ running: DAY_READS_RUNNING, waiting: DAY_READS_WAITING }, { message: 'too many days of maps are being read at once; try again shortly', retryAfter: 2 });
  private readonly knex: Knex;
  /** Simplified maps (zones.geojson with a zoom), a few MB each for a country: kept by ETag, raw and gzipped. */
  readonly bodies = new KeptMapBodies(128 * 2 ** 20);
  constructor(
    private readonly db: Database,
    readonly worker: MapWorker,
  ) {
    this.knex = db.read;
  }

  /**
   * What a day's maps depend on: areas, the day's levels, overrides, the week's reports,
   * read in one snapshot of committed data. This process's own writes show at once; other
   * processes' within a second. Requests arriving while the versions are being read wait
   * for that one reading (a burst must not become a burst of queries).
   */
  private version(date: LocalDate, asOf: string): Promise<string> {
    const memo = this.versions;
    const memoKey = `${date}|${asOf}`;
    const hit = memo.get(memoKey);
    const writes = this.db.writeCount();
    if (hit && Date.now() - hit.at < VERSION_TTL_MS && hit.writes === writes) return hit.v;
    const entry = { at: Date.now(), writes, v: versionOf(this.knex, date, asOf) };
    if (memo.size > 1000) memo.clear();
    memo.set(memoKey, entry);
    // a failed reading is not kept: the next request asks again
    entry.v.catch(() => memo.get(memoKey) === entry && memo.delete(memoKey));
    return entry.v;
  }

  /**
   * What a map response depends on, as a weak ETag (see `version`): a response built
   * afterwards is never older than its tag says.
   */
  async etag(q: MapQuery, variant: string): Promise<string> {
    return this.etagAt(q, variant, await this.dataVersion(q.date, q.asOf));
  }

  /** The data version behind `date`'s tags as known at `asOf` now (see `version`). */
  dataVersion(date: LocalDate, asOf: Date | null): Promise<string> {
    return this.version(date, asOfText(asOf));
  }

  /**
   * The tag `etag` gives under data version `v` — for answers built from one read known to
   * be no older than `v` (the warm-up: the version is read first, then the day, then every
   * answer is kept under a tag of that version, never of a later one).
   */
  etagAt(q: MapQuery, variant: string, v: string): string {
    const key = JSON.stringify([variant, q.date, asOfText(q.asOf), q.kind, q.parent, q.level, q.bbox, q.zoom, v]);
    return `W/"${createHash('sha256').update(key).digest('base64url').slice(0, 27)}"`;
  }

  /**
   * The zones of `date` as known at `asOf`, kept (see KeptDay) under the day's current
   * version: a new version (a recomputation, an override, a late report, new areas) is a
   * new day read once, the old one falls out of the DAYS_KEPT most recently used.
   */
  async day(date: LocalDate, asOf: Date | null): Promise<KeptDay> {
    return (await this.dayRef(date, asOf)).day();
  }

  /** Reads and keeps `date`'s zones as latest known, and its shapes, ahead of the first tile or page of it. */
  async keepDay(date: LocalDate): Promise<void> {
    const ref = await this.dayRef(date, null);
    await Promise.all([ref.day(), ref.shapes()]);
  }

  /**
   * The current key of a day (date, as-of, version), the kept day under it and the day's
   * shapes (kept by the areas' version: they change with the areas only), each read when
   * asked for. The days of an interval (`interval`) are kept apart, INTERVAL_DAYS_KEPT of
   * them, so that a month's items do not push the hot days out.
   */
  private async dayRef(date: LocalDate, asOf: Date | null, interval = false): Promise<{ key: string; day: () => Promise<KeptDay>; shapes: () => Promise<DayShapes> }> {
    const at = asOfText(asOf);
    const version = await this.version(date, at);
    const key = `${date}|${at}|${version}`;
    const areas = `${version.split('|')[0]}|${date}`;
    const read = () => this.dayReads.run(() => readDay(this.knex, key, date, asOf));
    return {
      key,
      day: () => (interval && !this.days.has(key) ? kept(this.intervalDays, key, INTERVAL_DAYS_KEPT, read) : kept(this.days, key, DAYS_KEPT, read)),
      shapes: () => kept(this.shapes, areas, DAYS_KEPT, () => readShapes(this.knex, date)),
    };
  }

  /** Builds the shared-border topology of the communes of `date`'s map ahead of the first map request (it takes seconds for a country, in the map worker). */
  async warm(date: LocalDate): Promise<void> {
    const any = await this.knex('areas').where({ kind: 'commune' }).first('id');
    if (!any) return;
    const { layers, rows } = layersOf(this.knex, await dayMap(this.knex, date), ['commune'], date);
    await this.worker.warm(layers[0] as Layer, rows);
  }

  /**
   * The FeatureCollection, in pieces of text (a few hundred features each) so that a whole
   * country streams instead of being built as one string.
   */
  async *collection(q: MapQuery): AsyncGenerator<string | Buffer> {
    let zones: MapZone[];
    let map: DayMap | undefined;
    if (q.parent || q.bbox) {
      // a part of the map: read for itself (the areas by parent or box, through the indexes)
      const rows = await zonesOn(this.knex, q.date, q.asOf, q, 'levels');
      zones = await mapZones(this.knex, q.date, rows, q.asOf);
    } else {
      const ref = await this.dayRef(q.date, q.asOf);
      const day = await ref.day();
      if (q.zoom !== undefined) map = (await ref.shapes()).map;
      zones = day.indices(q.kind).map((i) => day.zones[i] as MapZone);
      if (q.level) zones = zones.filter((z) => z.props.level === q.level);
    }
    yield '{"type":"FeatureCollection","features":[';
    let first = true;
    for await (const piece of featureTexts(this.knex, this.worker, zones, q.date, q.zoom, map)) {
      if (!first) yield ',';
      yield piece;
      first = false;
    }
    yield ']}';
  }

  /**
   * The zones of one day of an items query: the kept day's zones of the kind, in a box
   * (the areas meeting it, as ST_Intersects says), passing the filter — their indices in
   * the kept day, kept by the day's version and the query (a few bytes a zone), so that
   * walking the pages of a day (or of an interval) reads and filters each day once.
   */
  private async matched(q: ItemsQuery, date: LocalDate): Promise<{ indices: number[]; day: () => Promise<KeptDay> }> {
    const { key, day } = await this.dayRef(date, q.asOf, q.days.length > 1);
    const indices = await kept(this.matches, JSON.stringify([key, q.kind, q.bbox, q.filter?.sql, q.filter?.binds]), MATCHES_KEPT, async () => {
      const d = await day();
      let list = d.indices(q.kind);
      if (q.bbox) {
        const ids = await idsMeeting(this.knex, date, q.kind, q.bbox);
        list = list.filter((i) => ids.has((d.zones[i] as MapZone).id));
      }
      if (q.filter) {
        const passed = await filterZones(this.knex, date, list.map((i) => d.zones[i] as MapZone), q.filter);
        list = passed.map((k) => list[k] as number);
      }
      return list;
    });
    return { indices, day };
  }

  /**
   * How many areas (of the kind, in the box) each of `days` has — what an interval without
   * a filter matches on each day (every area of a day is a feature, with or without a
   * level): one query for all the days, kept by the areas' version.
   */
  private async dayCounts(q: ItemsQuery): Promise<Map<string, number>> {
    const last = q.days[q.days.length - 1] as LocalDate;
    const areas = (await this.version(last, asOfText(q.asOf))).split('|')[0];
    const key = JSON.stringify([areas, q.kind, q.bbox, q.days]);
    return kept(this.counts, key, MATCHES_KEPT, () => areaCounts(this.knex, q.days, q.kind, q.bbox));
  }

  /**
   * A page of OGC API items over days, streamed (ordered by day, then code): the matched
   * zones of each day come from the kept days; an interval without a filter counts its
   * days in one query and reads only the days the page falls in. Only the page's features
   * have their geometry read.
   */
  async *items(q: ItemsQuery, page: Page): AsyncGenerator<string | Buffer> {
    const parts: { day: LocalDate; zones: MapZone[] }[] = [];
    let matched = 0;
    const end = page.offset + page.limit;
    const counts = q.days.length > 1 && !q.filter ? await this.dayCounts(q) : null;
    for (const date of q.days) {
      const from = Math.max(page.offset - matched, 0);
      const count = counts?.get(date) ?? 0;
      if (counts && (count === 0 || from >= count || matched >= end)) {
        matched += count;
        continue;
      }
      const m = await this.matched(q, date);
      const to = Math.min(end - matched, m.indices.length);
      if (from < to) {
        const day = await m.day();
        // (a day read again after its version changed: indices past its end are no zones)
        parts.push({ day: date, zones: m.indices.slice(from, to).flatMap((i) => day.zones[i] ?? []) });
      }
      matched += m.indices.length;
    }
    const returned = parts.reduce((n, p) => n + p.zones.length, 0);
    yield `{"type":"FeatureCollection",${JSON.stringify(page.members(matched, returned)).slice(1, -1)},"features":[`;
    let first = true;
    for (const part of parts) {
      for await (const piece of featureTexts(this.knex, this.worker, part.zones, part.day, undefined, undefined, { day: part.day, dayIds: q.dayIds })) {
        if (!first) yield ',';
        yield piece;
        first = false;
      }
    }
    yield ']}';
  }

  /** One OGC API item: the area `code` (of `kind`, when given) on `date` with its day, or null. */
  async item(code: string, kind: AreaKind | undefined, date: LocalDate, dayId: boolean): Promise<string | null> {
    const rows = await zonesOn(this.knex, date, null, { code, kind }, 'levels');
    const zones = await mapZones(this.knex, date, rows, null);
    for await (const piece of featureTexts(this.knex, this.worker, zones, date, undefined, undefined, { day: date, dayIds: dayId })) return piece.toString();
    return null;
  }

  /**
   * A vector tile of the zones in it (and a margin around it: `q.bbox`), geometry simplified
   * for zoom `q.zoom` (made by the map worker). The zones and their properties come from
   * the kept day (no query per tile): those whose bounding box meets the tile's; the worker
   * clips their simplified shapes to the tile and drops what falls outside.
   */
  async tile(q: MapQuery & { zoom: number }, x: number, y: number): Promise<Buffer> {
    const ref = await this.dayRef(q.date, q.asOf);
    const [day, shapes] = await Promise.all([ref.day(), ref.shapes()]);
    const zones = day.meeting(q.kind, q.bbox ?? tileBounds(q.zoom, x, y), shapes);
    if (zones.length === 0) return Buffer.alloc(0);
    const { layers, index, rows } = layersOf(this.knex, shapes.map, zones.map((z) => z.kind), q.date);
    const features = zones.map((z) => ({
      layer: index.get(z.kind) as number,
      id: z.id,
      // vector tiles carry no nulls: an absent property means "none"
      properties: Object.fromEntries(Object.entries(z.props).filter(([, v]) => v !== null)) as Record<string, string | number>,
    }));
    return this.worker.bytes({ op: 'tile', layers, zoom: q.zoom, x, y, features }, rows);
  }

  /**
   * The extent of all areas: [minLon, minLat, maxLon, maxLat], or null without areas — kept
   * by the areas' version (two index reads), as it changes with the areas only. Read whole it
   * is every polygon's box: 185–222 ms on the national bench set for each OGC collection
   * document and TileJSON, which a map frontend asks for on every load.
   */
  async extent(): Promise<[number, number, number, number] | null> {
    const res = await this.knex.raw<{ rows: { v: string }[] }>(`SELECT ${AREAS_VERSION_SQL} AS v`);
    return kept(this.extents, res.rows[0]?.v ?? '', 2, () => areasExtent(this.knex));
  }

  /** The first and last days with levels (the temporal extent). */
  levelDays(): Promise<[string | null, string | null]> {
    return levelSpan(this.knex);
  }
}

const asOfText = (asOf: Date | null) => (asOf ? asOf.toISOString() : 'infinity');

/**
 * A whole day read for the kept days costs a country's day of rows (~0.3 s): a client
 * asking for tiles or pages at ever new `as_of` instants would make every request one. At
 * most DAY_READS_RUNNING run at once and DAY_READS_WAITING wait; beyond, 503 with
 * Retry-After (the per-client read rate limits stay in front of this).
 */
const DAY_READS_RUNNING = 2;
const DAY_READS_WAITING = 16;

/** The value under `key` in a map used as a least-recently-used cache of `max` promises (a failed one is not kept). */
function kept<V>(cache: Map<string, Promise<V>>, key: string, max: number, make: () => Promise<V>): Promise<V> {
  let p = cache.get(key);
  if (p) {
    cache.delete(key);
    cache.set(key, p);
    return p;
  }
  p = make();
  cache.set(key, p);
  const made = p;
  made.catch(() => cache.get(key) === made && cache.delete(key));
  for (const k of cache.keys()) {
    if (cache.size <= max) break;
    cache.delete(k);
  }
  return p;
}

/**
 * The areas' version, count:last update — the count and the latest update read apart, each
 * from an index (together they would read every stored polygon's page: a country's areas
 * table is tens of MB).
 */
const AREAS_VERSION_SQL = `((SELECT count(*) FROM areas) || ':' || coalesce((SELECT max(updated_at) FROM areas)::text, ''))`;

async function versionOf(knex: Knex, date: LocalDate, asOf: string): Promise<string> {
  const res = await knex.raw<{ rows: { v: string }[] }>(
    `SELECT concat_ws('|',
       ${AREAS_VERSION_SQL},
       (SELECT coalesce(max(computed_at)::text, '') FROM level_chunks WHERE date = ?::date AND computed_at <= ?::timestamptz + interval '999 microseconds'),
       (SELECT count(*) || ':' || coalesce(max(created_at)::text, '') || ':' || coalesce(max(ended_at)::text, '') FROM overrides),
       (SELECT count(*) || ':' || coalesce(max(recorded_at)::text, '') FROM reports WHERE date BETWEEN ?::date - 6 AND ?::date)) AS v`,
    [date, asOf, date, date],
  );
  return res.rows[0]?.v ?? '';
}

/**
 * Community cases over the 7 days ending `date`, of each area's whole subtree, as known at
 * `asOf` (null: now; a report read as of an instant is its revision current then —
 * `reports`, or the superseded one in `report_revisions`, as `dayReports`): the areas `ids`,
 * or every area of the day (null: no report). Summed as float8 (exact to 2^53): each count is
 * at most 2^31 − 1, and the week of a province of such counts is not an int.
 */
export async function cases7(knex: Knex, date: LocalDate, ids: number[] | 'all', asOf: Date | null = null): Promise<Map<number, number>> {
  const { asOfSql, asOfBind } = asOfClause(asOf);
  const week = [addDays(date, -6), date];
  // a few areas (a district, a province): their subtrees' reports by one probe of the
  // reports' key (date, area_id) per day and area, not the whole country's week (57,666 rows
  // read for a district's 38 communes: 113–167 ms on the national bench set, 11–18 ms so)
  if (ids !== 'all' && (await fewBelow(knex, ids, date))) return subtreeCases7(knex, date, ids, asOf);
  const reports = asOf
    ? `(SELECT area_id, community_cases FROM reports WHERE date BETWEEN ?::date AND ?::date AND recorded_at <= ${asOfSql}
        UNION ALL
        SELECT area_id, community_cases FROM report_revisions WHERE date BETWEEN ?::date AND ?::date AND recorded_at <= ${asOfSql} AND superseded_at > ${asOfSql})`
    : `(SELECT area_id, community_cases FROM reports WHERE date BETWEEN ?::date AND ?::date)`;
  const res = await knex.raw<{ rows: { area_id: number; cases: number }[] }>(
    `SELECT t.ancestor AS area_id, sum(r.community_cases)::float8 AS cases
     FROM area_tree t JOIN ${reports} r ON r.area_id = t.descendant
     WHERE ${ids === 'all' ? '' : 't.ancestor = ANY(?::int[]) AND '}t.during @> ?::date
     GROUP BY t.ancestor`,
    arrayBindings([...(asOf ? [...week, ...asOfBind, ...week, ...asOfBind, ...asOfBind] : week), ...(ids === 'all' ? [] : [ids]), date]),
  );
  return new Map(res.rows.map((r) => [r.area_id, r.cases]));
}

/**
 * `cases7` of a few areas: each subtree area's reports of each day of the week, probed by key.
 * The days are an array (the planner then counts seven; from `generate_series` it assumed a
 * thousand, and the statement's cost crossed the JIT threshold: ~200 ms compiling it).
 */
async function subtreeCases7(knex: Knex, date: LocalDate, ids: number[], asOf: Date | null): Promise<Map<number, number>> {
  const { asOfSql, asOfBind } = asOfClause(asOf);
  const asOfReports = asOf
    ? `UNION ALL
       SELECT v.community_cases FROM report_revisions v WHERE v.date = d.day AND v.area_id = t.descendant
         AND v.recorded_at <= ${asOfSql} AND v.superseded_at > ${asOfSql}`
    : '';
  const res = await knex.raw<{ rows: { area_id: number; cases: number }[] }>(
    `SELECT t.ancestor AS area_id, sum(r.community_cases)::float8 AS cases
     FROM area_tree t CROSS JOIN unnest(?::date[]) AS d(day)
     CROSS JOIN LATERAL (
       SELECT community_cases FROM reports WHERE date = d.day AND area_id = t.descendant ${asOf ? `AND recorded_at <= ${asOfSql}` : ''}
       ${asOfReports}
     ) r
     WHERE t.ancestor = ANY(?::int[]) AND t.during @> ?::date
     GROUP BY t.ancestor`,
    arrayBindings([dateRange(addDays(date, -6), date), ...(asOf ? [...asOfBind, ...asOfBind, ...asOfBind] : []), ids, date]),
  );
  return new Map(res.rows.map((r) => [r.area_id, r.cases]));
}

/** Zone rows as map zones (their properties with the week's cases as known at `asOf`, read in one query). */
async function mapZones(knex: Knex, date: LocalDate, rows: ZoneRow[], asOf: Date | null): Promise<MapZone[]> {
  if (rows.length === 0) return [];
  const cases = await cases7(knex, date, rows.map((z) => z.area_id), asOf);
  return rows.map((z) => ({ id: z.area_id, code: z.code, kind: z.kind, props: properties(z, cases.get(z.area_id)) }));
}

/** What a day's kept zones take from its areas alone: each area's bounding box, and the day's map (kept by the areas' version). */
type DayShapes = { boxes: Map<number, [number, number, number, number]>; map: DayMap };

async function readShapes(knex: Knex, date: LocalDate): Promise<DayShapes> {
  const [boxes, map] = await Promise.all([
    knex.raw<{ rows: { id: number; x1: number; y1: number; x2: number; y2: number }[] }>(
      'SELECT id, ST_XMin(geom) AS x1, ST_YMin(geom) AS y1, ST_XMax(geom) AS x2, ST_YMax(geom) AS y2 FROM zonerisk_areas_on(?::date) WHERE geom IS NOT NULL',
      [date],
    ),
    dayMap(knex, date),
  ]);
  return { boxes: new Map(boxes.rows.map((r) => [r.id, [r.x1, r.y1, r.x2, r.y2]])), map };
}

/**
 * Reads a whole day for keeping (KeptDay): the day's zones as known at `asOf` and the
 * week's cases of every area — two queries; the properties are worked out a thousand zones
 * at a time, other requests running in between.
 */
async function readDay(knex: Knex, key: string, date: LocalDate, asOf: Date | null): Promise<KeptDay> {
  const [rows, cases] = await Promise.all([zonesOn(knex, date, asOf, {}, 'levels'), cases7(knex, date, 'all', asOf)]);
  const zones: MapZone[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % 1000 === 0) await yieldToOthers();
    const z = rows[i] as ZoneRow;
    zones.push({ id: z.area_id, code: z.code, kind: z.kind, props: properties(z, cases.get(z.area_id)) });
  }
  return new KeptDay(key, date, zones);
}

/** The ids of the areas of `date` (of a kind) meeting a box (ST_Intersects). */
async function idsMeeting(knex: Knex, date: LocalDate, kind: AreaKind | undefined, bbox: [number, number, number, number]): Promise<Set<number>> {
  const res = await knex.raw<{ rows: { id: number }[] }>(
    `SELECT a.id FROM zonerisk_areas_on(?::date) a
     WHERE ${kind ? 'a.kind = ? AND ' : ''}a.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326) AND ST_Intersects(a.geom, ST_MakeEnvelope(?, ?, ?, ?, 4326))`,
    [date, ...(kind ? [kind] : []), ...bbox, ...bbox],
  );
  return new Set(res.rows.map((r) => r.id));
}

/** How many areas (of a kind, meeting a box) each day has, by day (days without areas left out). */
async function areaCounts(knex: Knex, days: LocalDate[], kind: AreaKind | undefined, bbox: [number, number, number, number] | undefined): Promise<Map<string, number>> {
  const where = [kind ? 'a.kind = ?' : '', bbox ? 'a.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326) AND ST_Intersects(a.geom, ST_MakeEnvelope(?, ?, ?, ?, 4326))' : ''].filter(Boolean);
  const res = await knex.raw<{ rows: { day: string; n: number }[] }>(
    `SELECT d.day::text AS day, count(a.id)::int AS n
     FROM unnest(?::date[]) AS d(day) CROSS JOIN LATERAL zonerisk_areas_on(d.day) a
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     GROUP BY d.day`,
    arrayBindings([days, ...(kind ? [kind] : []), ...(bbox ? [...bbox, ...bbox] : [])]),
  );
  return new Map(res.rows.map((r) => [r.day, r.n]));
}

/**
 * The map of `date`: its epoch — the first day of the map it belongs to (the areas and
 * their shapes are the same every day of it), or 'origin' before every change — and the
 * areas' version.
 */
async function dayMap(knex: Knex, date: LocalDate): Promise<DayMap> {
  const v = await knex.raw<{ rows: { v: string; epoch: string | null }[] }>(
    `SELECT ${AREAS_VERSION_SQL} AS v,
            (SELECT max(d)::text FROM (
               SELECT valid_from AS d FROM areas WHERE valid_from <= ?::date
               UNION ALL SELECT valid_to + 1 FROM areas WHERE valid_to < ?::date
               UNION ALL SELECT attributes_from FROM areas WHERE attributes_from <= ?::date
               UNION ALL SELECT valid_to + 1 FROM area_versions WHERE valid_to < ?::date) x) AS epoch`,
    [date, date, date, date],
  );
  return { version: v.rows[0]?.v ?? '', epoch: (v.rows[0]?.epoch ?? 'origin') as LocalDate | 'origin' };
}

/** Areas of a layer read at a time for the map worker (~5 MB of GeoJSON text for a country's communes). */
const LAYER_PART = 500;

/**
 * Areas of these kinds on the map `m` (of `date`) as map-worker layers: the topology of
 * each kind on the map of that day, named by the kind and the first day of that map (its
 * epoch), versioned by the areas' version.
 */
function layersOf(knex: Knex, m: DayMap, kinds: AreaKind[], date: LocalDate): { layers: Layer[]; index: Map<AreaKind, number>; rows: LayerSource } {
  // any day of the epoch draws its map; its first day does (the origin: any day before every change)
  const day = m.epoch === 'origin' ? date : m.epoch;
  const index = new Map<AreaKind, number>();
  const kindOf = new Map<string, AreaKind>();
  const layers: Layer[] = [];
  for (const kind of kinds) {
    if (index.has(kind)) continue;
    index.set(kind, layers.length);
    const key = m.epoch === 'origin' ? kind : `${kind}@${m.epoch}`;
    kindOf.set(key, kind);
    layers.push({ key, version: m.version });
  }
  // in parts of LAYER_PART areas, each sent to the map worker before the next is read; in a
  // fixed order: the topology (where arcs start, so the simplified shapes) depends on it —
  // every process draws the same map under the same tag
  async function* rows(key: string): AsyncGenerator<LayerRows> {
    for (let after = 0; ; ) {
      const res = await knex.raw<{ rows: LayerRows }>(`SELECT id, ST_AsGeoJSON(geom, 9) AS g FROM zonerisk_areas_on(?::date) WHERE kind = ? AND id > ? ORDER BY id LIMIT ?`, [
        day,
        kindOf.get(key) as AreaKind,
        after,
        LAYER_PART,
      ]);
      if (res.rows.length > 0) yield res.rows;
      if (res.rows.length < LAYER_PART) return;
      after = (res.rows[res.rows.length - 1] as LayerRows[number]).id;
    }
  }
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
const featurePrefix = (z: MapZone, day?: ItemDay) =>
  day
    ? `{"type":"Feature","id":${JSON.stringify(day.dayIds ? `${z.code}@${day.day}` : z.code)},"properties":${JSON.stringify({ ...z.props, date: day.day })},"geometry":`
    : `{"type":"Feature","id":${JSON.stringify(z.code)},"properties":${JSON.stringify(z.props)},"geometry":`;

/** OGC API items carry their day. */
type ItemDay = { day: LocalDate; dayIds: boolean };

/**
 * The features of these zones (of `date`) as text, in pieces: simplified for `zoom` by the
 * map worker (one piece; `map`: the day's map when known), or at full detail as stored, a
 * few hundred at a time (geometry from PostGIS).
 */
async function* featureTexts(knex: Knex, worker: MapWorker, zones: MapZone[], date: LocalDate, zoom: number | undefined, map?: DayMap, day?: ItemDay): AsyncGenerator<string | Buffer> {
  if (zones.length === 0) return;
  if (zoom !== undefined) {
    const { layers, index, rows } = layersOf(knex, map ?? (await dayMap(knex, date)), zones.map((z) => z.kind), date);
    const prefixes: string[] = [];
    for (let start = 0; start < zones.length; start += BATCH) {
      // a country is thousands of features: let other requests run between two batches
      if (start > 0) await yieldToOthers();
      for (const z of zones.slice(start, start + BATCH)) prefixes.push(featurePrefix(z, day));
    }
    yield await worker.bytes({ op: 'features', layers, zoom, layer: zones.map((z) => index.get(z.kind) as number), ids: zones.map((z) => z.id), prefixes }, rows);
    return;
  }
  for (const [i, batch] of (await fullDetailBatches(knex, zones)).entries()) {
    if (i > 0) await yieldToOthers();
    // full detail as stored; exterior rings counter-clockwise (RFC 7946)
    const res = await knex.raw<{ rows: { id: number; g: string }[] }>(
      `SELECT id, ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7) AS g FROM zonerisk_areas_on(?::date) WHERE id = ANY(?::int[])`,
      arrayBindings([date, batch.map((z) => z.id)]),
    );
    const geometry = new Map(res.rows.map((r) => [r.id, r.g]));
    yield batch.map((z) => `${featurePrefix(z, day)}${geometry.get(z.id) ?? 'null'}}`).join(',');
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
async function fullDetailBatches(knex: Knex, zones: MapZone[]): Promise<MapZone[][]> {
  const res = await knex.raw<{ rows: { id: number; b: number }[] }>(
    'SELECT id, pg_column_size(geom) AS b FROM areas WHERE id = ANY(?::int[])',
    arrayBindings([zones.map((z) => z.id)]),
  );
  const bytes = new Map(res.rows.map((r) => [r.id, r.b]));
  const batches: MapZone[][] = [];
  let batch: MapZone[] = [];
  let size = 0;
  for (const z of zones) {
    const b = bytes.get(z.id) ?? 0;
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
 * The positions of the zones (of one day) whose properties pass a compiled filter, in order: the
 * properties as the features show them (the effective level, the rounded incidence…) go to
 * the database as arrays in one statement and the filter is a WHERE over them — one
 * set-based query, every literal a bind. (The level an override sets and the incidence are
 * worked out in code, so the filter runs on exactly what the client sees.)
 */
async function filterZones(knex: Knex, date: LocalDate, zones: MapZone[], filter: CompiledFilter): Promise<number[]> {
  if (zones.length === 0) return [];
  const col = <K extends keyof MapProperties>(k: K) => zones.map((z) => z.props[k]);
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
  return res.rows.map((r) => r.i);
}

/** The SQL column of a filterable property in filterZones' query (the names are ITEM_COLUMNS' own). */
export function itemColumn(name: string): { sql: string; type: Cql2Type } {
  if (!Object.hasOwn(ITEM_COLUMNS, name)) throw new Error(`not a filterable property: ${name}`);
  return { sql: `z."${name}"`, type: ITEM_COLUMNS[name as ItemColumn] };
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

/** An area's geometry for a static map: its code, kind and simplified GeoJSON geometry (null: no geometry). */
export type ShapeRow = { code: string; kind: AreaKind; g: string | null };

/**
 * The geometry of a static map (the briefing's), in one statement: the areas `codes` (the
 * communes, filled) and `outlines` (their districts, drawn over them), each simplified with
 * ST_Simplify (Douglas–Peucker, a collapsed ring kept) at a tolerance of 1/`units` of the
 * communes' extent (about one unit of a box `units` wide: finer detail would not show),
 * coordinates to 6 decimals. A country's 10,600 communes come back as ~10 points each,
 * whatever is stored. ST_SimplifyPreserveTopology took 3.5 s of a country's PDF briefing
 * (9 s) on the national bench set, ST_Simplify 0.18 s; at this tolerance none of its 8,238
 * communes came back invalid, and a drawing fills what it is given either way.
 */
export async function staticMapShapes(knex: Knex, codes: readonly string[], outlines: readonly string[], units: number): Promise<ShapeRow[]> {
  if (codes.length === 0) return [];
  const res = await knex.raw<{ rows: ShapeRow[] }>(
    `WITH e AS (SELECT ST_Extent(geom) AS b FROM areas WHERE code = ANY(?::text[])),
     t AS (SELECT greatest(ST_XMax(b) - ST_XMin(b), ST_YMax(b) - ST_YMin(b)) / ? AS tol FROM e)
     SELECT a.code, a.kind, ST_AsGeoJSON(ST_Simplify(a.geom, t.tol, true), 6) AS g
     FROM areas a CROSS JOIN t
     WHERE a.code = ANY(?::text[]) OR a.code = ANY(?::text[])`,
    arrayBindings([codes, units, codes, outlines]),
  );
  return res.rows;
}
