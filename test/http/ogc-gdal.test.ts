import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { addDays, LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';

/**
 * GDAL's OAPIF driver (a client no one here wrote) against /ogc: the per-kind collections,
 * field types from the schema (a province's small incidence stays 0.06 in a GeoPackage, not
 * an Integer 0), `-where` passed to the server as a CQL2-text filter (seen in a request log),
 * and a datetime interval.
 */
const run = promisify(execFile);
const ctx = testContext();
const END = '2021-10-31' as LocalDate;
const hasGdal = fs.existsSync('/usr/bin/ogrinfo');
let server: http.Server;
let root: string;
const requests: string[] = [];
const env = { ...process.env, GDAL_HTTP_TIMEOUT: '30', CPL_DEBUG: 'OFF' };

beforeAll(async () => {
  await ctx.demo(END, 2);
  // the province's community cases of the 7 days: 2, in one commune (incidence 2 × 100,000 / its population)
  const province = await ctx.db.knex('areas').where({ kind: 'province' }).first('id', 'population');
  const commune = await ctx.db.knex('areas').where({ kind: 'commune' }).whereNull('valid_to').first('id');
  await ctx.db.knex('reports').whereBetween('date', [addDays(END, -6), END]).update({ community_cases: 0 });
  await ctx.db.knex('reports').where({ date: END, area_id: commune.id }).update({ community_cases: 2 });
  expect(province.population).toBeGreaterThan(2_000_000);
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    ctx.app(req, res);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  root = `http://127.0.0.1:${(server.address() as { port: number }).port}/ogc`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await ctx.close();
});

const itemsRequests = (collection: string) => requests.filter((u) => u.startsWith(`/ogc/collections/${collection}/items`)).map((u) => new URL(u, 'http://x'));

describe('GDAL reads the OGC API', () => {
  if (!hasGdal) {
    test.skip('GDAL is not installed here: apt-get install -y gdal-bin', () => undefined);
    return;
  }

  test('ogrinfo lists a collection per kind of area, and zones', async () => {
    const { stdout } = await run('ogrinfo', ['-ro', '-q', `OAPIF:${root}`], { env, timeout: 60_000 });
    for (const id of ['zones', 'provinces', 'districts', 'communes', 'subcommunes']) expect(stdout).toMatch(new RegExp(`^\\d+: ${id}\\b`, 'm'));
  });

  test('a GeoPackage types the fields from the schema: incidence Real, and the province keeps 0.06', async () => {
    const served = (await ctx.http().get(`/ogc/collections/provinces/items?datetime=${END}`).expect(200)).body.features[0].properties.incidence_per_100k_7d as number;
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(1); // a small fraction: what an Integer field would write as 0
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-ogc-'));
    try {
      const gpkg = path.join(dir, 'out.gpkg');
      // the day in the base URL: GDAL sends it with every request
      await run('ogr2ogr', ['-f', 'GPKG', gpkg, `OAPIF:${root}?datetime=${END}`, 'provinces', 'communes'], { env, timeout: 120_000 });
      const info = (await run('ogrinfo', ['-ro', '-so', gpkg, 'provinces'], { env, timeout: 60_000 })).stdout;
      expect(info).toMatch(/incidence_per_100k_7d: Real/);
      expect(info).toMatch(/community_cases_7d: Integer/);
      expect(info).toMatch(/population: Integer/);
      expect(info).toMatch(/since: Date/);
      expect(info).toMatch(/level: String/);
      expect((await run('ogrinfo', ['-ro', '-so', gpkg, 'communes'], { env, timeout: 60_000 })).stdout).toMatch(/incidence_per_100k_7d: Real/);
      const { stdout } = await run('ogrinfo', ['-ro', '-q', gpkg, '-sql', 'SELECT incidence_per_100k_7d FROM provinces'], { env, timeout: 60_000 });
      const value = Number(/incidence_per_100k_7d \(Real\) = ([\d.]+)/.exec(stdout)?.[1]);
      expect(value).toBe(served);
      expect(served).toBe(0.06);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ogrinfo -where passes the filter to the server as CQL2-text, and counts right', async () => {
    const all = (await ctx.http().get(`/ogc/collections/communes/items?limit=10000&datetime=${END}`).expect(200)).body.features as { properties: { level: string; population: number | null } }[];
    const levels = all.map((f) => f.properties.level);
    const lv = [...new Set(levels)].sort((a, b) => levels.filter((l) => l === b).length - levels.filter((l) => l === a).length)[0] as string;
    for (const [where, pass] of [
      [`level = '${lv}'`, (f: (typeof all)[number]) => f.properties.level === lv],
      [`level <> '${lv}' OR population > 20000`, (f: (typeof all)[number]) => f.properties.level !== lv || (f.properties.population ?? 0) > 20000],
    ] as const) {
      requests.length = 0;
      const { stdout } = await run('ogrinfo', ['-ro', '-so', '-where', where, `OAPIF:${root}?datetime=${END}`, 'communes'], { env, timeout: 60_000 });
      expect(stdout).toMatch(new RegExp(`Feature Count: ${all.filter(pass).length}\\b`));
      const filters = itemsRequests('communes').map((u) => u.searchParams.get('filter'));
      expect(filters.filter(Boolean).length).toBeGreaterThan(0);
      expect(itemsRequests('communes').every((u) => u.searchParams.get('filter') === null || u.searchParams.get('filter-lang') === 'cql-text')).toBe(true);
    }
  });

  test('a datetime interval through GDAL: a feature per area per day', async () => {
    const districts = (await ctx.http().get(`/ogc/collections/districts/items?limit=1&datetime=${END}`).expect(200)).body.numberMatched as number;
    const url = `${root}/collections/districts?datetime=${addDays(END, -1)}/${END}`;
    const { stdout } = await run('ogrinfo', ['-ro', '-al', '-so', `OAPIF:${url}`], { env, timeout: 60_000 });
    expect(stdout).toMatch(new RegExp(`Feature Count: ${2 * districts}\\b`));
    expect(stdout).toMatch(/date: Date/);
  });
});
