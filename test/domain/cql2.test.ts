import fc from 'fast-check';
import { checkCql2, Cql2, Cql2Error, cql2ToSql, Cql2Type, MAX_CQL2_CHARS, MAX_CQL2_DEPTH, MAX_CQL2_TERMS, parseCql2 } from '../../src/domain/cql2';

/** CQL2-text (basic comparisons) as the OGC items' `filter` reads it: text → AST, or the error (with the character it is at); AST → SQL with binds. Pure: no database. */

const str = (value: string) => ({ type: 'string' as const, value });
const num = (value: number) => ({ type: 'number' as const, value });

const parsed: [string, Cql2][] = [
  ["level = 'red'", { op: '=', property: 'level', value: str('red') }],
  ['incidence_per_100k_7d > 50', { op: '>', property: 'incidence_per_100k_7d', value: num(50) }],
  ['incidence_per_100k_7d>=0.06', { op: '>=', property: 'incidence_per_100k_7d', value: num(0.06) }],
  ['population <> -1.5e3', { op: '<>', property: 'population', value: num(-1500) }],
  ["name = 'Phường ''Long'' Bình'", { op: '=', property: 'name', value: str("Phường 'Long' Bình") }],
  ['"level" <= \'orange\'', { op: '<=', property: 'level', value: str('orange') }],
  ['50 < incidence_per_100k_7d', { op: '>', property: 'incidence_per_100k_7d', value: num(50) }],
  ["since >= DATE('2021-10-01')", { op: '>=', property: 'since', value: { type: 'date', value: '2021-10-01' } }],
  ['parent IS NULL', { op: 'isNull', property: 'parent' }],
  // a property may be called date (a feature's day); DATE( starts a literal
  ["date = DATE('2021-10-31')", { op: '=', property: 'date', value: { type: 'date', value: '2021-10-31' } }],
  ["Date >= '2021-10-31'", { op: '>=', property: 'Date', value: str('2021-10-31') }],
  ['parent is not null', { op: 'not', arg: { op: 'isNull', property: 'parent' } }],
  [
    "level = 'red' and incidence_per_100k_7d > 50 AND kind = 'commune'",
    { op: 'and', args: [{ op: '=', property: 'level', value: str('red') }, { op: '>', property: 'incidence_per_100k_7d', value: num(50) }, { op: '=', property: 'kind', value: str('commune') }] },
  ],
  [
    "level = 'red' OR level = 'orange' AND population > 1000",
    { op: 'or', args: [{ op: '=', property: 'level', value: str('red') }, { op: 'and', args: [{ op: '=', property: 'level', value: str('orange') }, { op: '>', property: 'population', value: num(1000) }] }] },
  ],
  [
    "(level = 'red' OR level = 'orange') AND NOT population < 1000",
    {
      op: 'and',
      args: [
        { op: 'or', args: [{ op: '=', property: 'level', value: str('red') }, { op: '=', property: 'level', value: str('orange') }] },
        { op: 'not', arg: { op: '<', property: 'population', value: num(1000) } },
      ],
    },
  ],
  // numbers as CQL2 spells them: a leading or trailing point, a signed exponent
  ['population > .5', { op: '>', property: 'population', value: num(0.5) }],
  ['population > 1.', { op: '>', property: 'population', value: num(1) }],
  ['population > -.5e-1', { op: '>', property: 'population', value: num(-0.05) }],
  // the longest text allowed: exactly MAX_CQL2_CHARS characters
  [`name = '${'x'.repeat(MAX_CQL2_CHARS - 9)}'`, { op: '=', property: 'name', value: str('x'.repeat(MAX_CQL2_CHARS - 9)) }],
  // what GDAL's OAPIF driver sends for -where "level = 'red' AND population > 5"
  ["(level = 'red') AND (population > 5)", { op: 'and', args: [{ op: '=', property: 'level', value: str('red') }, { op: '>', property: 'population', value: num(5) }] }],
];

const refused: [string, RegExp][] = [
  ['', /empty/],
  ['   ', /empty/],
  ["level = 'red", /string is not closed.*character 9/],
  ['level', /expected a comparison.*the end/],
  ["level == 'red'", /expected a literal/],
  ["level = 'red' AND", /expected a property, a literal or '\('/],
  ["level = 'red' level = 'red'", /unexpected 'level'/],
  ["(level = 'red'", /expected '\)'/],
  ["level = 'red')", /unexpected '\)'/],
  ['level = red', /expected a literal/],
  ['1 = 2', /needs a property/],
  ["level LIKE 'r%'", /expected a comparison/],
  ["level = 'red'; DROP TABLE areas", /unexpected ';'/],
  ["DATE('2021-02-30') = since", /DATE needs a date/],
  ["since = DATE('0000-01-01')", /DATE needs a date/],
  // DATE without its parenthesis is a property name, which cannot be compared with a property
  ['since = DATE', /expected a literal .* but found 'DATE' \(at character 9\)$/],
  ['since = DATE(1)', /DATE needs a date 'YYYY-MM-DD' \(years 1900–2999\) \(at character 14\)$/],
  ["since = DATE('2021-10-01'", /expected '\)' but found the end \(at character 26\)$/],
  ['population > 1e+', /unexpected '\+' \(at character 16\)$/],
  ["name = 'a\u0000b'", /a control character/],
  ["level = 'red'\u0007", /a control character/],
  ['population > 1e999', /number out of range/],
  ['"" = 1', /empty property name/],
  ['"level = 1', /quoted property name is not closed/],
  [`${'('.repeat(MAX_CQL2_DEPTH + 1)}level = 'red'${')'.repeat(MAX_CQL2_DEPTH + 1)}`, /nested deeper than/],
  [`${'NOT '.repeat(MAX_CQL2_DEPTH + 1)}level = 'red'`, /nested deeper than/],
  [Array.from({ length: MAX_CQL2_TERMS + 1 }, () => "level = 'red'").join(' OR '), /more than 64 comparisons/],
  [`name = '${'x'.repeat(MAX_CQL2_CHARS)}'`, /longer than 4096 characters/],
];

describe('parseCql2', () => {
  test.each(parsed)('%s', (text, ast) => {
    expect(parseCql2(text)).toEqual(ast);
  });
  test.each(refused)('refuses %s', (text, reason) => {
    expect(() => parseCql2(text)).toThrow(Cql2Error);
    expect(() => parseCql2(text)).toThrow(reason);
  });
});

const TYPES: Record<string, Cql2Type> = { level: 'string', name: 'string', population: 'number', since: 'date', parent: 'string' };

describe('checkCql2 against the queryables', () => {
  test.each([
    ["colour = 'red'", /unknown property colour/],
    ['level > 5', /level is a string, not a number/],
    ["population = 'many'", /population is a number, not 'many'/],
    ["since > 'yesterday'", /since is a date/],
    ['constructor = 1', /unknown property constructor/],
  ])('refuses %s', (text, reason) => {
    expect(() => checkCql2(parseCql2(text), TYPES)).toThrow(reason);
  });
  test('accepts a date as a string or DATE()', () => {
    expect(() => checkCql2(parseCql2("since = '2021-10-01' OR since < DATE('2021-01-01')"), TYPES)).not.toThrow();
  });
});

describe('cql2ToSql', () => {
  const column = (name: string) => ({ sql: `z."${name}"`, type: TYPES[name] as Cql2Type });
  test('every literal is a bind, cast to the property type', () => {
    const ast = parseCql2("(level = 'red'' OR 1=1 --' OR population >= 10) AND NOT since < '2021-10-01' AND parent IS NULL");
    expect(cql2ToSql(ast, column)).toEqual({
      sql: `(((z."level" = ?::text) OR (z."population" >= ?::float8)) AND (NOT (z."since" < ?::date)) AND (z."parent" IS NULL))`,
      binds: ["red' OR 1=1 --", 10, '2021-10-01'],
    });
  });
});

describe('hostile text', () => {
  const token = fc.constantFrom('level', 'population', '"name"', 'AND', 'OR', 'NOT', 'IS', 'NULL', 'DATE', '(', ')', '=', '<>', '<', '<=', '>', '>=', "'red'", "'it''s'", '12', '-0.5e3', "DATE('2021-10-31')", ' ', "'", '"', ';', '--', '%', '\\');
  test('any text either parses or is a Cql2Error — never another error — and compiles to binds only', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.array(token, { maxLength: 80 }).map((t) => t.join(' '))), (text) => {
        let ast: Cql2;
        try {
          ast = parseCql2(text);
        } catch (e) {
          expect(e).toBeInstanceOf(Cql2Error);
          return;
        }
        try {
          checkCql2(ast, TYPES);
        } catch (e) {
          expect(e).toBeInstanceOf(Cql2Error);
          return;
        }
        const { sql } = cql2ToSql(ast, (name) => ({ sql: `z."${name}"`, type: TYPES[name] as Cql2Type }));
        // no literal reaches the SQL text: only columns, operators, casts, binds
        expect(sql.replace(/z\."(level|name|population|since|parent)"|\?::(text|float8|date)|AND|OR|NOT|IS NULL|[()<>= ]/g, '')).toBe('');
      }),
      { numRuns: 3000 },
    );
  });

  test('the limits bound the work: the largest allowed text parses in milliseconds', () => {
    const wide = Array.from({ length: MAX_CQL2_TERMS }, (_, i) => `population > ${i}`).join(' OR ');
    const deep = `${'('.repeat(MAX_CQL2_DEPTH)}level = 'red'${')'.repeat(MAX_CQL2_DEPTH)}`;
    const long = `name = '${"''".repeat((MAX_CQL2_CHARS - 12) / 2)}'`;
    const t = process.hrtime.bigint();
    for (const text of [wide, deep, long]) for (let i = 0; i < 100; i++) parseCql2(text);
    expect(Number(process.hrtime.bigint() - t) / 300e6).toBeLessThan(5); // ms per parse
  });
});
