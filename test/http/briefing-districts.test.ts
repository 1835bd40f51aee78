import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Response } from 'superagent';
import { addDays, LocalDate } from '../../src/domain/dates';
import { fc, feature, smallProvince, square } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * The briefing PDF of a province whose communes lie directly under it (as every province
 * since 1 July 2025) has no "Huyện" column: its tables name no district; the briefing of a
 * province with districts keeps it. Read with pdftotext.
 */
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-briefing-districts-'));
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A province of three communes without districts, east of the small province. */
const flat = () =>
  fc([
    feature({ code: 'Q', name: 'Tỉnh Sau Sáp Nhập', kind: 'province', parent: null, population: 30000 }, square(107, 10, 0.3)),
    feature({ code: 'Q1', name: 'Phường Bình Minh', kind: 'commune', parent: 'Q', population: 10000 }, square(107, 10, 0.1)),
    feature({ code: 'Q2', name: 'Xã Hòa Lạc', kind: 'commune', parent: 'Q', population: 10000 }, square(107.1, 10, 0.1)),
    feature({ code: 'Q3', name: 'Xã Tân Lập', kind: 'commune', parent: 'Q', population: 10000 }, square(107.2, 10, 0.1)),
  ]);

beforeAll(async () => {
  await ctx.reset();
  for (const areas of [smallProvince(), flat()]) await http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(areas)).expect(200);
  // a week of cases in one commune of each province (a hotspot and a change); the others report nothing on the day
  const reports = [];
  for (let d = addDays(END, -6); d <= END; d = addDays(d, 1)) {
    for (const area of ['C11', 'Q1']) reports.push({ area, date: d, community_cases: d < addDays(END, -3) ? 0 : 20, quarantine_cases: 0 });
  }
  await http().post('/v1/reports').set('Content-Type', 'application/json').send({ reports }).expect(200);
  await http().post('/v1/rule-sets').send({ preset: 'vn-2686-2021' }).expect(201);
  await http().post('/v1/rule-sets/vn-2686-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
  await http().post('/v1/recompute').send({ from: addDays(END, -7), to: END }).expect(200);
});

const bytes = (res: Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

async function pdfText(parent: string): Promise<string> {
  const res = await http().get(`/v1/briefing.pdf?parent=${parent}&date=${END}`).buffer(true).parse(bytes).expect(200);
  const pdf = path.join(dir, `${parent}.pdf`);
  fs.writeFileSync(pdf, res.body as Buffer);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', pdf, '-'], { encoding: 'utf8' }).normalize('NFC').replace(/\s+/g, ' ');
}

test('no district column where the communes have no district; one where they have', async () => {
  const b = (await http().get(`/v1/briefing?parent=Q&date=${END}`).expect(200)).body as {
    hotspots: { code: string; district: unknown }[];
    changes: { items: { code: string; district: unknown }[] };
    not_reporting: { code: string; district: unknown }[];
  };
  // every table of the PDF has rows, and none of them names a district
  expect(b.hotspots.map((c) => c.code)).toEqual(['Q1']);
  expect(b.changes.items.map((c) => c.code)).toContain('Q1');
  expect(b.not_reporting.map((c) => c.code).sort()).toEqual(['Q2', 'Q3']);
  expect([...b.hotspots, ...b.changes.items, ...b.not_reporting].every((c) => c.district === null)).toBe(true);
  const flatText = await pdfText('Q');
  for (const name of ['Phường Bình Minh', 'Xã Hòa Lạc', 'Xã Tân Lập']) expect(flatText).toContain(name);
  expect(flatText).not.toContain('Huyện');

  const withDistricts = await pdfText('P');
  expect(withDistricts).toContain('Xã Long Bình');
  expect(withDistricts).toContain('Huyện');
  expect(withDistricts).toContain('Huyện Một');
});
