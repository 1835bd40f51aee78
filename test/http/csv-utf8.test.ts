import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli';
import { connectDatabase } from '../../src/db/database';
import { addDays, LocalDate } from '../../src/domain/dates';
import { AppError } from '../../src/errors';
import { smallProvince } from '../helpers/fixtures';
import { embedded, rowCounts, testContext } from '../helpers/context';

/**
 * A CSV body that is not UTF-8 (Latin-1, Windows-1258, a cut character) is refused with 400
 * `invalid_utf8` naming its line — never stored with U+FFFD in place of what was meant.
 */
const ctx = testContext();
const postCsv = (path: string, body: Buffer, type = 'text/csv') => ctx.http().post(path).set('Content-Type', type).send(body);

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').send(smallProvince()).expect(200);
});
afterAll(() => ctx.close());

const latin1 = (text: string) => Buffer.from(text, 'latin1');
const utf8 = (text: string) => Buffer.from(text, 'utf8');

test.each([
  ['reports, a Latin-1 é in a source on line 3', '/v1/reports', Buffer.concat([utf8('area,date,community_cases,quarantine_cases,source\nC11,2021-10-01,1,0,Trạm\n'), latin1('C12,2021-10-01,1,0,Café\n'), utf8('C21,2021-10-01,1,0,x\n')]), 3],
  ['reports with a BOM and CRLF, a cut character at the end of line 2', '/v1/reports', Buffer.concat([utf8('\uFEFFarea,date,community_cases,quarantine_cases,source\r\nC11,2021-10-01,1,0,Tr'), Buffer.from([0xe1, 0xba]), utf8('\r\n')]), 2],
  ['reports, quoted fields spanning lines before the bad byte on line 5', '/v1/reports', Buffer.concat([utf8('area,date,community_cases,quarantine_cases,source\nC11,2021-10-01,1,0,"a\nb"\nC12,2021-10-01,1,0,"c, d"\n'), utf8('C21,2021-10-01,1,0,'), Buffer.from([0xff]), utf8('\n')]), 5],
  ['metrics, a bad byte in the header', '/v1/metrics', Buffer.concat([utf8('area,date,na'), Buffer.from([0xc0, 0xaf]), utf8('me,value\nC11,2021-10-01,x,1\n')]), 1],
  ['metrics, a surrogate encoded as UTF-8 (CESU) on line 2', '/v1/metrics', Buffer.concat([utf8('area,date,name,value\nC11,2021-10-01,'), Buffer.from([0xed, 0xa0, 0x80]), utf8(',1\n')]), 2],
])('%s → 400 naming the line; nothing written', async (_name, path, body, line) => {
  const before = await rowCounts(ctx.db);
  for (const type of ['text/csv', 'text/csv; charset=utf-8']) {
    const res = await postCsv(path, body, type).expect(400);
    expect(res.body.error.code).toBe('invalid_utf8');
    expect(res.body.error.details[0].path).toBe(`line[${line}]`);
    expect(res.body.error.details[0].message).toMatch(/^line \d+: byte 0x[0-9A-F]{2} at byte \d+ of the line is not UTF-8$/);
    expect(res.body.error.message).toContain(`dòng ${line}`);
  }
  expect(await rowCounts(ctx.db)).toEqual(before);
});

test('valid UTF-8 with Vietnamese text is stored exactly, as before', async () => {
  const body = utf8('\uFEFFarea,date,community_cases,quarantine_cases,source\r\nC11,2021-10-02,1,0,"Trạm y tế, phường Long Bình"\r\nC12,2021-10-02,2,0,Sở Y tế Đồng Nai 😷\r\n');
  expect((await postCsv('/v1/reports', body).expect(200)).body).toMatchObject({ inserted: 2 });
  const items = async (code: string) => (await ctx.http().get(`/v1/areas/${code}/reports?from=2021-10-02&to=2021-10-02`).expect(200)).body.items as { source: string }[];
  expect((await items('C11'))[0]?.source).toBe('Trạm y tế, phường Long Bình');
  expect((await items('C12'))[0]?.source).toBe('Sở Y tế Đồng Nai 😷');
});

test('the CLI import reads the file in chunks: a bad byte on line 50,001 of 60,001 (the second 1 MB chunk) is refused naming that line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-utf8-'));
  try {
    const lines = ['area,date,community_cases,quarantine_cases,source'];
    const codes = ['P', 'D1', 'D2', 'C11', 'C12', 'C21', 'C22'];
    for (let i = 0; i < 60_000; i++) lines.push(`${codes[i % 7]},${addDays('1950-01-01' as LocalDate, Math.floor(i / 7))},1,0,Trạm ${i}`);
    const file = path.join(dir, 'latin1.csv');
    const text = `${lines.join('\n')}\n`;
    const at = text.indexOf('Trạm 49999\n');
    fs.writeFileSync(file, Buffer.concat([utf8(text.slice(0, at)), latin1('Tr\u00e9m 49999'), utf8(text.slice(at + 'Trạm 49999'.length))]));
    const before = await rowCounts(ctx.db);
    const open = async () => connectDatabase(process.env.ZONERISK_TEST_DATABASE_URL as string, 2, embedded());
    const err = await run(['import-reports', file], ctx.config, { out: () => undefined, err: () => undefined }, open).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    expect((err as AppError).details[0]).toEqual({ path: 'line[50001]', message: `line 50001: byte 0xE9 at byte ${(lines[50_000] as string).indexOf('Trạm') + 3} of the line is not UTF-8` });
    expect(await rowCounts(ctx.db)).toEqual(before);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
