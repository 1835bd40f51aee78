/** The four epidemic levels (Cấp 1–4) and `unknown` where the data cannot support one. */
export const LEVELS = ['green', 'yellow', 'orange', 'red'] as const;
export type Level = (typeof LEVELS)[number];
export type LevelOrUnknown = Level | 'unknown';

export const LEVEL_INFO: Record<LevelOrUnknown, { number: number | null; vi: string; en: string; color: string }> = {
  green: { number: 1, vi: 'Cấp 1 – Nguy cơ thấp (bình thường mới)', en: 'Level 1 – low risk (new normal)', color: '#2e9d48' },
  yellow: { number: 2, vi: 'Cấp 2 – Nguy cơ trung bình', en: 'Level 2 – medium risk', color: '#f2c230' },
  orange: { number: 3, vi: 'Cấp 3 – Nguy cơ cao', en: 'Level 3 – high risk', color: '#f07c1e' },
  red: { number: 4, vi: 'Cấp 4 – Nguy cơ rất cao', en: 'Level 4 – very high risk', color: '#d7262b' },
  unknown: { number: null, vi: 'Chưa đủ dữ liệu', en: 'not enough data', color: '#9e9e9e' },
};

/** Text in Vietnamese (first: what a command centre reads) and English beside it. */
export type Bilingual = { vi: string; en: string };

/**
 * A level as the explanation texts name it after an arrow: 'Cấp 3' / 'level 3 (orange)';
 * unknown: 'Chưa đủ dữ liệu' / 'unknown (not enough data)'.
 */
export function levelShort(level: LevelOrUnknown): Bilingual {
  const n = LEVEL_INFO[level].number;
  return n === null ? { vi: LEVEL_INFO.unknown.vi, en: 'unknown (not enough data)' } : { vi: `Cấp ${n}`, en: `level ${n} (${level})` };
}

export const levelNumber = (level: LevelOrUnknown): number | null => LEVEL_INFO[level].number;

/** Moves a level up (positive) or down by `steps`, within green..red. */
export function shiftLevel(level: Level, steps: number): Level {
  const i = Math.min(LEVELS.length - 1, Math.max(0, LEVELS.indexOf(level) + steps));
  return LEVELS[i] as Level;
}

export const levelIndex = (level: Level): number => LEVELS.indexOf(level);
export const maxLevel = (a: Level, b: Level): Level => (levelIndex(a) >= levelIndex(b) ? a : b);
export const minLevel = (a: Level, b: Level): Level => (levelIndex(a) <= levelIndex(b) ? a : b);
