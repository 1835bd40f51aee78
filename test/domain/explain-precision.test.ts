import fc from 'fast-check';
import {
  bandChecks,
  Check,
  compareOp,
  decimalsFor,
  localize,
  localNumber,
  negateOp,
  Op,
  percentOf,
  plainNumber,
  thresholdText,
} from '../../src/domain/rules/wording';

/**
 * Numbers in explanations (issue 14): a value is printed with the fewest decimals (0 for a
 * whole number, else 2 to 6, else exactly) such that the printed number, compared with every
 * threshold shown beside it, gives what the true value gives. "1 case per 5,001 people"
 * (19.996 per 100k) once printed "20.00 (< 20)".
 */

const OPS: Op[] = ['<', '<=', '>', '>=', '==', '!='];
const reads = (printed: string, c: Check) => compareOp(Number(printed), c);

describe('plainNumber never contradicts the comparison shown', () => {
  // every op, thresholds whole and fractional, values on them and ±0.01, ±0.005, ±1e-4, ±1e-9 off
  const thresholds = [20, 0.5, 150, 75, 1, 0, 1_000_000, 4.25];
  const offsets = [0, 0.01, -0.01, 0.005, -0.005, 0.0049, -0.0049, 1e-4, -1e-4, 1e-9, -1e-9, 0.3, -0.3];
  const rows = thresholds.flatMap((t) => offsets.flatMap((d) => OPS.map((op) => [t + d, op, t] as const)));

  test.each(rows)('%p %s %p', (value, op, t) => {
    const c = { op, value: t };
    const printed = plainNumber(value, [c]);
    expect(reads(printed, c)).toBe(compareOp(value, c));
  });

  test('property: any value, any op, any threshold near it', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(...OPS), fc.double({ min: -1, max: 1, noNaN: true }), (t, op, d) => {
        const value = t + d * 0.02;
        const c = { op, value: t };
        expect(reads(plainNumber(value, [c]), c)).toBe(compareOp(value, c));
      }),
    );
  });

  test('both bounds of a band at once', () => {
    const b = { thresholds: [20, 50], inclusive: 'lower' as const };
    for (const v of [19.996, 20.00001, 49.9999, 49.994, 20.004]) {
      const i = v < 20 ? 0 : v < 50 ? 1 : 2;
      const checks = bandChecks(b, i);
      const printed = plainNumber(v, checks);
      for (const c of checks) expect(reads(printed, c)).toBe(true);
    }
  });
});

describe('decimalsFor: the fewest decimals that agree', () => {
  test.each([
    // whole numbers: no decimals
    [20, '<', 20, 0],
    [0, '>=', 0.5, 0],
    [-3, '<', 10, 0],
    // far from the threshold: 2
    [65.1, '<', 70, 2],
    [19.5, '<', 20, 2],
    [20.5, '>=', 20, 2],
    // 19.996 beside < 20: 20.00 would read false, so 3
    [19.996, '<', 20, 3],
    [19.9996, '<', 20, 4],
    [19.99996, '<', 20, 5],
    [19.999996, '<', 20, 6],
    // 20.00001 beside ≥ 20: 20.00 ≥ 20 holds, so 2 is enough
    [20.00001, '>=', 20, 2],
    // but beside > 20 it is not: 20.00 > 20 is false
    [20.00001, '>', 20, 5],
    [19.99999, '<=', 20, 2],
    [20.004, '<=', 20, 3],
    [20.004, '==', 20, 3],
    [20.004, '!=', 20, 3],
    // beyond 6 decimals: printed exactly
    [19.9999999, '<', 20, null],
    [20.0000001, '>', 20, null],
  ] as const)('%p beside %s %p: %p', (value, op, t, d) => {
    expect(decimalsFor(value, [{ op, value: t }])).toBe(d);
  });

  test('no checks: 2 decimals for a fraction', () => {
    expect(decimalsFor(1 / 3, [])).toBe(2);
    expect(plainNumber(1 / 3)).toBe('0.33');
  });

  test('exactly printed values round-trip', () => {
    expect(plainNumber(19.9999999, [{ op: '<', value: 20 }])).toBe('19.9999999');
    expect(plainNumber(20.0000001, [{ op: '>', value: 20 }])).toBe('20.0000001');
  });

  test('every check must agree, not just one', () => {
    // 49.996 beside ≥ 20 (any precision agrees) and < 50 (needs 3)
    expect(decimalsFor(49.996, [{ op: '>=', value: 20 }, { op: '<', value: 50 }])).toBe(3);
    expect(decimalsFor(49.996, [{ op: '<', value: 50 }, { op: '>=', value: 20 }])).toBe(3);
  });
});

describe('localize: vi-VN and en', () => {
  test.each([
    ['19.996', '19,996', '19.996'],
    ['1234.57', '1.234,57', '1,234.57'],
    ['1000', '1.000', '1,000'],
    ['999', '999', '999'],
    ['100000', '100.000', '100,000'],
    ['1234567.5', '1.234.567,5', '1,234,567.5'],
    ['-1234.5', '-1.234,5', '-1,234.5'],
    ['0.5', '0,5', '0.5'],
    ['1e-7', '1e-7', '1e-7'],
    ['not a number', 'not a number', 'not a number'],
  ])('%s → vi %s, en %s', (plain, vi, en) => {
    expect(localize(plain, 'vi')).toBe(vi);
    expect(localize(plain, 'en')).toBe(en);
  });

  test('localNumber = the precision, then the language', () => {
    expect(localNumber(19.996, 'vi', [{ op: '<', value: 20 }])).toBe('19,996');
    expect(localNumber(19.996, 'en', [{ op: '<', value: 20 }])).toBe('19.996');
    expect(localNumber(1234.5678, 'vi')).toBe('1.234,57');
    expect(localNumber(1000, 'en')).toBe('1,000');
  });

  test('thresholds are printed exactly as the rule set states them', () => {
    expect(thresholdText(0.5, 'vi')).toBe('0,5');
    expect(thresholdText(0.333, 'en')).toBe('0.333');
    expect(thresholdText(100000, 'vi')).toBe('100.000');
    expect(thresholdText(20, 'en')).toBe('20');
  });
});

describe('helpers', () => {
  test.each(OPS)('negateOp(%s) holds exactly when the op does not', (op) => {
    for (const v of [-1, 0, 0.5, 1, 2]) {
      const c = { op, value: 1 };
      expect(compareOp(v, { op: negateOp(op), value: 1 })).toBe(!compareOp(v, c));
    }
  });

  test('percentOf removes the noise of × 100', () => {
    expect(0.29 * 100).not.toBe(29);
    expect(percentOf(0.29)).toBe(29);
    expect(percentOf(0.07)).toBe(7);
    expect(percentOf(0.3)).toBe(30);
    expect(percentOf(0.333)).toBe(33.3);
    expect(percentOf(1)).toBe(100);
  });

  test.each([
    [{ thresholds: [20, 50, 150], inclusive: 'lower' as const }, 0, [{ op: '<', value: 20 }]],
    [{ thresholds: [20, 50, 150], inclusive: 'lower' as const }, 1, [{ op: '>=', value: 20 }, { op: '<', value: 50 }]],
    [{ thresholds: [20, 50, 150], inclusive: 'lower' as const }, 3, [{ op: '>=', value: 150 }]],
    [{ thresholds: [10, 20], inclusive: 'upper' as const }, 0, [{ op: '<=', value: 10 }]],
    [{ thresholds: [10, 20], inclusive: 'upper' as const }, 1, [{ op: '>', value: 10 }, { op: '<=', value: 20 }]],
    [{ thresholds: [10, 20], inclusive: 'upper' as const }, 2, [{ op: '>', value: 20 }]],
  ])('bandChecks %j band %p', (b, i, checks) => {
    expect(bandChecks(b, i)).toEqual(checks);
  });
});
