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
  override: Override | null;
};
type Change = { code: string; name: string; date: string; from: string; to: string; direction: string; reason_text: { vi: string; en: string } };
type Override = { level: string; reason: string; author: string | null; from: string; until: string | null };
const LEVELS = ['red', 'orange', 'yellow', 'green', 'unknown'];
const LEVEL_LABEL: Record<string, string> = { red: 'Cấp 4 – Nguy cơ rất cao', orange: 'Cấp 3 – Nguy cơ cao', yellow: 'Cấp 2 – Nguy cơ trung bình', green: 'Cấp 1 – Nguy cơ thấp (bình thường mới)', unknown: 'Chưa đủ dữ liệu' };
/** An override as the commune lists write it: "Cấp 4: <reason>". */
const overrideText = (o: Override | null) => (o ? `Cấp ${LEVELS.length - 1 - LEVELS.indexOf(o.level)}: ${o.reason}` : null);
const ddmmyyyy = (d: string) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;
/** A date cell's value as exceljs reads it: midnight UTC of the day. */
const utcDay = (d: string) => new Date(`${d}T00:00:00Z`);
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
    // the feed's reasons, each beginning with a capital (a table cell's sentence)
    const cap = (t: string) => t.charAt(0).toLocaleUpperCase('vi') + t.slice(1);
    expect(items.map((c) => [c.code, c.name, c.date, c.from, c.to, c.reason_text])).toEqual(
      feed.items.map((c: Change) => [c.code, c.name, c.date, c.from, c.to, { vi: cap(c.reason_text.vi), en: cap(c.reason_text.en) }]),
    );
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
    expect(book.worksheets.map((w) => w.name)).toEqual(['Tổng hợp', 'Danh sách xã, phường', 'Thay đổi', 'Quyết định BCĐ']);
    const values = (ws: ExcelJS.Worksheet, r: number, n: number) => Array.from({ length: n }, (_x, i) => ws.getRow(r).getCell(i + 1).value ?? null);

    const list = book.getWorksheet('Danh sách xã, phường') as ExcelJS.Worksheet;
    expect(values(list, 1, 10)).toEqual(['STT', 'Huyện', 'Mã xã/phường', 'Xã/phường', 'Cấp độ', 'Ca cộng đồng 7 ngày', 'Tỷ lệ/100.000 dân (7 ngày)', 'Dân số', 'Từ ngày', 'Quyết định BCĐ']);
    const communes = b.communes as Commune[];
    expect(list.actualRowCount).toBe(communes.length + 1);
    communes.forEach((c, i) => {
      const row = values(list, i + 2, 10);
      expect(row).toEqual([i + 1, c.district?.name ?? null, c.code, c.name, c.level_label.vi, c.community_cases_7d, c.incidence_per_100k_7d, c.population, c.since ? utcDay(c.since) : null, overrideText(c.override)]);
      // a date is a date cell shown dd/mm/yyyy (it sorts and filters as a date)
      if (c.since) expect(list.getRow(i + 2).getCell(9).numFmt).toBe('dd/mm/yyyy');
    });
    expect(communes.filter((c) => c.override).length).toBeGreaterThan(0);

    // the overrides in force, cell for cell
    const decided = book.getWorksheet('Quyết định BCĐ') as ExcelJS.Worksheet;
    expect(values(decided, 1, 11)).toEqual(['STT', 'Mã địa bàn', 'Địa bàn', 'Loại', 'Huyện', 'Cấp độ', 'Lý do', 'Ghi chú', 'Người quyết định', 'Từ ngày', 'Đến ngày']);
    const overrides = b.overrides as (Override & { code: string; name: string; kind_label: { vi: string }; district: { name: string } | null; note: string | null })[];
    expect(overrides.length).toBeGreaterThan(0);
    expect(decided.actualRowCount).toBe(overrides.length + 1);
    overrides.forEach((o, i) => {
      expect(values(decided, i + 2, 11)).toEqual([i + 1, o.code, o.name, o.kind_label.vi, o.district?.name ?? null, LEVEL_LABEL[o.level], o.reason, o.note, o.author, utcDay(o.from), o.until ? utcDay(o.until) : null]);
      expect(decided.getRow(i + 2).getCell(10).numFmt).toBe('dd/mm/yyyy');
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
      expect([row[0], row[1], row[3], row[4], row[8]]).toEqual([i + 1, utcDay(c.date), c.code, c.name, c.reason_text.vi]);
      expect(moved.getRow(i + 2).getCell(2).numFmt).toBe('dd/mm/yyyy');
    });

    const summary = book.getWorksheet('Tổng hợp') as ExcelJS.Worksheet;
    const cells: unknown[] = [];
    summary.eachRow((row) => row.eachCell((cell) => cells.push(cell.value)));
    expect(cells).toContain(b.last_24h.sentence.vi);
    expect(cells).toContain(`${b.rule_set.name} (${b.rule_set.id})`);
    expect(cells).toContain(b.data_as_of_text);
    expect(cells).toContain('Tính toán lúc (computed at)');
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
    expect(lines[0]).toBe('STT,Huyện,Mã xã/phường,Xã/phường,Cấp độ,Ca cộng đồng 7 ngày,Tỷ lệ/100.000 dân (7 ngày),Dân số,Từ ngày,Quyết định BCĐ');
    const communes = b.communes as Commune[];
    expect(lines).toHaveLength(communes.length + 1);
    const field = (v: unknown) => (v === null || v === undefined ? '' : /[",]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    communes.forEach((c, i) => {
      expect(lines[i + 1]).toBe([i + 1, c.district?.name, c.code, c.name, c.level_label.vi, c.community_cases_7d, c.incidence_per_100k_7d, c.population, c.since ? ddmmyyyy(c.since) : '', overrideText(c.override)].map(field).join(','));
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
    // after the open-ended override began, it alone still sets a level (tomorrow at most)
    const later = await get(`/v1/briefing?date=${addDays(today(ctx.config.reportingTimeZone), 1)}&parent=${DISTRICT}`);
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
    ['date=the day after tomorrow', 400, 'date'],
    ['date=a year from today', 400, 'date'],
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
      : label === 'date=the day after tomorrow'
        ? `date=${addDays(today(ctx.config.reportingTimeZone), 2)}`
        : label === 'date=a year from today'
          ? `date=${addDays(today(ctx.config.reportingTimeZone), 366)}`
          : label.replace(/ \(.*\)$/, '');
    for (const p of ['/v1/briefing', '/v1/briefing.xlsx', '/v1/briefing.pdf', '/v1/briefing.csv', '/briefing']) {
      if (query.startsWith('format=') && p !== '/v1/briefing') continue;
      const res = await http().get(`${p}?${query}`).expect(status);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
    }
  });

  test('an unknown parent is a 404, as for the summary', async () => {
    for (const p of ['/v1/briefing', '/v1/briefing.xlsx', '/v1/briefing.pdf', '/v1/briefing.csv', '/briefing', '/v1/summary']) {
      const res = await http().get(`${p}?parent=NOPE&date=${END}`).expect(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', message: 'Không có đơn vị mã NOPE — no area has code NOPE' });
    }
  });

  test('a format contradicting the path', async () => {
    const res = await http().get(`/v1/briefing.pdf?format=xlsx`).expect(400);
    expect(res.body.error.details[0].path).toBe('format');
  });

  test('a parameter given twice is a 400 naming it, not one of its values chosen', async () => {
    for (const p of ['/v1/briefing', '/v1/briefing.csv', '/briefing']) {
      const res = await http().get(`${p}?date=2021-01-01&date=${END}&parent=${DISTRICT}`).expect(400);
      expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'date', message: 'được cho nhiều lần: chỉ cho một lần — is given more than once: give it once' })]);
    }
    await http().get(`/v1/briefing?date=${END}&parent=${DISTRICT}`).expect(200);
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
      // without --format, the extension of --out is the format
      const bare = path.join(dir, `bare.${format.toUpperCase()}`);
      expect((await cli('briefing', '--date', END, '--parent', DISTRICT, '--out', bare)).code).toBe(0);
      expect(fs.readFileSync(bare).subarray(0, magic.length).toString('latin1')).toBe(magic);
    }
  });

  test('bad options are usage errors; an unknown parent writes nothing', async () => {
    const out = path.join(dir, 'never.pdf');
    for (const args of [
      ['--date', END, '--format', 'docx', '--out', out],
      ['--date', '2021-13-01', '--format', 'pdf', '--out', out],
      ['--date', END, '--format', 'pdf'],
      ['--date', END, '--parent', 'bad code', '--format', 'pdf', '--out', out],
      ['--date', END, '--out', path.join(dir, 'never')], // no --format, and no extension to take it from
      ['--date', END, '--out', path.join(dir, 'never.docx')],
      ['--date', END, '--format', 'csv', '--out', out], // the extension says another format
    ]) {
      const e = await cli('briefing', ...args).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('usage');
    }
    const e = await cli('briefing', '--date', END, '--parent', 'NOPE', '--format', 'pdf', '--out', out).catch((x: unknown) => x);
    expect((e as AppError).status).toBe(404);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('unknown options, an option without its value and an --out of another format are usage errors naming them', async () => {
    const out = path.join(dir, 'never.pdf');
    for (const [args, named] of [
      [['--date', END, '--format', 'pdf', '--out', out, '--colour', 'red'], '--colour'],
      [['--date', END, '--format', 'pdf', '--out', out, '--dry-run'], '--dry-run'],
      [['--date', END, '--parent', '--format', 'pdf', '--out', out], '--parent'],
      [['--date', END, '--format', 'pdf', '--out', out, '--parent'], '--parent'],
      [['--date', END, '--format', 'xlsx', '--out', out], '--out'],
      [['--date', END, '--format', 'pdf', '--format', 'csv', '--out', out], '--format'],
    ] as const) {
      const e = await cli('briefing', ...args).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('usage');
      expect(`${(e as AppError).message} ${(e as AppError).details.map((d) => d.path).join(' ')}`).toContain(named);
    }
    expect(fs.existsSync(out)).toBe(false);
    // and the process's exit code for a usage error is 2
    const { main } = await import('../../src/cli');
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((t: string | Uint8Array) => (writes.push(String(t)), true));
    try {
      expect(await main(['briefing', '--date', END, '--format', 'pdf', '--out', out, '--colour', 'red'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).toContain('--colour');
  });

  test('a file that cannot be written is named as given, not the temporary file beside it', async () => {
    const out = path.join(dir, 'no', 'such', 'dir', 'b.csv');
    const e = await cli('briefing', '--date', END, '--parent', DISTRICT, '--format', 'csv', '--out', out).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).message).toBe(`cannot write ${out}: no such directory`);
    expect((e as AppError).message).not.toContain('.partial');
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

describe('the printable page (GET /briefing) and its map', () => {
  const scope = `date=${END}&parent=${DISTRICT}`;
  let b: Record<string, any>;
  let html: string;
  let res: Response;
  beforeAll(async () => {
    b = await get(`/v1/briefing?${scope}`);
    res = await http().get(`/briefing?${scope}`).expect(200);
    html = res.text;
  });
  const svgOf = (page: string) => /<svg[\s\S]*?<\/svg>/.exec(page)?.[0] ?? '';

  test('HTML in reading order: heading, map, counts, 24 hours, red and orange, changes, overrides, rule set, not reporting', () => {
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    const at = (needle: string) => {
      const i = html.indexOf(needle);
      expect(i).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = ['<h1>', '<svg', 'id="counts"', 'id="last-24h"', 'id="hotspots"', 'id="changes"', 'id="overrides"', 'id="rule-set"', 'id="not-reporting"'].map(at);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(html).toContain(`Ngày ${ddmmyyyy(END)} — tuần từ ${ddmmyyyy(WEEK_FROM)} đến ${ddmmyyyy(END)}`);
    expect(html).toContain(b.area.name);
    expect(html).toContain(`Tính toán lúc: ${b.data_as_of_text}`);
    expect(html).toContain(b.last_24h.sentence.vi);
    expect(html).toContain(b.last_24h.sentence.en);
    const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
    for (const c of (b.communes as Commune[]).filter((x) => x.level === 'red')) expect(html).toContain(esc(c.name));
    expect(html).toContain('Ổ dịch mới tại chợ Long Bình');
    expect(html).toContain(`${b.rule_set.name} (${b.rule_set.id}`);
    for (const c of b.not_reporting as { name: string }[]) expect(html).toContain(esc(c.name));
    // vi-VN numbers: the population total grouped with dots
    expect(html).toContain(String(b.counts.total.population).replace(/\B(?=(\d{3})+(?!\d))/g, '.'));
    // print: A4, rows kept whole, no script, nothing from elsewhere
    expect(html).toContain('@page { size: A4; margin: 12mm }');
    expect(html).toMatch(/tr, td, th \{ break-inside: avoid/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });

  test('links to the .pdf, .xlsx and .csv of the same query, and they answer', async () => {
    for (const ext of ['pdf', 'xlsx', 'csv']) {
      const href = new RegExp(`href="(v1/briefing\\.${ext}\\?[^"]*)"`).exec(html)?.[1];
      expect(href).toBeDefined();
      const url = new URL(`http://x/${(href as string).replace(/&amp;/g, '&')}`);
      expect(Object.fromEntries(url.searchParams)).toEqual({ date: END, parent: DISTRICT });
      await file(`${url.pathname}${url.search}`);
    }
  });

  test('the map: one path per commune, filled with its level’s colour as /v1/zones says', async () => {
    const svg = svgOf(html);
    const zones = (await get(`/v1/zones?date=${END}&parent=${DISTRICT}&kind=commune`)).items as { code: string; level: string }[];
    const colours = (await get('/ui/config.json')).levels as Record<string, { color: string }> | undefined;
    const fill: Record<string, string> = colours ? Object.fromEntries(Object.entries(colours).map(([l, v]) => [l, v.color])) : { red: '#d7262b', orange: '#f07c1e', yellow: '#f2c230', green: '#2e9d48', unknown: '#9e9e9e' };
    const paths = [...svg.matchAll(/<path class="commune" data-code="([^"]+)" fill="([^"]+)" d="(M[^"]+)"/g)].map((m) => ({ code: m[1], fill: m[2], d: m[3] }));
    expect(paths.map((p) => p.code).sort()).toEqual(zones.map((z) => z.code).sort());
    for (const z of zones) {
      const p = paths.find((x) => x.code === z.code) as { fill: string };
      expect([z.code, p.fill.toLowerCase()]).toEqual([z.code, (fill[z.level] ?? '').toLowerCase()]);
    }
    // coordinates on the box's grid (whole numbers), each ring starting inside the box
    const [, , w, h] = (/viewBox="([\d .]+)"/.exec(svg)?.[1] ?? '').split(' ').map(Number) as [number, number, number, number];
    for (const p of paths) {
      for (const n of p.d.match(/-?\d+(\.\d+)?/g) ?? []) expect(Number.isInteger(Number(n))).toBe(true);
      for (const m of p.d.matchAll(/M(\d+) (\d+)/g)) {
        expect(Number(m[1])).toBeLessThanOrEqual(w);
        expect(Number(m[2])).toBeLessThanOrEqual(h);
      }
    }
    // a legend, and the district outline over the communes
    expect(svg).toContain('class="legend"');
    expect(svg).toContain(`class="district" data-code="${DISTRICT}"`);
  });

  test('every text is escaped: an area named with < > & " \'', async () => {
    const code = 'VNM.17.1.ESCAPE';
    const name = `Xã <b>"Thử"</b> & 'Nghiệm' <script>alert(1)</script>`;
    await http().post('/v1/areas').send({ type: 'FeatureCollection', features: [feature({ code, name, kind: 'commune', parent: DISTRICT, population: 100 }, square(107.7, 11.7, 0.01))] }).expect(200);
    await http().post(`/v1/zones/${code}/overrides`).send({ level: 'red', reason: 'Lý do <i>in nghiêng</i> & "trích"', from: addDays(END, -1), until: END }).expect(201);
    const page = (await http().get(`/briefing?${scope}`).expect(200)).text;
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<b>"Thử"');
    expect(page).not.toContain('<i>in nghiêng</i>');
    expect(page).toContain('Xã &lt;b&gt;&quot;Thử&quot;&lt;/b&gt; &amp; &#39;Nghiệm&#39; &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('Lý do &lt;i&gt;in nghiêng&lt;/i&gt; &amp; &quot;trích&quot;');
    expect(svgOf(page)).toContain(`data-code="${code}"`);
  });

  test('the PDF has the map on its first page, page numbers and a running header on every page, and still the sentence', async () => {
    const { body } = await file(`/v1/briefing.pdf?date=${END}&parent=${PROVINCE}`);
    const province = await get(`/v1/briefing?date=${END}&parent=${PROVINCE}`);
    const pdf = path.join(dir, 'numbered.pdf');
    fs.writeFileSync(pdf, body);
    const pages = Number(/^Pages:\s+(\d+)/m.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))?.[1]);
    expect(pages).toBeGreaterThanOrEqual(2);
    for (let i = 1; i <= pages; i++) {
      const text = squash(execFileSync('pdftotext', ['-enc', 'UTF-8', '-f', String(i), '-l', String(i), pdf, '-'], { encoding: 'utf8' }).normalize('NFC'));
      expect(text).toContain(`Trang ${i}/${pages}`);
      expect(text).toContain(`${province.area.name} — ngày ${ddmmyyyy(END)}`);
    }
    const all = squash(execFileSync('pdftotext', ['-enc', 'UTF-8', pdf, '-'], { encoding: 'utf8' }).normalize('NFC'));
    expect(all).toContain(province.last_24h.sentence.vi);
    expect(all).toContain('Tính toán lúc (computed at)');
    expect(all).not.toContain('Số liệu tính đến');
    // headers keep numbers whole: "100.000" is never split across lines
    expect(all).toMatch(/lệ\/100\.000 dân/);
    // the legend of the map, on page 1
    const first = squash(execFileSync('pdftotext', ['-enc', 'UTF-8', '-f', '1', '-l', '1', pdf, '-'], { encoding: 'utf8' }).normalize('NFC'));
    expect(first).toMatch(/Cấp 4 \(đỏ\): \d+/);
  });
});

describe('HEAD, the day after tomorrow, published comparisons', () => {
  test('HEAD answers the headers without making the briefing (even when every turn is taken)', async () => {
    const gate = ctx.rt.briefings;
    const holder = { destroyed: false, on: () => holder, off: () => holder } as unknown as import('express').Response;
    const held = await Promise.all(Array.from({ length: gate.limit }, () => gate.enter(holder)));
    try {
      for (const [p, type] of [
        ['/v1/briefing.pdf', 'application/pdf'],
        ['/v1/briefing.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
        ['/v1/briefing.csv', 'text/csv; charset=utf-8'],
        ['/v1/briefing', 'application/json; charset=utf-8'],
        ['/briefing', 'text/html; charset=utf-8'],
      ] as const) {
        const started = Date.now();
        const res = await http().head(`${p}?date=${END}&parent=${PROVINCE}`).expect(200);
        expect(Date.now() - started).toBeLessThan(2000);
        expect(res.headers['content-type']).toBe(type);
        if (p.includes('.')) expect(res.headers['content-disposition']).toBe(`attachment; filename="briefing-${PROVINCE}-${END}.${p.split('.').pop()}"`);
        expect(res.text ?? '').toBe('');
      }
      // still the same errors
      expect((await http().head(`/v1/briefing.pdf?date=${END}&parent=NOPE`)).status).toBe(404);
      expect((await http().head(`/v1/briefing.pdf?date=2021-13-01`)).status).toBe(400);
      expect(gate.state.running).toBe(gate.limit);
    } finally {
      for (const t of held) if (typeof t === 'object') t.release();
    }
  });

  test('the day is at most tomorrow in TZ_REPORTING (400 naming date after it)', async () => {
    const tomorrow = addDays(today(ctx.config.reportingTimeZone), 1);
    await http().get(`/v1/briefing?date=${tomorrow}&parent=${DISTRICT}`).expect(200);
    const res = await http().get(`/v1/briefing?date=${addDays(tomorrow, 1)}&parent=${DISTRICT}`).expect(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'date', message: expect.stringContaining('tomorrow') })]);
  });

  test('published: the changes say which publication they are compared with, in every format', async () => {
    const earlier = addDays(END, -14);
    await http().post('/v1/publications').send({ date: earlier }).expect(201);
    await http().post('/v1/publications').send({ date: END }).expect(201);
    const b = await get(`/v1/briefing?date=${END}&parent=${PROVINCE}&version=published`);
    expect(b.changes.compared_with).toBe(earlier);
    const line = `so với lần công bố trước (${ddmmyyyy(earlier)})`;
    expect((await http().get(`/briefing?date=${END}&parent=${PROVINCE}&version=published`).expect(200)).text).toContain(line);
    const { body } = await file(`/v1/briefing.pdf?date=${END}&parent=${PROVINCE}&version=published`);
    const pdf = path.join(dir, 'published.pdf');
    fs.writeFileSync(pdf, body);
    expect(squash(execFileSync('pdftotext', ['-enc', 'UTF-8', pdf, '-'], { encoding: 'utf8' }).normalize('NFC'))).toContain(line);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load((await file(`/v1/briefing.xlsx?date=${END}&parent=${PROVINCE}&version=published`)).body as unknown as ArrayBuffer);
    const cells: unknown[] = [];
    (book.getWorksheet('Tổng hợp') as ExcelJS.Worksheet).eachRow((row) => row.eachCell((cell) => cells.push(cell.value)));
    expect(cells).toEqual(expect.arrayContaining(['So với lần công bố trước', ddmmyyyy(earlier)]));
    // latest: nothing to say
    expect((await get(`/v1/briefing?date=${END}&parent=${PROVINCE}`)).changes.compared_with).toBeNull();
  });
});

test('a client that hangs up gives its briefing turn back at once, and the remaining reads are not made', async () => {
  if (embedded()) return; // needs a second session holding a lock
  const gate = ctx.rt.briefings;
  const http = await import('node:http');
  // a lock that makes the briefing's reads of the levels wait
  const trx = await ctx.db.knex.transaction();
  try {
    await trx.raw('LOCK TABLE zone_levels IN ACCESS EXCLUSIVE MODE');
    const server = ctx.app.listen(0);
    const port = (server.address() as import('node:net').AddressInfo).port;
    const req = http.get({ port, path: `/v1/briefing.pdf?date=${END}&parent=${PROVINCE}` });
    req.on('error', () => undefined);
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
      return what();
    };
    expect(await until(() => gate.state.running === 1)).toBe(true);
    req.destroy();
    // released while the read still waits on the lock
    expect(await until(() => gate.state.running === 0)).toBe(true);
    await trx.rollback();
    await new Promise((r) => setTimeout(r, 200));
    expect(gate.state).toEqual({ running: 0, waiting: 0 });
    await new Promise((r) => server.close(r));
  } finally {
    if (!trx.isCompleted()) await trx.rollback();
  }
});
