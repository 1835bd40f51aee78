import { areaId } from '../db/areas';
import { endOverride, OverrideValues, setOverride } from '../db/overrides';
import { listPublications, publish, readingPoint } from '../db/publications';
import { StoredRuleSet } from '../db/rulesets';
import {
  casesOnDay,
  changesPage,
  databaseNow,
  childList,
  Day,
  Flip,
  series,
  zoneOn,
  zoneCore,
  zonesOn,
  ZoneRow,
} from '../db/levels';
import type { Actor } from '../db/audit';
import { AreaKind } from '../domain/areas';
import { addDays, isLocalDate, LocalDate } from '../domain/dates';
import { LEVELS, levelIndex, LevelOrUnknown, Level } from '../domain/levels';
import { classify, ExplanationStep, Inputs, MetricValue } from '../domain/rules/engine';
import { RuleSet } from '../domain/rules/definition';
import { readStoredInputs } from '../db/storedInputs';
import { z } from 'zod';
import { badRequest, notFound } from '../errors';
import type { Runtime } from '../runtime';

/**
 * Reading levels — of one zone, a list, a zone's history, the change feed, the summary —
 * and setting or ending command-centre overrides. Reads go to the read pool; every read
 * names a day and a reading point (`as_of`, or the day's publication with
 * `version=published`).
 */

export type Version = 'published' | 'latest';
/** What a level read asks for: the day, the instant it is read as of (null: now), the version. */
export type Reading = { date: LocalDate; asOf: Date | null; version: Version };

const MAX_RANGE_DAYS = 400;

/** A span of days a read may cover: `from` not after `to`, at most 400 days. */
export function checkRange(from: LocalDate, to: LocalDate): void {
  if (from > to) throw badRequest('from must not be after to', [{ path: 'from', message: 'must not be after to' }], 'invalid_query');
  if (addDays(from, MAX_RANGE_DAYS) < to) throw badRequest(`at most ${MAX_RANGE_DAYS} days at a time`, [{ path: 'to', message: 'range too long' }], 'invalid_query');
}

/** The instant a read is answered as of: the asked one, or the day's publication (published), or null (now). */
export function readingAt(rt: Runtime, r: Reading): Promise<Date | null> {
  return readingPoint(rt.db.read, r.date, r.asOf, r.version);
}

async function requireArea(rt: Runtime, code: string): Promise<number> {
  const id = await areaId(rt.db.read, code);
  if (id === null) throw notFound(`no area has code ${code}`);
  return id;
}

/** A zone as a list item (GET /v1/zones). */
export function zoneItem(z: ZoneRow) {
  return { ...zoneCore(z), rule_set: z.rule_set, reason: z.reason, overridden: z.override !== null };
}

export async function listZones(rt: Runtime, r: Reading, filter: { kind?: AreaKind | undefined; parent?: string | undefined; level?: LevelOrUnknown | undefined }) {
  const asOf = await readingAt(rt, r);
  const rows = await zonesOn(rt.db.read, r.date, asOf, filter);
  return { date: r.date, as_of: asOf?.toISOString() ?? null, version: r.version, items: rows.map(zoneItem) };
}

/** `inputs` as plain values (null where missing); the reasons and sources beside them. */
function inputsOf(zone: ZoneRow, rs: Pick<StoredRuleSet, 'definition'> | null): { inputs: Record<string, number | null>; input_details: Record<string, { missing?: string; detail?: string }> } {
  const inputs: Record<string, number | null> = {};
  const details: Record<string, { missing?: string; detail?: string }> = {};
  for (const [name, v] of Object.entries(rs ? zoneInputs(rs.definition, zone) : {}) as [string, MetricValue & { detail?: string }][]) {
    inputs[name] = 'value' in v ? v.value : null;
    if ('missing' in v || v.detail) details[name] = { ...('missing' in v ? { missing: v.missing } : {}), ...(v.detail ? { detail: v.detail } : {}) };
  }
  return { inputs, input_details: details };
}

/**
 * One zone with its level, inputs and explanation. The ETag changes with the day's levels,
 * overrides and areas; `body` builds the answer (the caller keeps it under the tag).
 */
export async function zoneDetail(rt: Runtime, code: string, r: Reading): Promise<{ etag: string; body: () => Promise<unknown> }> {
  const reads = rt.db.read;
  const asOf = await readingAt(rt, r);
  const etag = await rt.maps.etag({ date: r.date, asOf }, `zone:${code}`);
  const body = async () => {
    const z = await zoneOn(reads, code, r.date, asOf);
    const rs = z.rule_set ? await rt.ruleSets.definition(reads, z.rule_set) : null;
    return {
      ...zoneCore(z),
      date: r.date,
      computed_level: z.computed_level,
      reason: z.reason,
      rule_set: rs ? { id: rs.id, name: rs.name, version: rs.version } : null,
      ...inputsOf(z, rs),
      children: z.children,
      explanation: rs ? explain(rs.definition, z) : [],
      pending: z.pending,
      override: z.override,
      computed_at: z.computed_at,
    };
  };
  return { etag, body };
}

/** A zone's effective level on each day of [from, to] and the changes between them. */
export async function zoneHistory(rt: Runtime, code: string, from: LocalDate, to: LocalDate, asOf: Date | null) {
  checkRange(from, to);
  await requireArea(rt, code);
  // one day before `from`, so that a change on `from` itself is seen
  const s = await series(rt.db.read, addDays(from, -1), to, asOf, { code });
  const all = [...s.days.values()][0] ?? [];
  return {
    code,
    from,
    to,
    days: all.slice(1).map((d) => ({ date: d.date, level: d.level, ...(d.override ? { override: true } : {}) })),
    changes: flips(all),
  };
}

export type ChangesQuery = { since: LocalDate; until: LocalDate; asOf: Date | null; kind?: AreaKind | undefined; parent?: string | undefined; limit: number; cursor?: string | undefined };

/** One page of the change feed: at most a month of days per page, every page read as of the first page's instant. */
export async function changes(rt: Runtime, q: ChangesQuery) {
  const reads = rt.db.read;
  checkRange(q.since, q.until);
  if (q.parent) await requireArea(rt, q.parent);
  const cursor = q.cursor === undefined ? null : decodeChangesCursor(q.cursor, q.since, q.until);
  const asOf = cursor?.asOf ?? q.asOf ?? (await databaseNow(reads));
  const from = cursor?.date ?? q.since;
  const last = addDays(from, CHANGES_PAGE_DAYS - 1);
  const to = last < q.until ? last : q.until;
  const page = await changesPage(reads, from, to, asOf, { kind: q.kind, within: q.parent }, q.limit + 1, cursor?.after ? { date: from, code: cursor.after } : null);
  const items = page.slice(0, q.limit);
  const end = items[items.length - 1];
  const next: ChangesCursor | null = page.length > q.limit && end ? { date: end.date, after: end.code, asOf } : to < q.until ? { date: addDays(to, 1), after: null, asOf } : null;
  return { since: q.since, until: q.until, items, next_cursor: next ? encodeChangesCursor(next) : null };
}

type LevelCount = { areas: number; population: number; no_new_community_cases_24h: number };

/** What a steering committee reads first: areas and people by level, quiet areas, what moved since the day before. */
export async function summary(rt: Runtime, r: Reading, kind: AreaKind, parent: string | undefined) {
  const reads = rt.db.read;
  if (parent) await requireArea(rt, parent);
  const asOf = await readingAt(rt, r);
  const [today, yesterday] = await Promise.all([zonesOn(reads, r.date, asOf, { kind, within: parent }), zonesOn(reads, addDays(r.date, -1), asOf, { kind, within: parent })]);
  // new community cases on the day itself, over each area's whole subtree
  const casesOf = await casesOnDay(reads, today.map((z) => z.area_id), r.date);
  const byLevel: Record<string, LevelCount> = {};
  for (const l of [...LEVELS, 'unknown'] as LevelOrUnknown[]) byLevel[l] = { areas: 0, population: 0, no_new_community_cases_24h: 0 };
  for (const z of today) {
    const b = byLevel[z.level] as LevelCount;
    b.areas++;
    b.population += z.population ?? 0;
    if ((casesOf.get(z.area_id) ?? 0) === 0) b.no_new_community_cases_24h++;
  }
  const before = new Map(yesterday.map((z) => [z.area_id, z.level]));
  const moved = (dir: 1 | -1) =>
    today
      .filter((z) => {
        const prev = before.get(z.area_id);
        if (!prev || prev === 'unknown' || z.level === 'unknown') return false;
        return Math.sign(levelIndex(z.level) - levelIndex(prev)) === dir;
      })
      .map((z) => ({ code: z.code, name: z.name, from: before.get(z.area_id), to: z.level }));
  return {
    date: r.date,
    parent: parent ?? null,
    kind,
    version: r.version,
    as_of: asOf?.toISOString() ?? null,
    total: { areas: today.length, population: today.reduce((s, z) => s + (z.population ?? 0), 0) },
    by_level: byLevel,
    escalated: moved(1),
    deescalated: moved(-1),
  };
}

export type OverrideRequest = { level: Level; reason: string; note?: string | null | undefined; author?: string | null | undefined; from: LocalDate; until?: LocalDate | null | undefined };

/** Sets a command-centre override on an area (409 when an active one already covers any of its days). */
export async function putOverride(rt: Runtime, code: string, o: OverrideRequest, actor: Actor) {
  const id = await areaId(rt.db.knex, code);
  if (id === null) throw notFound(`no area has code ${code}`);
  const values: OverrideValues = { area_id: id, level: o.level, reason: o.reason, note: o.note ?? null, author: o.author ?? null, date_from: o.from, date_until: o.until ?? null };
  const row = await setOverride(rt.db, code, values, actor);
  return { id: Number(row.id), code, level: o.level, reason: o.reason, note: values.note, author: values.author, from: o.from, until: values.date_until, created_at: row.created_at.toISOString() };
}

/** Ends an active override of an area now. */
export async function stopOverride(rt: Runtime, code: string, overrideId: number, actor: Actor) {
  const id = await areaId(rt.db.knex, code);
  if (id === null) throw notFound(`no area has code ${code}`);
  const { ended_at } = await endOverride(rt.db, code, id, overrideId, actor);
  return { id: overrideId, code, ended_at: ended_at.toISOString() };
}

/** Publishes a day's levels as they stand (the same day again with nothing changed since: that publication, created false). */
export function publishDay(rt: Runtime, date: LocalDate, note: string | null, actor: Actor) {
  return publish(rt.db, date, note, actor);
}

export async function publications(rt: Runtime) {
  return { items: await listPublications(rt.db.read) };
}

/** The inputs a stored level was computed from, under the rule set that computed it. */
function zoneInputs(ruleSet: RuleSet, zone: ZoneRow): Inputs {
  return zone.inputs ? readStoredInputs(ruleSet, zone.date, zone.code, zone.inputs) : {};
}

/** Re-derives the explanation of a stored level (the engine is pure, rule sets immutable). */
function explain(ruleSet: RuleSet, zone: ZoneRow): ExplanationStep[] {
  if (!zone.inputs) return [];
  return classify(ruleSet, zone.kind, zoneInputs(ruleSet, zone), childList(zone.children)).explanation;
}

/** Days one page of the change feed covers at most: its work is a month of the areas' levels. */
export const CHANGES_PAGE_DAYS = 31;

/** Where the next page of changes starts, and the reading point every page shares. */
export type ChangesCursor = { date: LocalDate; after: string | null; asOf: Date };

export function encodeChangesCursor(c: ChangesCursor): string {
  return Buffer.from(JSON.stringify({ d: c.date, c: c.after, t: c.asOf.toISOString() })).toString('base64url');
}

/** A cursor this service issued for the range [since, until]; anything else is a 400. */
export function decodeChangesCursor(cursor: string, since: LocalDate, until: LocalDate): ChangesCursor {
  const bad = () => badRequest('cursor is not one this service issued for this range', [{ path: 'cursor', message: 'invalid cursor' }], 'invalid_query');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const shape = z.strictObject({ d: z.string().refine(isLocalDate), c: z.string().max(200).nullable(), t: z.iso.datetime() }).safeParse(parsed);
  if (!shape.success) throw bad();
  const date = shape.data.d as LocalDate;
  if (date < since || date > until) throw bad();
  return { date, after: shape.data.c, asOf: new Date(shape.data.t) };
}

/**
 * The changes of level between consecutive days of one area's series: escalated or
 * de-escalated (either side unknown: changed), with the day's reason, an override's own
 * reason, or "override ended" when the day before was overridden and this one is not.
 */
export function flips(days: Day[]): Flip[] {
  const out: Flip[] = [];
  for (let i = 1; i < days.length; i++) {
    const a = days[i - 1] as Day;
    const b = days[i] as Day;
    if (a.level === b.level) continue;
    const direction = a.level === 'unknown' || b.level === 'unknown' ? 'changed' : levelIndex(b.level) > levelIndex(a.level) ? 'escalated' : 'de-escalated';
    const why = b.override ? (b.reason as string) : a.override ? 'override ended' : b.reason ? `${direction}: ${b.reason}` : `${direction} under the rules`;
    out.push({ date: b.date, from: a.level, to: b.level, reason: why });
  }
  return out;
}

