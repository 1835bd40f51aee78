import fc from 'fast-check';
import { Level, LEVEL_INFO, levelIndex, levelNumber, LEVELS, maxLevel, minLevel, shiftLevel } from '../../src/domain/levels';

/** The four levels (Cấp 1–4), their labels and colours, and the order the rule engine moves along. */
const level = fc.constantFrom(...LEVELS);

describe('the level table', () => {
  test('four levels in order, then unknown: number, Vietnamese and English label, colour', () => {
    expect(LEVELS).toEqual(['green', 'yellow', 'orange', 'red']);
    // the labels people read on the map page and in exports: pinned here word for word
    expect(LEVEL_INFO).toEqual({
      green: { number: 1, vi: 'Cấp 1 – Nguy cơ thấp (bình thường mới)', en: 'Level 1 – low risk (new normal)', color: '#2e9d48' },
      yellow: { number: 2, vi: 'Cấp 2 – Nguy cơ trung bình', en: 'Level 2 – medium risk', color: '#f2c230' },
      orange: { number: 3, vi: 'Cấp 3 – Nguy cơ cao', en: 'Level 3 – high risk', color: '#f07c1e' },
      red: { number: 4, vi: 'Cấp 4 – Nguy cơ rất cao', en: 'Level 4 – very high risk', color: '#d7262b' },
      unknown: { number: null, vi: 'Chưa đủ dữ liệu', en: 'not enough data', color: '#9e9e9e' },
    });
  });

  test.each([
    ['green', 1],
    ['yellow', 2],
    ['orange', 3],
    ['red', 4],
    ['unknown', null],
  ] as const)('levelNumber(%s) = %p', (l, n) => expect(levelNumber(l)).toBe(n));

  test('levelIndex is the position in LEVELS', () => {
    LEVELS.forEach((l, i) => expect(levelIndex(l)).toBe(i));
  });
});

describe('shiftLevel', () => {
  test.each([
    ['green', 1, 'yellow'],
    ['green', 3, 'red'],
    ['green', 9, 'red'], // stops at red
    ['red', -1, 'orange'],
    ['red', -3, 'green'],
    ['yellow', -5, 'green'], // stops at green
    ['orange', 0, 'orange'],
  ] as const)('%s by %i → %s', (from, steps, to) => expect(shiftLevel(from, steps)).toBe(to));

  test('moves by the steps, clamped to green..red', () => {
    fc.assert(
      fc.property(level, fc.integer({ min: -6, max: 6 }), (l, steps) => {
        expect(levelIndex(shiftLevel(l, steps))).toBe(Math.min(3, Math.max(0, levelIndex(l) + steps)));
      }),
    );
  });
});

describe('maxLevel and minLevel', () => {
  test.each([
    ['green', 'red', 'red', 'green'],
    ['red', 'green', 'red', 'green'],
    ['yellow', 'orange', 'orange', 'yellow'],
    ['orange', 'yellow', 'orange', 'yellow'],
    ['orange', 'orange', 'orange', 'orange'],
  ] as const)('%s, %s: max %s, min %s', (a, b, hi, lo) => {
    expect(maxLevel(a, b)).toBe(hi);
    expect(minLevel(a, b)).toBe(lo);
  });

  test('are the higher and the lower of the two, and return one of them', () => {
    fc.assert(
      fc.property(level, level, (a: Level, b: Level) => {
        expect(levelIndex(maxLevel(a, b))).toBe(Math.max(levelIndex(a), levelIndex(b)));
        expect(levelIndex(minLevel(a, b))).toBe(Math.min(levelIndex(a), levelIndex(b)));
      }),
    );
  });
});
