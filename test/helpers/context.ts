import type { Express } from 'express';
// supertest: the authenticated client of every test
import request from 'supertest';
import { Config, loadConfig } from '../../src/config';
import { connectDatabase, Database } from '../../src/db/database';
import { createApp } from '../../src/http/app';
import { addDays, LocalDate } from '../../src/domain/dates';
import { seedDemo } from '../../seeds';
import { setLogLevel } from '../../src/log';
import { mapWorker } from '../../src/geo/mapShapes';
import { classifyWorker } from '../../src/jobs/classifyThread';

export type TestContext = {
  db: Database;
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
  setLogLevel('warn');
  const config: Config = { ...loadConfig({}), databaseUrl: url, adminKey: TEST_ADMIN_KEY, writeRate: 1_000_000, readRate: 1_000_000, refusalRate: 1_000_000, ...overrides };
  const db = connectDatabase(url, 4, embedded());
  const app = createApp({ db, config });
  return {
    db,
    app,
    config,
    http: () => request.agent(app).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`),
    async demo(end, days = 0) {
      await this.reset();
      await seedDemo(db, end);
      await this.http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
      await this.http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').expect(200);
      if (days > 0) await this.http().post('/v1/recompute').send({ from: addDays(end, -(days - 1)), to: end }).expect(200);
    },
    async reset() {
      await db.knex.raw(
        'TRUNCATE areas, reports, report_revisions, metrics, metric_revisions, rule_sets, rule_set_activations, jobs, zone_levels, overrides, publications, api_keys, api_key_scopes, audit_log, level_events, webhooks, webhook_deliveries RESTART IDENTITY CASCADE',
      );
    },
    async close() {
      // the app's worker threads, if any ran (its job dispatcher stops as the database closes)
      await Promise.all([mapWorker.stop(), classifyWorker.stop()]);
      await db.close();
    },
  };
}

/** Number of rows in each table: a rejected write must leave these unchanged. */
export async function rowCounts(db: Database): Promise<Record<string, number>> {
  const tables = ['areas', 'reports', 'report_revisions', 'metrics', 'metric_revisions', 'rule_sets', 'rule_set_activations', 'jobs', 'zone_levels', 'overrides', 'publications', 'api_keys', 'audit_log'];
  const out: Record<string, number> = {};
  for (const t of tables) {
    const r = await db.knex(t).count<{ c: number }[]>('* as c');
    out[t] = Number(r[0]?.c ?? 0);
  }
  return out;
}

/** The secret part of an API key `zr_<prefix>_<secret>` (the secret is base64url: it may itself hold `_`). */
export const secretOf = (key: string): string => {
  const m = /^zr_[a-z0-9]{8}_(.{32})$/.exec(key);
  if (!m) throw new Error(`not an API key: ${key}`);
  return m[1] as string;
};
