import { Knex } from 'knex';
import pg from 'pg';
import { addDays, LocalDate } from '../domain/dates';
import { FactTexts } from '../domain/factText';
import { collectRows, feedRows, writeRows } from './bulk';
import type { Database } from './database';
import { factsStand, loadIndicatorTexts, loadMapHistory, loadReportTexts, MAP_STAMP_SQL, StampedFacts } from './inputs';
import { MapHistory } from '../domain/lineage';
import { appendDay, classifiedDaysIn, DAY_STAMP_SQL, DayFeed, DayResult, DayRows, dayStamp, feedDay, lastClassifiedDay, LevelConnection, PreviousLevel, previousLevels } from './levels';
import { RECOMPUTE_LOCK } from './locks';
import { OverrideSpan, overridesDuring } from './overrides';
import { getRuleSet, StoredRuleSet } from './rulesets';
import { requireInForce } from './timeline';

/**
 * The level writer: where a recomputation reads and writes, holding the recompute lock.
 *
 * On a real server the lock is a session advisory lock on a connection kept for the whole
 * run, so it holds across processes; the run's reads are transactions on that connection,
 * and its days are written by `writers` connections (that one and, when the pool leaves
 * room, one more, so that the server writes one day on one core while Node computes the
 * next on the other). Each day is one statement on its writer, so one transaction of its
 * own: a day is stored whole or not at all. Recomputation is the only writer of
 * zone_levels, so what the run reads of it stays true. The facts it has loaded can change
 * only by an ingest, whose own recomputation waits for this one and then redoes the days
 * that changed.
 *
 * The embedded engine has one session: there the run's statements go through the pool's
 * one connection, and in-process callers take turns (see jobs/recomputations.ts).
 */
export type LevelSession = {
  /** Connections that write days: day n goes to writer n mod writers. */
  readonly writers: number;
  /**
   * What a run of [from, to] starts from, and the facts of its first days, [from, firstTo]
   * cut to the first rule set's days: the timeline first, then the rest in one transaction
   * while the facts are read on another connection (the daily job's two longest reads, at once).
   * `kept`: the stamps of what the process still holds from its last run (run.ts `RunCarry`);
   * what they show to be current is not read again.
   */
  start(from: LocalDate, to: LocalDate, firstTo: LocalDate, kept?: Kept): Promise<RunStart>;
  /** A day's stamp (db/levels.ts `dayStamp`), read on the first writer's connection: wait for its writes first. */
  dayStamp(date: LocalDate): Promise<string>;
  /** The last day that has levels, as the run finds it holding the lock (before its first day). */
  lastClassified(): Promise<LocalDate | null>;
  /**
   * The facts of days [from, to], read in a transaction of the pool's, not on the run's
   * connections, which are writing: on a real server a run reads its next block of days while
   * it computes and writes this one (`readsAhead`, run.ts), and takes them only if they still
   * stand (`factsStand`) — an ingest committed meanwhile for days the run has not classified
   * yet queues no recomputation of them (db/levels.ts `lateDataSpan`).
   */
  facts(ruleSet: StoredRuleSet, from: LocalDate, to: LocalDate): Promise<RunFacts>;
  /** Whether the next block's facts are read ahead (not on the embedded engine: its one connection would hold the run's writes up). */
  readonly readsAhead: boolean;
  /** Whether facts read earlier still stand: no change to their days committed since (db/inputs.ts `factsStand`). */
  factsStand(facts: RunFacts): Promise<boolean>;
  /**
   * A day that had no levels when the run started, written on writer `writer` as it is
   * computed (db/levels.ts `feedDay`): open it once the writer's last day is written.
   */
  feed(writer: number, ruleSetId: string, date: LocalDate, jobId: number | null): DayFeed;
  /** Appends the rows of a day that had levels on writer `writer` (db/levels.ts `appendDay`). */
  write(writer: number, day: DayRows): Promise<DayResult>;
};

/** Days of a run under one rule set (the timeline cut to the run's span). */
export type RunSegment = { from: LocalDate; to: LocalDate; ruleSet: StoredRuleSet };

/**
 * What a run of [from, to] starts from: its days in runs under the rule set in force on
 * each (domain/rules/timeline.ts), the areas, the stored day before `from`, the days of
 * [from, to] that have levels, the overrides over them (what parents roll up: db/overrides.ts).
 * Refuses (409) days no rule set is in force on.
 */
export type RunStart = {
  segments: RunSegment[];
  /** The map's stamp, and the map (null: the kept one, whose stamp it is). */
  mapStamp: string;
  map: MapHistory | null;
  /** The day before `from` as stored (null: the kept day is, see `Kept`). */
  previous: Map<number, PreviousLevel> | null;
  classified: Set<LocalDate>;
  overrides: OverrideSpan[];
  first: RunFacts;
};

/**
 * What a process keeps from its last run, by stamp (db/inputs.ts `mapStamp`, db/levels.ts
 * `dayStamp`), and the facts it read last (their stamps are in them: db/inputs.ts
 * `StampedFacts`): only the days after them are read, if they still stand.
 */
export type Kept = { mapStamp: string | null; day: { date: LocalDate; stamp: string } | null; facts?: RunFacts | null };

/**
 * The facts of days [from, to] as read for a rule set (`texts`, unparsed: domain/factText.ts),
 * with each part's stamp as it stood before it was read (db/inputs.ts `StampedFacts`).
 */
export type RunFacts = { ruleSetId: string; from: LocalDate; to: LocalDate; texts: FactTexts; stamps: { reports: string; indicators: string } };

/** Facts made of their stamped parts. */
function runFacts(ruleSetId: string, from: LocalDate, to: LocalDate, reports: StampedFacts<'reports'>, indicators: StampedFacts<'indicators'>): RunFacts {
  return { ruleSetId, from, to, texts: { from, to, reports: reports.texts, indicators: indicators.texts }, stamps: { reports: reports.stamp, indicators: indicators.stamp } };
}

/** One stamped part of kept facts, if they were read for rule set `ruleSetId`. */
function keptPart<K extends 'reports' | 'indicators'>(facts: RunFacts | null | undefined, ruleSetId: string, part: K): StampedFacts<K> | null {
  return facts && facts.ruleSetId === ruleSetId ? { to: facts.to, texts: facts.texts[part], stamp: facts.stamps[part] } : null;
}

async function segmentsOf(t: Knex, from: LocalDate, to: LocalDate): Promise<RunSegment[]> {
  const cut = await requireInForce(t, from, to);
  const sets = new Map<string, StoredRuleSet>();
  for (const s of cut) if (!sets.has(s.rule_set_id as string)) sets.set(s.rule_set_id as string, await getRuleSet(t, s.rule_set_id as string));
  return cut.map((s) => ({ from: s.from, to: s.to, ruleSet: sets.get(s.rule_set_id as string) as StoredRuleSet }));
}

/**
 * The map's stamp now and whether the kept map's (`keptMap`, null: none kept) still holds,
 * and the stamp of day `day` (null: none asked), in one statement.
 */
async function startStamps(t: Knex, keptMap: string | null, day: LocalDate | null): Promise<{ map: string; mapKept: boolean; day: string | null }> {
  const res = await t.raw<{ rows: { map: string; map_kept: boolean | null; day: string | null }[] }>(
    `SELECT m.map, m.map_kept, ${day === null ? 'NULL::text' : `(${DAY_STAMP_SQL})`} AS day FROM (${MAP_STAMP_SQL}) m`,
    day === null ? [keptMap, keptMap, keptMap] : [day, keptMap, keptMap, keptMap],
  );
  const r = res.rows[0] as { map: string; map_kept: boolean | null; day: string | null };
  return { map: r.map, mapKept: r.map_kept === true, day: r.day };
}

const factsOf = async (t: Knex, rs: StoredRuleSet, from: LocalDate, to: LocalDate): Promise<RunFacts> =>
  runFacts(rs.id, from, to, await loadReportTexts(t, rs.definition, from, to), await loadIndicatorTexts(t, rs.definition, from, to));

/** A read transaction on a writer's connection. */
type ReadOn = (writer: number) => <R>(body: (t: Knex) => Promise<R>) => Promise<R>;

/** A session over read transactions and writer connections (shared by both engines). */
function session(db: Database, writers: number, readOn: ReadOn, on: (writer: number) => LevelConnection): LevelSession {
  const read = readOn(0);
  // committed on a connection of its own: caches of derived views see it now
  const counted = (r: DayResult): DayResult => {
    if (r.written) db.committed();
    return r;
  };
  return {
    writers,
    start: (from, to, firstTo, kept = { mapStamp: null, day: null }) =>
      // one transaction on the first writer's connection (each costs round trips): the
      // timeline, then the rest and the first days' indicators; their reports meanwhile on
      // the last writer's (the daily job's two longest reads, at once), else in it too
      read(async (t) => {
        const segments = await segmentsOf(t, from, to);
        const head = segments[0] as RunSegment;
        const factsTo = firstTo < head.to ? firstTo : head.to;
        const rs = head.ruleSet.definition;
        const id = head.ruleSet.id;
        const reports = writers > 1 ? readOn(writers - 1)((r) => loadReportTexts(r, rs, from, factsTo, keptPart(kept.facts, id, 'reports'))) : null;
        reports?.catch(() => undefined); // awaited below
        const stamps = await startStamps(t, kept.mapStamp, kept.day && kept.day.date === addDays(from, -1) ? kept.day.date : null);
        const map = stamps.mapKept ? null : await loadMapHistory(t);
        const previous = kept.day && stamps.day === kept.day.stamp ? null : await previousLevels(t, from);
        const more = { classified: await classifiedDaysIn(t, from, to), mapStamp: stamps.map, map, previous, overrides: await overridesDuring(t, from, to) };
        const indicators = await loadIndicatorTexts(t, rs, from, factsTo, keptPart(kept.facts, id, 'indicators'));
        const read = reports ? await reports : await loadReportTexts(t, rs, from, factsTo, keptPart(kept.facts, id, 'reports'));
        return { segments, ...more, first: runFacts(id, from, factsTo, read, indicators) };
      }),
    lastClassified: () => read((t) => lastClassifiedDay(t)),
    dayStamp: (date) => read((t) => dayStamp(t, date)),
    facts: (rs, from, to) => db.knex.transaction((t) => factsOf(t, rs, from, to)),
    readsAhead: db.mode !== 'embedded',
    factsStand: (facts) => factsStand(db.knex, facts.stamps, facts.to),
    feed(writer, ruleSetId, date, jobId) {
      const day = feedDay(on(writer), ruleSetId, date, jobId);
      return { ...day, end: () => day.end().then(counted) };
    },
    write: (writer, day) => appendDay(on(writer), day).then(counted),
  };
}

/**
 * Runs `fn` holding the recompute lock (see above); the lock and the connections are
 * released when it settles. Callers in one process take turns themselves.
 */
export async function withLevelSession<T>(db: Database, fn: (s: LevelSession) => Promise<T>): Promise<T> {
  if (db.mode === 'embedded') {
    const embedded: LevelConnection = {
      rows: async <R>(sql: string, bindings: readonly Knex.RawBinding[]) => (await db.knex.raw<{ rows: R[] }>(sql, bindings)).rows,
      feed: (table, columns) => collectRows(db, columns, (rows) => db.knex.transaction((trx) => writeRows(trx, table, rows))),
      copies: false,
    };
    return fn(session(db, 1, () => (body) => db.knex.transaction(body), () => embedded));
  }
  const { session: pool } = db;
  const conns: pg.ClientBase[] = [];
  try {
    // two writers when the pool leaves room for the job's own bookkeeping and for requests
    const writers = db.session !== db.knex || db.poolMax >= 4 ? 2 : 1;
    for (let i = 0; i < writers; i++) conns.push((await pool.client.acquireConnection()) as pg.ClientBase);
    const [main] = conns as [pg.ClientBase];
    await main.query('SELECT pg_advisory_lock($1)', [RECOMPUTE_LOCK]);
    try {
      const connection = (writer: number): LevelConnection => {
        const conn = conns[writer] as pg.ClientBase;
        return {
          rows: async <R>(sql: string, bindings: readonly Knex.RawBinding[]) => (await pool.raw<{ rows: R[] }>(sql, bindings).connection(conn)).rows,
          feed: (table, columns) => feedRows(conn, table, columns),
          copies: true,
        };
      };
      const readOn: ReadOn = (writer) => (body) => pool.transaction(body, { connection: conns[writer] as pg.ClientBase });
      return await fn(session(db, conns.length, readOn, connection));
    } finally {
      // a connection lost with the server released the lock with its session
      await main.query('SELECT pg_advisory_unlock($1)', [RECOMPUTE_LOCK]).catch(() => undefined);
    }
  } finally {
    for (const c of conns) await pool.client.releaseConnection(c);
  }
}
