import type { LocalDate } from '../dates';
import { Level, LevelOrUnknown, levelIndex, LEVELS } from '../levels';
import type { Persistence } from './definition';

/**
 * Persistence (hysteresis) over a day-by-day series of raw levels — pure. Escalation needs
 * `escalate_after_days` days in a row above the current level; de-escalation needs the
 * current level held for `min_stay_days`, then `deescalate_after_days` days in a row below
 * it, and goes down at most `max_step_down` levels at a time. An unknown day is unknown and
 * starts afresh. A change that is building up is reported as `pending`.
 */
export type Pending = { direction: 'up' | 'down'; target: Level; days: number; needed: number };
export type PersistedDay = { date: LocalDate; raw: LevelOrUnknown; level: LevelOrUnknown; since: LocalDate | null; pending: Pending | null };
export type PersistenceState = { level: Level; since: LocalDate; held: number; up: Level[]; down: Level[] } | null;

export function step(state: PersistenceState, date: LocalDate, raw: LevelOrUnknown, p: Persistence): { state: PersistenceState; day: PersistedDay } {
  if (raw === 'unknown') return { state: null, day: { date, raw, level: 'unknown', since: null, pending: null } };
  if (state === null) {
    return { state: { level: raw, since: date, held: 1, up: [], down: [] }, day: { date, raw, level: raw, since: date, pending: null } };
  }
  const cur = levelIndex(state.level);
  const r = levelIndex(raw);
  let { level, since, held } = state;
  let up = r > cur ? [...state.up, raw] : [];
  let down = r < cur ? [...state.down, raw] : [];
  held += 1;
  let pending: Pending | null = null;

  if (up.length >= p.escalate_after_days) {
    // the lowest level that qualified on each of the last N days
    const target = up.slice(-p.escalate_after_days).reduce((a, b) => (levelIndex(a) <= levelIndex(b) ? a : b));
    level = target;
    since = date;
    held = 1;
    up = [];
  } else if (up.length > 0) {
    pending = { direction: 'up', target: up.reduce((a, b) => (levelIndex(a) <= levelIndex(b) ? a : b)), days: up.length, needed: p.escalate_after_days };
  }

  if (down.length > 0) {
    const highest = down.slice(-p.deescalate_after_days).reduce((a, b) => (levelIndex(a) >= levelIndex(b) ? a : b));
    const target = LEVELS[Math.max(levelIndex(highest), cur - p.max_step_down)] as Level;
    if (down.length >= p.deescalate_after_days && held - 1 >= p.min_stay_days) {
      level = target;
      since = date;
      held = 1;
      down = [];
    } else {
      pending = { direction: 'down', target, days: down.length, needed: p.deescalate_after_days };
    }
  }
  return { state: { level, since, held, up, down }, day: { date, raw, level, since, pending } };
}

export function applyPersistence(series: { date: LocalDate; raw: LevelOrUnknown }[], p: Persistence, initial: PersistenceState = null): PersistedDay[] {
  let state = initial;
  return series.map(({ date, raw }) => {
    const r = step(state, date, raw, p);
    state = r.state;
    return r.day;
  });
}
