import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { Response } from 'superagent';
import { run } from '../../src/cli';
import { connectDatabase } from '../../src/db/database';
import { addDays, LocalDate, today } from '../../src/domain/dates';
import { AppError } from '../../src/errors';
import { feature, square } from '../helpers/fixtures';
import { embedded, testContext } from '../helpers/context';

/**
 * The weekly steering-committee briefing (issue 15): JSON whose figures are the summary's and
 * the change feed's for the same scope and day; the same briefing as XLSX (read back cell for
 * cell), PDF (A4, its text extracted with pdftotext) and CSV; the CLI writes the same files.
 * Expected values come from the other reads of the API (summary, changes, zones, zones.geojson),
 * never from the briefing's own code.
 */
const ctx = testContext();
const http = () => ctx.http();
const END = '2021-10-31' as LocalDate;
const WEEK_FROM = addDays(END, -6);
const WEEK_BEFORE = addDays(END, -7);
const PROVINCE = 'VNM.17_1';
const DISTRICT = 'VNM.17.1_1'; // Biên Hòa
const SILENT = 'VNM.17.1.TEST'; // a ward added after the demo: no report, no level
const OVERRIDDEN = 'VNM.17.1.10_1'; // Phường Long Bình
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-briefing-'));

const get = async (url: string) => (await http().get(url).expect(200)).body;
/** A binary body (XLSX, PDF, CSV) as bytes. */
const bytes = (res: Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};
const file = async (url: string) => {
  const res = await http().get(url).buffer(true).parse(bytes).expect(200);
  return { res, body: res.body as Buffer };
};

type Counts = { areas: number; population: number; no_new_community_cases_24h: number; not_reported_24h: number };
type Commune = {
  code: string;
  name: string;
  district: { code: string; name: string } | null;
  level: string;
  level_number: number | null;
  level_label: { vi: string; en: string };
  population: number | null;
  community_cases_7d: number | null;
  incidence_per_100k_7d: number | null;
  reported_24h: boolean;
  since: string | null;
  override: { level: string; reason: string; author: string | null; from: string; until: string | null } | null;
};
type Change = { code: string; name: string; date: string; from: string; to: string; direction: string; reason_text: { vi: string; en: string } };
const LEVELS = ['red', 'orange', 'yellow', 'green', 'unknown'];
const ddmmyyyy = (d: string) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

beforeAll(async () => {
  await ctx.demo(END, 10);
  await http()
    .post('/v1/areas')
    .send({ type: 'FeatureCollection', features: [feature({ code: SILENT, name: 'Phường Thử Nghiệm', kind: 'commune', parent: DISTRICT, population: 5000 }, square(107.5, 11.5, 0.01))] })
    .expect(200);
  await http().post(`/v1/zones/${OVERRIDDEN}/overrides`).send({ level: 'red', reason: 'Ổ dịch mới tại chợ Long Bình', from: addDays(END, -2), author: 'Ban chỉ đạo tỉnh' }).expect(201);
}, 300_000);
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['a province', `parent=${PROVINCE}`],
  ['a district', `parent=${DISTRICT}`],
  ['every commune', ''],
])('the JSON briefing of %s', (_what, scope) => {
  let b: Record<string, any>;
  beforeAll(async () => {
    b = await get(`/v1/briefing?date=${END}&${scope}`);
  });

  test('heading: area, day, week, data as of, rule set in force', async () => {
    expect(b).toMatchObject({ date: END, week: { from: WEEK_FROM, to: END }, version: 'latest' });
    if (scope.includes(PROVINCE)) expect(b.area).toMatchObject({ code: PROVINCE, kind: 'province', kind_label: { vi: 'tỉnh' } });
    if (scope.includes(DISTRICT)) expect(b.area).toMatchObject({ code: DISTRICT, kind: 'district', kind_label: { vi: 'huyện' }, name: (await get(`/v1/areas/${DISTRICT}`)).properties.name });
    if (scope === '') expect(b.area).toMatchObject({ code: null });
    const timeline = (await get('/v1/rule-sets/timeline')).items as { rule_set: { id: string; name: string }; effective_from: string | null; effective_to: string | null }[];
    const inForce = timeline.find((p) => (p.effective_from ?? '') <= END && (p.effective_to ?? '9999') >= END);
    expect(b.rule_set).toMatchObject({ id: inForce?.rule_set.id, name: inForce?.rule_set.name });
    expect(new Date(b.data_as_of).getTime()).toBeLessThanOrEqual(Date.now());
    expect(b.data_as_of_text).toMatch(/^\d\d:\d\d \d\d\/\d\d\/\d{4}$/);
  });

  test('counts and 24-hour figures are the summary’s, today and a week before', async () => {
    const now = await get(`/v1/summary?date=${END}&${scope}`);
    const before = await get(`/v1/summary?date=${WEEK_BEFORE}&${scope}`);
    expect(Object.keys(b.counts.by_level)).toEqual(LEVELS);
    for (const l of LEVELS) {
      const n = now.by_level[l] as Counts;
      const w = before.by_level[l] as Counts;
      expect(b.counts.by_level[l]).toMatchObject({ areas: n.areas, population: n.population, week_before: { areas: w.areas, population: w.population }, change: { areas: n.areas - w.areas, population: n.population - w.population } });
      expect(b.last_24h.by_level[l]).toEqual({ areas: n.areas, no_new_community_cases_24h: n.no_new_community_cases_24h, not_reported_24h: n.not_reported_24h });
    }
    expect(b.counts.total).toMatchObject({ areas: now.total.areas, population: now.total.population });
    expect(b.counts.by_level.red.areas).toBeGreaterThan(0);

    // the sentence, written here from the summary's numbers
    const part = (l: string, zone: string, n: number) => `${now.by_level[l].no_new_community_cases_24h}/${now.by_level[l].areas} xã, phường vùng ${zone} (Cấp ${n})`;
    const parts = [['red', 'đỏ', 4], ['orange', 'cam', 3]].filter(([l]) => now.by_level[l as string].areas > 0).map(([l, z, n]) => part(l as string, z as string, n as number));
    const silent = ['red', 'orange'].reduce((s, l) => s + now.by_level[l].not_reported_24h, 0);
    expect(b.last_24h.sentence.vi).toBe(`${parts.join(' và ')} không có ca mắc mới trong cộng đồng trong 24 giờ qua${silent ? `; ${silent} chưa báo cáo` : ''}`);
    // and in English, each level named once: "(level 4)", not "(level 4 (red))"
    const partEn = (l: string, n: number) => `${now.by_level[l].no_new_community_cases_24h}/${now.by_level[l].areas} ${l}-zone communes (level ${n})`;
    const partsEn = [['red', 4], ['orange', 3]].filter(([l]) => now.by_level[l as string].areas > 0).map(([l, n]) => partEn(l as string, n as number));
    expect(b.last_24h.sentence.en.startsWith(partsEn.join(' and '))).toBe(true);
  });

  test('the week’s changes are the change feed’s', async () => {
    const feed = await get(`/v1/changes?since=${WEEK_FROM}&until=${END}&kind=commune&${scope}`);
    expect(feed.next_cursor).toBeNull();
    const items = b.changes.items as Change[];
    expect(items.map((c) => [c.code, c.name, c.date, c.from, c.to, c.reason_text])).toEqual(feed.items.map((c: Change) => [c.code, c.name, c.date, c.from, c.to, c.reason_text]));
    const rank = (l: string) => LEVELS.length - LEVELS.indexOf(l);
    expect(b.changes.escalated).toBe(items.filter((c) => c.from !== 'unknown' && c.to !== 'unknown' && rank(c.to) > rank(c.from)).length);
    expect(b.changes.deescalated).toBe(items.filter((c) => c.from !== 'unknown' && c.to !== 'unknown' && rank(c.to) < rank(c.from)).length);
    expect(b.changes.escalated + b.changes.deescalated).toBeGreaterThan(0);
  });

  test('every commune of the scope, with the level, since and 7-day figures the map shows', async () => {
    const communes = b.communes as Commune[];
    const map = (await http().get(`/v1/zones.geojson?date=${END}&kind=commune${scope.includes(DISTRICT) ? `&parent=${DISTRICT}` : ''}`).expect(200)).body as { features: { properties: Record<string, unknown> }[] };
    const props = new Map(map.features.map((f) => [f.properties.code as string, f.properties]));
    // the district's communes, or every commune (the demo's one province holds them all)
    expect(communes.map((c) => c.code).sort()).toEqual([...props.keys()].sort());
    for (const c of communes) {
      const p = props.get(c.code) as Record<string, unknown>;
      expect([c.code, c.level, c.since, c.community_cases_7d, c.incidence_per_100k_7d]).toEqual([c.code, p.level, p.since, p.community_cases_7d, p.incidence_per_100k_7d]);
    }
    expect(b.hotspots.map((c: Commune) => c.code).sort()).toEqual(communes.filter((c) => c.level === 'red' || c.level === 'orange').map((c) => c.code).sort());
    expect(b.hotspots.map((c: Commune) => c.level_number)).toEqual([...b.hotspots.map((c: Commune) => c.level_number)].sort((x, y) => y - x));
    // not reporting: the summary's not_reported_24h, named
    const silent = LEVELS.reduce((s, l) => s + b.last_24h.by_level[l].not_reported_24h, 0);
    expect(b.not_reporting).toHaveLength(silent);
    expect(b.not_reporting.map((c: { code: string }) => c.code)).toContain(SILENT);
    expect(communes.find((c) => c.code === SILENT)).toMatchObject({ level: 'unknown', reported_24h: false, community_cases_7d: null });
  });

  test('the override in force is listed, and its commune is red', async () => {
    const zone = await get(`/v1/zones/${OVERRIDDEN}?date=${END}`);
    expect(b.overrides).toEqual([expect.objectContaining({ code: OVERRIDDEN, level: 'red', reason: 'Ổ dịch mới tại chợ Long Bình', author: 'Ban chỉ đạo tỉnh', from: addDays(END, -2), until: null })]);
    expect((b.communes as Commune[]).find((c) => c.code === OVERRIDDEN)).toMatchObject({ level: zone.level, since: zone.since, override: { level: 'red' } });
  });
});

describe('the same briefing as files', () => {
  const scope = `date=${END}&parent=${PROVINCE}`;
  let b: Record<string, any>;
  beforeAll(async () => {
    b = await get(`/v1/briefing?${scope}`);
  });

  test('XLSX: three sheets; every commune row and every change equal the JSON, cell for cell', async () => {
    const { res, body } = await file(`/v1/briefing.xlsx?${scope}`);
    expect(res.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="briefing-${PROVINCE}-${END}.xlsx"`);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(body as unknown as ArrayBuffer);
    expect(book.worksheets.map((w) => w.name)).toEqual(['Tổng hợp', 'Danh sách xã, phường', 'Thay đổi']);
    const values = (ws: ExcelJS.Worksheet, r: number, n: number) => Array.from({ length: n }, (_x, i) => ws.getRow(r).getCell(i + 1).value ?? null);

    const list = book.getWorksheet('Danh sách xã, phường') as ExcelJS.Worksheet;
    expect(values(list, 1, 9)).toEqual(['STT', 'Huyện', 'Mã xã/phường', 'Xã/phường', 'Cấp độ', 'Ca cộng đồng 7 ngày', 'Tỷ lệ/100.000 dân (7 ngày)', 'Dân số', 'Từ ngày']);
    const communes = b.communes as Commune[];
    expect(list.actualRowCount).toBe(communes.length + 1);
    communes.forEach((c, i) => {
      const row = values(list, i + 2, 9);
      expect(row).toEqual([i + 1, c.district?.name ?? null, c.code, c.name, c.level_label.vi, c.community_cases_7d, c.incidence_per_100k_7d, c.population, c.since ? ddmmyyyy(c.since) : null]);
    });
    // numbers are numbers, with a number format
    const withCases = communes.findIndex((c) => c.community_cases_7d !== null && c.incidence_per_100k_7d !== null);
    expect(withCases).toBeGreaterThanOrEqual(0);
    expect(list.getRow(withCases + 2).getCell(6).numFmt).toBe('#,##0');
    expect(list.getRow(withCases + 2).getCell(7).numFmt).toBe('#,##0.00');

    const moved = book.getWorksheet('Thay đổi') as ExcelJS.Worksheet;
    const items = b.changes.items as (Change & { district: { name: string } | null })[];
    expect(moved.actualRowCount).toBe(items.length + 1);
    items.forEach((c, i) => {
      const row = values(moved, i + 2, 9);
      expect([row[0], row[1], row[3], row[4], row[8]]).toEqual([i + 1, ddmmyyyy(c.date), c.code, c.name, c.reason_text.vi]);
    });

    const summary = book.getWorksheet('Tổng hợp') as ExcelJS.Worksheet;
    const cells: unknown[] = [];
    summary.eachRow((row) => row.eachCell((cell) => cells.push(cell.value)));
    expect(cells).toContain(b.last_24h.sentence.vi);
    expect(cells).toContain(`${b.rule_set.name} (${b.rule_set.id})`);
    expect(cells).toContain(b.data_as_of_text);
    for (const l of LEVELS) expect(cells).toContain(b.counts.by_level[l].level_label.vi);
  });

  test('PDF: A4 pages; the 24-hour sentence and every red commune in its extracted text', async () => {
    const { res, body } = await file(`/v1/briefing.pdf?${scope}`);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="briefing-${PROVINCE}-${END}.pdf"`);
    const pdf = path.join(dir, 'b.pdf');
    fs.writeFileSync(pdf, body);
    const info = execFileSync('pdfinfo', [pdf], { encoding: 'utf8' });
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
    expect(pages).toBeGreaterThanOrEqual(2);
    const sizes = execFileSync('pdfinfo', ['-f', '1', '-l', String(pages), pdf], { encoding: 'utf8' }).match(/^Page\s+\d+ size:.*$/gm) ?? [];
    expect(sizes).toHaveLength(pages);
    for (const s of sizes) expect(s).toMatch(/size:\s+595\.28 x 841\.89 pts \(A4\)/);

    const text = squash(execFileSync('pdftotext', ['-enc', 'UTF-8', pdf, '-'], { encoding: 'utf8' }).normalize('NFC'));
    expect(text).toContain(b.last_24h.sentence.vi);
    const red = (b.communes as Commune[]).filter((c) => c.level === 'red');
    expect(red.length).toBeGreaterThan(0);
    for (const c of red) expect(text).toContain(c.name);
    expect(text).toContain('Ổ dịch mới tại chợ Long Bình');
  });

  test('CSV: UTF-8 with a BOM, a Vietnamese header, the JSON list row for row', async () => {
    const { res, body } = await file(`/v1/briefing.csv?${scope}`);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="briefing-${PROVINCE}-${END}.csv"`);
    expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = body.toString('utf8').slice(1).split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('STT,Huyện,Mã xã/phường,Xã/phường,Cấp độ,Ca cộng đồng 7 ngày,Tỷ lệ/100.000 dân (7 ngày),Dân số,Từ ngày');
    const communes = b.communes as Commune[];
    expect(lines).toHaveLength(communes.length + 1);
    const field = (v: unknown) => (v === null || v === undefined ? '' : /[",]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    communes.forEach((c, i) => {
      expect(lines[i + 1]).toBe([i + 1, c.district?.name, c.code, c.name, c.level_label.vi, c.community_cases_7d, c.incidence_per_100k_7d, c.population, c.since ? ddmmyyyy(c.since) : ''].map(field).join(','));
    });
  });

  test('?format= is the same as the path', async () => {
    const a = await file(`/v1/briefing?${scope}&format=csv`);
    const c = await file(`/v1/briefing.csv?${scope}`);
    expect(a.body.equals(c.body)).toBe(true);
  });
});

describe('published, and days without levels', () => {
  test('version=published reads the publication; without one, a 404 in JSON (also for a file)', async () => {
    for (const url of [`/v1/briefing?date=${END}&version=published`, `/v1/briefing.pdf?date=${END}&version=published`]) {
      const res = await http().get(url).expect(404);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.error.code).toBe('not_found');
    }
    await http().post('/v1/publications').send({ date: END }).expect(201);
    const b = await get(`/v1/briefing?date=${END}&parent=${PROVINCE}&version=published`);
    const s = await get(`/v1/summary?date=${END}&parent=${PROVINCE}&version=published`);
    expect(b.version).toBe('published');
    for (const l of LEVELS) expect(b.last_24h.by_level[l]).toEqual({ areas: s.by_level[l].areas, no_new_community_cases_24h: s.by_level[l].no_new_community_cases_24h, not_reported_24h: s.by_level[l].not_reported_24h });
    // the day a week before has no publication: no comparison
    expect(b.counts.by_level.red.week_before).toBeNull();
  });

  test('a day with no levels is a briefing of unknowns, in every format', async () => {
    const day = '2019-06-01';
    const b = await get(`/v1/briefing?date=${day}&parent=${DISTRICT}`);
    expect(b.data_as_of).toBeNull();
    expect(b.counts.by_level.unknown.areas).toBe(b.counts.total.areas);
    expect(b.overrides).toEqual([]);
    expect(b.hotspots).toEqual([]);
    expect(b.changes.items).toEqual([]);
    // after the open-ended override began, it alone still sets a level (a year from today at most)
    const later = await get(`/v1/briefing?date=${addDays(today(ctx.config.reportingTimeZone), 366)}&parent=${DISTRICT}`);
    expect(later.overrides.map((o: { code: string }) => o.code)).toEqual([OVERRIDDEN]);
    expect(later.counts.by_level.unknown.areas).toBe(later.counts.total.areas - 1);
    expect(later.hotspots.map((c: Commune) => c.code)).toEqual([OVERRIDDEN]);
    for (const ext of ['xlsx', 'pdf', 'csv']) await file(`/v1/briefing.${ext}?date=${day}&parent=${DISTRICT}`);
    const early = await get(`/v1/briefing?date=1900-01-01`);
    expect(early.rule_set).toBeNull();
  });
});

describe('bad input: a 4xx in JSON naming the field, never a 5xx', () => {
  test.each([
    ['date=2021-13-01', 400, 'date'],
    ['date=2021-02-30', 400, 'date'],
    ['date=yesterday', 400, 'date'],
    ['date=1899-12-31', 400, 'date'],
    ['date=9999-12-31', 400, 'date'],
    ['date=a year and two days from today', 400, 'date'],
    ['version=draft', 400, 'version'],
    ['format=docx', 400, 'format'],
    ['parent=no%20such', 400, 'parent'],
    ['parent=x…x (5,000 characters)', 400, 'parent'],
    ['as_of=soon', 400, 'as_of'],
    ['colour=red', 400, '(root)'],
    [`parent=${OVERRIDDEN} (a commune)`, 422, 'parent'],
  ])('%s → %i naming %s', async (label, status, field) => {
    const query = label.startsWith('parent=x…x')
      ? `parent=${'x'.repeat(5000)}`
      : label.startsWith('date=a year')
        ? `date=${addDays(today(ctx.config.reportingTimeZone), 367)}`
        : label.replace(/ \(.*\)$/, '');
    for (const p of ['/v1/briefing', '/v1/briefing.xlsx', '/v1/briefing.pdf', '/v1/briefing.csv']) {
      if (query.startsWith('format=') && p !== '/v1/briefing') continue;
      const res = await http().get(`${p}?${query}`).expect(status);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
    }
  });

  test('an unknown parent is a 404, as for the summary', async () => {
    for (const p of ['/v1/briefing', '/v1/briefing.xlsx', '/v1/briefing.pdf', '/v1/briefing.csv', '/v1/summary']) {
      const res = await http().get(`${p}?parent=NOPE&date=${END}`).expect(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', message: 'no area has code NOPE' });
    }
  });

  test('a format contradicting the path', async () => {
    const res = await http().get(`/v1/briefing.pdf?format=xlsx`).expect(400);
    expect(res.body.error.details[0].path).toBe('format');
  });

  test('a repeated parameter counts once (its last value)', async () => {
    const b = await get(`/v1/briefing?date=2021-01-01&date=${END}&parent=${DISTRICT}`);
    expect(b.date).toBe(END);
  });
});

describe('zonerisk briefing (CLI)', () => {
  const open = async () => connectDatabase(process.env.ZONERISK_TEST_DATABASE_URL as string, 2, embedded());
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(args, ctx.config, { out: (l) => out.push(l), err: (l) => err.push(l) }, open);
    return { code, out, err };
  };

  test('writes the same briefing as the API, in each format', async () => {
    const json = path.join(dir, 'b.json');
    const r = await cli('briefing', '--date', END, '--parent', DISTRICT, '--format', 'json', '--out', json);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(new RegExp(`^briefing ${DISTRICT} ${END} `.replace(/\./g, '\\.')));
    expect(r.out[0]).toContain(`→ ${json} (json, `);
    const written = JSON.parse(fs.readFileSync(json, 'utf8'));
    const api = await get(`/v1/briefing?date=${END}&parent=${DISTRICT}`);
    const { as_of: _a, as_of_text: _at, ...fromCli } = written;
    const { as_of: _b, as_of_text: _bt, ...fromApi } = api;
    expect(fromCli).toEqual(fromApi);

    const csv = path.join(dir, 'b.csv');
    await cli('briefing', '--date', END, '--parent', DISTRICT, '--format', 'csv', '--out', csv);
    expect(fs.readFileSync(csv).equals((await file(`/v1/briefing.csv?date=${END}&parent=${DISTRICT}`)).body)).toBe(true);

    for (const [format, magic] of [['pdf', '%PDF-'], ['xlsx', 'PK']] as const) {
      const out = path.join(dir, `b.${format}`);
      expect((await cli('briefing', '--date', END, '--parent', DISTRICT, '--format', format, '--out', out)).code).toBe(0);
      expect(fs.readFileSync(out).subarray(0, magic.length).toString('latin1')).toBe(magic);
    }
  });

  test('bad options are usage errors; an unknown parent writes nothing', async () => {
    const out = path.join(dir, 'never.pdf');
    for (const args of [
      ['--date', END, '--format', 'docx', '--out', out],
      ['--date', '2021-13-01', '--format', 'pdf', '--out', out],
      ['--date', END, '--format', 'pdf'],
      ['--date', END, '--parent', 'bad code', '--format', 'pdf', '--out', out],
    ]) {
      const e = await cli('briefing', ...args).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('usage');
    }
    const e = await cli('briefing', '--date', END, '--parent', 'NOPE', '--format', 'pdf', '--out', out).catch((x: unknown) => x);
    expect((e as AppError).status).toBe(404);
    expect(fs.existsSync(out)).toBe(false);
  });
});

test('briefings are made a few at a time: with every turn taken and the queue full, a 503 with Retry-After', async () => {
  const gate = ctx.rt.briefings;
  // a stand-in for requests that hold or wait for a turn (never hang up)
  const holder = { destroyed: false, on: () => holder, off: () => holder } as unknown as import('express').Response;
  const held = await Promise.all(Array.from({ length: gate.limit }, () => gate.enter(holder)));
  const waiting = Array.from({ length: gate.queue }, () => gate.enter(holder));
  expect(gate.state).toEqual({ running: gate.limit, waiting: gate.queue });
  const res = await http().get(`/v1/briefing.pdf?date=${END}&parent=${PROVINCE}`).expect(503);
  expect(res.headers['retry-after']).toBe('5');
  expect(res.body.error.code).toBe('busy');
  for (const t of held) if (typeof t === 'object') t.release();
  for (const t of await Promise.all(waiting)) if (typeof t === 'object') t.release();
  expect(gate.state).toEqual({ running: 0, waiting: 0 });
  // and then served
  await http().get(`/v1/briefing?date=${END}&parent=${PROVINCE}`).expect(200);
});

test('CSV: text a spreadsheet would take for a formula is written as text', async () => {
  const code = 'VNM.17.1.FORMULA';
  const name = '=HYPERLINK("http://evil.example/x","Xem chi tiết")';
  await http()
    .post('/v1/areas')
    .send({ type: 'FeatureCollection', features: [feature({ code, name, kind: 'commune', parent: DISTRICT, population: 100 }, square(107.6, 11.6, 0.01))] })
    .expect(200);
  const { body } = await file(`/v1/briefing.csv?date=${END}&parent=${DISTRICT}`);
  const line = body.toString('utf8').split('\r\n').find((l: string) => l.includes(code)) as string;
  expect(line).toContain(`"'=HYPERLINK(""http://evil.example/x"",""Xem chi tiết"")"`);
  expect(line).not.toMatch(/(^|,)"?=/);
});
