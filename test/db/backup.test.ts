import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { connectDatabase } from '../../src/db/database';
import { createApp } from '../../src/http/app';
import { createRuntime } from '../../src/runtime';
import { addDays, LocalDate } from '../../src/domain/dates';
import { embedded, TEST_ADMIN_KEY, testContext } from '../helpers/context';

/**
 * The backup/restore drill of docs/RELIABILITY.md, as a test: pg_dump of a classified
 * database (with a publication, an override and a late correction, so that as_of and
 * version=published matter), restored into a fresh database, answers the same zones for
 * every date, the published version, and the same history.
 */
const ctx = testContext();
afterAll(() => ctx.close());
const END = '2021-10-31' as LocalDate;

if (embedded()) {
  test.skip('pg_dump/pg_restore need a real server: this test runs with DATABASE_URL (PostgreSQL)', () => undefined);
} else {
  test('pg_dump → restore into a fresh database → the same zones for every date', async () => {
    await ctx.demo(END, 14);
    const code = 'VNM.17.1.10_1';
    await ctx.http().post('/v1/publications').send({ date: END }).expect(201);
    await ctx.http().post(`/v1/zones/${code}/overrides`).send({ level: 'red', reason: 'drill', from: addDays(END, -3) }).expect(201);
    // a late correction after the publication: latest and published now differ
    await ctx.http().post('/v1/reports').send({ reports: [{ area: code, date: END, community_cases: 400, quarantine_cases: 0 }] }).expect(200);
    await ctx.http().post('/v1/recompute').send({ from: addDays(END, -13), to: END }).expect(200);

    const dates = (await ctx.db.knex.raw<{ rows: { d: string }[] }>('SELECT DISTINCT date::text AS d FROM zone_levels ORDER BY 1')).rows.map((r) => r.d);
    expect(dates.length).toBe(14);
    const reads = [
      ...dates.map((d) => `/v1/zones?date=${d}`),
      `/v1/zones?date=${END}&version=published`,
      `/v1/summary?date=${END}`,
      `/v1/zones/${code}?date=${END}`,
      `/v1/zones/${code}/history?from=${dates[0]}&to=${END}`,
      `/v1/changes?since=${dates[0]}&until=${END}`,
    ];
    const snapshot = async (app: Parameters<typeof request>[0]) => Promise.all(reads.map(async (url) => (await request(app).get(url).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200)).body as unknown));
    const before = await snapshot(ctx.app);

    const source = process.env.ZONERISK_TEST_DATABASE_URL as string;
    const target = new URL(source);
    const name = `${target.pathname.slice(1)}_restored`;
    target.pathname = `/${name}`;
    const admin = new Client({ connectionString: source });
    await admin.connect();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-backup-'));
    const file = path.join(dir, 'zonerisk.dump');
    try {
      // the drill's commands (docs/RELIABILITY.md)
      execFileSync('pg_dump', ['--format=custom', '--file', file, source], { stdio: 'pipe' });
      await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
      execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', target.toString(), file], { stdio: 'pipe' });
      const restored = connectDatabase(target.toString(), 2, false);
      const rt = createRuntime(ctx.config, restored);
      try {
        const app = createApp(rt);
        await request(app).get('/ready').expect(200);
        expect(await snapshot(app)).toEqual(before);
        // and the restored database takes writes: sequences and triggers came back too
        await request(app).post('/v1/reports').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).send({ reports: [{ area: code, date: END, community_cases: 401, quarantine_cases: 0 }] }).expect(200);
        const audit = await restored.knex('audit_log').count<{ c: number }[]>('* as c');
        expect(Number(audit[0]?.c)).toBeGreaterThan(0);
      } finally {
        await rt.close();
        await restored.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
}
