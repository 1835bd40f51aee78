import { addDays, LocalDate, today } from './dates';

/**
 * When the daily recomputation is due. `at` is a local time "HH:MM" in the reporting time
 * zone; the run due most recently at instant `now` is that of today if the time has passed,
 * else yesterday's. (A day is named by the local date on which its run falls due.) Pure.
 */
export const SCHEDULE_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function localTimeOfDay(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);
}

export function dueDay(now: Date, timeZone: string, at: string): LocalDate {
  const day = today(timeZone, now);
  return localTimeOfDay(now, timeZone) >= at ? day : addDays(day, -1);
}
