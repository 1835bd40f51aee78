import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { feature, fc, square } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * Real data in (issue 16), through the real app and database: reports as provinces keep them
 * (Vietnamese-Excel CSV, XLSX) import the same rows as the plain CSV; rows that name their
 * area are resolved in a city whose ward names repeat across districts — never guessed; a dry
 * run lists what it could not resolve; confirmed aliases are used from then on; every import
 * is a batch.
 */
const ctx = testContext();
afterAll(() => ctx.close());

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const post = (path: string, body: Buffer | string, type: string) => ctx.http().post(path).set('Content-Type', type).send(Buffer.from(body));

/** A city shaped like Hồ Chí Minh City before 2021: Phường 1…18 in each of four districts, and Quận 1's named wards. */
const NUMBERED = ['Quận 3', 'Quận 4', 'Quận 5', 'Quận 10'];
const NAMED = ['Phường Bến Nghé', 'Phường Bến Thành', 'Phường Đa Kao', 'Phường Tân Định'];
function city() {
  const features = [feature({ code: 'HCM', name: 'Thành phố Hồ Chí Minh', kind: 'province', parent: null, population: null }, square(106.5, 10.5, 1))];
  const districts = ['Quận 1', ...NUMBERED];
  districts.forEach((d, i) => features.push(feature({ code: `Q${i}`, name: d, kind: 'district', parent: 'HCM', population: null }, square(106.5 + i * 0.2, 10.5, 0.19))));
  NAMED.forEach((w, j) => features.push(feature({ code: `Q0-${j + 1}`, name: w, kind: 'commune', parent: 'Q0', population: 20000 }, square(106.5, 10.5 + j * 0.01, 0.01))));
  NUMBERED.forEach((_, k) => {
    for (let n = 1; n <= 18; n++) features.push(feature({ code: `Q${k + 1}-${n}`, name: `Phường ${n}`, kind: 'commune', parent: `Q${k + 1}`, population: 15000 }, square(106.5 + (k + 1) * 0.2, 10.5 + n * 0.01, 0.01)));
  });
  return fc(features);
}

async function storedReports(): Promise<string[]> {
  const r = await ctx.db.knex.raw<{ rows: { line: string }[] }>(
    `SELECT concat_ws(',', a.code, r.date::text, r.community_cases, r.quarantine_cases, coalesce(r.deaths::text, '')) AS line
     FROM reports r JOIN areas a ON a.id = r.area_id ORDER BY a.code, r.date`,
  );
  return r.rows.map((x) => x.line);
}

beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').send(city()).expect(200);
});
beforeEach(() => ctx.db.knex.raw('TRUNCATE reports, report_revisions, import_batches, area_aliases, audit_log, import_profiles RESTART IDENTITY'));

/**
 * Text as Windows-1258 spells Vietnamese: the letters with their vowel marks precomposed
 * (â ê ô ă ơ ư đ), the tone marks (grave, acute, tilde, hook, dot below) as combining characters.
 */
function windows1258Text(text: string): string {
  const tones = new Set(['\u0300', '\u0301', '\u0303', '\u0309', '\u0323']);
  return [...text.normalize('NFC')]
    .map((ch) => {
      const parts = [...ch.normalize('NFD')];
      const tone = parts.filter((p) => tones.has(p));
      return parts.filter((p) => !tones.has(p)).join('').normalize('NFC') + tone.join('');
    })
    .join('');
}

describe('spreadsheets as provinces keep them', () => {
  const rows: [string, string, number, number, number][] = [
    ['Q0-1', '2021-09-01', 12, 30, 0],
    ['Q0-2', '2021-09-01', 0, 4, 1],
    ['Q1-7', '2021-09-02', 1234, 5, 2],
    ['Q4-18', '2021-09-30', 3, 0, 0],
  ];
  const plain = 'area,date,community_cases,quarantine_cases,deaths\n' + rows.map((r) => r.join(',')).join('\n') + '\n';
  const dmy = (iso: string) => iso.split('-').reverse().join('/');
  const viCsv = '\ufeffMã xã;Ngày;Ca cộng đồng;Ca trong khu cách ly/phong tỏa;Tử vong\r\n' + rows.map(([a, d, c, q, x]) => [a, dmy(d), c === 1234 ? '1.234' : c, q, x].join(';')).join('\r\n') + '\r\n';

  async function xlsx(): Promise<Buffer> {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Báo cáo');
    ws.addRow(['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca trong khu cách ly/phong tỏa', 'Tử vong']);
    // dates as Excel dates (UTC midnight) and as typed text, counts as numbers
    rows.forEach(([a, d, c, q, x], i) => ws.addRow([a, i % 2 ? dmy(d) : new Date(`${d}T00:00:00Z`), c, q, x]));
    return Buffer.from(await wb.xlsx.writeBuffer());
  }

  test('a semicolon, dd/mm/yyyy, BOM CSV with Vietnamese headers, its Windows-1258 copy and an XLSX import the same rows as the plain CSV', async () => {
    const answer = (await post('/v1/reports', plain, 'text/csv').expect(200)).body;
    expect(answer).toMatchObject({ inserted: 4, updated: 0, unchanged: 0 });
    const expected = await storedReports();
    expect(expected).toHaveLength(4);
    expect(expected).toContain('Q1-7,2021-09-02,1234,5,2');

    const inputs: [string, Buffer, string][] = [
      ['csv;semicolon', Buffer.from(viCsv), 'text/csv'],
      ['csv;semicolon;windows-1258', iconv.encode(windows1258Text(viCsv.slice(1)), 'windows1258'), 'text/csv; charset=windows-1258'],
      ['xlsx', await xlsx(), XLSX],
    ];
    for (const [format, bytes, type] of inputs) {
      await ctx.db.knex.raw('TRUNCATE reports, report_revisions');
      const res = await post(`/v1/reports?file_name=bao-cao.${format.startsWith('xlsx') ? 'xlsx' : 'csv'}`, bytes, type);
      expect({ format, status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ format, status: 200, body: null });
      expect(res.body).toMatchObject({ inserted: 4, updated: 0, unchanged: 0 });
      expect(await storedReports()).toEqual(expected);
    }
    const batches = (await ctx.http().get('/v1/imports?kind=reports').expect(200)).body.items as { format: string; rows: number; file_name: string | null }[];
    expect(batches.map((b) => [b.format, b.rows])).toEqual([
      ['xlsx', 4],
      ['csv;semicolon;windows-1258', 4],
      ['csv;semicolon', 4],
      ['csv', 4],
    ]);
    expect(batches[0]?.file_name).toBe('bao-cao.xlsx');
  });

  test('a wrong cell in a Vietnamese CSV is named by its line in the user’s file; nothing is written', async () => {
    const bad = viCsv.replace('30/09/2021', '31/09/2021');
    const res = await post('/v1/reports', bad, 'text/csv');
    expect(res.body.error.details).toEqual([{ path: 'line[5].date', message: expect.stringMatching(/calendar date/) }]);
    expect(await storedReports()).toEqual([]);
  });
});

describe('column maps and batches', () => {
  const csv = 'Tên đơn vị;Quận;Ngày báo cáo;Số ca CĐ;Số ca CL\nBến Nghé;Quận 1;01/09/2021;4;1\n';
  test('a column map given inline or saved as a named profile reads unknown headers; the built-in profiles are listed and kept', async () => {
    const refused = await post('/v1/reports', csv, 'text/csv').expect(422);
    expect(refused.body.error.details.map((d: { message: string }) => d.message).join(' ')).toMatch(/Số ca CĐ/);
    const map = { area_name: 'Tên đơn vị', parent_name: 'Quận', date: 'Ngày báo cáo', community_cases: 'Số ca CĐ', quarantine_cases: 'Số ca CL' };
    const inline = Object.entries(map).map(([k, v]) => `${k}=${v}`).join(',');
    expect((await post(`/v1/reports?columns=${encodeURIComponent(inline)}`, csv, 'text/csv').expect(200)).body).toMatchObject({ inserted: 1 });

    expect((await ctx.http().post('/v1/import-profiles').send({ name: 'so-y-te', kind: 'reports', map }).expect(201)).body).toMatchObject({ name: 'so-y-te', kind: 'reports', map });
    expect((await ctx.http().post('/v1/import-profiles').send({ name: 'so-y-te', kind: 'reports', map }).expect(200)).body.updated_by).toBe('admin-key');
    await ctx.db.knex.raw('TRUNCATE reports, report_revisions');
    const viaProfile = (await post('/v1/reports?profile=so-y-te&file_name=so-y-te.csv', csv, 'text/csv').expect(200)).body;
    expect(viaProfile).toMatchObject({ inserted: 1 });
    expect(await storedReports()).toEqual(['Q0-1,2021-09-01,4,1,']);
    const batch = (await ctx.http().get(`/v1/imports/${viaProfile.import.id}`).expect(200)).body;
    expect(batch).toMatchObject({ kind: 'reports', profile: 'so-y-te', file_name: 'so-y-te.csv', format: 'csv;semicolon', rows: 1 });

    const list = (await ctx.http().get('/v1/import-profiles').expect(200)).body.items as { name: string; built_in: boolean }[];
    expect(list.map((p) => [p.name, p.built_in])).toEqual([
      ['gso-communes', true],
      ['gso-districts', true],
      ['so-y-te', false],
    ]);
    // a profile of the wrong kind, a map naming no canonical column, a built-in name: 4xx naming why
    expect((await post('/v1/reports?profile=gso-communes', csv, 'text/csv').expect(422)).body.error.code).toBe('invalid_profile');
    expect((await ctx.http().post('/v1/import-profiles').send({ name: 'x', kind: 'reports', map: { ward: 'Phường' } }).expect(422)).body.error.details[0].path).toBe('map');
    await ctx.http().post('/v1/import-profiles').send({ name: 'gso-communes', kind: 'areas', map: {} }).expect(400);
    expect((await ctx.http().post('/v1/import-profiles').send({ name: 'Bad Name', kind: 'reports', map }).expect(422)).body.error.details[0].path).toBe('name');
    await ctx.http().delete('/v1/import-profiles/so-y-te').expect(204);
    await ctx.http().delete('/v1/import-profiles/gso-communes').expect(400);
    await post('/v1/reports?profile=so-y-te', csv, 'text/csv').expect(404);
  });

  test('a revision keeps the import that wrote it; the current row names the import that replaced it', async () => {
    const first = (await post('/v1/reports', 'area,date,community_cases,quarantine_cases\nQ0-1,2021-09-05,1,0\n', 'text/csv').expect(200)).body.import.id as number;
    const second = (await post('/v1/reports', 'area,date,community_cases,quarantine_cases\nQ0-1,2021-09-05,9,0\n', 'text/csv').expect(200)).body.import.id as number;
    const current = await ctx.db.knex('reports').first('import_id', 'community_cases');
    const revision = await ctx.db.knex('report_revisions').first('import_id', 'community_cases');
    expect([Number(current.import_id), current.community_cases]).toEqual([second, 9]);
    expect([Number(revision.import_id), revision.community_cases]).toEqual([first, 1]);
    const audit = await ctx.db.knex('audit_log').where('action', 'reports.upsert').orderBy('id').select('import_id');
    expect(audit.map((a: { import_id: string }) => Number(a.import_id))).toEqual([first, second]);
  });
});

describe('names instead of codes', () => {
  // every district spelled as the stations type it
  const spellings: Record<string, string[]> = { 'Quận 3': ['Quận 3', 'Q.3', 'quan 3'], 'Quận 4': ['Q. 04', 'Quận 4'], 'Quận 5': ['Q5', 'QUẬN 5'], 'Quận 10': ['Quận 10', 'q.10'] };
  function namedCsv(withDistrict: boolean): { csv: string; expected: string[] } {
    const lines = ['Xã/Phường;Quận/Huyện;Ngày;Ca cộng đồng;Ca trong khu cách ly/phong tỏa'];
    const expected: string[] = [];
    NUMBERED.forEach((d, k) => {
      for (let n = 1; n <= 18; n++) {
        const spelled = (spellings[d] as string[])[n % (spellings[d] as string[]).length] as string;
        const ward = n % 3 === 0 ? `P.${String(n).padStart(2, '0')}` : n % 3 === 1 ? `Phường ${n}` : `phuong ${n}`;
        lines.push(`${ward};${withDistrict ? spelled : ''};01/09/2021;${k + n};0`);
        expected.push(`Q${k + 1}-${n},2021-09-01,${k + n},0,`);
      }
    });
    NAMED.forEach((w, j) => {
      lines.push(`${j % 2 ? w : w.replace('Phường ', 'P. ').normalize('NFD').replace(/[\u0300-\u036f]/g, '')};${withDistrict ? 'Q.1' : ''};01/09/2021;${j};1`);
      expected.push(`Q0-${j + 1},2021-09-01,${j},1,`);
    });
    return { csv: lines.join('\n') + '\n', expected: expected.sort() };
  }

  test('with the district given, every row of 18 repeated ward names resolves', async () => {
    const { csv, expected } = namedCsv(true);
    const dry = (await post('/v1/reports?dry_run=true', csv, 'text/csv').expect(200)).body;
    expect(dry).toMatchObject({ rows: 76, resolved: 76, unresolved: [] });
    expect(await storedReports()).toEqual([]); // the dry run wrote nothing
    expect((await post('/v1/reports', csv, 'text/csv').expect(200)).body).toMatchObject({ inserted: 76 });
    expect((await storedReports()).sort()).toEqual(expected);
  });

  test('without the district: the dry run lists every repeated name with its candidates; the import is refused whole', async () => {
    const { csv } = namedCsv(false);
    const dry = (await post('/v1/reports?dry_run=true', csv, 'text/csv').expect(200)).body;
    expect(dry.rows).toBe(76);
    expect(dry.resolved).toBe(4); // Quận 1's named wards are unique
    expect(dry.unresolved).toHaveLength(72);
    const first = dry.unresolved[0];
    expect(first).toMatchObject({ row: 2, area_name: 'Phường 1', parent_name: null });
    expect(first.candidates.map((c: { code: string; parent: string }) => [c.code, c.parent])).toEqual([
      ['Q1-1', 'Quận 3'],
      ['Q2-1', 'Quận 4'],
      ['Q3-1', 'Quận 5'],
      ['Q4-1', 'Quận 10'],
    ]);
    const res = await post('/v1/reports', csv, 'text/csv').expect(422);
    expect(res.body.error.code).toBe('unresolved_names');
    expect(res.body.error.message).toMatch(/^72 dòng/);
    expect(res.body.error.details[0]).toEqual({ path: 'line[2].area_name', message: expect.stringContaining('Q1-1 Phường 1, Quận 3') });
    expect(await storedReports()).toEqual([]);
    expect(Number((await ctx.db.knex('import_batches').count<{ count: string }[]>('* as count'))[0]?.count)).toBe(0);
  });

  test('a name confirmed as an alias needs no confirmation in the next import', async () => {
    const csv = 'Xã/Phường;Quận/Huyện;Ngày;Ca cộng đồng;Ca trong khu cách ly/phong tỏa\nBến Thàn;Quận 1;02/09/2021;5;0\n';
    const dry = (await post('/v1/reports?dry_run=true', csv, 'text/csv').expect(200)).body;
    expect(dry).toMatchObject({ rows: 1, resolved: 0 });
    expect(dry.unresolved[0].candidates[0]).toMatchObject({ code: 'Q0-2', name: 'Phường Bến Thành' });
    await post('/v1/reports', csv, 'text/csv').expect(422);

    const confirmed = (await ctx.http().post('/v1/areas/Q0-2/aliases').send({ aliases: ['Bến Thàn'] }).expect(200)).body;
    expect(confirmed).toMatchObject({ added: 1, unchanged: 0, code: 'Q0-2', items: [{ alias: 'Bến Thàn', created_by: 'admin-key' }] });
    expect((await post('/v1/reports?dry_run=true', csv, 'text/csv').expect(200)).body).toMatchObject({ rows: 1, resolved: 1, unresolved: [], matches: [{ code: 'Q0-2', via: 'alias' }] });
    expect((await post('/v1/reports', csv, 'text/csv').expect(200)).body).toMatchObject({ inserted: 1 });
    expect(await storedReports()).toEqual(['Q0-2,2021-09-02,5,0,']);
    // JSON rows may name their area too
    const json = { reports: [{ area_name: 'Phường 7', parent_name: 'Q.10', date: '2021-09-03', community_cases: 2, quarantine_cases: 0 }] };
    expect((await ctx.http().post('/v1/reports').send(json).expect(200)).body).toMatchObject({ inserted: 1 });
    expect(await storedReports()).toContain('Q4-7,2021-09-03,2,0,');
  });

  test('a name of megabytes is not echoed back whole (dry run or refusal)', async () => {
    const huge = 'Phường '.repeat(150_000);
    const json = { reports: [{ area_name: huge, date: '2021-09-03', community_cases: 2, quarantine_cases: 0 }] };
    const refused = await ctx.http().post('/v1/reports').send(json).expect(422);
    expect(JSON.stringify(refused.body).length).toBeLessThan(5_000);
    const dry = await ctx.http().post('/v1/reports?dry_run=true').send(json).expect(200);
    expect(dry.body.unresolved[0].area_name).toHaveLength(201);
  });

  test('aliases: bad input is a 4xx naming the field; a reporter confirms only its own areas', async () => {
    const bad = await ctx.http().post('/v1/areas/Q0-2/aliases').send({ aliases: ['Bến\u202eThành'] }).expect(422);
    expect(bad.body.error.details[0].path).toBe('aliases.0');
    await ctx.http().post('/v1/areas/NOPE/aliases').send({ aliases: ['X'] }).expect(404);
    await ctx.http().post('/v1/areas/Q0-2/aliases').send({ aliases: ['---'] }).expect(422);
    const key = (await ctx.http().post('/v1/keys').send({ role: 'reporter', scope: ['Q1'] }).expect(201)).body.key as string;
    const as = (code: string) => ctx.http().post(`/v1/areas/${code}/aliases`).set('Authorization', `Bearer ${key}`).send({ aliases: ['P 1 Q3'] });
    await as('Q1-1').expect(200);
    await as('Q2-1').expect(403);
    // another area's name or alias: never an alias (it would send that area's rows here), whoever asks
    const hijack = await ctx.http().post('/v1/areas/Q1-1/aliases').set('Authorization', `Bearer ${key}`).send({ aliases: ['P. Bến Nghé'] }).expect(409);
    expect(hijack.body.error.details).toEqual([{ path: 'aliases.0', message: expect.stringContaining('Q0-1') }]);
    await ctx.http().post('/v1/areas/Q2-1/aliases').send({ aliases: ['Phường 1'] }).expect(409); // Quận 3's Phường 1 is named so
    await ctx.http().post('/v1/areas/Q2-1/aliases').send({ aliases: ['p 1 q3'] }).expect(409); // the reporter's alias of Q1-1
    // any reading of another area's name: the prefix unaccented with the name accented, no accents at all
    await ctx.http().post('/v1/areas/Q2-1/aliases').send({ aliases: ['Phuong Bến Thành'] }).expect(409);
    await ctx.http().post('/v1/areas/Q2-1/aliases').send({ aliases: ['phuong ben thanh'] }).expect(409);
  });
});
