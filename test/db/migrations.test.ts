import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Client } from 'pg';
import request from 'supertest';
import { connectDatabase } from '../../src/db/database';
import { migrateLatest, migrations, migrationsCurrent } from '../../src/db/migrate';
import { createApp } from '../../src/http/app';
import { createRuntime } from '../../src/runtime';
import { projectRoot } from '../../src/paths';
import { embedded, testContext } from '../helpers/context';

/**
 * Every migration runs forward on a copy of a released schema holding data: each fixture
 * under test/fixtures/releases is a pg_dump made by a landed release's own code (demo
 * loaded, 14 days classified, an override, a publication; make-fixture.sh), restored here
 * into a fresh database and migrated to the current schema. The current code must then
 * answer what that release answered (fields may be added, none lost or changed), and take
 * writes. A release whose schema is the current one is still restored and checked.
 */
const ctx = testContext();
afterAll(() => ctx.close());
const dir = path.join(projectRoot, 'test', 'fixtures', 'releases');
const fixtures = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.sql.gz')).map((f) => f.replace(/\.sql\.gz$/, '')).sort() : [];

/** `actual` has every field of `expected` with the same value (recursively); it may have more (and an explanation more steps at its end). */
function expectSubset(actual: unknown, expected: unknown, at = '$'): void {
  if (expected !== null && typeof expected === 'object') {
    expect({ at, isObject: actual !== null && typeof actual === 'object', isArray: Array.isArray(actual) }).toEqual({ at, isObject: true, isArray: Array.isArray(expected) });
    if (Array.isArray(expected)) {
      // a zone's explanation may end with more steps than the release's (since issue 14 an
      // overridden zone's ends with the override, so that it ends on the level shown); any
      // other list, and every step the release had, stays as it was
      const grows = at.endsWith('.explanation') && (actual as unknown[]).length > expected.length;
      expect({ at, length: grows ? expected.length : (actual as unknown[]).length }).toEqual({ at, length: expected.length });
      expected.forEach((e, i) => expectSubset((actual as unknown[])[i], e, `${at}[${i}]`));
    } else {
      for (const [k, v] of Object.entries(expected)) expectSubset((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
    }
  } else {
    expect({ at, value: actual }).toEqual({ at, value: expected });
  }
}

test('every file under migrations/ is listed in src/db/migrate.ts, in order (a file not listed would never run)', () => {
  const files = fs.readdirSync(path.join(projectRoot, 'migrations')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();
  expect(migrations.map((m) => m.name)).toEqual(files);
});

if (embedded()) {
  test.skip('restoring release fixtures needs a real server: this test runs with DATABASE_URL (PostgreSQL)', () => undefined);
} else {
  test('there is a fixture of at least one earlier release', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  describe.each(fixtures)('release fixture %s', (name) => {
    test('migrates forward and answers as the release did', async () => {
      const source = process.env.ZONERISK_TEST_DATABASE_URL as string;
      const target = new URL(source);
      const db = `${target.pathname.slice(1)}_${name.replace(/[^a-z0-9]/g, '_')}`;
      target.pathname = `/${db}`;
      const admin = new Client({ connectionString: source });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${db} TEMPLATE template0`);
        const sql = zlib.gunzipSync(fs.readFileSync(path.join(dir, `${name}.sql.gz`)));
        execFileSync('psql', ['--no-psqlrc', '-q', '-v', 'ON_ERROR_STOP=1', '-d', target.toString()], { input: sql, stdio: ['pipe', 'ignore', 'pipe'] });
        const restored = connectDatabase(target.toString(), 2, false);
        const rt = createRuntime(ctx.config, restored);
        try {
          const applied = (await restored.knex('knex_migrations').select('name')) as { name: string }[];
          const pending = migrations.filter((m) => !applied.some((a) => a.name === m.name)).map((m) => m.name);
          const ran = await migrateLatest(restored.knex);
          expect(ran).toEqual(pending);
          expect(await migrationsCurrent(restored.knex)).toBe(true);
          const expected = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, `${name}.expected.json.gz`))).toString('utf8')) as { answers: Record<string, unknown> };
          const app = createApp(rt);
          for (const [url, answer] of Object.entries(expected.answers)) {
            const res = await request(app).get(url);
            expect({ url, status: res.status }).toEqual({ url, status: 200 });
            expectSubset(res.body, answer, url);
          }
          // and it takes writes and classifies under the current code
          const auth = { Authorization: 'Bearer test-admin-key-not-secret' };
          await request(app).post('/v1/reports').set(auth).send({ reports: [{ area: 'VNM.17.1.10_1', date: '2021-10-31', community_cases: 321, quarantine_cases: 0 }] }).expect(200);
          await request(app).post('/v1/recompute').set(auth).send({ date: '2021-10-31' }).expect(200);
        } finally {
          await rt.close();
          await restored.close();
        }
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await admin.end();
      }
    }, 120_000);
  });
}
