import type { Express } from 'express';
// supertest: the authenticated client of every test
import request from 'supertest';
import { Config, loadConfig } from '../../src/config';
import { connectDatabase, Database } from '../../src/db/database';
import { createApp } from '../../src/http/app';
import { addDays, LocalDate } from '../../src/domain/dates';
import { seedDemo } from '../../seeds';
import { createRuntime, Runtime } from '../../src/runtime';

export type TestContext = {
  db: Database;
  /** The app's runtime (its caches, workers, job dispatcher, recomputations). */
  rt: Runtime;
  app: Express;
  config: Config;
  /** supertest on the app, every request with the test admin key */
  http(): ReturnType<typeof request.agent>;
  /**
   * A fresh database with the Đồng Nai demo ending `end`, vn-moh-4800-2021 active, and the
   * last `days` days (at most 31) classified.
   */
  demo(end: LocalDate, days?: number): Promise<void>;
  reset(): Promise<void>;
  close(): Promise<void>;
};

/** The bootstrap admin key of every test app (ZONERISK_ADMIN_KEY). */
export const TEST_ADMIN_KEY = 'test-admin-key-not-secret';

export const embedded = () => process.env.ZONERISK_TEST_EMBEDDED === '1';

/** The real app over the run's real database (see global-setup.ts). */
export function testContext(overrides: Partial<Config> = {}): TestContext {
  const url = process.env.ZONERISK_TEST_DATABASE_URL;
  if (!url) throw new Error('ZONERISK_TEST_DATABASE_URL is not set: run the tests through jest (global-setup)');
  const config: Config = { ...loadConfig({}), databaseUrl: url, adminKey: TEST_ADMIN_KEY, writeRate: 1_000_000, readRate: 1_000_000, refusalRate: 1_000_000, ...overrides };
  const db = connectDatabase(url, 4, embedded());
  const rt = createRuntime(config, db);
  const app = createApp(rt);
  return {
    db,
    rt,
    app,
    config,
    http: () => request.agent(app).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`),
    async demo(end, days = 0) {
      await this.reset();
      await seedDemo(db, end);
      await this.http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
      await this.http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2000-01-01' }).expect(200);
      if (days > 0) await this.http().post('/v1/recompute').send({ from: addDays(end, -(days - 1)), to: end }).expect(200);
    },
    async reset() {
      await db.knex.raw(
        'TRUNCATE areas, reports, report_revisions, metrics, metric_revisions, rule_sets, rule_set_activations, jobs, schedule_runs, level_chunks, overrides, publications, api_keys, api_key_scopes, audit_log, level_events, webhooks, webhook_deliveries, import_batches, area_aliases, import_profiles, area_versions, area_lineage, reorganisations RESTART IDENTITY CASCADE',
      );
    },
    async close() {
      // the app's job dispatcher, recomputations and worker threads, then the pools
      await rt.close();
      await db.close();
    },
  };
}

/**
 * Number of rows in every table of the schema (from the catalog, so a new table is counted
 * without touching this list; PostGIS's spatial_ref_sys and knex's own tables aside): a
 * rejected write must leave these unchanged.
 */
export async function rowCounts(db: Database): Promise<Record<string, number>> {
  const tables = (
    await db.knex.raw<{ rows: { name: string }[] }>(
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
         AND table_name <> 'spatial_ref_sys' AND table_name NOT LIKE 'knex\\_%'
       ORDER BY table_name`,
    )
  ).rows.map((r) => r.name);
  if (!tables.includes('level_chunks')) throw new Error('rowCounts: the schema has no level_chunks table (not migrated?)');
  tables.push('zone_levels'); // the view of the chunks' rows (migration 25): counted by level too
  const counts = await db.knex.raw<{ rows: Record<string, string | number>[] }>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}") AS "${t}"`).join(', ')}`);
  const row = counts.rows[0] ?? {};
  return Object.fromEntries(tables.map((t) => [t, Number(row[t] ?? 0)]));
}

/** The secret part of an API key `zr_<prefix>_<secret>` (the secret is base64url: it may itself hold `_`). */
export const secretOf = (key: string): string => {
  const m = /^zr_[a-z0-9]{8}_(.{32})$/.exec(key);
  if (!m) throw new Error(`not an API key: ${key}`);
  return m[1] as string;
};
