import { createHash } from 'node:crypto';
import { areaId } from '../db/areas';
import { endOverride, OverrideValues, RollUpRecompute, setOverride, withdrawOverride } from '../db/overrides';
import { listPublications, publish, publishedDays, readingPoint } from '../db/publications';
import { StoredRuleSet } from '../db/rulesets';
import {
  changesPage,
  databaseNow,
  childList,
  Day,
  DayPoint,
  dayReports,
  FeedReading,
  levelsBefore,
  series,
  zoneOn,
  zoneCore,
  zonesOn,
  ZoneRow,
} from '../db/levels';
import type { Actor } from '../db/audit';
import { AreaKind } from '../domain/areas';
import { addDays, dateRange, isLocalDate, LocalDate, today } from '../domain/dates';
import { LEVELS, levelIndex, LevelOrUnknown, Level, levelNumber } from '../domain/levels';
import { classify, ExplanationStep, Inputs, MetricValue, Origin } from '../domain/rules/engine';
import { RuleSet } from '../domain/rules/definition';
import { ChangeReason, firstLevelText, storedChangeText } from '../domain/rules/change';
import { Bilingual, levelLabel, lineageStep, overrideStep, persistenceStep } from '../domain/rules/explain';
import { Pending } from '../domain/rules/persistence';
import { readStoredInputs } from '../db/storedInputs';
import { cases7 } from '../db/maps';
import { incidencePer100k } from '../domain/metrics';
import { jobsCoalesced } from '../metrics';
import { metricLabelOf } from '../domain/rules/wording';
import { quietSentence, sentenceCase } from '../domain/briefing';
import { z } from 'zod';
import { badRequest, notFound } from '../errors';
import type { Runtime } from '../runtime';
import { formedFrom, predecessorIds, predecessorsOf } from '../db/reorganisations';
import { factNeeds } from '../domain/inputs';
import { predecessorsLevel } from '../domain/lineage';
import type { OverrideEnded, OverrideSet, OverrideWithdrawn, ZoneDetail, ZoneHistory, ZoneList } from '../http/responses/zones';
import type { Publications, Summary } from '../http/responses/summary';

/**
 * Reading levels — of one zone, a list, a zone's history, the change feed, the summary —
 * and setting, ending or withdrawing command-centre overrides. Reads go to the read pool;
 * every read names a day and a reading point (`as_of`, or the day's publication with
 * `version=published`; a read over days — history, changes — reads each day at its own).
 */

export type Version = 'published' | 'latest';
/** What a level read asks for: the day, the instant it is read as of (null: now), the version. */
export type Reading = { date: LocalDate; asOf: Date | null; version: Version };

const MAX_RANGE_DAYS = 400;

/** A span of days a read may cover: `from` not after `to`, at most 400 days (`names`: the query's names for the two). */
export function checkRange(from: LocalDate, to: LocalDate, names: readonly [string, string] = ['from', 'to']): void {
  const [f, t] = names;
  if (from > to) throw badRequest(`${f} must not be after ${t}`, [{ path: f, message: `must not be after ${t}` }], 'invalid_query');
  if (addDays(from, MAX_RANGE_DAYS) < to) throw badRequest(`at most ${MAX_RANGE_DAYS} days at a time`, [{ path: t, message: 'range too long' }], 'invalid_query');
}

/** The instant a read is answered as of: the asked one, or the day's publication (published), or null (now). */
export function readingAt(rt: Runtime, r: Reading): Promise<Date | null> {
  return readingPoint(rt.db.read, r.date, r.asOf, r.version);
}

async function requireArea(rt: Runtime, code: string): Promise<number> {
  const id = await areaId(rt.db.read, code);
  if (id === null) throw notFound(`Không có đơn vị mã ${code} — no area has code ${code}`);
  return id;
}

/** A zone as a list item (GET /v1/zones). */
export function zoneItem(z: ZoneRow) {
  return { ...zoneCore(z), level_label: levelLabel(z.level), rule_set: z.rule_set, reason: z.reason, overridden: z.override !== null };
}

/** Which zones a list asks for: `parent` its children, `within` everything under it (it excluded). */
export type ZoneListFilter = { kind?: AreaKind | undefined; parent?: string | undefined; within?: string | undefined; level?: LevelOrUnknown | undefined };

/**
 * The zones of a day. With `figures`, each item adds what a list of communes shows beside the
 * level — `population`, `community_cases_7d` and `incidence_per_100k_7d` (the map's
 * properties: the 7 days ending `date`, null when nothing was reported), the `override` in
 * force and `computed_at` — read in one more query for the whole list.
 */
export async function listZones(rt: Runtime, r: Reading, filter: ZoneListFilter, figures = false): Promise<{ etag: string; body: () => Promise<ZoneList> }> {
  if (filter.within !== undefined) await requireArea(rt, filter.within);
  const asOf = await readingAt(rt, r);
  // the day's levels, areas, overrides and the week's reports: the map's tag of the day
  const etag = await rt.maps.etag({ date: r.date, asOf }, `zones:${JSON.stringify([filter.kind, filter.parent, filter.within, filter.level, figures, r.version])}`);
  return { etag, body: () => zoneList(rt, r, asOf, filter, figures) };
}

async function zoneList(rt: Runtime, r: Reading, asOf: Date | null, filter: ZoneListFilter, figures: boolean): Promise<ZoneList> {
  const rows = await zonesOn(rt.db.read, r.date, asOf, filter, 'levels');
  const head = { date: r.date, as_of: asOf?.toISOString() ?? null, version: r.version };
  if (!figures) return { ...head, items: rows.map(zoneItem) };
  const cases = await cases7(rt.db.read, r.date, rows.map((z) => z.area_id), asOf);
  const items = rows.map((z) => {
    const week = cases.get(z.area_id) ?? null;
    return { ...zoneItem(z), population: z.population, community_cases_7d: week, incidence_per_100k_7d: incidencePer100k(week, z.population), override: z.override, computed_at: z.computed_at };
  });
  return { ...head, items };
}

/** `inputs` as plain values (null where missing); the reasons and sources beside them. */
type InputDetail = { missing?: string; detail?: string; origin?: Origin };

function inputsOf(zone: ZoneRow, rs: Pick<StoredRuleSet, 'definition'> | null): { inputs: Record<string, number | null>; input_details: Record<string, InputDetail> } {
  const inputs: Record<string, number | null> = {};
  const details: Record<string, InputDetail> = {};
  for (const [name, v] of Object.entries(rs ? zoneInputs(rs.definition, zone) : {}) as [string, MetricValue & { detail?: string }][]) {
    inputs[name] = 'value' in v ? v.value : null;
    const origin = 'value' in v ? v.origin : undefined;
    if ('missing' in v || v.detail || origin) {
      details[name] = { ...('missing' in v ? { missing: v.missing } : {}), ...(v.detail ? { detail: v.detail } : {}), ...(origin ? { origin } : {}) };
    }
  }
  return { inputs, input_details: details };
}

/** Each metric's name in both languages, and what its values mean where they mean something of their own (a 0/1 flag: không đạt/đạt). */
function inputLabels(definition: RuleSet): Record<string, Bilingual & { values?: Readonly<Record<number, Bilingual>> }> {
  return Object.fromEntries(
    Object.keys(definition.metrics).map((m) => {
      const l = metricLabelOf(definition, m);
      return [m, { ...l.label, ...(l.values ? { values: l.values } : {}) }];
    }),
  );
}

/**
 * One zone with its level, inputs and explanation. The ETag changes with the day's levels,
 * overrides and areas; `body` builds the answer (the caller keeps it under the tag).
 */
export async function zoneDetail(rt: Runtime, code: string, r: Reading): Promise<{ etag: string; body: () => Promise<ZoneDetail> }> {
  const reads = rt.db.read;
  const asOf = await readingAt(rt, r);
  const etag = await rt.maps.etag({ date: r.date, asOf }, `zone:${code}`);
  return { etag, body: async () => zoneDetailBody(rt, await zoneOn(reads, code, r.date, asOf), r.date) };
}

/** The zone answer of `z`, a zone of `date` as read (the route's body; the warm-up's, services/warm.ts). */
export async function zoneDetailBody(rt: Runtime, z: ZoneRow, date: LocalDate): Promise<ZoneDetail> {
  const rs = z.rule_set ? await rt.ruleSets.definition(rt.db.read, z.rule_set) : null;
  return {
    ...zoneCore(z),
    level_label: levelLabel(z.level),
    population: z.population,
    date,
    computed_level: z.computed_level,
    reason: z.reason,
    rule_set: rs ? { id: rs.id, name: rs.name, version: rs.version } : null,
    ...inputsOf(z, rs),
    input_labels: rs ? inputLabels(rs.definition) : {},
    children: z.children,
    explanation: rs ? await withLineage(rt, rs.definition, z, explain(rs.definition, z)) : [],
    pending: z.pending,
    override: z.override,
    computed_at: z.computed_at,
  };
}

/** What a read over days asks for: the reading point (`as_of`) and the version. */
export type SpanReading = { asOf: Date | null; version: Version };

/**
 * A zone's effective level on each day of [from, to] and the changes between them.
 *
 * `latest`: every day as known at `as_of` (now), each compared with the day before (the day
 * before `from` is read too, so that a change on `from` itself is seen). `published`: each
 * day as of its latest publication known at `as_of`; a day without one is listed with
 * `published: false`, level `unknown` and no rule set, and takes no part in the changes —
 * each published day is compared with the previous published day (the last one before
 * `from` included). Every day carries `rule_set`: the rule set that computed its stored
 * level (also on an overridden day, which says `override: true`; null when never computed).
 */
export async function zoneHistory(rt: Runtime, code: string, from: LocalDate, to: LocalDate, reading: SpanReading): Promise<ZoneHistory> {
  checkRange(from, to);
  await requireArea(rt, code);
  const reads = rt.db.read;
  const points: DayPoint[] =
    reading.version === 'latest'
      ? dateRange(addDays(from, -1), to).map((date) => ({ date, asOf: reading.asOf }))
      : await publishedDays(reads, from, to, reading.asOf);
  const s = await series(reads, points, [code]);
  const read = [...s.days.values()][0] ?? [];
  const byDate = new Map(read.map((d) => [d.date, d]));
  const published = reading.version === 'published';
  const through = await throughPredecessors(rt, s.areas[0]?.valid_from ?? null, code, points);
  const area = s.areas[0];
  const days = dateRange(from, to).map((date) => {
    const p = through.get(date);
    if (p) return { date, level: p.level, level_number: levelNumber(p.level), rule_set: null, via: p.via };
    // after the area ended (levels stored before a reorganisation are not its own any more)
    if (area?.valid_to && date > area.valid_to) return { date, level: 'unknown' as LevelOrUnknown, level_number: null, rule_set: null, ended: true as const };
    const d = byDate.get(date);
    if (!d) return { date, level: 'unknown' as LevelOrUnknown, level_number: null, rule_set: null, published: false };
    return { date, level: d.level, level_number: levelNumber(d.level), rule_set: d.rule_set, ...(d.override ? { override: true as const } : {}), ...(published ? { published: true } : {}) };
  });
  const kind = s.areas[0]?.kind ?? 'commune';
  const rules = await definitions(rt, read.filter((d) => d.change !== null).map((d) => d.rule_set));
  // the changes over the days as shown: before a new area began, its predecessors' worst level
  // (its first day's stored change says "formed from…" when it differs); none after an area ended
  const shown: Day[] = [
    ...[...through].map(([date, p]) => ({ date, level: p.level, reason: null, override: false, rule_set: null, change: null })),
    ...read.filter((d) => !through.has(d.date) && !(area?.valid_to && d.date > area.valid_to)),
  ].sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : 0));
  return { code, from, to, version: reading.version, as_of: reading.asOf?.toISOString() ?? null, days, changes: flips(shown, kind, rules) };
}

/**
 * The days before a new area existed, from its predecessors (domain/lineage.ts): each day
 * their worst level, and `via` — the areas it comes from with their own levels.
 */
async function throughPredecessors(rt: Runtime, validFrom: LocalDate | null, code: string, points: DayPoint[]) {
  const out = new Map<LocalDate, { level: LevelOrUnknown; via: { code: string; name: string; level: LevelOrUnknown }[] }>();
  const early = validFrom ? points.filter((p) => p.date < validFrom) : [];
  if (early.length === 0) return out;
  const codes = (await predecessorsOf(rt.db.read, [code])).get(code) ?? [];
  if (codes.length === 0) return out;
  const s = await series(rt.db.read, early, codes);
  // series answers each area's days in the order asked: day k of every area is early[k]
  for (const [k, { date }] of early.entries()) {
    const via = s.areas.map((a) => ({ code: a.code, name: a.name, level: s.days.get(a.id)?.[k]?.level ?? ('unknown' as LevelOrUnknown) }));
    out.set(date, { level: predecessorsLevel(via.map((v) => v.level)), via });
  }
  return out;
}

export type ChangesQuery = {
  since: LocalDate;
  until: LocalDate;
  asOf: Date | null;
  version?: Version | undefined;
  kind?: AreaKind | undefined;
  parent?: string | undefined;
  limit: number;
  cursor?: string | undefined;
};

/**
 * One page of the change feed: at most a month of days per page, every page read as of the
 * first page's instant. `published`: only published days (each as of its latest
 * publication known at that instant), each compared with the previous published day.
 */
export async function changes(rt: Runtime, q: ChangesQuery) {
  const reads = rt.db.read;
  const version = q.version ?? 'latest';
  checkRange(q.since, q.until, ['since', 'until']);
  if (q.parent) await requireArea(rt, q.parent);
  const cursor = q.cursor === undefined ? null : decodeChangesCursor(q.cursor, q.since, q.until, version);
  const asOf = cursor?.asOf ?? q.asOf ?? (await databaseNow(reads));
  const from = cursor?.date ?? q.since;
  const last = addDays(from, CHANGES_PAGE_DAYS - 1);
  const to = last < q.until ? last : q.until;
  const reading: FeedReading = version === 'latest' ? { asOf } : { days: await publishedDays(reads, from, to, asOf) };
  const page = await changesPage(reads, from, to, reading, { kind: q.kind, within: q.parent }, q.limit + 1, cursor?.after ? { date: from, code: cursor.after } : null);
  const shown = page.slice(0, q.limit);
  const rules = await definitions(rt, shown.filter((c) => c.change !== null && c.consecutive).map((c) => c.rule_set));
  const items: ({ code: string; name: string; kind: AreaKind; date: LocalDate; from: LevelOrUnknown; to: LevelOrUnknown } & ReturnType<typeof changeReasonText>)[] = [];
  for (const c of shown) {
    // the words are built here (a full page: ~50 ms of them), in slices between which other requests go on
    if (items.length > 0 && items.length % WORDS_PER_SLICE === 0) await new Promise((r) => setImmediate(r));
    const change = c.change && c.consecutive ? storedChangeText(c.rule_set ? (rules.get(c.rule_set) ?? null) : null, c.kind, c.change, c.from, c.to) : null;
    items.push({ code: c.code, name: c.name, kind: c.kind, date: c.date, from: c.from, to: c.to, ...changeReasonText({ ...c, change }) });
  }
  await firstLevels(rt, items, asOf);
  const end = items[items.length - 1];
  const next: ChangesCursor | null = page.length > q.limit && end ? { date: end.date, after: end.code, asOf, version } : to < q.until ? { date: addDays(to, 1), after: null, asOf, version } : null;
  return { since: q.since, until: q.until, version, items, next_cursor: next ? encodeChangesCursor(next) : null };
}

/**
 * A level after none with nothing recorded about it (the generic "changed under the rules"):
 * when the area had no level on any day before, it is its first — a new commune — and says so
 * ("Cấp độ đầu tiên: Cấp 2" / "first level: level 2 (yellow)"). One query for the page.
 */
async function firstLevels(rt: Runtime, items: { code: string; date: LocalDate; from: LevelOrUnknown; to: LevelOrUnknown; reason: string; reason_text: Bilingual }[], asOf: Date | null): Promise<void> {
  const generic = items.filter((c) => c.from === 'unknown' && c.to !== 'unknown' && c.reason === changeReasonText({ from: 'unknown', to: c.to, to_override: null, from_override: false, reason: null, change: null, consecutive: true }).reason);
  if (generic.length === 0) return;
  const earlier = await levelsBefore(rt.db.read, generic, asOf);
  for (const c of generic) {
    if (earlier.has(`${c.code}|${c.date}`)) continue;
    const first = firstLevelText(c.to);
    c.reason = first.en;
    c.reason_text = { vi: first.vi, en: first.en };
  }
}

type LevelCount = { areas: number; population: number; no_new_community_cases_24h: number; not_reported_24h: number };

/**
 * What a steering committee reads first: areas and people by level, quiet and silent areas,
 * what moved since the day before. Per level, `no_new_community_cases_24h` counts the areas
 * that reported for the day (db/levels.ts `dayReports`: a commune — it or an area below it
 * has a report row; a district or province — its own row, or every commune below it
 * reported) with no community case (quarantine cases aside); `not_reported_24h` counts the
 * areas that did not report. Reports are read as known at the reading point.
 */
export async function summaryAnswer(rt: Runtime, r: Reading, kind: AreaKind, parent: string | undefined): Promise<{ etag: string; body: () => Promise<Summary> }> {
  if (parent) await requireArea(rt, parent);
  const asOf = await readingAt(rt, r);
  // the day and the day before (escalations): both days' tags
  const variant = `summary:${JSON.stringify([kind, parent, r.version])}`;
  const [day, before] = await Promise.all([rt.maps.etag({ date: r.date, asOf }, variant), rt.maps.etag({ date: addDays(r.date, -1), asOf }, variant)]);
  const etag = `W/"${createHash('sha256').update(day + before).digest('base64url').slice(0, 27)}"`;
  return { etag, body: () => summary(rt, r, kind, parent) };
}

export async function summary(rt: Runtime, r: Reading, kind: AreaKind, parent: string | undefined): Promise<Summary> {
  const reads = rt.db.read;
  if (parent) await requireArea(rt, parent);
  const asOf = await readingAt(rt, r);
  const [onDay, dayBefore] = await Promise.all([zonesOn(reads, r.date, asOf, { kind, within: parent }, 'levels'), zonesOn(reads, addDays(r.date, -1), asOf, { kind, within: parent }, 'levels')]);
  const reports = await dayReports(reads, onDay.map((z) => z.area_id), r.date, asOf);
  const byLevel: Record<string, LevelCount> = {};
  for (const l of [...LEVELS, 'unknown'] as LevelOrUnknown[]) byLevel[l] = { areas: 0, population: 0, no_new_community_cases_24h: 0, not_reported_24h: 0 };
  for (const z of onDay) {
    const b = byLevel[z.level] as LevelCount;
    b.areas++;
    b.population += z.population ?? 0;
    const rep = reports.get(z.area_id);
    if (!rep?.reported) b.not_reported_24h++;
    else if (rep.community_cases === 0) b.no_new_community_cases_24h++;
  }
  const before = new Map(dayBefore.map((z) => [z.area_id, z.level]));
  // an area formed that day moved from its predecessors' worst level the day before (domain/lineage.ts)
  const formed = onDay.filter((z) => z.valid_from === r.date && !before.has(z.area_id)).map((z) => z.area_id);
  for (const [id, preds] of await predecessorIds(reads, formed)) before.set(id, predecessorsLevel(preds.map((p) => before.get(p) ?? 'unknown')));
  const moved = (dir: 1 | -1) =>
    onDay
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
    total: { areas: onDay.length, population: onDay.reduce((s, z) => s + (z.population ?? 0), 0) },
    by_level: byLevel as Record<LevelOrUnknown, LevelCount>,
    // the 24-hour sentence of the weekly briefing, from these figures
    sentence: quietSentence(byLevel as Record<LevelOrUnknown, LevelCount>),
    escalated: moved(1),
    deescalated: moved(-1),
  };
}

export type OverrideRequest = { level: Level; reason: string; note?: string | null | undefined; author?: string | null | undefined; from: LocalDate; until?: LocalDate | null | undefined };

/** Sets a command-centre override on an area (409 when an active one already covers any of its days). */
export async function putOverride(rt: Runtime, code: string, o: OverrideRequest, actor: Actor): Promise<z.input<typeof OverrideSet>> {
  const id = await areaId(rt.db.knex, code);
  if (id === null) throw notFound(`Không có đơn vị mã ${code} — no area has code ${code}`);
  const values: OverrideValues = { area_id: id, level: o.level, reason: o.reason, note: o.note ?? null, author: o.author ?? null, date_from: o.from, date_until: o.until ?? null };
  const row = await setOverride(rt.db, code, values, actor, rt.ruleSets);
  return {
    id: Number(row.id),
    code,
    level: o.level,
    reason: o.reason,
    note: values.note,
    author: values.author,
    from: o.from,
    until: values.date_until,
    created_at: row.created_at.toISOString(),
    recompute: queued(rt, row.recompute),
  };
}

/** How an override is ended: `from` (the first day without it) or `until` (its last day); neither: from today in TZ_REPORTING. */
export type OverrideEndRequest = { from?: LocalDate | undefined; until?: LocalDate | undefined };

/**
 * Ends an override from today (or from `from`, or after `until`): the days before keep it in
 * every read; as known before, it still covers its whole period (db/overrides.ts).
 */
export async function stopOverride(rt: Runtime, code: string, overrideId: number, end: OverrideEndRequest, actor: Actor): Promise<z.input<typeof OverrideEnded>> {
  const id = await areaId(rt.db.knex, code);
  if (id === null) throw notFound(`Không có đơn vị mã ${code} — no area has code ${code}`);
  const lastDay = end.until ?? addDays(end.from ?? today(rt.config.reportingTimeZone), -1);
  const given = end.until !== undefined ? 'until' : end.from !== undefined ? 'from' : 'today';
  const ended = await endOverride(rt.db, code, id, overrideId, { lastDay, given }, actor, rt.ruleSets);
  return { id: ended.id, code, from: ended.from, until: ended.until, covers_nothing: ended.covers_nothing, ended_at: ended.ended_at.toISOString(), recompute: queued(rt, ended.recompute) };
}

/** Withdraws an override entered by mistake: gone from latest reads, still read with `as_of` before now and in the audit. */
export async function withdraw(rt: Runtime, code: string, overrideId: number, reason: string, actor: Actor): Promise<z.input<typeof OverrideWithdrawn>> {
  const id = await areaId(rt.db.knex, code);
  if (id === null) throw notFound(`Không có đơn vị mã ${code} — no area has code ${code}`);
  const w = await withdrawOverride(rt.db, code, id, overrideId, reason, actor, rt.ruleSets);
  return { id: w.id, code, withdrawn_at: w.withdrawn_at.toISOString(), reason: w.reason, recompute: queued(rt, w.recompute) };
}

/**
 * The recomputation an override's change queued so that its area's parent rolls it up
 * (db/overrides.ts), handed to the job dispatcher at once; null when none was needed.
 */
function queued(rt: Runtime, r: RollUpRecompute | null): { job: number; from: LocalDate; to: LocalDate } | null {
  if (!r) return null;
  if (r.merged) jobsCoalesced.inc();
  rt.jobs.kick();
  return { job: r.job.id, from: r.from, to: r.to };
}

/** Publishes a day's levels as they stand (the same day again with nothing changed since: that publication, created false). */
export function publishDay(rt: Runtime, date: LocalDate, note: string | null, actor: Actor) {
  return publish(rt.db, date, note, actor);
}

export async function publications(rt: Runtime): Promise<Publications> {
  return { items: await listPublications(rt.db.read) };
}

/** The inputs a stored level was computed from, under the rule set that computed it. */
function zoneInputs(ruleSet: RuleSet, zone: ZoneRow): Inputs {
  return zone.inputs ? readStoredInputs(ruleSet, zone.date, zone.code, zone.inputs) : {};
}

/**
 * Re-derives the explanation of a stored level (the engine is pure, rule sets immutable),
 * with the persistence step after the rule steps when persistence held the level or a
 * change is building up.
 */
function explain(ruleSet: RuleSet, zone: ZoneRow): ExplanationStep[] {
  if (!zone.inputs) return zone.override ? [overrideStep(zone.override, zone.computed_level, 0)] : [];
  const steps = classify(ruleSet, zone.kind, zoneInputs(ruleSet, zone), childList(zone.children), { texts: true }).explanation;
  const last = steps[steps.length - 1];
  const held = persistenceStep(zone.raw_level ?? zone.computed_level, zone.computed_level, (zone.pending ?? null) as Pending | null, ruleSet.persistence, (last?.step ?? -1) + 1);
  const all: ExplanationStep[] = held ? [...steps, held] : steps;
  // an override sets the level over the rules: the explanation ends on the level shown
  return zone.override ? [...all, overrideStep(zone.override, zone.computed_level, (all[all.length - 1]?.step ?? -1) + 1)] : all;
}

/**
 * The explanation of a new area's day whose windows reach back before it began: a last step
 * saying those days are its predecessors' figures (estimated for a predecessor it took part of).
 */
async function withLineage(rt: Runtime, ruleSet: RuleSet, zone: ZoneRow, steps: ExplanationStep[]): Promise<ExplanationStep[]> {
  if (zone.valid_from === null || !zone.inputs) return steps;
  const reach = factNeeds(ruleSet, zone.date).reportsFrom;
  if (reach === null || reach >= zone.valid_from) return steps;
  const formed = await formedFrom(rt.db.read, zone.area_id);
  if (!formed) return steps;
  return [...steps, lineageStep(formed, zone.level, (steps[steps.length - 1]?.step ?? -1) + 1)];
}

/** Changes put in words between two yields to other requests. */
const WORDS_PER_SLICE = 1_000;

/** Days one page of the change feed covers at most: its work is a month of the areas' levels. */
export const CHANGES_PAGE_DAYS = 31;

/** Where the next page of changes starts, the reading point every page shares, and the version read. */
export type ChangesCursor = { date: LocalDate; after: string | null; asOf: Date; version: Version };

export function encodeChangesCursor(c: ChangesCursor): string {
  return Buffer.from(JSON.stringify({ d: c.date, c: c.after, t: c.asOf.toISOString(), ...(c.version === 'published' ? { v: 'published' } : {}) })).toString('base64url');
}

/** A cursor this service issued for the range [since, until] and this version; anything else is a 400. */
export function decodeChangesCursor(cursor: string, since: LocalDate, until: LocalDate, version: Version = 'latest'): ChangesCursor {
  const bad = () => badRequest('cursor is not one this service issued for this range', [{ path: 'cursor', message: 'invalid cursor' }], 'invalid_query');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const shape = z.strictObject({ d: z.string().refine(isLocalDate), c: z.string().max(200).nullable(), t: z.iso.datetime(), v: z.literal('published').optional() }).safeParse(parsed);
  if (!shape.success) throw bad();
  const date = shape.data.d as LocalDate;
  if (date < since || date > until) throw bad();
  if ((shape.data.v ?? 'latest') !== version) throw bad();
  return { date, after: shape.data.c, asOf: new Date(shape.data.t), version };
}

/** A change of level between two days of an area, with its reason (English) and its reason in both languages. */
export type Flip = { date: LocalDate; from: LevelOrUnknown; to: LevelOrUnknown; reason: string; reason_text: Bilingual };

/** What a change's reason is made of (see db/levels.ts `Change`). */
export type FlipParts = {
  from: LevelOrUnknown;
  to: LevelOrUnknown;
  /** the override's reason when the later day is overridden */
  to_override: string | null;
  /** whether the earlier day was overridden */
  from_override: boolean;
  /** the later day's stored reason (a reason code such as `stale_metric:<name>`, or null) */
  reason: string | null;
  /** why the later day's stored level differs from the day before's, as recorded, in words */
  change: ChangeReason | null;
  /** whether the two days are consecutive (a recorded change speaks of the day before only) */
  consecutive: boolean;
};

/** The definitions of the rule sets named (each read once, then kept: rule sets are immutable). */
async function definitions(rt: Runtime, ids: readonly (string | null)[]): Promise<Map<string, RuleSet>> {
  const out = new Map<string, RuleSet>();
  for (const id of new Set(ids)) if (id !== null) out.set(id, (await rt.ruleSets.definition(rt.db.read, id)).definition);
  return out;
}

const DIRECTION_VI = { escalated: 'tăng cấp', 'de-escalated': 'giảm cấp', changed: 'thay đổi' } as const;

/** A stored reason code in Vietnamese (the code itself where none is known). */
export function reasonCodeVi(code: string): string {
  const [head, name] = code.split(/:(.*)/s) as [string, string | undefined];
  if (head === 'stale_metric' && name) return `chỉ số ${name} đã quá cũ`;
  if (head === 'missing_metric' && name) return `chưa có chỉ số ${name}`;
  if (head === 'no_metric' && name) return `chưa có chỉ số ${name}`;
  const known: Record<string, string> = {
    not_computed: 'chưa tính cấp độ',
    no_reports: 'không có báo cáo ca mắc',
    no_population: 'chưa có số dân',
    no_children_levels: 'các đơn vị trực thuộc chưa có cấp độ',
    no_rule_matched: 'không có tiêu chí nào phù hợp',
    no_level_set: 'chưa xác định được cấp độ',
  };
  return known[code] ?? code;
}

/**
 * Why a level changed, in English (`reason`) and in both languages (`reason_text`): an
 * override's own reason ("override: …" / "Quyết định điều chỉnh: …") when the later day is
 * overridden; "override ended" when the earlier day was; else the change recomputation
 * recorded for the day (when the days compared are consecutive); else the generic reason:
 * escalated / de-escalated (either side unknown: changed) with the day's reason code, or
 * "under the rules".
 */
export function changeReasonText(p: FlipParts): { reason: string; reason_text: Bilingual } {
  // the Vietnamese is a sentence of its own (a table cell, a list line): a capital first; the
  // English stays `reason`'s words
  const text = (vi: string, en: string) => ({ reason: en, reason_text: { vi: sentenceCase(vi), en } });
  if (p.to_override !== null) return text(`Quyết định điều chỉnh: ${p.to_override}`, `override: ${p.to_override}`);
  if (p.from_override) return text('hết hiệu lực quyết định điều chỉnh', 'override ended');
  if (p.change && p.consecutive) return text(p.change.vi, p.change.en);
  const direction = p.from === 'unknown' || p.to === 'unknown' ? 'changed' : levelIndex(p.to) > levelIndex(p.from) ? 'escalated' : 'de-escalated';
  if (p.reason) return text(`${DIRECTION_VI[direction]}: ${reasonCodeVi(p.reason)}`, `${direction}: ${p.reason}`);
  return text(`${DIRECTION_VI[direction]} theo tiêu chí`, `${direction} under the rules`);
}

/**
 * The changes of level between each day of one area (of `kind`) and the one before it in the
 * series; a recorded change is put in words with the rule set that judged its day (`rules`).
 */
export function flips(days: Day[], kind: AreaKind, rules: ReadonlyMap<string, RuleSet>): Flip[] {
  const out: Flip[] = [];
  for (let i = 1; i < days.length; i++) {
    const a = days[i - 1] as Day;
    const b = days[i] as Day;
    if (a.level === b.level) continue;
    const parts: FlipParts = {
      from: a.level,
      to: b.level,
      to_override: b.override ? (b.reason as string) : null,
      from_override: a.override,
      reason: b.override ? null : b.reason,
      change: b.change && !b.override ? storedChangeText(b.rule_set ? (rules.get(b.rule_set) ?? null) : null, kind, b.change, a.level, b.level) : null,
      consecutive: addDays(a.date, 1) === b.date,
    };
    out.push({ date: b.date, from: a.level, to: b.level, ...changeReasonText(parts) });
  }
  return out;
}
