import { Knex } from 'knex';
import { AreaKind } from '../domain/areas';
import { addDays, dateRange, dayNumber, LocalDate } from '../domain/dates';
import { PackedValue } from '../domain/inputs';
import { LEVELS, LevelOrUnknown, levelNumber } from '../domain/levels';
import { RuleSet } from '../domain/rules/definition';
import { ChangeTrigger, FormedChange, StoredChange } from '../domain/rules/change';
import { ChildLevels } from '../domain/rules/engine';
import { Pending, PersistenceState } from '../domain/rules/persistence';
import { BulkColumns, BulkFeed, BulkRow, Cell, columns } from './bulk';
import { ByteSink } from './copy';
import type { Database } from './database';
import { notFound } from '../errors';
import { loadFactTexts, loadMapHistory } from './inputs';
import { areasOn, seriesLineage } from '../domain/lineage';
import { predecessorsOf, successorsOf } from './reorganisations';
import { dateText } from '../domain/rules/wording';
import { arrayBindings } from './knex';
import { StoredInputs } from './storedInputs';
import { overridesDuring } from './overrides';
import { loadPeriods } from './timeline';

/**
 * zone_levels: every level ever computed for an area and a day, append-only and bitemporal
 * (`date` the day a level applies to, `computed_at` when it was computed). The stored
 * levels of a day are, per area, the row with the latest `computed_at`. Stored in chunks of
 * 128 areas (`level_chunks`, migration 25), of which `zone_levels` is the view of rows: read
 * a day or span by its days, some areas by their chunks too (`chunk = area_id >>
 * LEVEL_CHUNK_BITS`); a question about days alone (the last classified, a day's stamp) asks
 * the chunks. Their trigger appends a level_events row where an area's level for a day changes.
 */

// ─── Recomputation: what it writes (appendDay) and what it reads of earlier days ─────────
// (the session these run in — the recompute lock and its connections — is levelWriter.ts)

/** One area's row for one day, as recomputation computes it. */
export type LevelRow = {
  area_id: number;
  /** The effective level: the rules' level after persistence. */
  level: LevelOrUnknown;
  /** The rules' own level that day. */
  raw_level: LevelOrUnknown;
  reason: string | null;
  /** The first day of the run of days at `level` that this day ends. */
  since: LocalDate;
  /** The stored inputs (the rule set's packed metric values). */
  inputs: PackedValue[];
  /** For an area whose level rolls up: how many children were at each level. */
  children: Record<string, number> | null;
  pending: Pending | null;
  /** Persistence state carried to the next day (null with the default settings: nothing to carry). */
  persistence: PersistenceState;
  /** What moved the level from the day before's (domain/rules/change.ts; null when it did not move, or nothing was stored the day before). */
  change: ChangeTrigger | FormedChange | null;
  /** The rule set it was classified under (so that a day's row is what the next day starts from: a `PreviousLevel`). */
  rule_set_id: string;
};

/** What the next day of a recomputation starts from, per area: the day before as stored. */
export type PreviousLevel = {
  level: LevelOrUnknown;
  since: LocalDate | null;
  persistence: PersistenceState;
  /** The rule set the day was classified under, its stored inputs and children's counts: what a change of level is explained against. */
  rule_set_id: string;
  inputs: StoredInputs | null;
  children: Record<string, number> | null;
};

/** One recomputed day as written: its areas, the rows appended, and how many levels changed. */
export type DayResult = { date: LocalDate; areas: number; written: number; changed: number };

/** Areas per chunk of stored levels: an area's chunk is `area_id >> LEVEL_CHUNK_BITS` (migration 25). */
export const LEVEL_CHUNK_BITS = 7;
const CHUNK_AREAS = 1 << LEVEL_CHUNK_BITS;

/** The columns of a chunk recomputation writes (level_chunks; `computed_at` is the statement's transaction's). */
const CHUNK_COLUMNS = columns(
  'date date, chunk int, rule_set_id text, job_id bigint, area_id int, level text, raw_level text, reason text, since date, inputs text, children jsonb, pending jsonb, persistence jsonb, change jsonb',
);

/**
 * A connection of the level writer (levelWriter.ts), outside any transaction: each
 * statement is a transaction of its own.
 */
export type LevelConnection = {
  /** One statement's rows. */
  rows<R>(sql: string, bindings: readonly Knex.RawBinding[]): Promise<R[]>;
  /** Rows appended in one statement (bulk.ts `BulkFeed`): a binary COPY, where `copies`. */
  feed(table: string, columns: BulkColumns): BulkFeed;
  /** Whether `feed` takes binary tuples (PostgreSQL); the embedded engine's days are written by `appendDay`. */
  readonly copies: boolean;
};

/** A recomputed day's rows, for a day that has levels already (`appendDay`). */
export type DayRows = { date: LocalDate; ruleSetId: string; jobId: number | null; rows: LevelRow[] };

/**
 * A day that has no levels yet (a backfill's, the daily job's): its rows are collected as
 * they are computed (`add`) and written by `end` in one statement — on PostgreSQL a binary
 * COPY of the day's chunks (`LevelChunk`), sent while the next day is computed; on the
 * embedded engine `appendDay`'s statement. The day is stored whole or not at all; `abort`
 * stores none of it.
 */
export type DayFeed = { add(row: LevelRow): void; end(): Promise<DayResult>; abort(reason: Error): Promise<void> };

export function feedDay(on: LevelConnection, ruleSetId: string, date: LocalDate, jobId: number | null): DayFeed {
  let rows: LevelRow[] = [];
  return {
    add: (row) => void rows.push(row),
    async end() {
      if (!on.copies) return appendDay(on, { date, ruleSetId, jobId, rows });
      const feed = on.feed('level_chunks', CHUNK_COLUMNS);
      try {
        const day = new LevelChunk(ruleSetId, date, jobId);
        for (const chunk of chunksOf(rows)) feed.addRow(day.of(chunk));
      } catch (e) {
        await feed.abort(e instanceof Error ? e : new Error(String(e)));
        throw e;
      }
      await feed.end();
      return { date, areas: rows.length, written: rows.length, changed: rows.length };
    },
    abort: async () => void (rows = []),
  };
}

/**
 * A day's rows in chunks (migration 25): each chunk's rows in area order, chunks in order,
 * without sorting (each row into its chunk's slot). Two rows of one area throw.
 */
export function chunksOf(rows: readonly LevelRow[]): LevelRow[][] {
  const slots = new Map<number, (LevelRow | undefined)[]>();
  for (const r of rows) {
    const c = r.area_id >> LEVEL_CHUNK_BITS;
    let s = slots.get(c);
    if (s === undefined) slots.set(c, (s = new Array<LevelRow | undefined>(CHUNK_AREAS)));
    const k = r.area_id & (CHUNK_AREAS - 1);
    if (s[k] !== undefined) throw new Error(`two rows of area ${r.area_id} in one day`);
    s[k] = r;
  }
  return [...slots.keys()].sort((a, b) => a - b).map((c) => (slots.get(c) as (LevelRow | undefined)[]).filter((r): r is LevelRow => r !== undefined));
}

/** A text field's bytes: its length, then its UTF-8. */
function textBytes(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/** Each level's text field. */
const LEVEL_FIELDS = new Map<string, Buffer>([...LEVELS, 'unknown'].map((l) => [l, textBytes(l)]));

/** Element types of the arrays a chunk holds (PostgreSQL's type oids). */
const OID = { int4: 23, text: 25, date: 1082, jsonb: 3802 } as const;

/**
 * One chunk of a day's rows as a binary COPY tuple of CHUNK_COLUMNS (bulk.ts `BulkRow`), reused
 * for each chunk of the day (`of`): the fields every chunk of a day shares (its date, rule set
 * and job) and each level's and reason's text are made once. Each array is one field: its
 * header (one dimension, the element type, the length), then each element as a field.
 * Written on PostgreSQL only (`cells` is the embedded engine's, which writes by `appendDay`).
 */
class LevelChunk implements BulkRow {
  private rows: LevelRow[] = [];
  private readonly day: number;
  private readonly ruleSet: Buffer;
  private readonly reasons = new Map<string, Buffer>();
  private readonly sinceDays = new Map<string, number>();

  constructor(
    ruleSetId: string,
    date: LocalDate,
    private readonly jobId: number | null,
  ) {
    this.day = dayNumber(date);
    this.ruleSet = textBytes(ruleSetId);
  }

  of(rows: LevelRow[]): this {
    this.rows = rows;
    return this;
  }

  write(out: ByteSink): void {
    const rows = this.rows;
    const n = rows.length;
    out.ensure(2 + 8 + 8 + this.ruleSet.length + 12 + 24 + 8 * n);
    out.fields(CHUNK_COLUMNS.length);
    out.date(this.day);
    out.int4((rows[0] as LevelRow).area_id >> LEVEL_CHUNK_BITS);
    put(out, this.ruleSet);
    if (this.jobId === null) out.binaryNull();
    else out.int8(this.jobId);
    let at = out.arrayStart(OID.int4, n);
    for (const r of rows) out.int4(r.area_id);
    out.arrayEnd(at, false);
    for (const key of ['level', 'raw_level'] as const) {
      out.ensure(24 + 11 * n);
      at = out.arrayStart(OID.text, n);
      for (const r of rows) put(out, LEVEL_FIELDS.get(r[key]) as Buffer);
      out.arrayEnd(at, false);
    }
    out.ensure(24);
    at = out.arrayStart(OID.text, n);
    let nulls = false;
    for (const r of rows) {
      if (r.reason === null) {
        out.ensure(4);
        out.binaryNull();
        nulls = true;
        continue;
      }
      let b = this.reasons.get(r.reason);
      if (b === undefined) this.reasons.set(r.reason, (b = textBytes(r.reason)));
      out.ensure(b.length);
      put(out, b);
    }
    out.arrayEnd(at, nulls);
    out.ensure(24 + 8 * n);
    at = out.arrayStart(OID.date, n);
    for (const r of rows) {
      let since = this.sinceDays.get(r.since);
      if (since === undefined) this.sinceDays.set(r.since, (since = dayNumber(r.since)));
      out.date(since);
    }
    out.arrayEnd(at, false);
    out.ensure(24);
    at = out.arrayStart(OID.text, n);
    // JSON, as text (migration 22). Tried: each shared packed array's text made once (a
    // WeakMap, then a map for the day): Node's CPU over a 365-day backfill was no lower
    for (const r of rows) out.textField(JSON.stringify(r.inputs));
    out.arrayEnd(at, false);
    for (const key of ['children', 'pending', 'persistence', 'change'] as const) {
      out.ensure(24 + 4 * n);
      at = out.arrayStart(OID.jsonb, n);
      nulls = false;
      for (const r of rows) {
        const v = r[key];
        if (v === null || v === undefined) {
          out.ensure(4);
          out.binaryNull();
          nulls = true;
        } else out.jsonbField(JSON.stringify(v));
      }
      out.arrayEnd(at, nulls);
    }
  }

  cells(): Cell[] {
    throw new Error('a chunk of levels is written by COPY only (the embedded engine writes by appendDay)');
  }
}

function put(out: ByteSink, field: Buffer): void {
  out.bytes(field, 0, field.length);
}

/**
 * Appends the rows of a day in one statement — its own transaction: only rows that differ
 * from the day's current ones are inserted (in chunks, migration 25), so recomputing with
 * unchanged inputs writes nothing. (A day with none is written by `feedDay`, which on the
 * embedded engine comes here.)
 */
export async function appendDay(on: LevelConnection, day: DayRows): Promise<DayResult> {
  const { date, rows, ruleSetId, jobId } = day;
  const arrays = CHUNK_COLUMNS.slice(4)
    .map((c) => `array_agg(n.${c.name}${c.name === 'inputs' ? '::text' : ''} ORDER BY n.area_id)`)
    .join(', ');
  const [r] = await on.rows<{ written: number; changed: number }>(
    `WITH n AS (
       SELECT * FROM jsonb_to_recordset(?::jsonb) AS n(area_id int, level text, raw_level text, reason text, since date,
                                                      inputs jsonb, children jsonb, pending jsonb, persistence jsonb, change jsonb)
     ),
     cur AS (
       SELECT DISTINCT ON (z.area_id) z.area_id, z.level, z.raw_level, z.reason, z.since, z.rule_set_id, z.inputs::jsonb AS inputs, z.children, z.pending, z.persistence, z.change
       FROM zone_levels z WHERE z.date = ? ORDER BY z.area_id, z.computed_at DESC
     ),
     ins AS (
       INSERT INTO level_chunks (${CHUNK_COLUMNS.map((c) => c.name).join(', ')})
       SELECT ?::date, n.area_id >> ${LEVEL_CHUNK_BITS}, ?, ?, ${arrays}
       FROM n LEFT JOIN cur c ON c.area_id = n.area_id
       WHERE c.area_id IS NULL
          OR ROW(c.level, c.raw_level, c.reason, c.since, c.rule_set_id, c.inputs, c.children, c.pending, c.persistence, c.change)
             IS DISTINCT FROM ROW(n.level, n.raw_level, n.reason, n.since, ?::text, n.inputs, n.children, n.pending, n.persistence, n.change)
       GROUP BY n.area_id >> ${LEVEL_CHUNK_BITS}
       RETURNING area_id, level
     )
     SELECT count(*)::int AS written, count(*) FILTER (WHERE c.level IS DISTINCT FROM u.level)::int AS changed
     FROM ins CROSS JOIN LATERAL unnest(ins.area_id, ins.level) AS u(area_id, level) LEFT JOIN cur c ON c.area_id = u.area_id`,
    [JSON.stringify(rows), date, date, ruleSetId, jobId, ruleSetId],
  );
  return { date, areas: rows.length, written: r?.written ?? 0, changed: r?.changed ?? 0 };
}

/** Each area's stored level, since and persistence state on the day before `date`. */
export async function previousLevels(q: Knex, date: LocalDate): Promise<Map<number, PreviousLevel>> {
  const res = await q.raw<{ rows: ({ area_id: number } & Omit<PreviousLevel, 'inputs'> & { inputs: string | null })[] }>(
    `SELECT DISTINCT ON (area_id) area_id, level, since::text AS since, persistence, rule_set_id, inputs, children
     FROM zone_levels WHERE date = ? ORDER BY area_id, computed_at DESC`,
    [addDays(date, -1)],
  );
  return new Map(res.rows.map((r) => [r.area_id, { ...r, inputs: storedInputs(r.inputs) }]));
}

/** A row's stored inputs from the JSON text zone_levels.inputs holds (migration 22; null: none read). */
export function storedInputs(text: string | null): StoredInputs | null {
  return text === null ? null : (JSON.parse(text) as StoredInputs);
}

/**
 * What tells whether a day's stored levels are still those a run left in memory (run.ts
 * `RunCarry`): the day's row count and latest computed_at. zone_levels is append-only and
 * recomputation, holding the recompute lock, its only writer: any later write of the day adds
 * rows (a TRUNCATE and a refill would have a later computed_at). One index range of the day.
 * Instants as seconds since the epoch: the same text whatever a connection's TimeZone.
 */
export const DAY_STAMP_SQL = `SELECT coalesce(sum(cardinality(area_id)), 0) || '/' || coalesce(extract(epoch FROM max(computed_at))::text, '') FROM level_chunks WHERE date = ?::date`;

export async function dayStamp(q: Knex, date: LocalDate): Promise<string> {
  const res = await q.raw<{ rows: { s: string }[] }>(`SELECT (${DAY_STAMP_SQL}) AS s`, [date]);
  return res.rows[0]?.s ?? '';
}

/** The last day that has levels (null: none). */
export async function lastClassifiedDay(q: Knex): Promise<LocalDate | null> {
  const res = await q.raw<{ rows: { d: LocalDate | null }[] }>('SELECT max(date)::text AS d FROM level_chunks');
  return res.rows[0]?.d ?? null;
}

/**
 * The days of [from, to] that have levels: one index probe per such day, and one more (a
 * skip scan: a day's ~11,000 rows are not read, and a wide span costs no more than its
 * classified days; measured on the national set, 365 days: 6 ms, against 1.5 s for DISTINCT).
 */
export async function classifiedDaysIn(q: Knex, from: LocalDate, to: LocalDate): Promise<Set<LocalDate>> {
  const res = await q.raw<{ rows: { date: LocalDate }[] }>(
    `WITH RECURSIVE d AS (
       SELECT (SELECT min(z.date) FROM level_chunks z WHERE z.date >= ?::date) AS date
       UNION ALL SELECT (SELECT min(z.date) FROM level_chunks z WHERE z.date > d.date) FROM d WHERE d.date < ?::date
     ) SELECT date::text AS date FROM d WHERE date <= ?::date`,
    [from, to, to],
  );
  return new Set(res.rows.map((r) => r.date));
}

/**
 * The days late data asks to recompute: from the first classified day on or after
 * `earliest` (earlier days were never classified) to the last classified day. Null when no
 * rule set is active or no such day is classified.
 */
export async function lateDataSpan(db: Database, earliest: LocalDate): Promise<{ first: LocalDate; last: LocalDate } | null> {
  const q = db.knex;
  if ((await loadPeriods(q)).length === 0) return null;
  const row = await q('level_chunks')
    .where('date', '>=', earliest)
    .first<{ first: string | null; last: string | null }>(q.raw('min(date)::text AS first'), q.raw('max(date)::text AS last'));
  const first = row?.first as LocalDate | null | undefined;
  const last = row?.last as LocalDate | null | undefined;
  return first && last ? { first, last } : null;
}

/** How many children are at each level (the stored form of a roll-up's children). */
export function childCounts(levels: ChildLevels): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of [...LEVELS, 'unknown'] as const) {
    const n = levels.filter((x) => x === l).length;
    if (n) out[l] = n;
  }
  return out;
}

/** The children's levels back from their stored counts. */
export function childList(counts: Record<string, number> | null): ChildLevels {
  if (!counts) return [];
  return Object.entries(counts).flatMap(([l, n]) => Array<LevelOrUnknown>(n).fill(l as LevelOrUnknown));
}

// ─── Reading: the levels of a day, of a span, the change feed ─────────────────────────────

/**
 * Reading levels. Every read names a date and a point in time (`asOf`): the level of an
 * area on that date is its latest stored row computed at or before that time, unless a
 * command-centre override known at that time covers the date — overrides always win. An
 * override known at T is its version with `created_at` ≤ T < `ended_at` (db/overrides.ts):
 * ending one shortens its period from then on, withdrawing one closes it.
 */
export type Override = {
  /** Its public id (the same for every version of it). */
  id: number;
  level: LevelOrUnknown;
  reason: string;
  note: string | null;
  author: string | null;
  from: LocalDate;
  /** Its last day as known at the reading point (an ended override: the last day it was ended to). */
  until: LocalDate | null;
  /** When it was set. */
  created_at: string;
  /** When it was ended (its `until` shortened), as known at the reading point; null: not ended. */
  ended_at: string | null;
};


/** A day and the instant it is read as of (null: everything known now). */
export type DayPoint = { date: LocalDate; asOf: Date | null };

/** `unnest` bindings of day points: the dates and their instants (null: now). */
function pointBindings(points: readonly DayPoint[]): [LocalDate[], (string | null)[]] {
  return [points.map((p) => p.date), points.map((p) => p.asOf?.toISOString() ?? null)];
}

/**
 * SQL of the day points `pt(date, t)`: each day with the instant its rows are read as of
 * (a time given to the millisecond stands for that whole millisecond, as in `asOfClause`).
 * Binds: the dates, the instants.
 */
const POINTS_SQL = `SELECT p.date, coalesce(date_trunc('milliseconds', p.at) + interval '999 microseconds', 'infinity'::timestamptz) AS t
       FROM unnest(?::date[], ?::timestamptz[]) AS p(date, at)`;

export type ZoneFilter = {
  kind?: AreaKind | undefined;
  /** direct children of this area */
  parent?: string | undefined;
  /** all descendants of this area */
  within?: string | undefined;
  level?: LevelOrUnknown | undefined;
  code?: string | undefined;
  /** areas meeting this box [minLon, minLat, maxLon, maxLat] */
  bbox?: [number, number, number, number] | undefined;
};

/** The areas below one (its code bound first) at some time in days [lo, hi] (bound next): the hierarchy of those days. */
const WITHIN_SQL = `a.id IN (SELECT t.descendant FROM area_tree t JOIN areas top ON top.id = t.ancestor
    WHERE top.code = ? AND t.depth > 0 AND t.during && daterange(?::date, ?::date, '[]'))`;

export type ZoneRow = {
  area_id: number;
  code: string;
  name: string;
  kind: AreaKind;
  parent: string | null;
  population: number | null;
  level: LevelOrUnknown;
  level_number: number | null;
  since: LocalDate | null;
  rule_set: string | null;
  reason: string | null;
  computed_level: LevelOrUnknown;
  /** The rules' own level that day, before persistence (null: not computed). */
  raw_level: LevelOrUnknown | null;
  override: Override | null;
  /** As stored (compact); read them with `zoneInputs`. */
  inputs: StoredInputs | null;
  date: LocalDate;
  children: Record<string, number> | null;
  pending: unknown;
  computed_at: string | null;
  /** The area's first day (null: it has always existed). */
  valid_from: LocalDate | null;
};

/** What every view of a zone shows first (list items, the zone, map features): the one projection of a zone row they share. */
export function zoneCore(z: ZoneRow) {
  return { code: z.code, name: z.name, kind: z.kind, parent: z.parent, level: z.level, level_number: z.level_number, since: z.since };
}

type Raw = Omit<ZoneRow, 'level' | 'level_number' | 'override' | 'computed_level' | 'computed_at' | 'date' | 'inputs'> & {
  /** JSON text (migration 22). */
  inputs: string | null;
  computed_level: LevelOrUnknown | null;
  o_ended_at: Date | null;
  computed_at: Date | null;
  o_id: number | null;
  o_level: LevelOrUnknown | null;
  o_reason: string | null;
  o_note: string | null;
  o_author: string | null;
  o_from: LocalDate | null;
  o_until: LocalDate | null;
  o_created_at: Date | null;
};

/** `asOf` null means "everything known now"; a time given to the millisecond stands for that whole millisecond (JSON loses the µs). */
export function asOfClause(asOf: Date | null): { asOfSql: string; asOfBind: string[] } {
  return asOf ? { asOfSql: "(?::timestamptz + interval '999 microseconds')", asOfBind: [asOf.toISOString()] } : { asOfSql: "'infinity'::timestamptz", asOfBind: [] };
}

/** SQL conditions on `areas a` (the areas of `date`, zonerisk_areas_on) for a filter. */
function areaWhere(filter: ZoneFilter, date: LocalDate): { where: string[]; binds: unknown[] } {
  const where: string[] = [];
  const binds: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    binds.push(value);
  };
  if (filter.kind) add('a.kind = ?', filter.kind);
  if (filter.parent) add('a.parent_id = (SELECT id FROM areas WHERE code = ?)', filter.parent);
  if (filter.code) add('a.code = ?', filter.code);
  if (filter.within) {
    where.push(WITHIN_SQL);
    binds.push(filter.within, date, date);
  }
  if (filter.bbox) {
    where.push('a.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326) AND ST_Intersects(a.geom, ST_MakeEnvelope(?, ?, ?, ?, 4326))');
    binds.push(...filter.bbox, ...filter.bbox);
  }
  return { where, binds };
}

/**
 * Levels of the filtered areas on `date` as known at `asOf`. A whole day (or a kind) is
 * read in one pass over the day's chunks; a few areas (one code, one parent's children, one
 * area's subtree — a province at most) are looked up area by area in their chunks (migration
 * 25), so that asking for one commune does not read the whole country's day. Tried: a
 * subtree's chunks unpacked once each and joined with its areas — planned from estimates of
 * one area and ten rows a chunk (an unnest), the join became a nested loop over thousands of
 * rows for each area: a province's summary took 3.2 s on the national bench set, 75 ms so.
 */
export async function zonesOn(knex: Knex, date: LocalDate, asOf: Date | null, filter: ZoneFilter = {}, detail: 'full' | 'levels' = 'full'): Promise<ZoneRow[]> {
  const { asOfSql, asOfBind } = asOfClause(asOf);
  const { where, binds } = areaWhere(filter, date);
  const few = Boolean(filter.code || filter.parent || filter.within);
  // `levels`: lists and counts leave out each zone's stored inputs and pending state (null),
  // a third of a country's day to read and parse
  const stored = detail === 'full' ? 'inputs, children, pending' : 'NULL::text AS inputs, children, NULL::jsonb AS pending';
  const levelCols = `level, raw_level, since::text AS since, rule_set_id, reason, ${stored}, computed_at`;
  const overrideFilter = `date_from <= ?::date AND (date_until IS NULL OR date_until >= ?::date)
         AND created_at <= ${asOfSql} AND (ended_at IS NULL OR ended_at > ${asOfSql})`;
  const select = `SELECT a.id AS area_id, a.code, a.name, a.kind, p.code AS parent, a.population, a.valid_from::text AS valid_from,
            z.level AS computed_level, z.raw_level, z.since, z.rule_set_id AS rule_set, z.reason, z.inputs, z.children, z.pending, z.computed_at,
            o.override_id AS o_id, o.level AS o_level, o.reason AS o_reason, o.note AS o_note, o.author AS o_author,
            o.date_from::text AS o_from, o.date_until::text AS o_until,
            (SELECT min(v.created_at) FROM overrides v WHERE v.override_id = o.override_id) AS o_created_at,
            CASE WHEN o.kind = 'end' THEN o.created_at END AS o_ended_at
     FROM zonerisk_areas_on(?::date) a
     LEFT JOIN areas p ON p.id = a.parent_id`;
  const tail = `${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.code`;
  const overrideOf = `LEFT JOIN LATERAL (
       SELECT * FROM overrides WHERE area_id = a.id AND ${overrideFilter} ORDER BY created_at DESC LIMIT 1
     ) o ON true`;
  const sql = few
    ? `${select}
     LEFT JOIN LATERAL (
       SELECT ${levelCols} FROM zone_levels
       WHERE date = ?::date AND chunk = a.id >> ${LEVEL_CHUNK_BITS} AND area_id = a.id AND computed_at <= ${asOfSql} ORDER BY computed_at DESC LIMIT 1
     ) z ON true
     ${overrideOf}
     ${tail}`
    : `WITH z AS (
       SELECT DISTINCT ON (area_id) area_id, ${levelCols}
       FROM zone_levels WHERE date = ?::date AND computed_at <= ${asOfSql}
       ORDER BY area_id, computed_at DESC
     ),
     o AS (
       SELECT DISTINCT ON (area_id) * FROM overrides WHERE ${overrideFilter}
       ORDER BY area_id, created_at DESC
     )
     ${select}
     LEFT JOIN z ON z.area_id = a.id
     LEFT JOIN o ON o.area_id = a.id
     ${tail}`;
  const levelBinds = [date, ...asOfBind, date, date, ...asOfBind, ...asOfBind];
  const bindings = few ? [date, ...levelBinds, ...binds] : [...levelBinds, date, ...binds];
  const res = await knex.raw<{ rows: Raw[] }>(sql, arrayBindings(bindings));
  const rows = res.rows.map((r) => toZone(date, r));
  return filter.level ? rows.filter((r) => r.level === filter.level) : rows;
}

/**
 * Two CTEs of a day's levels as known now — `z` (area_id, level): the latest computed level;
 * `o` (area_id, level): the override in force — binding the day three times (z, then o's two).
 * The effective level is `coalesce(o.level, z.level, 'unknown')`.
 */
export const EFFECTIVE_LEVEL_CTES = `z AS (
       SELECT DISTINCT ON (area_id) area_id, level FROM zone_levels WHERE date = ?::date ORDER BY area_id, computed_at DESC
     ),
     o AS (
       SELECT DISTINCT ON (area_id) area_id, level FROM overrides
       WHERE date_from <= ?::date AND (date_until IS NULL OR date_until >= ?::date) AND ended_at IS NULL
       ORDER BY area_id, created_at DESC
     )`;

/**
 * The effective level (an override's, else the latest computed one, else unknown) of every
 * area on `date` as known now, compactly: what a rule-set preview compares against.
 */
export async function effectiveLevelsOn(knex: Knex, date: LocalDate): Promise<{ ids: number[]; levels: LevelOrUnknown[] }> {
  const res = await knex.raw<{ rows: { ids: number[] | null; levels: LevelOrUnknown[] | null }[] }>(
    `WITH ${EFFECTIVE_LEVEL_CTES}
     SELECT array_agg(a.id ORDER BY a.id) AS ids, array_agg(coalesce(o.level, z.level, 'unknown') ORDER BY a.id) AS levels
     FROM zonerisk_areas_on(?::date) a LEFT JOIN z ON z.area_id = a.id LEFT JOIN o ON o.area_id = a.id`,
    [date, date, date, date],
  );
  const row = res.rows[0];
  return { ids: row?.ids ?? [], levels: row?.levels ?? [] };
}

function toZone(date: LocalDate, r: Raw): ZoneRow {
  const override: Override | null =
    r.o_id === null
      ? null
      : {
          id: Number(r.o_id),
          level: r.o_level as LevelOrUnknown,
          reason: r.o_reason as string,
          note: r.o_note,
          author: r.o_author,
          from: r.o_from as LocalDate,
          until: r.o_until,
          created_at: (r.o_created_at as Date).toISOString(),
          ended_at: r.o_ended_at?.toISOString() ?? null,
        };
  const computed = r.computed_level ?? 'unknown';
  const level = override?.level ?? computed;
  return {
    area_id: r.area_id,
    code: r.code,
    name: r.name,
    kind: r.kind,
    parent: r.parent,
    population: r.population,
    level,
    level_number: levelNumber(level),
    since: override ? override.from : r.since,
    rule_set: r.rule_set,
    reason: r.computed_level === null ? 'not_computed' : r.reason,
    computed_level: computed,
    raw_level: r.computed_level === null ? null : r.raw_level,
    override,
    inputs: storedInputs(r.inputs),
    date,
    children: r.children,
    pending: r.pending,
    computed_at: r.computed_at?.toISOString() ?? null,
    valid_from: r.valid_from,
  };
}

export async function zoneOn(knex: Knex, code: string, date: LocalDate, asOf: Date | null): Promise<ZoneRow> {
  const [row] = await zonesOn(knex, date, asOf, { code });
  if (row) return row;
  const area = (await knex.raw<{ rows: { valid_from: string | null; valid_to: string | null }[] }>('SELECT valid_from::text AS valid_from, valid_to::text AS valid_to FROM areas WHERE code = ?', [code])).rows[0];
  if (!area) throw notFound(`Không có đơn vị mã ${code} — no area has code ${code}`);
  // an area of another day's map: say when it existed and where its territory is
  if (area.valid_from !== null && area.valid_from > date) {
    const from = (await predecessorsOf(knex, [code])).get(code);
    throw notFound(
      `khu vực ${code} bắt đầu từ ngày ${vi(area.valid_from)}${from ? `; ngày ${vi(date)} xem các đơn vị tiền thân ${from.join(', ')}` : ''} — area ${code} begins on ${area.valid_from}, after ${date}${from ? `; on ${date} see its predecessors ${from.join(', ')}` : ''}`,
    );
  }
  const to = (await successorsOf(knex, [code])).get(code);
  throw notFound(
    `khu vực ${code} đã kết thúc ngày ${vi(area.valid_to ?? '')}${to ? `; ngày ${vi(date)} xem ${to.join(', ')}` : ''} — area ${code} ended on ${area.valid_to}, before ${date}${to ? `; on ${date} see its successor${to.length > 1 ? 's' : ''} ${to.join(', ')}` : ''}`,
  );
}

const vi = (d: string) => dateText(d, 'vi');

/** One day of an area's series, as read at the day's reading point. */
export type Day = {
  date: LocalDate;
  level: LevelOrUnknown;
  /** The stored level's reason (`not_computed` without one); an overridden day: the override's own reason. */
  reason: string | null;
  override: boolean;
  /** The rule set that computed the day's stored level — also on an overridden day; null when never computed. */
  rule_set: string | null;
  /** Why the stored level differs from the day before's, as recomputation recorded it (null: not recorded). */
  change: StoredChange | null;
};

/**
 * Effective levels of the filtered areas on each of `days`, each day read as of its own
 * point (null: everything known now): the latest stored row computed by then, unless an
 * override version known then covers the day. One set-based query for the levels and one
 * for the overrides over all the days; a day without a stored level reads unknown,
 * `not_computed`. The days come back in the order given.
 */
export async function series(knex: Knex, days: readonly DayPoint[], codes: readonly string[]) {
  const areas = (await knex.raw<{ rows: { id: number; code: string; name: string; kind: AreaKind; population: number | null; valid_from: LocalDate | null; valid_to: LocalDate | null }[] }>(
    `SELECT a.id, a.code, a.name, a.kind, a.population, a.valid_from::text AS valid_from, a.valid_to::text AS valid_to FROM areas a WHERE a.code = ANY(?::text[]) ORDER BY a.code`,
    arrayBindings([codes]),
  )).rows;
  const ids = areas.map((a) => a.id);
  const [dates, instants] = pointBindings(days);
  const levels = await knex.raw<{ rows: { area_id: number; date: LocalDate; level: LevelOrUnknown; reason: string | null; rule_set_id: string | null; change: StoredChange | null }[] }>(
    `WITH pt AS (${POINTS_SQL})
     SELECT DISTINCT ON (z.area_id, z.date) z.area_id, z.date::text AS date, z.level, z.reason, z.rule_set_id, z.change
     FROM zone_levels z JOIN pt ON pt.date = z.date AND z.computed_at <= pt.t
     WHERE z.area_id = ANY(?::int[]) AND z.date = ANY(?::date[]) AND z.chunk = ANY(?::int[])
     ORDER BY z.area_id, z.date, z.computed_at DESC`,
    arrayBindings([dates, instants, ids, dates, [...new Set(ids.map((id) => id >> LEVEL_CHUNK_BITS))]]),
  );
  const overrides = await knex.raw<{ rows: { area_id: number; date: LocalDate; level: LevelOrUnknown; reason: string }[] }>(
    `WITH pt AS (${POINTS_SQL})
     SELECT DISTINCT ON (o.area_id, pt.date) o.area_id, pt.date::text AS date, o.level, o.reason
     FROM overrides o JOIN pt ON o.date_from <= pt.date AND (o.date_until IS NULL OR o.date_until >= pt.date)
                              AND o.created_at <= pt.t AND (o.ended_at IS NULL OR o.ended_at > pt.t)
     WHERE o.area_id = ANY(?::int[])
     ORDER BY o.area_id, pt.date, o.created_at DESC`,
    arrayBindings([dates, instants, ids]),
  );
  const stored = new Map(levels.rows.map((r) => [`${r.area_id}|${r.date}`, r]));
  const overridden = new Map(overrides.rows.map((o) => [`${o.area_id}|${o.date}`, o]));
  const out = new Map<number, Day[]>();
  for (const a of areas) {
    out.set(
      a.id,
      days.map(({ date }) => {
        const s = stored.get(`${a.id}|${date}`);
        const o = overridden.get(`${a.id}|${date}`);
        const base = { date, rule_set: s?.rule_set_id ?? null, change: s?.change ?? null };
        if (o) return { ...base, level: o.level, reason: o.reason, override: true };
        return { ...base, level: s?.level ?? 'unknown', reason: s ? s.reason : 'not_computed', override: false };
      }),
    );
  }
  return { areas, days: out };
}

/**
 * One change of level in the feed, with what its reason is made of: the day's stored reason
 * and recorded `change`, whether either day was overridden (`to_override`: the override's
 * reason), and whether the two days compared are consecutive (a recorded `change` speaks of
 * the day before only).
 */
export type Change = {
  code: string;
  name: string;
  kind: AreaKind;
  date: LocalDate;
  from: LevelOrUnknown;
  to: LevelOrUnknown;
  from_override: boolean;
  to_override: string | null;
  reason: string | null;
  change: StoredChange | null;
  /** The rule set that computed the later day's stored level (what `change` is read with; null when overridden or never computed). */
  rule_set: string | null;
  consecutive: boolean;
};

/** Which days a page of the change feed compares: every day as known at one instant, or only the given (published) days, each as of its own point. */
export type FeedReading = { asOf: Date } | { days: readonly DayPoint[] };

/**
 * One page of the level changes of the filtered areas on days [from, to]: what `flips`
 * says of each area's `series`, computed by PostgreSQL instead. Ordered by date then code
 * (bytewise), at most `limit`, starting after `after`. The work is bounded by the span (the
 * caller keeps it short) and none of it is done in Node: a year of a country's days is
 * never walked on the request thread.
 *
 * Read `{asOf}`: the days each area has a level for (its latest stored row, or the newest
 * override covering the day) compared with the day before by lag() over each area's days, a
 * day without a row being "unknown, not_computed". Read `{days}` (the published days of the
 * span and the last one before it, each as of its own point): only those days, every area
 * on each (unknown, `not_computed` without a row), each compared with the previous of them.
 */
export async function changesPage(
  knex: Knex,
  from: LocalDate,
  to: LocalDate,
  reading: FeedReading,
  filter: Pick<ZoneFilter, 'kind' | 'within'>,
  limit: number,
  after: { date: LocalDate; code: string } | null,
): Promise<Change[]> {
  // only the areas asked for (a subtree, a kind)
  const only = [filter.within ? `area_id IN ${WITHIN_SQL.replace('a.id IN ', '')}` : null, filter.kind ? 'area_id IN (SELECT id FROM areas WHERE kind = ?)' : null].filter((w) => w !== null);
  const within = only.map((w) => `AND ${w}`).join(' ');
  const withinBind = [...(filter.within ? [filter.within, addDays(from, -1), to] : []), ...(filter.kind ? [filter.kind] : [])];
  const { sql: flipsSql, binds: flipsBind } = 'asOf' in reading ? everyDayFlips(from, to, reading.asOf, within, withinBind, filter.within !== undefined) : givenDayFlips(from, reading.days, within, withinBind);
  const res = await knex.raw<{ rows: Change[] }>(
    `WITH ${flipsSql},
     c AS (
       SELECT ar.code, ar.name, ar.kind, f.* FROM f JOIN areas ar ON ar.id = f.area_id
       WHERE f.date BETWEEN ?::date AND ?::date ${after ? 'AND (f.date > ?::date OR (f.date = ?::date AND ar.code COLLATE "C" > ?))' : ''}
     )
     SELECT code, name, kind, date::text AS date, a AS "from", b AS "to", a_over AS from_override,
            CASE WHEN b_over THEN b_reason END AS to_override, CASE WHEN b_over THEN NULL ELSE b_reason END AS reason,
            CASE WHEN b_over THEN NULL ELSE b_change END AS change, CASE WHEN b_over THEN NULL ELSE b_rule_set END AS rule_set, consecutive
     FROM c ORDER BY date, code COLLATE "C" LIMIT ?`,
    arrayBindings([...flipsBind, from, to, ...(after ? [after.date, after.date, after.code] : []), limit]),
  );
  return res.rows.map((r) => ({
    code: r.code,
    name: r.name,
    kind: r.kind,
    date: r.date,
    from: r.from,
    to: r.to,
    from_override: r.from_override,
    to_override: r.to_override,
    reason: r.reason,
    change: r.change,
    rule_set: r.rule_set,
    consecutive: r.consecutive,
  }));
}

const LEVEL_ARRAY = "ARRAY['green', 'yellow', 'orange', 'red']";

/** The flips `f(area_id, date, a, b, a_over, b_over, b_reason, b_change, b_rule_set, consecutive)` of every day of [from − 1, to] as known at `asOf`. */
function everyDayFlips(from: LocalDate, to: LocalDate, asOf: Date, within: string, withinBind: unknown[], subtree: boolean): { sql: string; binds: unknown[] } {
  const { asOfSql, asOfBind } = asOfClause(asOf);
  const lo = addDays(from, -1); // the day whose level the first day is compared with
  // levels stored before a reorganisation for days the area no longer has are not its
  const itsDay = (z: string) => `EXISTS (SELECT 1 FROM areas x WHERE x.id = ${z}.area_id AND (x.valid_from IS NULL OR x.valid_from <= ${z}.date) AND (x.valid_to IS NULL OR x.valid_to >= ${z}.date))`;
  // A subtree's levels are the span's chunks of its areas (migration 25), each read once,
  // then its areas' rows: a filter by area alone would unnest the span's every chunk.
  const z = subtree
    ? `ar AS MATERIALIZED (SELECT id AS area_id FROM areas WHERE true ${within.replaceAll('AND area_id', 'AND id')}),
     z AS (
       SELECT DISTINCT ON (zl.date, zl.area_id) zl.area_id, zl.date, zl.level, zl.reason, zl.change, zl.rule_set_id, false AS override
       FROM zone_levels zl
       WHERE zl.date BETWEEN ?::date AND ?::date AND zl.chunk IN (SELECT DISTINCT area_id >> ${LEVEL_CHUNK_BITS} FROM ar)
         AND zl.area_id IN (SELECT area_id FROM ar) AND zl.computed_at <= ${asOfSql} AND ${itsDay('zl')}
       ORDER BY zl.date, zl.area_id, zl.computed_at DESC
     ),`
    : `z AS (
       SELECT DISTINCT ON (date, area_id) area_id, date, level, reason, change, rule_set_id, false AS override
       FROM zone_levels WHERE date BETWEEN ?::date AND ?::date AND computed_at <= ${asOfSql} ${within}
         AND ${itsDay('zone_levels')}
       ORDER BY date, area_id, computed_at DESC
     ),`;
  const zBind = subtree ? [...withinBind, lo, to, ...asOfBind] : [lo, to, ...asOfBind, ...withinBind];
  return {
    sql: `${z}
     od AS (
       SELECT DISTINCT ON (o.area_id, d.date) o.area_id, d.date::date AS date, o.level, o.reason, NULL::jsonb AS change, NULL::text AS rule_set_id, true AS override
       FROM overrides o
       CROSS JOIN LATERAL generate_series(greatest(o.date_from, ?::date), least(coalesce(o.date_until, ?::date), ?::date), interval '1 day') AS d(date)
       WHERE o.date_from <= ?::date AND (o.date_until IS NULL OR o.date_until >= ?::date)
         AND o.created_at <= ${asOfSql} AND (o.ended_at IS NULL OR o.ended_at > ${asOfSql}) ${within.replaceAll('AND area_id', 'AND o.area_id')}
       ORDER BY o.area_id, d.date, o.created_at DESC
     ),
     e AS (
       SELECT * FROM z WHERE NOT EXISTS (SELECT 1 FROM od WHERE od.area_id = z.area_id AND od.date = z.date)
       UNION ALL SELECT * FROM od
     ),
     l AS (
       SELECT e.*, lag(date) OVER w AS pdate, lag(level) OVER w AS plevel, lag(override) OVER w AS pover, lead(date) OVER w AS ndate
       FROM e WINDOW w AS (PARTITION BY area_id ORDER BY date)
     ),
     fp AS ( -- an area formed by a reorganisation: its predecessors' worst level the day before it began
       SELECT li.area_id, li.date, (${LEVEL_ARRAY})[max(array_position(${LEVEL_ARRAY}, pz.level))] AS level
       FROM area_lineage li
       CROSS JOIN LATERAL (SELECT z.level FROM zone_levels z WHERE z.chunk = li.predecessor_id >> ${LEVEL_CHUNK_BITS} AND z.area_id = li.predecessor_id AND z.date = li.date - 1 AND z.computed_at <= ${asOfSql}
                           ORDER BY z.computed_at DESC LIMIT 1) pz
       WHERE li.date BETWEEN ?::date AND ?::date
       GROUP BY li.area_id, li.date
     ),
     f AS (
       -- two days in a row with different levels
       SELECT area_id, date, plevel AS a, level AS b, pover AS a_over, override AS b_over, reason AS b_reason, change AS b_change, rule_set_id AS b_rule_set, true AS consecutive
       FROM l WHERE pdate = date - 1 AND plevel <> level
       UNION ALL -- a day with a level, then a day without
       SELECT area_id, pdate + 1, plevel, 'unknown', pover, false, 'not_computed', NULL, NULL, true FROM l WHERE pdate < date - 1 AND plevel <> 'unknown'
       UNION ALL -- a day with a level after days without (or after the span's start); a new area's first day against its predecessors'
       SELECT l.area_id, l.date, coalesce(fp.level, 'unknown'), l.level, false, l.override, l.reason, CASE WHEN fp.area_id IS NOT NULL THEN l.change END, l.rule_set_id, true
       FROM l LEFT JOIN fp ON fp.area_id = l.area_id AND fp.date = l.date
       WHERE (l.pdate < l.date - 1 OR (l.pdate IS NULL AND l.date > ?::date)) AND l.level <> 'unknown' AND coalesce(fp.level, 'unknown') <> l.level
       UNION ALL -- the last day with a level, then none to the span's end (not an area's last day: it ended, its successors go on)
       SELECT area_id, date + 1, level, 'unknown', override, false, 'not_computed', NULL, NULL, true FROM l
       WHERE ndate IS NULL AND date < ?::date AND level <> 'unknown' AND NOT EXISTS (SELECT 1 FROM areas x WHERE x.id = l.area_id AND x.valid_to = l.date)
     )`,
    binds: [...zBind, lo, to, to, to, lo, ...asOfBind, ...asOfBind, ...withinBind, ...asOfBind, lo, to, lo, to],
  };
}

/** The flips `f(…)` between consecutive ones of the given days (the first only compared with), every area on every day. */
function givenDayFlips(from: LocalDate, days: readonly DayPoint[], within: string, withinBind: unknown[]): { sql: string; binds: unknown[] } {
  const [dates, instants] = pointBindings(days);
  return {
    sql: `pt AS (${POINTS_SQL}),
     ar AS (SELECT id AS area_id FROM areas WHERE true ${within.replaceAll('AND area_id', 'AND id')}),
     z AS (
       SELECT DISTINCT ON (z.date, z.area_id) z.area_id, z.date, z.level, z.reason, z.change, z.rule_set_id
       FROM zone_levels z JOIN pt ON pt.date = z.date AND z.computed_at <= pt.t
       WHERE z.date = ANY(?::date[]) AND z.chunk IN (SELECT DISTINCT area_id >> ${LEVEL_CHUNK_BITS} FROM ar) AND z.area_id IN (SELECT area_id FROM ar)
       ORDER BY z.date, z.area_id, z.computed_at DESC
     ),
     od AS (
       SELECT DISTINCT ON (o.area_id, pt.date) o.area_id, pt.date, o.level, o.reason
       FROM overrides o JOIN pt ON o.date_from <= pt.date AND (o.date_until IS NULL OR o.date_until >= pt.date)
                                AND o.created_at <= pt.t AND (o.ended_at IS NULL OR o.ended_at > pt.t)
       WHERE o.area_id IN (SELECT area_id FROM ar)
       ORDER BY o.area_id, pt.date, o.created_at DESC
     ),
     e AS (
       SELECT ar.area_id, pt.date, coalesce(od.level, z.level, 'unknown') AS level, od.level IS NOT NULL AS override,
              CASE WHEN od.level IS NOT NULL THEN od.reason WHEN z.level IS NULL THEN 'not_computed' ELSE z.reason END AS reason, z.change, z.rule_set_id
       FROM ar CROSS JOIN pt
       LEFT JOIN z ON z.area_id = ar.area_id AND z.date = pt.date
       LEFT JOIN od ON od.area_id = ar.area_id AND od.date = pt.date
     ),
     l AS (
       SELECT e.*, lag(date) OVER w AS pdate, lag(level) OVER w AS plevel, lag(override) OVER w AS pover
       FROM e WINDOW w AS (PARTITION BY area_id ORDER BY date)
     ),
     f AS (
       SELECT area_id, date, plevel AS a, level AS b, pover AS a_over, override AS b_over, reason AS b_reason, change AS b_change, rule_set_id AS b_rule_set, pdate = date - 1 AS consecutive
       FROM l WHERE pdate IS NOT NULL AND plevel <> level AND date >= ?::date
     )`,
    binds: [dates, instants, ...withinBind, dates, from],
  };
}

/** Whether each area reported for a day and the community cases it reported, over its subtree. */
export type DayReport = { reported: boolean; community_cases: number };

/** Up to this many areas in the subtrees asked for, a read of their figures probes them (dayReports, maps.ts cases7); beyond, it reads the day whole. */
export const FEW_AREAS = 1_000;

/**
 * Whether the subtrees of `ids` on `date` (each area and those below it) hold at most
 * FEW_AREAS areas: counted from the tree's index, at most FEW_AREAS + 1 rows read. The
 * number of ids alone does not tell: the 62 provinces are the whole country.
 */
export async function fewBelow(knex: Knex, ids: readonly number[], date: LocalDate): Promise<boolean> {
  if (ids.length > FEW_AREAS) return false;
  const res = await knex.raw<{ rows: { n: string }[] }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM area_tree WHERE ancestor = ANY(?::int[]) AND during @> ?::date LIMIT ?) x`,
    arrayBindings([ids, date, FEW_AREAS + 1]),
  );
  return Number(res.rows[0]?.n ?? 0) <= FEW_AREAS;
}

/**
 * What each of these areas reported for `date`, as known at `asOf` (null: now; a report
 * read as of an instant is its revision current then: `reports`, or the superseded one in
 * `report_revisions`). "Reported" is: a commune (or subcommune) — a report row on it or on
 * an area below it; a district or province — a report row on itself, or every commune below
 * it reported (a quiet district is one whose every commune says so; an area with no commune
 * below it: any report row in its subtree). `community_cases` sums the community cases of
 * the report rows in its subtree (quarantine cases are not community cases; summed as float8,
 * exact to 2^53: a province's sum of counts of up to 2^31 − 1 is not an int). One set-based
 * statement over the area tree; for a few areas (`fewBelow`), only the reports of their
 * subtrees (the whole country's day summed up the tree for a district's 38 communes took
 * 77–123 ms on the national bench set, and a briefing asks nine times; for the whole country
 * the restriction costs more than it saves).
 */
export async function dayReports(knex: Knex, ids: number[], date: LocalDate, asOf: Date | null): Promise<Map<number, DayReport>> {
  const { asOfSql, asOfBind } = asOfClause(asOf);
  const few = await fewBelow(knex, ids, date);
  const res = await knex.raw<{ rows: ({ area_id: number } & DayReport)[] }>(
    `WITH ${few ? `sub AS MATERIALIZED ( -- the areas asked for and every area below them: only their reports count
       SELECT t.descendant AS area_id FROM area_tree t WHERE t.ancestor = ANY(?::int[]) AND t.during @> ?::date
       UNION SELECT unnest(?::int[]) -- an area's own report, on any day
     ),` : ''}
     r AS (
       SELECT area_id, community_cases FROM reports WHERE date = ?::date AND recorded_at <= ${asOfSql} ${few ? 'AND area_id IN (SELECT area_id FROM sub)' : ''}
       UNION ALL
       SELECT area_id, community_cases FROM report_revisions WHERE date = ?::date AND recorded_at <= ${asOfSql} AND superseded_at > ${asOfSql}
         ${few ? 'AND area_id IN (SELECT area_id FROM sub)' : ''}
     ),
     below AS ( -- every area with a report on it or below it, and the community cases there
       SELECT t.ancestor AS area_id, sum(r.community_cases) AS cases FROM r JOIN area_tree t ON t.descendant = r.area_id AND t.during @> ?::date GROUP BY t.ancestor
     ),
     communes AS ( -- per area asked for: the communes in its subtree (a commune: itself), and how many of them reported
       SELECT t.ancestor AS area_id, count(*) AS communes, count(b.area_id) AS reported
       FROM area_tree t JOIN areas c ON c.id = t.descendant AND c.kind = 'commune' LEFT JOIN below b ON b.area_id = c.id
       WHERE t.ancestor = ANY(?::int[]) AND t.during @> ?::date GROUP BY t.ancestor
     )
     SELECT a.id AS area_id, coalesce(b.cases, 0)::float8 AS community_cases,
            (EXISTS (SELECT 1 FROM r WHERE r.area_id = a.id)
             OR CASE WHEN coalesce(c.communes, 0) > 0 THEN c.reported = c.communes ELSE b.area_id IS NOT NULL END) AS reported
     FROM areas a LEFT JOIN below b ON b.area_id = a.id LEFT JOIN communes c ON c.area_id = a.id
     WHERE a.id = ANY(?::int[])`,
    arrayBindings([...(few ? [ids, date, ids] : []), date, ...asOfBind, date, ...asOfBind, ...asOfBind, date, ids, date, ids]),
  );
  return new Map(res.rows.map((r) => [r.area_id, { reported: r.reported, community_cases: r.community_cases }]));
}

/** The database's clock: the reading point that every page of a change feed shares. */
export async function databaseNow(knex: Knex): Promise<Date> {
  const res = await knex.raw<{ rows: { now: Date }[] }>('SELECT now() AS now');
  return res.rows[0]?.now ?? new Date();
}

/** Every day that has levels, in order: one index probe per day (a loose index scan), not a pass over every level row. */
export async function classifiedDays(knex: Knex): Promise<LocalDate[]> {
  const res = await knex.raw<{ rows: { date: LocalDate }[] }>(
    `WITH RECURSIVE d AS (
       SELECT min(date) AS date FROM level_chunks
       UNION ALL SELECT (SELECT min(z.date) FROM level_chunks z WHERE z.date > d.date) FROM d WHERE d.date IS NOT NULL
     ) SELECT date::text AS date FROM d WHERE date IS NOT NULL`,
  );
  return res.rows.map((d) => d.date);
}

/**
 * What a rule-set preview of `date` classifies from, read in one transaction (one snapshot):
 * the areas, the facts the definition needs as text, every area's effective level now, and
 * the levels overrides set that day (what parents roll up).
 * A read: nothing is written.
 */
export async function previewInputs(knex: Knex, definition: RuleSet, date: LocalDate) {
  return knex.transaction(async (trx) => {
    // the day's map; a new area's windows reach its predecessors' reports (as a recomputation's do)
    const map = await loadMapHistory(trx);
    const lineage = seriesLineage(map, dayNumber, (d) => addDays(d, -1));
    const facts = await loadFactTexts(trx, definition, date, date);
    const current = await effectiveLevelsOn(trx, date);
    // the levels overrides set that day: parents roll them up, as a recomputation does
    const set = await overridesDuring(trx, date, date);
    return { areas: areasOn(map, date), lineage, facts, current, overridden: { ids: set.map((o) => o.area_id), levels: set.map((o) => o.level) } };
  });
}

/** The first and last days with levels, for the temporal extent. */
export async function levelSpan(knex: Knex): Promise<[string | null, string | null]> {
  const res = await knex.raw<{ rows: { a: string | null; b: string | null }[] }>('SELECT min(date)::text AS a, max(date)::text AS b FROM level_chunks');
  return [res.rows[0]?.a ?? null, res.rows[0]?.b ?? null];
}

/**
 * Which of these (area code, day) pairs have a level computed for an earlier day, as known at
 * `asOf`: the others are the areas' first days with a level (a new commune). One statement,
 * reading by day (zone_levels has no index by area, migration 19): a pair whose area has a
 * level on the classified day before its day is answered by one index probe (the usual
 * case: an area back from unknown); the others — new areas, whose first day it is — by one
 * pass over the days before the latest of them, each area's first day found at once, however
 * many pairs there are. Answers the pairs as `code|date`.
 */
export async function levelsBefore(knex: Knex, pairs: readonly { code: string; date: LocalDate }[], asOf: Date | null): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const { asOfSql, asOfBind } = asOfClause(asOf);
  // the latest pair's day, given rather than found in the statement (the planner then knows
  // the days before it: with `(SELECT max(date) FROM rest)` it read all of zone_levels, 0.5–1 s
  // on the national bench set, even when no pair was left to look for)
  const latest = pairs.reduce((m, p) => (p.date > m ? p.date : m), pairs[0]?.date as LocalDate);
  const res = await knex.raw<{ rows: { code: string; date: string }[] }>(
    `WITH p AS MATERIALIZED (
       SELECT p.code, p.date, a.id,
              EXISTS (SELECT 1 FROM zone_levels z
                      WHERE z.date = (SELECT max(y.date) FROM level_chunks y WHERE y.date < p.date) AND z.chunk = a.id >> ${LEVEL_CHUNK_BITS} AND z.area_id = a.id
                        AND z.computed_at <= ${asOfSql}) AS day_before
       FROM unnest(?::text[], ?::date[]) AS p(code, date) JOIN areas a ON a.code = p.code
     ),
     -- a pair on the first classified day has no level before it
     rest AS MATERIALIZED (SELECT * FROM p WHERE NOT day_before AND p.date > (SELECT min(date) FROM level_chunks)),
     firsts AS (
       SELECT z.area_id, min(z.date) AS first FROM zone_levels z
       WHERE EXISTS (SELECT 1 FROM rest) AND z.date < ?::date AND z.chunk IN (SELECT id >> ${LEVEL_CHUNK_BITS} FROM rest) AND z.area_id IN (SELECT id FROM rest)
         AND z.computed_at <= ${asOfSql}
       GROUP BY z.area_id
     )
     SELECT code, date::text AS date FROM p WHERE day_before
     UNION ALL
     SELECT r.code, r.date::text FROM rest r JOIN firsts f ON f.area_id = r.id AND f.first < r.date`,
    arrayBindings([...asOfBind, pairs.map((p) => p.code), pairs.map((p) => p.date), latest, ...asOfBind]),
  );
  return new Set(res.rows.map((r) => `${r.code}|${r.date}`));
}
