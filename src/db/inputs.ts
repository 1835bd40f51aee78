import { Knex } from 'knex';
import { AreaKind } from '../domain/areas';
import { addDays, LocalDate } from '../domain/dates';
import { FactTexts, inputSeriesOf } from '../domain/factText';
import { FactNeeds, factNeeds, InputSeries, ReportColumn, SeriesArea } from '../domain/inputs';
import { RuleSet } from '../domain/rules/definition';
import { Inputs } from '../domain/rules/engine';
import { arrayBindings } from './knex';
import { areasOn, HistoryArea, HistoryLink, HistoryVersion, MapHistory, SeriesLineage } from '../domain/lineage';

/**
 * The stored facts a rule set needs, loaded for a span of days in a few set-based
 * statements; the inputs themselves are computed by domain/inputs.ts. Areas above
 * communes are assessed on their own aggregated figures: the reports of their whole
 * subtree, their own census population.
 */
export type AreaNode = { id: number; code: string; kind: AreaKind; parent_id: number | null; population: number | null };

/**
 * The areas to classify. Their ancestor closure is the area_tree table, kept by area imports;
 * their kind decides which of them derive missing indicators from their children.
 */
export async function loadAreas(trx: Knex, date: LocalDate): Promise<AreaNode[]> {
  return areasOn(await loadMapHistory(trx), date);
}

/**
 * The map over time, as classification reads it: every area with its days and latest
 * attributes, the earlier versions (parent, population) and the lineage links. A country is
 * ~11,000 areas: a few hundred kilobytes.
 */
export async function loadMapHistory(trx: Knex): Promise<MapHistory> {
  // one after another: `trx` may be one transaction's connection (one query at a time)
  const areas = await trx.raw<{ rows: HistoryArea[] }>(
    `SELECT id, code, name, kind, parent_id, population, valid_from::text AS valid_from, valid_to::text AS valid_to, attributes_from::text AS attributes_from FROM areas ORDER BY id`,
  );
  const versions = await trx.raw<{ rows: HistoryVersion[] }>(
    `SELECT area_id, valid_from::text AS valid_from, valid_to::text AS valid_to, parent_id, population FROM area_versions ORDER BY area_id, valid_to`,
  );
  const lineage = await trx.raw<{ rows: HistoryLink[] }>(`SELECT area_id, predecessor_id, share, date::text AS date FROM area_lineage ORDER BY predecessor_id, area_id`);
  return { areas: areas.rows, versions: versions.rows, lineage: lineage.rows };
}

/**
 * What a stamp is: the snapshot a statement saw (`pg_current_snapshot()`), after the server's
 * start time. Kept things are still what is stored when no change of their kind (and, for
 * facts, touching their days) has been logged since by a transaction that snapshot did not
 * see (migration 23: each change row holds its transaction's id, and only rows from
 * transactions at or after the snapshot's oldest need be looked at — an index range, however
 * long the log). Read before what it stamps: a change committed in between is one the stamp
 * did not see, so the next run reads again. Another server (a restore elsewhere) starts its
 * transaction ids over; its start time differs, and nothing kept under the old one is taken.
 */
export const STAMP_SQL = `extract(epoch FROM pg_postmaster_start_time())::text || '|' || pg_current_snapshot()::text`;

/** Whether nothing of kind `kind` touching a day up to `$to` changed since stamp `$stamp` (bindings: stamp, stamp, stamp, kind, to). */
export const UNCHANGED_SINCE_SQL = `(?::text IS NOT NULL AND split_part(?::text, '|', 1) = extract(epoch FROM pg_postmaster_start_time())::text AND NOT EXISTS (
    SELECT 1 FROM data_changes c, (SELECT split_part(?::text, '|', 2)::pg_snapshot AS s) k
    WHERE c.txid >= pg_snapshot_xmin(k.s) AND NOT pg_visible_in_snapshot(c.txid, k.s) AND c.kind = ? AND c.lo <= ?::date))`;

/**
 * What tells whether the map over time is still the one a run keeps (run.ts `RunCarry`): no
 * change to areas, their versions or their lineage logged since its stamp (`STAMP_SQL`;
 * migration 23: a row per statement). `MAP_STAMP_SQL` is the stamp now and whether the kept
 * one (the binding, repeated three times; null: none) still holds. Read before the map.
 */
export const MAP_STAMP_SQL = `SELECT ${STAMP_SQL} AS map, ${UNCHANGED_SINCE_SQL.replace("c.kind = ? AND c.lo <= ?::date", "c.kind = 'map'")} AS map_kept`;

/**
 * Loads the facts for days [from, to] and returns their inputs series. Each query returns
 * its rows as one compact text ("a,b,c;a,b,c…"), parsed straight into typed arrays
 * (domain/factText.ts): far cheaper than a row object per report when a backfill reads
 * millions of them.
 */
export async function loadInputSeries(knex: Knex, ruleSet: RuleSet, areas: SeriesArea[], from: LocalDate, to: LocalDate, lineage?: SeriesLineage): Promise<InputSeries> {
  return inputSeriesOf(ruleSet, areas, await loadFactTexts(knex, ruleSet, from, to), lineage);
}

/** The facts for days [from, to] as the database's texts, unparsed (the preview parses them in a worker). */
export async function loadFactTexts(knex: Knex, ruleSet: RuleSet, from: LocalDate, to: LocalDate): Promise<FactTexts> {
  return { from, to, reports: (await loadReportTexts(knex, ruleSet, from, to)).texts, indicators: (await loadIndicatorTexts(knex, ruleSet, from, to)).texts };
}

/**
 * One part of the facts as read for a run's days up to `to`, with the stamp of that part
 * as it stood before it was read (`STAMP_SQL`): what a process keeps for its next run
 * (jobs/recompute/run.ts `RunCarry`).
 */
export type StampedFacts<K extends 'reports' | 'indicators'> = { to: LocalDate; texts: FactTexts[K]; stamp: string };

/**
 * Whether facts read with these stamps (db/levelWriter.ts `RunFacts`) still stand: no change
 * to reports or indicators of a day up to `to` committed since they were read. A part with
 * no stamp was not read (the rule set needs none of it): it stands.
 */
export async function factsStand(knex: Knex, stamps: { reports: string; indicators: string }, to: LocalDate): Promise<boolean> {
  const parts = ([['reports', stamps.reports], ['metrics', stamps.indicators]] as const).filter(([, stamp]) => stamp !== '');
  if (parts.length === 0) return true;
  const res = await knex.raw<{ rows: { ok: boolean }[] }>(
    `SELECT ${parts.map(() => UNCHANGED_SINCE_SQL).join(' AND ')} AS ok`,
    parts.flatMap(([kind, stamp]) => [stamp, stamp, stamp, kind, to]),
  );
  return res.rows[0]?.ok === true;
}

/** The stamp now, and whether facts of `kind` up to `keptTo` stamped `kept` still stand. */
async function factsStamps(knex: Knex, kind: 'reports' | 'metrics', kept: { to: LocalDate; stamp: string } | null): Promise<{ fits: boolean; now: string }> {
  const stamp = kept?.stamp ?? null;
  const res = await knex.raw<{ rows: { fits: boolean; now: string }[] }>(`SELECT ${STAMP_SQL} AS now, ${UNCHANGED_SINCE_SQL} AS fits`, [
    stamp,
    stamp,
    stamp,
    kind,
    kept?.to ?? '-infinity',
  ]);
  const r = res.rows[0] as { fits: boolean | null; now: string };
  return { fits: r.fits === true, now: r.now };
}

/**
 * Days of facts a process keeps before it reads them whole again: the daily job adds one day
 * to what it kept and drops none, so what it holds (and parses each day) grows by a day each
 * run until then — at most a week more than the window. Measured (20 daily jobs in a row on
 * the national set, twice): the same Node CPU a day as with a month kept (median 73–75 ms),
 * the day 102–104 ms against 110–111 ms at the median.
 */
const KEPT_FACTS_DAYS = 7;

/**
 * Whether facts kept up to `kept.to`, read from `keptFrom` on, can stand for the facts of a
 * run needing them from `from` up to `to`: they end on or before `to` (nothing later is
 * held), start on or before `from` (within KEPT_FACTS_DAYS of it), and no change to their
 * days has been committed since their stamp (`now.kept`).
 */
function keptFits(kept: StampedFacts<'reports' | 'indicators'> | null, keptFrom: LocalDate | undefined, from: LocalDate, to: LocalDate, stamps: { fits: boolean }): boolean {
  if (!kept || keptFrom === undefined || kept.to > to || keptFrom > from || addDays(keptFrom, KEPT_FACTS_DAYS) < from) return false;
  return stamps.fits;
}

/**
 * The reports part of `loadFactTexts` (a caller with two connections reads the parts at
 * once). With the reports a process kept from its last run: only the days after them are
 * read, when they still stand (`keptFits`), as texts of the same base day.
 */
export async function loadReportTexts(knex: Knex, ruleSet: RuleSet, from: LocalDate, to: LocalDate, kept: StampedFacts<'reports'> | null = null): Promise<StampedFacts<'reports'>> {
  const needs = factNeeds(ruleSet, from);
  if (!needs.reportsFrom) return { to, texts: null, stamp: '' };
  // the stamp first: a change committed between it and the read makes the next stamp differ
  const stamps = await factsStamps(knex, 'reports', kept);
  const held = kept?.texts;
  if (held && keptFits(kept, held.from, needs.reportsFrom, to, stamps) && held.columns.join() === needs.reportColumns.join()) {
    const more = kept.to < to ? await loadReports(knex, held.from, addDays(kept.to, 1), to, needs.reportColumns) : null;
    return { to, texts: more ? { ...held, n: held.n + more.n, texts: [...held.texts, ...more.texts] } : held, stamp: stamps.now };
  }
  return { to, texts: await loadReports(knex, needs.reportsFrom, needs.reportsFrom, to, needs.reportColumns), stamp: stamps.now };
}

/** The first day of indicator rows a rule set's needs read (by latest value or summed over windows). */
export function firstIndicatorDay(needs: FactNeeds): LocalDate {
  return needs.indicatorsFrom < needs.sumsFrom ? needs.indicatorsFrom : needs.sumsFrom;
}

/** The indicators part of `loadFactTexts`; with kept indicators, as `loadReportTexts`. */
export async function loadIndicatorTexts(knex: Knex, ruleSet: RuleSet, from: LocalDate, to: LocalDate, kept: StampedFacts<'indicators'> | null = null): Promise<StampedFacts<'indicators'>> {
  const needs = factNeeds(ruleSet, from);
  if (!needs.indicators.length && !needs.sums.length) return { to, texts: null, stamp: '' };
  const stamps = await factsStamps(knex, 'metrics', kept);
  const held = kept?.texts;
  const lo = firstIndicatorDay(needs);
  if (held && keptFits(kept, held.from, lo, to, stamps)) {
    if (kept.to >= to) return { to, texts: held, stamp: stamps.now };
    const more = await loadIndicators(knex, needs, to, { base: held.from, after: kept.to });
    const text = held.text === null ? more.text : more.text === null ? held.text : `${held.text};${more.text}`;
    return { to, texts: { ...held, text }, stamp: stamps.now };
  }
  return { to, texts: await loadIndicators(knex, needs, to), stamp: stamps.now };
}

/** Inputs of every area on one date (tests). */
export async function computeInputs(knex: Knex, ruleSet: RuleSet, date: LocalDate, areas: SeriesArea[]): Promise<Map<number, Inputs>> {
  return (await loadInputSeries(knex, ruleSet, areas, date, date)).inputsOn(date);
}

/** Days of reports per query: a country's month is ~5 MB of text. */
const REPORT_CHUNK_DAYS = 31;

/** Each report column as the texts give it (deaths may be null: 0). */
const COLUMN_SQL: Record<ReportColumn, string> = { community_cases: 'community_cases', quarantine_cases: 'quarantine_cases', deaths: 'coalesce(deaths, 0)' };

/**
 * Only the columns the rule set reads: measured on the national bench set (a week, 74,000
 * rows, six rounds), 27–45 ms with all three, 19–30 ms with the one a rule set on community
 * cases reads — the daily job's longest read. Days [from, to], as offsets from `base`.
 */
async function loadReports(knex: Knex, base: LocalDate, from: LocalDate, to: LocalDate, columns: readonly ReportColumn[]): Promise<NonNullable<FactTexts['reports']>> {
  const out = { from: base, n: 0, columns, texts: [] as string[] };
  const row = ['area_id', '(date - ?::date)', ...columns.map((c) => COLUMN_SQL[c])].join(" || ',' || ");
  for (let lo = from; lo <= to; lo = addDays(lo, REPORT_CHUNK_DAYS)) {
    const last = addDays(lo, REPORT_CHUNK_DAYS - 1);
    const res = await knex.raw<{ rows: { n: number; t: string | null }[] }>(
      `SELECT count(*)::int AS n,
              string_agg(${row}, ';') AS t
       FROM reports WHERE date BETWEEN ? AND ?`,
      [base, lo, last < to ? last : to],
    );
    const { n, t } = res.rows[0] ?? { n: 0, t: null };
    out.n += n;
    if (t) out.texts.push(t);
  }
  return out;
}

/**
 * Indicator rows of the span, and for indicators read by latest value, each area's last
 * row before it (an old value still decides whether the nearest ancestor is asked, and tells
 * a value too old — `stale_metric` — from one never reported — `missing_metric`). Every
 * area's rows are loaded, so that a district or province can derive a missing value from its
 * children (domain/inputs.ts).
 *
 * Read area by area, and only for the areas that have metric rows at all, of any name (found
 * by a skip scan of the metrics key: one probe per such area), each name's rows of the span
 * and its last row before it through the key (area_id, name, date): the cost grows with the
 * areas that report any metric (at most every area: then as before), not with the years of
 * history.
 * Measured on the national bench set (698 districts report three indicators weekly; one
 * day's span): 30–46 ms, against 65–120 ms for the span's rows by a scan of every metric and
 * the last rows probed for each of the 12,541 areas (and 28 ms more where the plan's cost
 * had PostgreSQL compile it); the same rows, byte for byte (compared over two spans).
 * With `since` (indicators a process kept up to `since.after`): the rows of the days after
 * it alone, as offsets from the kept rows' base day.
 */
async function loadIndicators(knex: Knex, needs: FactNeeds, to: LocalDate, since: { base: LocalDate; after: LocalDate } | null = null): Promise<NonNullable<FactTexts['indicators']>> {
  const names = [...new Set([...needs.indicators, ...needs.sums])];
  const lo = since ? addDays(since.after, 1) : firstIndicatorDay(needs);
  const base = since ? since.base : lo;
  // after kept rows (`since`): the rows of the new days alone, offsets from the kept base
  const last = since
    ? ''
    : `UNION ALL
       SELECT h.id, n.i, l.date, l.value FROM holders h JOIN names n ON n.name = ANY(?::text[])
       CROSS JOIN LATERAL (SELECT date, value FROM metrics m WHERE m.area_id = h.id AND m.name = n.name AND m.date < ? ORDER BY m.date DESC LIMIT 1) l`;
  const res = await knex.raw<{ rows: { t: string | null }[] }>(
    `WITH RECURSIVE holders AS (
       SELECT (SELECT min(area_id) FROM metrics) AS id
       UNION ALL SELECT (SELECT min(m.area_id) FROM metrics m WHERE m.area_id > h.id) FROM holders h WHERE h.id IS NOT NULL
     ),
     names AS (SELECT name, i FROM unnest(?::text[]) WITH ORDINALITY AS n(name, i)),
     rows AS (
       SELECT h.id AS area_id, n.i, s.date, s.value FROM holders h CROSS JOIN names n
       CROSS JOIN LATERAL (SELECT date, value FROM metrics m WHERE m.area_id = h.id AND m.name = n.name AND m.date BETWEEN ? AND ?) s
       ${last}
     )
     SELECT string_agg(r.area_id || ',' || r.i || ',' || (r.date - ?::date) || ',' || r.value::text, ';') AS t FROM rows r`,
    arrayBindings(since ? [names, lo, to, base] : [names, lo, to, needs.indicators, lo, base]),
  );
  return { from: base, names, text: res.rows[0]?.t ?? null };
}
