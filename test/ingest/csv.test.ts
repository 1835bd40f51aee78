import { CsvReader, CsvSyntaxError, parseCsv } from '../../src/ingest/csv';

describe('CSV reader', () => {
  test('header and rows with Vietnamese text, CRLF and a BOM', () => {
    const text = '\uFEFFarea,date,source\r\nC1,2021-09-01,Sở Y tế Đồng Nai\r\nC2,2021-09-02,"Trạm y tế, phường"\r\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['area', 'date', 'source'] },
      { line: 2, fields: ['C1', '2021-09-01', 'Sở Y tế Đồng Nai'] },
      { line: 3, fields: ['C2', '2021-09-02', 'Trạm y tế, phường'] },
    ]);
  });

  test('doubled quotes, embedded newlines and a missing final newline', () => {
    const recs = parseCsv('a,b\n"say ""hi""","line1\nline2"\nx,y');
    expect(recs).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['say "hi"', 'line1\nline2'] },
      { line: 4, fields: ['x', 'y'] },
    ]);
  });

  test('empty fields and blank lines', () => {
    expect(parseCsv('a,b,c\n1,,3\n\n,,\n')).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', '', '3'] },
      { line: 4, fields: ['', '', ''] },
    ]);
  });

  test('chunk boundaries anywhere give the same records', () => {
    const text = 'area,source\r\nC1,"a ""q"" b"\r\nC2,"x,\ny"\r\nC3,Đồng\r\n';
    const whole = parseCsv(text);
    for (let cut = 1; cut < text.length; cut++) {
      const r = new CsvReader();
      const recs = [...r.push(text.slice(0, cut)), ...r.push(text.slice(cut)), ...r.end()];
      expect(recs).toEqual(whole);
    }
  });

  test('quote-free text (the fast path) and mixed chunks agree with the state machine at every cut', () => {
    const texts = [
      'area,date,n\r\nC1,2021-09-01,3\r\n\r\nC2,2021-09-02,\r\nĐ3,2021-09-03,5',
      'a,b\nx,y\n"q,1",z\nc,d\n',
      'a\rb\r\nc\n', // a lone CR ends a record too
    ];
    for (const text of texts) {
      const r0 = new CsvReader();
      const whole = [...r0.push(text.replace(/"/g, '"')), ...r0.end()];
      for (let cut = 1; cut < text.length; cut++) {
        for (let cut2 = cut; cut2 < text.length; cut2 += 3) {
          const r = new CsvReader();
          const recs = [...r.push(text.slice(0, cut)), ...r.push(text.slice(cut, cut2)), ...r.push(text.slice(cut2)), ...r.end()];
          expect(recs).toEqual(whole);
        }
      }
    }
    expect(parseCsv('a,b\r\n1,2\r\n\r\n3,4')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
      { line: 4, fields: ['3', '4'] },
    ]);
  });

  test('an unclosed quote is a syntax error naming the line', () => {
    expect(() => parseCsv('a\n"open\n')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('a\n"open\n')).toThrow(/line 2/);
  });
});
