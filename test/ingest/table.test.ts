import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import { unzipSync, zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { AppError } from '../../src/errors';
import { parseCsv } from '../../src/ingest/csv';
import {
  ColumnMap,
  excelSerialDate,
  isCanonicalCsv,
  mapHeader,
  normaliseDate,
  normaliseNumber,
  normaliseTable,
  parseColumnMapText,
  sniffTable,
  TableDialect,
  TableKind,
} from '../../src/ingest/table';
import type { NormaliseOptions } from '../../src/ingest/table';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Feeds `bytes` in chunks of `size` (odd sizes cut characters and lines anywhere). */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Sniffs, normalises and returns the output text. */
async function normalise(bytes: Buffer, kind: TableKind = 'reports', contentType = 'text/csv', columnMap?: ColumnMap, size = 4096, opts?: NormaliseOptions): Promise<string> {
  const dialect = sniffTable(bytes.subarray(0, 65_536), contentType);
  const parts: Buffer[] = [];
  for await (const b of normaliseTable(chunked(bytes, size), dialect, kind, columnMap, opts)) parts.push(b);
  return Buffer.concat(parts).toString('utf8');
}

async function error(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

/** Windows-1258 bytes of NFC text, the way Windows writes them: a precomposed letter where the code page has one, else base letter + combining tone mark. */
function windows1258(text: string): Buffer {
  const parts: Buffer[] = [];
  for (const ch of text) {
    const direct = iconv.encode(ch, 'windows1258');
    if (iconv.decode(direct, 'windows1258') === ch) {
      parts.push(direct);
      continue;
    }
    const nfd = ch.normalize('NFD');
    const tones = [...nfd].filter((c) => '\u0300\u0301\u0303\u0309\u0323'.includes(c)).join('');
    const base = [...nfd].filter((c) => !tones.includes(c)).join('').normalize('NFC');
    parts.push(iconv.encode(base, 'windows1258'), iconv.encode(tones, 'windows1258'));
  }
  const out = Buffer.concat(parts);
  expect(iconv.decode(out, 'windows1258').normalize('NFC')).toBe(text); // the fixture itself is right
  expect(out.includes(0x3f) && !text.includes('?')).toBe(false);
  return out;
}

// The same five reports, as the canonical CSV says them (written by hand, not by the code).
const CANONICAL = [
  'area,date,community_cases,quarantine_cases,deaths,source',
  'C001,2021-09-01,3,1,0,Trạm y tế phường Tân Phong',
  'C002,2021-09-01,12,0,,"Sở Y tế, Đồng Nai"',
  'C003,2021-09-02,1234,5,1,',
  'C004,2021-09-10,0,0,0,Trung tâm Y tế huyện Định Quán',
  'C005,2021-12-31,7,2,,"Nguồn ""A"""',
  '',
].join('\n');

// A Vietnamese-locale Excel's CSV of them: BOM, `;`, CRLF, day-first dates, thousands dots, columns in another order.
const VI_CSV = [
  'Ngày;Mã xã;Ca cộng đồng;Ca trong khu cách ly/phong tỏa;Tử vong;Nguồn',
  '01/09/2021;C001;3;1;0;Trạm y tế phường Tân Phong',
  '1/9/2021;C002;12;0;;"Sở Y tế, Đồng Nai"',
  '02-09-2021; C003 ;1.234;5;1;',
  '10.09.2021;C004;0;0;0;Trung tâm Y tế huyện Định Quán',
  '31/12/2021;C005;7;2;;"Nguồn ""A"""',
  '',
].join('\r\n');

async function viXlsx(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Báo cáo');
  ws.addRow(['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca trong khu cách ly/phong tỏa', 'Tử vong', 'Nguồn']);
  ws.addRow(['C001', new Date(Date.UTC(2021, 8, 1)), 3, 1, 0, { richText: [{ text: 'Trạm y tế ' }, { font: { bold: true }, text: 'phường Tân Phong' }] }]);
  ws.addRow(['C002', '01/09/2021', 12, 0, null, 'Sở Y tế, Đồng Nai']);
  ws.addRow(['C003', new Date(Date.UTC(2021, 8, 2)), 1234, 5, 1, null]);
  ws.addRow(['C004', '10/09/2021', '0', 0, 0, '  Trung tâm Y tế huyện Định Quán ']);
  ws.addRow(['C005', 44561, { formula: '3+4', result: 7 }, 2, null, 'Nguồn "A"']);
  ws.getCell('B6').numFmt = 'dd/mm/yyyy';
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('the same five rows in four dialects', () => {
  test('(a) canonical CSV passes through unchanged, and takes the fast path', async () => {
    const bytes = Buffer.from(CANONICAL);
    expect(isCanonicalCsv(bytes, 'reports')).toBe(true);
    expect(await normalise(bytes)).toBe(CANONICAL);
  });

  test('(b) semicolon, dd/mm/yyyy, BOM, Vietnamese headers', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(VI_CSV)]);
    expect(sniffTable(bytes, 'text/csv')).toEqual({ format: 'csv', encoding: 'utf8', bom: true, delimiter: ';' });
    expect(isCanonicalCsv(bytes, 'reports')).toBe(false);
    for (const size of [1, 3, 7, 4096]) expect(await normalise(bytes, 'reports', 'text/csv', undefined, size)).toBe(CANONICAL);
  });

  test('(c) the Windows-1258 bytes of (b)', async () => {
    const bytes = windows1258(VI_CSV);
    expect(sniffTable(bytes, 'text/csv')).toEqual({ format: 'csv', encoding: 'windows1258', bom: false, delimiter: ';' });
    for (const size of [5, 4096]) expect(await normalise(bytes, 'reports', 'text/csv', undefined, size)).toBe(CANONICAL);
  });

  test('(d) XLSX written by exceljs: date cells, string dates, a serial number, rich text, a formula', async () => {
    const bytes = await viXlsx();
    expect(sniffTable(bytes, 'application/octet-stream').format).toBe('xlsx');
    expect(sniffTable(Buffer.from('Mã xã;Ngày'), XLSX_TYPE).format).toBe('xlsx');
    expect(await normalise(bytes, 'reports', XLSX_TYPE)).toBe(CANONICAL);
    // the same parts re-zipped by another writer (fflate), stored without compression
    const stored = Buffer.from(zipSync(unzipSync(bytes), { level: 0 }));
    expect(await normalise(stored, 'reports', XLSX_TYPE)).toBe(CANONICAL);
  });
});

describe('sniffing and the fast-path test', () => {
  test.each<[string, Buffer, Partial<TableDialect>]>([
    ['comma', Buffer.from('a,b;c,d\n1,2'), { delimiter: ',', encoding: 'utf8', bom: false }],
    ['tab', Buffer.from('Mã xã\tNgày\tCa cộng đồng\n'), { delimiter: '\t' }],
    ['delimiters inside quotes do not count', Buffer.from('"a;b;c",d,e\n'), { delimiter: ',' }],
    ['leading blank lines', Buffer.from('\r\n\r\nx;y\n'), { delimiter: ';' }],
    ['one column', Buffer.from('x\n1\n'), { delimiter: ',' }],
    ['UTF-8 cut in the middle of a character is still UTF-8', Buffer.from('Mã xã;Ngày;Tỉnh ồ').subarray(0, -1), { encoding: 'utf8' }],
    ['a lone high byte is Windows-1258', Buffer.from([0x4d, 0xe3, 0x3b, 0x78, 0x0a]), { encoding: 'windows1258' }],
  ])('%s', (_name, bytes, expected) => {
    expect(sniffTable(bytes, 'text/csv')).toMatchObject({ format: 'csv', ...expected });
  });

  test.each<[string, TableKind, boolean]>([
    ['area,date,community_cases,quarantine_cases\n', 'reports', true],
    ['\uFEFFsource,deaths,quarantine_cases,community_cases,date,area\r\n', 'reports', true],
    ['area,date,community_cases\n', 'reports', false], // a required column missing
    ['area,date,community_cases,quarantine_cases,area\n', 'reports', false],
    ['area_name,date,community_cases,quarantine_cases\n', 'reports', false],
    ['area;date;community_cases;quarantine_cases\n', 'reports', false],
    ['area, date,community_cases,quarantine_cases\n', 'reports', false],
    ['area,date,community_cases,quarantine_cases', 'reports', false], // header not complete
    ['area,date,name,value\n', 'metrics', true],
    ['area,date,name,value\n', 'reports', false],
  ])('isCanonicalCsv(%j, %s) = %s', (text, kind, expected) => {
    expect(isCanonicalCsv(Buffer.from(text), kind)).toBe(expected);
  });
  test('Windows-1258 bytes are never canonical', () => {
    expect(isCanonicalCsv(Buffer.concat([Buffer.from('area,date,name,value\n'), Buffer.from([0x43, 0xe3, 0x2c, 0x0a])]), 'metrics')).toBe(false);
  });
});

describe('headers', () => {
  test.each<[string[], TableKind, (string | null)[]]>([
    [['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca trong khu cách ly/phong tỏa', 'Tử vong', 'Nguồn'], 'reports', ['area', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source']],
    [['MÃ XÃ', 'ngay', 'CA CONG DONG', 'Ca trong khu cách ly / phong toả', ' tử  vong ', 'Nguồn số liệu'], 'reports', ['area', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source']],
    [['STT', 'Xã/Phường', 'Quận/Huyện', 'Ngày báo cáo', 'Số ca cộng đồng', 'Ca cách ly'], 'reports', [null, 'area_name', 'parent_name', 'date', 'community_cases', 'quarantine_cases']],
    [['Tên xã', 'Huyện', 'Tỉnh', 'Ngày', 'Ca cộng đồng', 'Ca trong khu phong tỏa', ''], 'reports', ['area_name', 'parent_name', null, 'date', 'community_cases', 'quarantine_cases', null]],
    [['Tên xã', 'Tỉnh', 'Ngày', 'Ca cộng đồng', 'Ca cách ly'], 'reports', ['area_name', 'parent_name', 'date', 'community_cases', 'quarantine_cases']],
    [['Mã xã', 'Tên xã', 'Ngày', 'community_cases', 'quarantine_cases'], 'reports', ['area', 'area_name', 'date', 'community_cases', 'quarantine_cases']],
    [['Mã xã', 'Ngày', 'Chỉ số', 'Giá trị'], 'metrics', ['area', 'date', 'name', 'value']],
    [['MA XA', 'NGÀY', 'chi so', 'GIA TRI'], 'metrics', ['area', 'date', 'name', 'value']],
  ])('%j (%s)', (header, kind, expected) => {
    expect(mapHeader(header, kind).columns).toEqual(expected);
  });

  test('unknown headers → 422 listing each, with the known names, at line[1]', async () => {
    const e = await error(normalise(Buffer.from('Mã xã;Ngày;Ca cộng đồng;Ca cách ly;Ghi chú;Người lập\n')));
    expect(e.status).toBe(422);
    expect(e.code).toBe('invalid_table_header');
    const messages = e.details.map((d) => d.message);
    expect(e.details.every((d) => d.path === 'line[1]')).toBe(true);
    expect(messages.filter((m) => m.includes('"Ghi chú"'))).toHaveLength(1);
    expect(messages.filter((m) => m.includes('"Người lập"'))).toHaveLength(1);
    expect(messages[0]).toContain('quarantine_cases ("Ca trong khu cách ly/phong tỏa")');
    expect(JSON.stringify(e.toJSON())).toContain('"code":"invalid_table_header"');
  });

  test.each<[string[], string]>([
    [['Mã xã', 'Ngày', 'Ca cộng đồng'], 'missing column quarantine_cases'],
    [['Ngày', 'Ca cộng đồng', 'Ca cách ly'], 'missing column area ("Mã xã") or area_name'],
    [['Mã xã', 'Mã', 'Ngày', 'Ca cộng đồng', 'Ca cách ly'], 'column area appears 2 times'],
    [['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca cách ly', 'Chỉ số'], 'unknown column "Chỉ số"'], // a metrics column in reports
  ])('%j → 422 %s', (header, message) => {
    let err: unknown;
    try {
      mapHeader(header, 'reports');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(422);
    expect((err as AppError).details.map((d) => d.message).join('\n')).toContain(message);
  });

  test('a column map overrides the alias table', async () => {
    const map = parseColumnMapText('area_name=Tên đơn vị, date=Ngày báo cáo ,community_cases=Số F0 mới,quarantine_cases=F0 trong khu cách ly');
    expect(map).toEqual({ area_name: 'Tên đơn vị', date: 'Ngày báo cáo', community_cases: 'Số F0 mới', quarantine_cases: 'F0 trong khu cách ly' });
    const csv = 'Tên đơn vị;Quận/Huyện;Ngày báo cáo;Số F0 mới;F0 trong khu cách ly\nPhường Tân Phong;Biên Hòa;05/09/2021;4;2\n';
    expect(await normalise(Buffer.from(csv), 'reports', 'text/csv', map)).toBe('area_name,parent_name,date,community_cases,quarantine_cases\nPhường Tân Phong,Biên Hòa,2021-09-05,4,2\n');
    // a map can move a known header elsewhere: "Ngày" is normally the date
    expect(mapHeader(['Mã xã', 'Ngày', 'Ngày ghi nhận', 'Ca cộng đồng', 'Ca cách ly'], 'reports', { date: 'Ngày ghi nhận', source: 'Ngày' }).columns).toEqual(['area', 'source', 'date', 'community_cases', 'quarantine_cases']);
  });

  test.each([['area=Mã,nonsense=X', 'unknown column(s): nonsense'], ['area', 'not canonical=header'], ['area=', 'columns.area'], ['area=a,area=b', 'is given twice']])('column map %j → 400', (text, message) => {
    let err: unknown;
    try {
      parseColumnMapText(text);
    } catch (e) {
      err = e;
    }
    expect((err as AppError).status).toBe(400);
    expect(JSON.stringify((err as AppError).details)).toContain(message);
  });

  test('a column map naming a header that is not there → 422', () => {
    expect(() => mapHeader(['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca cách ly'], 'reports', { source: 'Nguồn tin' })).toThrow(AppError);
  });
});

describe('cells', () => {
  test.each([
    ['01/09/2021', '2021-09-01'],
    ['1/9/2021', '2021-09-01'],
    ['12/01/2021', '2021-01-12'], // day first, never month first
    ['13/01/2021', '2021-01-13'],
    ['01-09-2021', '2021-09-01'],
    ['01.09.2021', '2021-09-01'],
    ['2021-09-01', '2021-09-01'],
    ['01/09/2021 00:00', '2021-09-01'],
    ['2021-09-01T00:00:00.000Z', '2021-09-01'],
    ['29/02/2020', '2020-02-29'],
    ['29/02/2021', '29/02/2021'], // impossible: left for the schema to name
    ['31/04/2021', '31/04/2021'],
    ['01/13/2021', '01/13/2021'],
    ['01/09/21', '01/09/21'],
    ['01/09-2021', '01/09-2021'],
    ['hôm qua', 'hôm qua'],
  ])('date %j → %j', (text, expected) => {
    expect(normaliseDate(text)).toBe(expected);
  });

  test.each<[number, boolean, string | null]>([
    [44440, false, '2021-09-01'],
    [44440.75, false, '2021-09-01'],
    [1, false, '1900-01-01'],
    [59, false, '1900-02-28'],
    [60, false, null], // Excel's 1900-02-29 never was
    [61, false, '1900-03-01'],
    [0, false, null],
    [-5, false, null],
    [0, true, '1904-01-01'],
    [42978, true, '2021-09-01'],
  ])('Excel serial %d (1904: %s) → %j', (serial, date1904, expected) => {
    expect(excelSerialDate(serial, date1904)).toBe(expected);
  });

  test.each<[string, boolean, boolean, string]>([
    ['12,5', true, false, '12.5'],
    ['-0,25', true, false, '-0.25'],
    ['12,5', false, false, '12,5'], // a comma-delimited unquoted cell cannot hold it anyway
    ['12.5', true, false, '12.5'],
    ['1.234', true, true, '1234'], // thousands dots in a count
    ['12.345.678', false, true, '12345678'],
    ['1.234', true, false, '1.234'], // in a value: a decimal point
    ['1.23', true, true, '1.23'],
    ['1.2345', true, true, '1.2345'],
    ['1234.567', true, true, '1234.567'],
    ['1.234,5', true, false, '1.234,5'],
    ['12,5', true, true, '12.5'], // then "must be a whole number" downstream
    ['7', true, true, '7'],
  ])('number %j (decimal comma %s, count %s) → %j', (text, decimalComma, integer, expected) => {
    expect(normaliseNumber(text, decimalComma, integer)).toBe(expected);
  });

  test('metrics: Mã xã;Ngày;Chỉ số;Giá trị with a decimal comma', async () => {
    const csv = 'Mã xã;Ngày;Chỉ số;Giá trị\r\nC001;01/09/2021;vaccination_rate;72,5\r\nC002;02/09/2021;tests;1.234\r\n';
    expect(await normalise(Buffer.from(csv), 'metrics')).toBe('area,date,name,value\nC001,2021-09-01,vaccination_rate,72.5\nC002,2021-09-02,tests,1.234\n');
    // comma-delimited: a decimal comma must be quoted to be one cell
    expect(await normalise(Buffer.from('Mã xã,Ngày,Chỉ số,Giá trị\nC001,01/09/2021,r,"72,5"\n'), 'metrics')).toBe('area,date,name,value\nC001,2021-09-01,r,72.5\n');
  });
});

describe('line numbers are kept', () => {
  test('CSV: blank rows, a blank-looking row of delimiters, a multi-line quoted cell, rows before the header', async () => {
    const csv = ['', 'Mã xã;Ngày;Ca cộng đồng;Ca cách ly;Nguồn', 'C1;01/09/2021;1;0;', '', ';;;;', 'C2;02/09/2021;2;0;"dòng một', 'dòng hai"', 'C3;31/02/2021;3;0;', 'C4;03/09/2021;4;0;;lạ'].join('\r\n');
    const out = await normalise(Buffer.from(csv));
    expect(out).toBe(['', 'area,date,community_cases,quarantine_cases,source', 'C1,2021-09-01,1,0,', '', '', 'C2,2021-09-02,2,0,"dòng một\r', 'dòng hai"', 'C3,31/02/2021,3,0,', 'C4,2021-09-03,4,0,,lạ', ''].join('\n'));
    // the ingest's own reader puts each row on the user's line
    expect(parseCsv(out).map((r) => [r.line, r.fields[0]])).toEqual([
      [2, 'area'],
      [3, 'C1'],
      [6, 'C2'],
      [8, 'C3'],
      [9, 'C4'], // and it has an extra field: "expected 5 fields, found 6" at line 9
    ]);
  });

  test('XLSX: a blank row in the middle, a row the sheet leaves out, a cell with a line break', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Trang 1');
    ws.getRow(2).values = ['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca cách ly', 'Nguồn'];
    ws.getRow(3).values = ['C1', '01/09/2021', 1, 0, 'a\nb'];
    ws.getRow(4).values = [null, null, null, null, null];
    ws.getRow(6).values = ['C2', new Date(Date.UTC(2021, 8, 2)), 2.5, 0, 'Trạm, y tế'];
    const out = await normalise(Buffer.from(await wb.xlsx.writeBuffer()), 'reports', XLSX_TYPE);
    expect(out).toBe(['', 'area,date,community_cases,quarantine_cases,source', 'C1,2021-09-01,1,0,a b', '', '', 'C2,2021-09-02,2.5,0,"Trạm, y tế"', ''].join('\n'));
  });

  test('XLSX: a worksheet by name', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Ghi chú').addRow(['Không phải dữ liệu']);
    const ws = wb.addWorksheet('Số liệu');
    ws.addRow(['Mã xã', 'Ngày', 'Chỉ số', 'Giá trị']);
    ws.addRow(['C1', '01/09/2021', 'r', '72,5']);
    const bytes = Buffer.from(await wb.xlsx.writeBuffer());
    expect(await normalise(bytes, 'metrics', XLSX_TYPE, undefined, 4096, { sheet: 'Số liệu' })).toBe('area,date,name,value\nC1,2021-09-01,r,72.5\n');
    expect((await error(normalise(bytes, 'metrics', XLSX_TYPE, undefined, 4096, { sheet: 'Không có' }))).status).toBe(400);
    expect((await error(normalise(bytes, 'metrics', XLSX_TYPE))).status).toBe(422); // the first sheet has no such header
  });
});

describe('hostile and broken input', () => {
  /** The offset of the central directory record of `name` in a zip. */
  function centralEntry(zip: Buffer, name: string): number {
    const at = zip.lastIndexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 1, 2])]), zip.length);
    for (let p = zip.indexOf(Buffer.from([0x50, 0x4b, 1, 2])); p >= 0 && p <= at; p = zip.indexOf(Buffer.from([0x50, 0x4b, 1, 2]), p + 4)) {
      if (zip.toString('utf8', p + 46, p + 46 + zip.readUInt16LE(p + 28)) === name) return p;
    }
    throw new Error(`${name} not in the zip`);
  }

  test('a sheet declaring more than 1 GiB → 413 before inflating', async () => {
    const zip = await viXlsx();
    zip.writeUInt32LE(0x50000000, centralEntry(zip, 'xl/worksheets/sheet1.xml') + 24);
    const e = await error(normalise(zip, 'reports', XLSX_TYPE));
    expect(e.status).toBe(413);
    expect(e.message).toContain('1073741824');
  });

  test('a zip bomb that lies about its size is stopped where the lie shows', async () => {
    // 16 MiB of spaces deflate to ~16 KiB; the directory claims 1,000 bytes
    const bomb = Buffer.concat([Buffer.from('<worksheet><sheetData>'), Buffer.alloc(16 * 2 ** 20, 32), Buffer.from('</sheetData></worksheet>')]);
    const files: Record<string, Uint8Array> = {
      '_rels/.rels': Buffer.from('<Relationships><Relationship Id="r1" Type="x/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
      'xl/workbook.xml': Buffer.from('<workbook><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'),
      'xl/_rels/workbook.xml.rels': Buffer.from('<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
      'xl/worksheets/sheet1.xml': bomb,
    };
    const zip = Buffer.from(zipSync(files, { level: 6 }));
    expect(zip.length).toBeLessThan(1 << 20);
    zip.writeUInt32LE(1000, centralEntry(zip, 'xl/worksheets/sheet1.xml') + 24);
    const e = await error(normalise(zip, 'reports', XLSX_TYPE));
    expect(e.status).toBe(413);
    expect(e.message).toContain('more than the 1000 bytes it declares');
    // honest sizes, lower total limit: refused from the directory
    const honest = Buffer.from(zipSync(files, { level: 6 }));
    expect((await error(normalise(honest, 'reports', XLSX_TYPE, undefined, 4096, { limits: { maxUncompressed: 8 * 2 ** 20 } }))).status).toBe(413);
  });

  /** A minimal workbook whose first sheet's <sheetData> is `rows`. */
  function sheetXlsx(rows: string): Buffer {
    const files: Record<string, Uint8Array> = {
      '_rels/.rels': Buffer.from('<Relationships><Relationship Id="r1" Type="x/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
      'xl/workbook.xml': Buffer.from('<workbook><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'),
      'xl/_rels/workbook.xml.rels': Buffer.from('<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
      'xl/worksheets/sheet1.xml': Buffer.from(`<worksheet><sheetData>${rows}</sheetData></worksheet>`),
    };
    return Buffer.from(zipSync(files, { level: 6 }));
  }
  const inline = (ref: string, text: string) => `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;
  const header = `<row r="1">${inline('A1', 'Mã xã')}${inline('B1', 'Ngày')}${inline('C1', 'Ca cộng đồng')}${inline('D1', 'Ca cách ly')}</row>`;

  test('a title row (one cell, often merged across) above the header is left out, keeping line numbers', async () => {
    const rows = `<row r="1">${inline('A1', 'BÁO CÁO CA MẮC COVID-19 THEO XÃ')}</row><row r="2">${inline('A2', 'Ngày 01/09/2021')}</row>${header.replace(/r="1"/, 'r="3"').replace(/([A-D])1"/g, '$13"')}<row r="4">${inline('A4', 'C11')}${inline('B4', '01/09/2021')}<c r="C4"><v>3</v></c><c r="D4"><v>0</v></c></row>`;
    expect(await normalise(sheetXlsx(rows), 'reports', XLSX_TYPE)).toBe('\n\narea,date,community_cases,quarantine_cases\nC11,2021-09-01,3,0\n');
    const csv = 'BÁO CÁO CA MẮC;;;\nMã xã;Ngày;Ca cộng đồng;Ca cách ly\nC11;01/09/2021;3;0\n';
    expect(await normalise(Buffer.from(csv))).toBe('\narea,date,community_cases,quarantine_cases\nC11,2021-09-01,3,0\n');
  });

  test('a value far to the right (column XFC) is refused at once; an empty formatted cell there is skipped', async () => {
    // 2,000 rows with a value at XFC made 16,384 cells a row: seconds of work and gigabytes
    let rows = header;
    for (let r = 2; r < 2002; r++) rows += `<row r="${r}"><c r="XFC${r}"><v>1</v></c></row>`;
    const e = await error(normalise(sheetXlsx(rows), 'reports', XLSX_TYPE));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/row 2: a value in column 16383, beyond the 256 columns/);
    const formatted = `${header}<row r="2">${inline('A2', 'C11')}${inline('B2', '01/09/2021')}<c r="C2"><v>3</v></c><c r="D2"><v>0</v></c><c r="XFC2" s="1"/></row>`;
    expect(await normalise(sheetXlsx(formatted), 'reports', XLSX_TYPE)).toBe('area,date,community_cases,quarantine_cases\nC11,2021-09-01,3,0\n');
  });

  test('a row of more than 64 KiB of text is refused at once (cells referring to one huge string made gigabytes)', async () => {
    // 250 cells (columns implied by their order) of 300 characters each
    const cells = `<c t="inlineStr"><is><t>${'x'.repeat(300)}</t></is></c>`.repeat(250);
    const rows = `${header}<row r="2">${cells}</row>`;
    const e = await error(normalise(sheetXlsx(rows), 'reports', XLSX_TYPE));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/row 2: more than 65536 characters of text in one row/);
  });

  test('a cell body of "<t " repeated without ">" is read in linear time (no regular-expression backtracking)', async () => {
    const timeFor = async (n: number) => {
      const body = `${header}<row r="2"><c r="A2" t="inlineStr"><is>${'<t '.repeat(n)}</is></c></row>`;
      const t0 = performance.now();
      await normalise(sheetXlsx(body), 'reports', XLSX_TYPE).catch(() => '');
      return performance.now() - t0;
    };
    await timeFor(1000); // warm-up
    const small = await timeFor(20_000);
    const large = await timeFor(200_000);
    // linear: about 10× for 10× the input (quadratic was 100×); a wide margin for a noisy machine
    expect(large / Math.max(small, 1)).toBeLessThan(40);
  });

  test('more than 10,000 zip entries → 413', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i <= 10_000; i++) files[`x/${i}`] = new Uint8Array(0);
    const e = await error(normalise(Buffer.from(zipSync(files, { level: 0 })), 'reports', XLSX_TYPE));
    expect(e.status).toBe(413);
    expect(e.message).toContain('10001 zip entries');
  });

  test('a DOCTYPE (entity expansion) is refused', async () => {
    const files: Record<string, Uint8Array> = {
      'xl/workbook.xml': Buffer.from('<!DOCTYPE x [<!ENTITY a "aaaa">]><workbook><sheets><sheet name="S" r:id="rId1"/></sheets></workbook>'),
    };
    const e = await error(normalise(Buffer.from(zipSync(files)), 'reports', XLSX_TYPE));
    expect(e.status).toBe(400);
    expect(e.message).toContain('DOCTYPE');
  });

  test('not a zip, a damaged zip → 400', async () => {
    expect((await error(normalise(Buffer.from('PK\x03\x04 but nothing else'), 'reports', XLSX_TYPE))).status).toBe(400);
    const zip = await viXlsx();
    const sheet = centralEntry(zip, 'xl/worksheets/sheet1.xml');
    const local = zip.readUInt32LE(sheet + 42);
    zip.fill(0x55, local + 60, local + 200); // garbage inside the deflate stream
    expect((await error(normalise(zip, 'reports', XLSX_TYPE))).status).toBe(400);
  });

  test('CSV: an unclosed quote, an empty table, bytes that stop being UTF-8', async () => {
    const unclosed = await error(normalise(Buffer.from('Mã xã;Ngày;Ca cộng đồng;Ca cách ly\nC1;"01/09/2021;1;0\n')));
    expect([unclosed.status, unclosed.details[0]?.path]).toEqual([400, 'line[2]']);
    expect((await error(normalise(Buffer.from('\r\n;;;\r\n')))).status).toBe(422);
    const mixed = Buffer.concat([Buffer.from('Mã xã;Ngày;Ca cộng đồng;Ca cách ly\nC1;01/09/2021;1;0\n'), Buffer.from([0x43, 0xe3, 0x3b, 0x0a])]);
    // the sniffer saw only UTF-8 (the first bytes); the bad ones come later
    const dialect: TableDialect = { format: 'csv', encoding: 'utf8', bom: false, delimiter: ';' };
    const bad = await error((async () => {
      for await (const b of normaliseTable(chunked(mixed, 20), dialect, 'reports')) void b;
    })());
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('invalid_utf8');
  });
});

test('a file written to disk and read back in 64 KiB chunks (the way the service streams uploads)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-table-'));
  try {
    const file = path.join(dir, 'bao-cao.xlsx');
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true });
    const ws = wb.addWorksheet('Báo cáo');
    ws.addRow(['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca trong khu cách ly/phong tỏa', 'Tử vong']).commit();
    for (let i = 0; i < 20_000; i++) ws.addRow([`X${i % 700}`, new Date(Date.UTC(2021, 0, 1 + (i % 365))), i % 23, i % 11, i % 2 ? null : 1]).commit();
    ws.commit();
    await wb.commit();
    const parts: Buffer[] = [];
    const first = fs.readFileSync(file).subarray(0, 65_536);
    for await (const b of normaliseTable(fs.createReadStream(file, { highWaterMark: 65_536 }), sniffTable(first, ''), 'reports')) parts.push(b);
    const lines = Buffer.concat(parts).toString('utf8').split('\n');
    expect(lines).toHaveLength(20_002);
    expect(lines[0]).toBe('area,date,community_cases,quarantine_cases,deaths');
    expect(lines[1]).toBe('X0,2021-01-01,0,0,1');
    expect(lines[20_000]).toBe(`X${19_999 % 700},${new Date(Date.UTC(2021, 0, 1 + (19_999 % 365))).toISOString().slice(0, 10)},${19_999 % 23},${19_999 % 11},`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
