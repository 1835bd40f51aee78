import { DayResult } from '../../db/levels';
import { LevelSession } from '../../db/levelWriter';
import { addDays, dateRange, LocalDate } from '../../domain/dates';
import { AppError } from '../../errors';
import { log } from '../../log';
import { treeOrder } from '../../domain/rules/tree';
import { classifyDay } from './assemble';

/** Days of facts loaded at a time: bounded memory, few round trips. */
const BLOCK_DAYS = 92;

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
};

/**
 * Recomputes days [from, to] in date order (persistence chains each day to the next), in a
 * level session (db/levelWriter.ts). Areas and the rule set are read once; facts are loaded
 * a block of days at a time and each day's inputs computed in memory; the next day is
 * computed while the previous one is being written. Each day is one statement, so one
 * transaction. Each day is classified under the rule set in force on it (the timeline,
 * domain/rules/timeline.ts). Answers the days in date order; rejects with 409 when no rule
 * set is in force on some of the days, with 503 `shutting_down` when stopped between two days.
 */
export async function recomputeIn(run: LevelSession, r: RangeRun): Promise<DayResult[]> {
  const { from, to, jobId, onDay } = r;
  const start = await run.start(from, to);
  const { segments, previous, classified } = start;
  // in the order they are classified in, once (classifyTree then visits them as they are)
  const areas = treeOrder(start.areas);
  const results: DayResult[] = [];
  let prev = previous;
  // the last write on each writer; day n goes to writer n mod writers
  const writes: Promise<void>[] = Array.from({ length: run.writers }, () => Promise.resolve());
  let n = 0;
  try {
    // each day under the rule set in force on it: a range across a switch runs each set on its own days
    for (const { from: segFrom, to: segTo, ruleSet: rs } of segments) {
      for (let blockFrom = segFrom; blockFrom <= segTo; blockFrom = addDays(blockFrom, BLOCK_DAYS)) {
        const last = addDays(blockFrom, BLOCK_DAYS - 1);
        const blockTo = last < segTo ? last : segTo;
        await writes[0]; // reads share the first writer's connection
        const t0 = Date.now();
        const series = await run.inputs(rs.definition, areas, blockFrom, blockTo);
        log.debug('recompute block loaded', { from: blockFrom, to: blockTo, rule_set: rs.id, ms: Date.now() - t0 });
        for (const date of dateRange(blockFrom, blockTo)) {
          if (r.stopping()) throw new AppError(503, 'shutting_down', `the service is stopping: recomputation stopped before ${date}; every earlier day is complete`);
          const t1 = Date.now();
          const packed = series.packedOn(date);
          await yieldToIo();
          const { rows, next } = classifyDay(rs, date, areas, packed, prev);
          prev = next;
          await yieldToIo();
          const day = run.prepare(rs.id, date, rows, jobId, !classified.has(date));
          const computeMs = Date.now() - t1;
          const writer = n++ % run.writers;
          await writes[writer];
          const t2 = Date.now();
          const write = run.write(writer, day).then(async (written) => {
            log.debug('day recomputed', { ...written, compute_ms: computeMs, write_ms: Date.now() - t2 });
            results.push(written);
            await onDay?.(written);
          });
          write.catch(() => undefined); // awaited before this writer's next day, or below
          writes[writer] = write;
        }
      }
    }
    await Promise.all(writes);
  } finally {
    await Promise.allSettled(writes); // no statement may outlive the run's connections
  }
  return results.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}
