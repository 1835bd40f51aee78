import { DayFeed, DayResult, LevelRow } from '../../db/levels';
import { LevelSession, RunFacts } from '../../db/levelWriter';
import { inputSeriesOf } from '../../domain/factText';
import { addDays, dateRange, dayNumber, LocalDate } from '../../domain/dates';
import { AppError } from '../../errors';
import { log } from '../../log';
import { treeOrder } from '../../domain/rules/tree';
import { areasOn, MapHistory, mapEpochs, predecessorsLevel, SeriesLineage, seriesLineage } from '../../domain/lineage';
import { FormedChange } from '../../domain/rules/change';
import type { AreaNode } from '../../db/inputs';
import type { PreviousLevel } from '../../db/levels';
import type { OverrideSpan } from '../../db/overrides';
import type { Level } from '../../domain/levels';
import { beforeById, classifyDay, DayBefore, DayMemo, DayOut } from './assemble';

/** The last days of a run written one after another (the change-event trigger's window is a week). */
const EVENT_DAYS = 8;

/** Days of facts loaded at a time: bounded memory, few round trips. */
const BLOCK_DAYS = 92;

/**
 * The days of a run's first block: each block after it has at most twice the days of the one
 * before, up to BLOCK_DAYS. Nothing is computed until the first block's facts are read, and
 * each block is read while the one before is computed: a short first block starts the work
 * sooner, and each block's read (measured on the national bench set: about a third of the
 * time its days take to compute) still ends before the one before is done. The last block of
 * an epoch takes in the days left after it when they are under half a block (no short block
 * that the next block's read would outlast); the first block is never longer (the run's
 * start reads its facts, run.ts `firstTo`).
 */
export const FIRST_BLOCK_DAYS = 12;

/** Lets pending I/O (the previous day's write) move on between slices of computation. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

export type RangeRun = {
  from: LocalDate;
  to: LocalDate;
  /** The job the rows are written for (null: none). */
  jobId: number | null;
  /** Hears of each day once it is written (in the order days finish). */
  onDay?: ((r: DayResult) => Promise<void>) | undefined;
  /** Asked before each day: true stops the run there (every earlier day is whole). */
  stopping(): boolean;
  /**
   * Given: the run goes on to the last classified day as it stands when the run holds the
   * lock, if that is after `to` (days classified since the run was asked for — by a daily job
   * that ran first — are redone too), and hears of the new last day before the first day.
   */
  toLastClassified?: ((to: LocalDate) => Promise<void>) | undefined;
  /** What the process keeps from one run to the next (see `RunCarry`); taken from and left for. */
  carry?: RunCarry | undefined;
};

/**
 * What a run leaves for the next run in the same process, so that the daily job does not read
 * and rebuild what the day before's left in memory: the map over time with what is derived
 * from it (the areas' lineage, who formed whom), under the map's stamp; the last day's rows as
 * the next day starts from them, with the day's memo, under the day's stamp. A run takes each
 * only when its stamp is still the stored one (levelWriter.ts `Kept`: the map unchanged, the
 * day not written since), and the day only when it is the day before the run's first; else it
 * reads them as a run always did. And the facts of its last block, with their stamps: the
 * next run reads only the days after them, while no change to their days has been committed
 * (db/inputs.ts `loadReportTexts`). Set by a run that finished; cleared by one that did not.
 */
export type RunCarry = {
  map: { stamp: string; history: MapHistory; lineage: SeriesLineage; formedFrom: FormedFrom } | null;
  day: { date: LocalDate; stamp: string; before: DayBefore; memo: DayMemo | null } | null;
  facts?: RunFacts | null;
};

/**
 * Recomputes days [from, to] in date order (persistence chains each day to the next), in a
 * level session (db/levelWriter.ts). Areas and the rule set are read once; facts are loaded
 * a block of days at a time (on a real server the next block's read ahead, in a transaction
 * of the pool, while this one is computed and written, and taken if no change to its days
 * was committed meanwhile, else read again: measured, a 365-day backfill of the national bench set
 * waited 2.9 s in all for its blocks' facts and their parsing, 1.1 s with them read ahead;
 * in five interleaved pairs of runs the backfill took 0.2 s longer to 1.6 s shorter, 0.7 s
 * shorter on average, of 18–21 s — the two cores are busy either way) and each day's inputs
 * computed in memory; the next day is
 * computed while the previous one is being written (a day with no levels yet as one COPY of
 * its chunks, db/levels.ts `feedDay`; the server takes it in on the other core). Each day is
 * one statement, so one transaction. Each day is
 * classified under the rule set in force on it (the timeline, domain/rules/timeline.ts).
 * Answers the days in date order; rejects with 409 when no rule set is in force on some of
 * the days, with 503 `shutting_down` when stopped between two days.
 */
export type Epoch = { from: LocalDate; to: LocalDate; areas: AreaNode[] };

/**
 * Days [from, to] in blocks, each within one epoch of the map, sized as FIRST_BLOCK_DAYS
 * says; `last` holds the days of the block before these (0: none), and is left with the last one's.
 */
export function* blocks(from: LocalDate, to: LocalDate, epochs: Epoch[], last: { days: number }): Generator<{ from: LocalDate; to: LocalDate; epoch: Epoch }> {
  for (const epoch of epochs) {
    const lo = epoch.from > from ? epoch.from : from;
    const hi = epoch.to < to ? epoch.to : to;
    for (let b = lo; b <= hi; ) {
      const size = last.days === 0 ? FIRST_BLOCK_DAYS : Math.min(BLOCK_DAYS, 2 * last.days);
      let end = addDays(b, size - 1);
      if (end >= hi || (last.days > 0 && dayNumber(hi) - dayNumber(end) < size / 2)) end = hi;
      yield { from: b, to: end, epoch };
      last.days = dayNumber(end) - dayNumber(b) + 1;
      b = addDays(end, 1);
    }
  }
}

/** Each area formed by a reorganisation: the day, its predecessors' ids and names. */
type FormedFrom = ReadonlyMap<number, { date: LocalDate; ids: number[]; names: string[] }>;

function predecessorsByArea(map: MapHistory): FormedFrom {
  const names = new Map(map.areas.map((a) => [a.id, a.name]));
  const out = new Map<number, { date: LocalDate; ids: number[]; names: string[] }>();
  for (const l of map.lineage) {
    const e = out.get(l.area_id) ?? { date: l.date, ids: [], names: [] };
    e.ids.push(l.predecessor_id);
    e.names.push(names.get(l.predecessor_id) ?? String(l.predecessor_id));
    out.set(l.area_id, e);
  }
  return out;
}

/**
 * On the first day of an epoch: each area that begins that day with no level of its own the
 * day before starts from its predecessors' worst level (domain/lineage.ts), so that a merged
 * commune at the level its parts were at is no change; answers the `formed` change each such
 * area records if its level differs.
 */
function seedFormed(prev: Map<number, PreviousLevel>, areas: AreaNode[], formedFrom: FormedFrom, day: LocalDate, ruleSetId: string): Map<number, FormedChange> {
  const out = new Map<number, FormedChange>();
  for (const a of areas) {
    const f = formedFrom.get(a.id);
    if (!f || f.date !== day || prev.has(a.id)) continue;
    const before = f.ids.map((id) => prev.get(id)).filter((p): p is PreviousLevel => p !== undefined);
    const level = predecessorsLevel(before.map((p) => p.level));
    if (level !== 'unknown') {
      const since = before.filter((p) => p.level === level).map((p) => p.since).filter((s): s is LocalDate => s !== null).sort()[0] ?? day;
      prev.set(a.id, { level, since, persistence: null, rule_set_id: ruleSetId, inputs: null, children: null });
    }
    out.set(a.id, { code: 'formed', date: day, from: f.names });
  }
  return out;
}

/** The map over time and what a run derives from it, under its stamp. */
function fromMap(stamp: string, history: MapHistory): NonNullable<RunCarry['map']> {
  return { stamp, history, lineage: seriesLineage(history, dayNumber, (d) => addDays(d, -1)), formedFrom: predecessorsByArea(history) };
}

/** Whether some area is formed on `day` (its first day starts from its predecessors'). */
function formsOn(formedFrom: FormedFrom, day: LocalDate): boolean {
  for (const f of formedFrom.values()) if (f.date === day) return true;
  return false;
}

/** The levels overrides set on `date`, by area (none: null). */
export function overriddenOn(spans: readonly OverrideSpan[], date: LocalDate): Map<number, Level> | null {
  let out: Map<number, Level> | null = null;
  for (const o of spans) if (o.from <= date && (o.until === null || date <= o.until)) (out ??= new Map()).set(o.area_id, o.level);
  return out;
}

export async function recomputeIn(run: LevelSession, r: RangeRun): Promise<DayResult[]> {
  const { from, jobId, onDay } = r;
  let { to } = r;
  if (r.toLastClassified) {
    const last = await run.lastClassified();
    if (last !== null && last > to) {
      to = last;
      await r.toLastClassified(to);
    }
  }
  const firstTo = addDays(from, FIRST_BLOCK_DAYS - 1);
  const carry = r.carry;
  const kept = carry?.day && carry.day.date === addDays(from, -1) ? carry.day : null;
  const keptFacts = carry?.facts ?? null;
  if (carry) {
    // set again if this run finishes
    carry.day = null;
    carry.facts = null;
  }
  const start = await run.start(from, to, firstTo < to ? firstTo : to, { mapStamp: carry?.map?.stamp ?? null, day: kept && { date: kept.date, stamp: kept.stamp }, facts: keptFacts });
  const { segments, classified, overrides } = start;
  // a kept map still holding takes the new stamp (the log is read from its snapshot on)
  const mapped = start.map ? fromMap(start.mapStamp, start.map) : { ...(carry?.map as NonNullable<RunCarry['map']>), stamp: start.mapStamp };
  const { history: map, lineage, formedFrom } = mapped;
  // the facts read with the start, taken by the first block if it covers the same days under the same rule set
  let first: RunFacts | null = start.first;
  // the facts of the last block read, kept for the next run
  let lastFacts: RunFacts | null = null;
  // the day before as stored, or as the last run left it when that is still what is stored
  const carried = start.previous === null ? (kept as NonNullable<RunCarry['day']>) : null;
  // the map of each epoch (days with the same areas and hierarchy), in the order they are
  // classified in, made once (classifyTree then visits them as they are); the carried day's
  // areas when the map is the same and does not change between that day and this run's first
  const epochs = mapEpochs(map, from, to, (d) => addDays(d, 1), (d) => addDays(d, -1)).map((e, i) => ({
    ...e,
    areas: i === 0 && carried && !start.map && 'rows' in carried.before && mapEpochs(map, carried.date, from, (d) => addDays(d, 1), (d) => addDays(d, -1)).length === 1 ? (carried.before.areas as AreaNode[]) : treeOrder(areasOn(map, e.from)),
  }));
  const results: DayResult[] = [];
  let prev: DayBefore = start.previous ?? (carried as NonNullable<RunCarry['day']>).before;
  // the day before's classifications, for the areas whose values did not change (one per epoch and rule set)
  let memo: DayMemo | null = carried?.memo ?? null;
  // the last write on each writer; day n goes to writer n mod writers
  const writes: Promise<void>[] = Array.from({ length: run.writers }, () => Promise.resolve());
  let n = 0;
  // the facts of the next block, being read
  let reading: Promise<RunFacts> | null = null;
  try {
    // each day under the rule set in force on it: a range across a switch runs each set on its own days
    const sized = { days: 0 };
    const parts = segments.flatMap(({ from: segFrom, to: segTo, ruleSet }) => [...blocks(segFrom, segTo, epochs, sized)].map((b) => ({ ...b, ruleSet })));
    // the facts of each block: the first as the start read them if they are its days; the
    // next block's read while this one is computed and written (on a connection of the pool)
    const factsOf = (k: number): Promise<RunFacts> => {
      const b = parts[k] as (typeof parts)[number];
      const f = first && first.ruleSetId === b.ruleSet.id && first.from === b.from && first.to === b.to ? first : null;
      first = null;
      return f ? Promise.resolve(f) : run.facts(b.ruleSet, b.from, b.to);
    };
    reading = parts.length > 0 ? factsOf(0) : null;
    // whether `reading` was started ahead of its block
    let ahead = false;
    for (let k = 0; k < parts.length; k++) {
      const { from: blockFrom, to: blockTo, epoch, ruleSet: rs } = parts[k] as (typeof parts)[number];
      const areas = epoch.areas;
      const t0 = Date.now();
      let facts = await (reading ?? factsOf(k));
      // facts read ahead are taken while no change to their days has been committed since
      if (ahead && !(await run.factsStand(facts))) facts = await run.facts(rs, blockFrom, blockTo);
      ahead = run.readsAhead && k + 1 < parts.length && !r.stopping();
      reading = ahead ? factsOf(k + 1) : null;
      reading?.catch(() => undefined); // awaited with its block, or when the run ends
      lastFacts = facts;
      const series = inputSeriesOf(rs.definition, areas, facts.texts, lineage);
      log.debug('recompute block loaded', { from: blockFrom, to: blockTo, rule_set: rs.id, ms: Date.now() - t0 });
      // a new area's first day is judged against its predecessors' worst level the day before
      let formed: Map<number, FormedChange> | null = null;
      if (blockFrom === epoch.from && formsOn(formedFrom, blockFrom)) {
        const byId = beforeById(prev);
        formed = seedFormed(byId, areas, formedFrom, blockFrom, rs.id);
        prev = byId;
      }
      memo = DayMemo.for(memo, areas, rs.id);
      for (const date of dateRange(blockFrom, blockTo)) {
        if (r.stopping()) throw new AppError(503, 'shutting_down', `the service is stopping: recomputation stopped before ${date}; every earlier day is complete`);
        const t1 = Date.now();
        const writer = n++ % run.writers;
        // The change events of the last days (level_events, written by a trigger) compare a
        // day with the day before as committed: those days are committed in order.
        const inOrder = date >= addDays(to, -EVENT_DAYS);
        // a day with no levels yet: its rows collected as they are computed, written as its chunks
        const feed: DayFeed | null = classified.has(date) ? null : run.feed(writer, rs.id, date, jobId);
        let rows: LevelRow[];
        try {
          const packed = series.packedOn(date);
          await yieldToIo(); // lets pending I/O move on (the writes under way)
          const out: DayOut = { formed: date === blockFrom ? formed : null, ...(feed ? { onRow: feed.add } : {}) };
          const day = classifyDay(rs, date, areas, packed, prev, memo, overriddenOn(overrides, date), out);
          rows = day.rows;
          prev = day.next;
        } catch (e) {
          await feed?.abort(e instanceof Error ? e : new Error(String(e)));
          throw e;
        }
        const computeMs = Date.now() - t1;
        // on its writer once that is free
        await (inOrder ? Promise.all(writes) : writes[writer]);
        const t2 = Date.now();
        const write = (feed ? feed.end() : run.write(writer, { date, ruleSetId: rs.id, jobId, rows })).then(async (written) => {
          log.debug('day recomputed', { ...written, compute_ms: computeMs, write_ms: Date.now() - t2 });
          results.push(written);
          await onDay?.(written);
        });
        write.catch(() => undefined); // awaited before this writer's next day, or below
        writes[writer] = write;
      }
    }
    await Promise.all(writes);
    if (carry) {
      const last = results.reduce((a, b) => (b.date > a ? b.date : a), from);
      carry.map = mapped;
      carry.day = { date: last, stamp: await run.dayStamp(last), before: prev, memo };
      carry.facts = lastFacts;
    }
  } finally {
    await Promise.allSettled([...writes, reading]); // no statement may outlive the run
  }
  return results.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}
