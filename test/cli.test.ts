import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { commandNames, main, progressBar, readChunks, run } from '../src/cli';
import { Config } from '../src/config';
import { connectDatabase, openDatabase } from '../src/db/database';
import { addDays, LocalDate, today } from '../src/domain/dates';
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
  test('import-areas: a self-intersecting boundary is refused suggesting --repair; with --repair it is repaired and listed', async () => {
    const province = smallProvince();
    // C12's square with a sub-metre back-track on its top edge
    const c12 = (province.features as { properties: { code: string }; geometry: { coordinates: number[][][] } }[]).find((f) => f.properties.code === 'C12');
    if (!c12) throw new Error('the fixture has no C12');
    const ring = c12.geometry.coordinates[0] as number[][];
    const xs = ring.map((p) => p[0] as number);
    const ys = ring.map((p) => p[1] as number);
    const [minX, maxX, maxY] = [Math.min(...xs), Math.max(...xs), Math.max(...ys)];
    const mid = (minX + maxX) / 2;
    c12.geometry.coordinates = [[[minX, Math.min(...ys)], [maxX, Math.min(...ys)], [maxX, maxY], [mid, maxY], [mid - 0.000005, maxY + 0.000002], [mid + 0.000003, maxY + 0.000001], [minX, maxY], [minX, Math.min(...ys)]]];
    const file = write('bt.geojson', JSON.stringify(province));
    await expect(cli('import-areas', file)).rejects.toMatchObject({ status: 422, details: [expect.objectContaining({ message: expect.stringMatching(/^C12: self-intersection.*repair=true/) })] });
    const r = await cli('import-areas', file, '--repair');
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^repaired C12 \(features\[\d\]\): self-intersection at .* → made valid with ST_MakeValid \(structure method\); 1 loop\(s\) under 1 m² left by the crossing dropped; area changed by 0(\.\d+)? m²$/);
    expect(r.out[1]).toMatch(/created 7, .*, repaired 1; import \d+$/);
  });

  test('reorganise: a plan file with the new areas from a boundary file and predecessors from its map', async () => {
    await ctx.reset();
    await cli('import-areas', write('p.geojson', JSON.stringify(smallProvince())));
    const merged = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'M1', name: 'Xã Hợp Nhất', kind: 'commune', parent: 'P', population: 20000 }, geometry: { type: 'Polygon', coordinates: [[[106, 10], [106.2, 10], [106.2, 10.1], [106, 10.1], [106, 10]]] } }] };
    const plan = write('plan.json', JSON.stringify({ effective_date: '2025-07-01', retire: ['C11', 'C12', 'D1'], reparent: [], predecessors: { M1: ['C11', 'C12'] } }));
    const r = await cli('reorganise', plan, '--areas', write('m1.geojson', JSON.stringify(merged)));
    expect(r).toMatchObject({ code: 0, out: [expect.stringMatching(/^reorganisation \d+ on 2025-07-01: retired 3, created 1, re-parented 0, lineage links 2$/)] });
    // the same again: M1's code is taken now, nothing else is written
    await expect(cli('reorganise', plan, '--areas', write('m1.geojson', JSON.stringify(merged)))).rejects.toMatchObject({ status: 422 });
    expect((await rowCounts(ctx.db)).reorganisations).toBe(1);
  });

  test('import-reports reads a Vietnamese CSV that names its communes; --dry-run lists what does not resolve and writes nothing', async () => {
    await cli('import-areas', write('a.geojson', JSON.stringify(smallProvince())));
    const rows = ['Xã/Phường;Ngày;Ca cộng đồng;Ca trong khu cách ly/phong tỏa', 'long binh;01/10/2021;3;0', 'P. Tân Hoà;01/10/2021;1;2', 'TT Vĩnh An;01/10/2021;0;0'];
    const good = write('ten.csv', '\uFEFF' + rows.join('\r\n') + '\r\n');
    const dry = await cli('import-reports', good, '--dry-run');
    expect(dry).toMatchObject({ code: 0, out: [expect.stringMatching(/^reports dry run: 3 rows, 3 resolved, 0 unresolved; nothing written$/), expect.stringMatching(/"long binh" → C11/), expect.anything(), expect.anything()] });
    expect((await rowCounts(ctx.db)).reports).toBe(0);
    const real = await cli('import-reports', good, '--no-recompute');
    expect(real.out[0]).toMatch(/^reports: 3 rows .* inserted 3, updated 0, unchanged 0; import \d+$/);
    const bad = write('ten-sai.csv', [...rows, 'Xã Không Có;01/10/2021;1;0'].join('\n'));
    const d2 = await cli('import-reports', bad, '--dry-run');
    expect(d2.code).toBe(1);
    expect(d2.out).toContainEqual(expect.stringMatching(/^  line 5: "Xã Không Có" not resolved/));
    await expect(cli('import-reports', bad)).rejects.toMatchObject({ code: 'unresolved_names', details: [expect.objectContaining({ path: 'line[5].area_name' })] });
  });

  test('import-areas then import-reports with a final count line; re-import is unchanged', async () => {
    const areas = write('areas.geojson', JSON.stringify(smallProvince()));
    const a = await cli('import-areas', areas);
    expect(a.code).toBe(0);
    expect(a.out[0]).toMatch(/^areas: 7 in [\d.]+ s: created 7, updated 0, unchanged 0, overlapping pairs 0, gaps 0 \(0 m²\); import \d+$/);

    const lines = ['\uFEFFarea,date,community_cases,quarantine_cases,deaths,source'];
    const codes = ['C11', 'C12', 'C21', 'C22'];
    for (let day = 0; day < 500; day++) {
      for (const c of codes) lines.push(`${c},${addDays('2020-01-01' as LocalDate, day)},${day % 5},${day % 3},0,Trạm y tế xã`);
    }
    const csv = write('reports.csv', lines.join('\r\n') + '\r\n');
    const r1 = await cli('import-reports', csv);
    expect(r1.out[0]).toMatch(/^reports: 2000 rows in [\d.]+ s \(\d+ rows\/s\): inserted 2000, updated 0, unchanged 0; import (\d+)$/);
    const r2 = await cli('import-reports', csv);
    // the same file again: recognised as the first import's content
    const first = /import (\d+)$/.exec(r1.out[0] ?? '')?.[1];
    expect(r2.out[0]).toMatch(new RegExp(`inserted 0, updated 0, unchanged 2000; import \\d+ \\(the same file as import ${first}\\)$`));
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
    expect((await cli('import-metrics', file)).out[0]).toMatch(/^metrics: 2 rows .* inserted 2, updated 0, unchanged 0; import \d+$/);
  });

  test('seed --demo loads the real Đồng Nai hierarchy and a synthetic series', async () => {
    const r = await cli('seed', '--demo', '--end', '2021-10-31', '--no-classify');
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
    const again = await cli('seed', '--demo', '--end', '2021-10-31', '--no-classify');
    expect(again.out[0]).toMatch(/areas created 0, updated 0, unchanged 183; reports .* inserted 0, updated 0, unchanged 15390/);
  });

  test('recompute classifies every area with the active rule set, and again writes nothing', async () => {
    await cli('seed', '--demo', '--end', '2021-10-31', '--no-classify');
    await expect(cli('recompute', '--date', '2021-10-31')).rejects.toThrow(/no rule set is active/);
    await ctx.http().post('/v1/rule-sets').set('Content-Type', 'application/json').send({ preset: 'us-cdc-transmission-2021' }).expect(201);
    await ctx.http().post('/v1/rule-sets/us-cdc-transmission-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
    const r = await cli('recompute', '--from', '2021-10-25', '--to', '2021-10-31');
    expect(r.out[0]).toMatch(/^recompute 2021-10-25\.\.2021-10-31: job \d+ succeeded, 7\/7 days, 183 areas, \d+ level changes, 1281 rows written/);
    const again = await cli('recompute', '--date', '2021-10-31');
    expect(again.out[0]).toMatch(/1\/1 days, 183 areas, 0 level changes, 0 rows written/);
    await expect(cli('recompute', '--from', '2021-10-31', '--to', '2021-10-01')).rejects.toThrow(/from ≤ to/);
    // --days N: the last N days up to today in TZ_REPORTING (the CronJob's command)
    const last = today('Asia/Ho_Chi_Minh');
    const recent = await cli('recompute', '--days', '2');
    expect(recent.out[0]).toMatch(new RegExp(`^recompute ${addDays(last, -1)}\\.\\.${last}: job \\d+ succeeded, 2/2 days`));
  });

  test('keys create prints a working key once; list shows no secret; revoke ends it', async () => {
    await cli('seed', '--demo', '--end', '2021-10-31', '--no-classify');
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

  test('a usage error names an unknown option, missing value or extra argument: exit 2, no database opened', async () => {
    for (const [args, named] of [
      [['import-reports', 'x.csv', '--colour', 'red'], '--colour'],
      [['import-areas', '-x', 'a.geojson'], '-x'],
      [['seed', '--demo', '--end'], '--end'],
      [['seed', '--demo', '--end', '--no-classify'], '--end'],
      [['seed', '--demo', '--no-classify=yes'], '--no-classify'],
      [['keys', 'create', '--role'], '--role'],
      [['rule-sets', 'activate', 'x@1', '--from'], '--from'],
      [['rule-sets', 'create', '--preset', 'a', '--preset', 'b'], '--preset'],
      [['recompute', '--date', '2021-10-01', '--date', '2021-10-02'], '--date'],
      [['recompute', '--days', '0'], '--days'],
      [['recompute', '--days', '32'], '--days'],
      [['recompute', '--days', '2', '--date', '2021-10-01'], '--days'],
      [['rule-sets', 'list', 'extra'], 'extra'],
      [['migrate', 'now'], 'now'],
      [['rule-sets', 'frob'], 'frob'],
      [['keys'], 'keys'],
      [['briefing', '--parent', '--format', 'pdf', '--out', 'x.pdf'], '--parent'],
    ] as const) {
      const r = await offline(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err.join('\n')).toContain(named);
      expect(r.opened).toEqual([]);
    }
  });

  test('import-reports recomputes the classified days a corrected row changes; --no-recompute leaves them', async () => {
    await smallClassified();
    const before = await levelOf('C11', '2021-10-07');
    expect(before.level).toBe('green'); // 0 cases in 7 days: 0 per 100,000 < 10
    const c12 = await levelOf('C12', '2021-10-07');
    const earlier = await levelOf('C11', '2021-10-04');
    // C11 (10,000 people) had 20 cases on 10-05, not 0: 200 per 100,000 over 7 days ≥ 100 → red from 10-05 on
    const fix = await cli('import-reports', write('fix.csv', 'area,date,community_cases,quarantine_cases\nC11,2021-10-05,20,0\n'));
    expect(fix.code).toBe(0);
    expect(fix.out[0]).toMatch(/^reports: 1 rows .* inserted 0, updated 1, unchanged 0; import \d+$/);
    expect(fix.out[1]).toMatch(/^recompute 2021-10-05\.\.2021-10-07 \(late data\): job \d+ succeeded, 3\/3 days, 7 areas, \d+ level changes, \d+ rows written in [\d.]+ s$/);
    const after = await levelOf('C11', '2021-10-07');
    expect(after.level).toBe('red');
    expect(after.computed_at.getTime()).toBeGreaterThan(before.computed_at.getTime());
    expect(await levelOf('C11', '2021-10-04')).toEqual(earlier); // before the correction: untouched
    // the district D1 (20,000 people): 20 cases → 100 per 100,000, the lower bound of red
    expect((await levelOf('D1', '2021-10-07')).level).toBe('red');
    // as the app reads it
    const zone = await ctx.http().get('/v1/zones/C11?date=2021-10-07').expect(200);
    expect(zone.body).toMatchObject({ level: 'red' });

    const jobs = Number((await ctx.db.knex('jobs').count<{ n: number }[]>('* as n'))[0]?.n);
    const skip = await cli('import-reports', '--no-recompute', write('fix2.csv', 'area,date,community_cases,quarantine_cases\nC12,2021-10-06,20,0\n'));
    expect(skip.code).toBe(0);
    expect(skip.out[1]).toBe('recompute skipped (--no-recompute): days classified from 2021-10-06 on keep their levels until recomputed');
    expect(await levelOf('C12', '2021-10-07')).toEqual(c12);
    expect(Number((await ctx.db.knex('jobs').count<{ n: number }[]>('* as n'))[0]?.n)).toBe(jobs);
    // an unchanged file recomputes nothing
    const same = await cli('import-reports', write('fix3.csv', 'area,date,community_cases,quarantine_cases\nC11,2021-10-05,20,0\n'));
    expect(same.out).toHaveLength(1);
  });

  test('seed --demo activates vn-moh-4800-2021 and classifies the demo; --no-classify does not', async () => {
    const plain = await cli('seed', '--demo', '--end', '2021-10-31', '--days', '14', '--no-classify');
    expect(plain.out[0]).toMatch(/^demo loaded: areas created 183, .*reports 2021-10-18\.\.2021-10-31 inserted/);
    expect(plain.out[1]).toMatch(/^demo not classified \(--no-classify\)/);
    expect(await ctx.db.knex('rule_set_activations').count<{ n: number }[]>('* as n')).toEqual([{ n: 0 }]);
    expect(await ctx.db.knex('zone_levels').count<{ n: number }[]>('* as n')).toEqual([{ n: 0 }]);

    await ctx.reset();
    // the whole demo (90 days) loaded and classified in 6.2 s here (2.7 s of it the classification): no shorter range needed
    const r = await cli('seed', '--demo', '--end', '2021-10-31');
    expect(r.code).toBe(0);
    expect(r.out[1]).toMatch(/^demo classified with vn-moh-4800-2021, in force from 2021-08-03: job \d+ succeeded, 90\/90 days, 183 areas, \d+ level changes, \d+ rows written in [\d.]+ s$/);
    expect((await cli('rule-sets', 'list')).out).toEqual([expect.stringMatching(/^vn-moh-4800-2021@1\tvn-moh-4800-2021\t1\tactive\tcreated /)]);
    const last = await latestLevels('2021-10-31');
    expect(last).toHaveLength(183);
    // every area has a level: the demo reports every commune every day, and its districts their indicators
    expect(last.filter((l) => l.level === 'unknown')).toEqual([]);
    // seeding again keeps the rule set in force (no second activation) and changes no level
    const again = await cli('seed', '--demo', '--end', '2021-10-31');
    expect(again.out[1]).toMatch(/^demo classified 2021-08-03\.\.2021-10-31 with the rule sets already in force \(none activated\): job \d+ succeeded, 90\/90 days, 183 areas, 0 level changes, 0 rows written/);
    expect(await ctx.db.knex('rule_set_activations').count<{ n: number }[]>('* as n')).toEqual([{ n: 1 }]);
    await expect(cli('seed', '--demo', '--days', '0')).rejects.toThrow(/--days/);
  });

  test('rule-sets presets, create (preset or file), list, activate: the activation recomputes the classified days from then on', async () => {
    const presets = await offline('rule-sets', 'presets');
    expect(presets.code).toBe(0);
    expect(presets.opened).toEqual([]);
    expect(presets.out.map((l) => l.split('\t')[0]).sort()).toEqual(['eu-ecdc-combined-2021', 'us-cdc-transmission-2021', 'vn-2686-2021', 'vn-moh-218-2022', 'vn-moh-4800-2021']);

    await smallClassified(1, false); // C11: 1 case a day → 70 per 100,000 over 7 days: orange under the CDC bands (50–100)
    expect((await cli('rule-sets', 'list')).out).toEqual([]);
    const c = await cli('rule-sets', 'create', '--preset', 'us-cdc-transmission-2021');
    expect(c.out).toEqual(['created us-cdc-transmission-2021@1\tus-cdc-transmission-2021\tversion 1']);
    expect(c.err[0]).toBe('put it in force with: zonerisk rule-sets activate us-cdc-transmission-2021@1 [--from YYYY-MM-DD]');
    expect((await cli('rule-sets', 'create', '--preset', 'us-cdc-transmission-2021')).out[0]).toMatch(/^unchanged .* us-cdc-transmission-2021@1\t/);

    // a definition of its own, from a file: the CDC bands at a tenth (10, 20, 30 → 70 is red)
    const cdc = JSON.parse(fs.readFileSync(path.join(__dirname, '../src/domain/rules/presets/us-cdc-transmission-2021.json'), 'utf8')) as {
      name: string;
      levels: { steps: { of: { thresholds: number[] }[] }[] }[];
    };
    cdc.name = 'strict-cdc';
    (cdc.levels[0]?.steps[0]?.of[0] as { thresholds: number[] }).thresholds = [10, 20, 30];
    expect((await cli('rule-sets', 'create', '--file', write('strict.json', JSON.stringify(cdc)))).out).toEqual(['created strict-cdc@1\tstrict-cdc\tversion 1']);
    const list = await cli('rule-sets', 'list');
    expect(list.out.map((l) => l.split('\t').slice(0, 4))).toEqual([
      ['strict-cdc@1', 'strict-cdc', '1', '-'],
      ['us-cdc-transmission-2021@1', 'us-cdc-transmission-2021', '1', '-'],
    ]);

    const a = await cli('rule-sets', 'activate', 'us-cdc-transmission-2021@1', '--from', '2021-01-01');
    expect(a.out).toEqual(['rule set us-cdc-transmission-2021@1 in force from 2021-01-01 (activation 1)', 'recompute: no day from 2021-01-01 on is classified yet; nothing to recompute']);
    expect((await cli('recompute', '--from', '2021-10-01', '--to', '2021-10-07')).code).toBe(0);
    expect(await levelOf('C11', '2021-10-07')).toMatchObject({ level: 'orange', rule_set_id: 'us-cdc-transmission-2021@1' });

    const b = await cli('rule-sets', 'activate', 'strict-cdc@1', '--from', '2021-10-05');
    expect(b.code).toBe(0);
    expect(b.out[0]).toBe('rule set strict-cdc@1 in force from 2021-10-05 (activation 2)');
    expect(b.out[1]).toMatch(/^recompute 2021-10-05\.\.2021-10-07 \(rule set activation\): job \d+ succeeded, 3\/3 days, 7 areas, [1-9]\d* level changes, \d+ rows written in [\d.]+ s$/);
    expect(await levelOf('C11', '2021-10-07')).toMatchObject({ level: 'red', rule_set_id: 'strict-cdc@1' });
    expect(await levelOf('C11', '2021-10-04')).toMatchObject({ rule_set_id: 'us-cdc-transmission-2021@1' });
    expect((await cli('rule-sets', 'list')).out.map((l) => l.split('\t')[3])).toEqual(['active', '-']);
    // in force on that day already: nothing recorded, nothing run
    const again = await cli('rule-sets', 'activate', 'strict-cdc@1', '--from', '2021-10-06');
    expect(again.out).toEqual(['rule set strict-cdc@1 is in force on 2021-10-06 already (activation 2, from 2021-10-05): nothing recorded, nothing to recompute']);

    // mistakes
    await expect(cli('rule-sets', 'activate', 'nope@1')).rejects.toMatchObject({ status: 404 });
    await expect(cli('rule-sets', 'activate', 'strict-cdc@1', '--from', '2021-02-30')).rejects.toMatchObject({ code: 'usage' });
    await expect(cli('rule-sets', 'create')).rejects.toMatchObject({ code: 'usage' });
    await expect(cli('rule-sets', 'create', '--preset', 'x', '--file', 'y')).rejects.toMatchObject({ code: 'usage' });
    await expect(cli('rule-sets', 'create', '--preset', 'toString')).rejects.toMatchObject({ code: 'unknown_preset' });
    await expect(cli('rule-sets', 'create', '--file', write('bad.json', '{"name": "x",'))).rejects.toMatchObject({ code: 'invalid_json' });
    await expect(cli('rule-sets', 'create', '--file', write('invalid.json', JSON.stringify({ ...cdc, levels: 'many' })))).rejects.toMatchObject({ code: 'invalid_rule_set', details: [expect.objectContaining({ path: 'levels' })] });
    await expect(cli('rule-sets', 'create', '--file', write('huge.json', `{"name": "x", "description": "${'x'.repeat(1024 * 1024)}"}`))).rejects.toMatchObject({ code: 'rule_set_too_large' });
    await expect(cli('rule-sets', 'create', '--file', path.join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'cannot_read' });
    expect((await cli('rule-sets', 'list')).out).toHaveLength(2);
  });

  test('--help and -h on every command print its usage, exit 0, and open no database', async () => {
    // every command: a new one must be added here (and to docs/OPERATIONS.md)
    const all = ['serve', 'run-job', 'migrate', 'seed', 'import-areas', 'import-reports', 'import-metrics', 'recompute', 'reorganise', 'keys create', 'keys list', 'keys revoke', 'rule-sets list', 'rule-sets presets', 'rule-sets create', 'rule-sets activate', 'briefing'];
    expect(commandNames().sort()).toEqual([...all].sort());
    const table: [string[], RegExp][] = [
      ...all.map((c): [string[], RegExp] => [[...c.split(' '), '--help'], new RegExp(`^usage: zonerisk ${c}\\b`)]),
      ...all.map((c): [string[], RegExp] => [[...c.split(' '), '-h'], new RegExp(`^usage: zonerisk ${c}\\b`)]),
      [['import-reports', 'reports.csv', '--no-recompute', '--help'], /^usage: zonerisk import-reports <file\.csv\|file\.xlsx> \[options\]\n[^]*--no-recompute[^]*--dry-run[^]*--columns MAP[^]*--profile NAME/],
      [['import-areas', '--help'], /^usage: zonerisk import-areas <file> \[options\][^]*--repair[^]*--fields MAP[^]*--profile NAME[^]*--crs CRS[^]*--layer NAME/],
      [['seed', '--help'], /--demo[^]*--end YYYY-MM-DD[^]*--days N[^]*--no-classify/],
      [['keys', 'create', '--role', '--help'], /--role reader\|reporter\|admin[^]*--scope CODE \.\.\./],
      [['rule-sets', 'activate', '-h'], /^usage: zonerisk rule-sets activate <id> \[options\][^]*--from YYYY-MM-DD/],
      [['help', 'rule-sets', 'create'], /--preset ID[^]*--file definition\.json/],
      [['keys', '--help'], /^usage: zonerisk keys create\|list\|revoke/],
      [['rule-sets', '-h'], /^usage: zonerisk rule-sets list\|presets\|create\|activate/],
      [['--help'], /^usage: zonerisk <command>[^]*rule-sets activate <id>/],
      [['help'], /^usage: zonerisk <command>/],
    ];
    for (const [args, expected] of table) {
      const r = await offline(...args);
      expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 0, err: [] });
      expect(r.out.join('\n')).toMatch(expected);
      expect(r.opened).toEqual([]);
    }
    // the same line without --help does try the database (the closed port): the check above means something
    const tried = await offline('keys', 'list');
    expect(tried.opened).toHaveLength(1);
    expect(tried.code).toBe(1);
    expect(tried.err[0]).toMatch(/^zonerisk: Không kết nối được cơ sở dữ liệu — the database is unavailable: .*ECONNREFUSED/);
  });

  test('the progress bar is drawn on a terminal only, and ends at 100 % whatever the last update was', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120 }) as unknown as NodeJS.WriteStream & PassThrough;
    let drawn = '';
    tty.on('data', (b: Buffer) => (drawn += b.toString('utf8')));
    const bar = await progressBar('import-reports', 1000, tty);
    bar.update(440, 44);
    await new Promise((r) => setTimeout(r, 250)); // a redraw (5 a second)
    expect(drawn).toMatch(/ 44% \| 44 lines/);
    bar.done();
    const frames = drawn.split(/\r|\x1b\[\d*[GK]/).filter((f) => f.includes('%'));
    expect(frames[frames.length - 1]).toMatch(/^import-reports \[={30}\] 100% \| 44 lines/);

    const piped = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream & PassThrough;
    let written = '';
    piped.on('data', (b: Buffer) => (written += b.toString('utf8')));
    const quiet = await progressBar('import-reports', 1000, piped);
    quiet.update(500, 5);
    quiet.done();
    expect(written).toBe('');
  });

  test('the import counts the bytes and lines it read', async () => {
    const text = 'area,date,community_cases,quarantine_cases\n' + 'C11,2021-10-01,1,0\n'.repeat(150_000); // 2.9 MB: three chunks
    const file = write('big.csv', text);
    const seen: [number, number][] = [];
    let total = 0;
    for await (const chunk of readChunks(file, (bytes, lines) => seen.push([bytes, lines]))) total += chunk.length;
    expect(seen.length).toBe(3);
    expect(seen[seen.length - 1]).toEqual([Buffer.byteLength(text), 150_001]);
    expect(total).toBe(Buffer.byteLength(text));
  });
});

/** The CLI as its process runs it (`main`: exit code, stderr) over a database on a closed port, recording what it opened. */
async function offline(...args: string[]): Promise<{ code: number; out: string[]; err: string[]; opened: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const opened: string[] = [];
  const open = (config: Config) => {
    opened.push(config.databaseUrl ?? 'embedded');
    return openDatabase(config);
  };
  const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/closed', ZONERISK_LOG_LEVEL: 'error' };
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, open, env);
  return { code, out, err, opened };
}

/**
 * The small province (7 areas) with reports for 2021-10-01..07 (C11: `c11` cases a day, the
 * others none), us-cdc-transmission-2021 in force and those days classified.
 */
async function smallClassified(c11 = 0, activate = true): Promise<void> {
  expect((await cli('import-areas', write('small.geojson', JSON.stringify(smallProvince())))).code).toBe(0);
  const lines = ['area,date,community_cases,quarantine_cases'];
  for (let d = 1; d <= 7; d++) for (const c of ['C11', 'C12', 'C21', 'C22']) lines.push(`${c},2021-10-0${d},${c === 'C11' ? c11 : 0},0`);
  expect((await cli('import-reports', write('small.csv', lines.join('\n')))).out[1]).toBe('recompute: no day from 2021-10-01 on is classified yet; nothing to recompute');
  if (!activate) return;
  await ctx.http().post('/v1/rule-sets').send({ preset: 'us-cdc-transmission-2021' }).expect(201);
  await ctx.http().post('/v1/rule-sets/us-cdc-transmission-2021@1/activate').send({ effective_from: '2021-01-01' }).expect(200);
  await ctx.http().post('/v1/recompute').send({ from: '2021-10-01', to: '2021-10-07' }).expect(200);
}

type StoredLevel = { level: string; computed_at: Date; rule_set_id: string };

/** The latest stored level of an area on a day (zone_levels is append-only: the newest row is the level). */
async function levelOf(code: string, date: string): Promise<StoredLevel> {
  const row = (await ctx.db
    .knex('zone_levels as z')
    .join('areas as a', 'a.id', 'z.area_id')
    .where({ 'a.code': code, 'z.date': date })
    .orderBy('z.computed_at', 'desc')
    .first('z.level', 'z.computed_at', 'z.rule_set_id')) as StoredLevel | undefined;
  if (!row) throw new Error(`no level of ${code} on ${date}`);
  return row;
}

async function latestLevels(date: string): Promise<{ area_id: number; level: string }[]> {
  return ctx.db.knex.raw<{ rows: { area_id: number; level: string }[] }>(`SELECT DISTINCT ON (area_id) area_id, level FROM zone_levels WHERE date = ? ORDER BY area_id, computed_at DESC`, [date]).then((r) => r.rows);
}
