import fc from 'fast-check';

/**
 * Hostile values for property tests: what a careless or malicious client sends. Strings
 * carry SQL and CSV metacharacters, NULs, lone surrogates, combining marks, right-to-left
 * overrides and very long runs; numbers are huge, fractional, negative, non-finite (as
 * JSON cannot say NaN, they arrive as strings, nulls or text); dates are impossible.
 */
export const SQL_META = [
  "'; DROP TABLE reports; --",
  "' OR '1'='1",
  '"; DELETE FROM areas; --',
  '$1',
  '%_%',
  '\\',
  "\\'",
  '/* */',
  'E\'\\x00\'',
  ');--',
];

export const UNICODE_EDGE = [
  '\u0000',
  'a\u0000b',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '𝕏𝕐',
  'Phường Long Bình',
  'Phu\u031bo\u031b\u0300ng', // decomposed
  '\u202eevil', // right-to-left override
  '\ufeff',
  '\u200b',
  '\t\r\n',
  '",\n"',
  'x'.repeat(10_000),
  '',
  ' ',
];

export const hostileString = (valid: string[] = []): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...SQL_META, ...UNICODE_EDGE),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ maxLength: 80 }),
    ...(valid.length ? [fc.constantFrom(...valid), fc.constantFrom(...valid)] : []),
  );

export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(2_147_483_647, 2_147_483_648, -1, -0, 0.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 1e-320),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e309', '12', '', null, true, [], {}, [1], { value: 1 }),
);

export const hostileDate = (valid: string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(...valid),
    fc.constantFrom('2021-02-29', '2021-13-01', '0000-01-01', '1899-12-31', '9999-12-31', '2021-9-1', '2021-09-01T00:00:00Z', '20210901', 'today', '', null, 20210901),
    fc.string({ maxLength: 12 }),
  );

/** A value nested `depth` levels deep in arrays or objects. */
export function nested(depth: number, leaf: unknown = 1, asObject = false): string {
  return asObject ? `${'{"a":'.repeat(depth)}${JSON.stringify(leaf)}${'}'.repeat(depth)}` : `${'['.repeat(depth)}${JSON.stringify(leaf)}${']'.repeat(depth)}`;
}

/** Counts every input tried, per property, for the closing figures. */
export const tried: Record<string, number> = {};
export function count(name: string): void {
  tried[name] = (tried[name] ?? 0) + 1;
}

/** Runs per property: bounded in CI (ZONERISK_PROPERTY_RUNS, default 60). */
export const RUNS = Number(process.env.ZONERISK_PROPERTY_RUNS ?? 60);
