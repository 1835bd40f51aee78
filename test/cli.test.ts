import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { run } from '../src/cli';
import { connectDatabase } from '../src/db/database';
import { addDays, LocalDate } from '../src/domain/dates';
import { AppError } from '../src/errors';
import { smallProvince } from './helpers/fixtures';
import { embedded, rowCounts, secretOf, testContext } from './helpers/context';

const ctx = testContext();
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const open = async () => connectDatabase(process.env.ZONERISK_TEST_DATABASE_URL as string, 2, embedded());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, ctx.config, { out: (l) => out.push(l), err: (l) => err.push(l) }, open);
  return { code, out, err };
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('zonerisk CLI', () => {
  test('import-areas then import-reports with a final count line; re-import is unchanged', async () => {
    const areas = write('areas.geojson', JSON.stringify(smallProvince()));
    const a = await cli('import-areas', areas);
    expect(a.code).toBe(0);
    expect(a.out[0]).toMatch(/^areas: 7 in [\d.]+ s: created 7, updated 0, unchanged 0, overlapping pairs 0$/);

    const lines = ['\uFEFFarea,date,community_cases,quarantine_cases,deaths,source'];
    const codes = ['C11', 'C12', 'C21', 'C22'];
    for (let day = 0; day < 500; day++) {
      for (const c of codes) lines.push(`${c},${addDays('2020-01-01' as LocalDate, day)},${day % 5},${day % 3},0,Trạm y tế xã`);
    }
    const csv = write('reports.csv', lines.join('\r\n') + '\r\n');
    const r1 = await cli('import-reports', csv);
    expect(r1.out[0]).toMatch(/^reports: 2000 rows in [\d.]+ s \(\d+ rows\/s\): inserted 2000, updated 0, unchanged 0$/);
    const r2 = await cli('import-reports', csv);
    expect(r2.out[0]).toMatch(/inserted 0, updated 0, unchanged 2000$/);
    const res = await ctx.http().get('/v1/areas/C22/reports?from=2020-01-02&to=2020-01-02').expect(200);
    expect(res.body.items).toEqual([expect.objectContaining({ community_cases: 1, quarantine_cases: 1, deaths: 0, source: 'Trạm y tế xã' })]);
  });

  test('a bad row aborts the whole file with its line number; nothing is written', async () => {
    await cli('import-areas', write('a.geojson', JSON.stringify(smallProvince())));
    const before = await rowCounts(ctx.db);
    const lines = ['area,date,community_cases,quarantine_cases'];
    for (let i = 0; i < 20_000; i++) lines.push(`C11,${addDays('1950-01-01' as LocalDate, i)},1,0`);
    lines.push('C11,2030-01-01,1,0');
    const file = write('bad.csv', lines.join('\n'));
    const err = await cli('import-reports', file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).details[0]).toMatchObject({ path: 'line[20002].date', message: expect.stringMatching(/future/) });
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('import-metrics', async () => {
    await cli('import-areas', write('a2.geojson', JSON.stringify(smallProvince())));
    const file = write('m.csv', 'area,date,name,value\nD1,2021-10-01,vaccination_18plus_1dose_pct,71.2\nD2,2021-10-01,treatment_capacity_ok,1\n');
    expect((await cli('import-metrics', file)).out[0]).toMatch(/^metrics: 2 rows .* inserted 2, updated 0, unchanged 0$/);
  });

  test('seed --demo loads the real Đồng Nai hierarchy and a synthetic series', async () => {
    const r = await cli('seed', '--demo', '--end', '2021-10-31');
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^demo loaded: areas created 183, updated 0, unchanged 0; reports 2021-08-03\.\.2021-10-31 inserted 15390/);
    const kinds = await ctx.db.knex('areas').select('kind').count<{ kind: string; count: number }[]>('* as count').groupBy('kind').orderBy('kind');
    expect(kinds).toEqual([
      { kind: 'commune', count: 171 },
      { kind: 'district', count: 11 },
      { kind: 'province', count: 1 },
    ]);
    // Populations add up to the 2019 census total at every level.
    const sums = await ctx.db.knex.raw<{ rows: { kind: string; total: number }[] }>(`SELECT kind, sum(population)::int AS total FROM areas GROUP BY kind ORDER BY kind`);
    expect(sums.rows.map((s) => s.total)).toEqual([3_097_107, 3_097_107, 3_097_107]);
    const bienHoa = await ctx.http().get('/v1/areas?parent=VNM.17.1_1&limit=1000').expect(200);
    expect(bienHoa.body.items).toHaveLength(30);
    // A district's geometry is the union of its communes: it covers each of them.
    const uncovered = await ctx.db.knex.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM areas c JOIN areas d ON d.id = c.parent_id
       WHERE c.kind = 'commune' AND ST_Area(ST_Difference(c.geom, d.geom)) > 0.001 * ST_Area(c.geom)`,
    );
    expect(uncovered.rows[0]?.n).toBe(0);
    // Seeding again changes nothing.
    const again = await cli('seed', '--demo', '--end', '2021-10-31');
    expect(again.out[0]).toMatch(/areas created 0, updated 0, unchanged 183; reports .* inserted 0, updated 0, unchanged 15390/);
  });

  test('recompute classifies every area with the active rule set, and again writes nothing', async () => {
    await cli('seed', '--demo', '--end', '2021-10-31');
    await expect(cli('recompute', '--date', '2021-10-31')).rejects.toThrow(/no rule set is active/);
    await ctx.http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'us-cdc-transmission-2021' }).expect(201);
    await ctx.http().post('/v1/rule-sets/us-cdc-transmission-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
    const r = await cli('recompute', '--from', '2021-10-25', '--to', '2021-10-31');
    expect(r.out[0]).toMatch(/^recompute 2021-10-25\.\.2021-10-31: job \d+ succeeded, 7\/7 days, 183 areas, \d+ level changes, 1281 rows written/);
    const again = await cli('recompute', '--date', '2021-10-31');
    expect(again.out[0]).toMatch(/1\/1 days, 183 areas, 0 level changes, 0 rows written/);
    await expect(cli('recompute', '--from', '2021-10-31', '--to', '2021-10-01')).rejects.toThrow(/from ≤ to/);
  });

  test('keys create prints a working key once; list shows no secret; revoke ends it', async () => {
    await cli('seed', '--demo', '--end', '2021-10-31');
    const created = await cli('keys', 'create', '--role', 'reporter', '--scope', 'VNM.17.1_1', '--name', 'Biên Hòa');
    expect(created.code).toBe(0);
    const key = created.out[0] as string;
    expect(key).toMatch(/^zr_[a-z0-9]{8}_[A-Za-z0-9_-]{32}$/);
    expect(created.err[0]).toMatch(/shown this once/);
    const agent = () => request.agent(ctx.app).set('Authorization', `Bearer ${key}`);
    const commune = ((await ctx.db.knex('areas').where('parent_id', ctx.db.knex('areas').select('id').where({ code: 'VNM.17.1_1' })).first('code')) as { code: string }).code;
    const body = (area: string) => ({ reports: [{ area, date: '2021-10-31', community_cases: 0, quarantine_cases: 0 }] });
    await agent().post('/v1/reports').send(body(commune)).expect(200);
    await agent().post('/v1/reports').send(body('VNM.17.2_1')).expect(403); // another district
    const list = await cli('keys', 'list');
    const line = list.out.find((l) => l.includes('Biên Hòa')) as string;
    expect(line).toMatch(/\treporter\tVNM\.17\.1_1\t/);
    expect(list.out.join('\n')).not.toContain(secretOf(key));
    const id = line.split('\t')[0] as string;
    expect((await cli('keys', 'revoke', id)).out[0]).toMatch(new RegExp(`^key ${id} revoked at `));
    await agent().post('/v1/reports').send(body(commune)).expect(401);
    await expect(cli('keys', 'create', '--role', 'root')).rejects.toThrow(/--role reader\|reporter\|admin/);
    await expect(cli('keys', 'revoke', 'x')).rejects.toThrow(/key id/);
  });

  test('usage errors', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    await expect(cli('seed')).rejects.toThrow(/--demo/);
    await expect(cli('seed', '--demo', '--end', '2021-02-30')).rejects.toThrow(/--end/);
    await expect(cli('import-reports')).rejects.toThrow(/needs a file/);
  });
});
