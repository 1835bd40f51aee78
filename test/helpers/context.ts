import type { Express } from 'express';
import { Config, loadConfig } from '../../src/config';
import { connectDatabase, Database } from '../../src/db/database';
import { createApp } from '../../src/http/app';
import { setLogLevel } from '../../src/log';

export type TestContext = { db: Database; app: Express; config: Config; reset(): Promise<void>; close(): Promise<void> };

export const embedded = () => process.env.ZONERISK_TEST_EMBEDDED === '1';

/** The real app over the run's real database (see global-setup.ts). */
export function testContext(overrides: Partial<Config> = {}): TestContext {
  const url = process.env.ZONERISK_TEST_DATABASE_URL;
  if (!url) throw new Error('ZONERISK_TEST_DATABASE_URL is not set: run the tests through jest (global-setup)');
  setLogLevel('warn');
  const config: Config = { ...loadConfig({}), databaseUrl: url, ...overrides };
  const db = connectDatabase(url, 4, embedded());
  const app = createApp({ db, config });
  return {
    db,
    app,
    config,
    async reset() {
      await db.knex.raw(
        'TRUNCATE areas, reports, report_revisions, metrics, metric_revisions, rule_sets, rule_set_activations, jobs, zone_levels, overrides, publications RESTART IDENTITY CASCADE',
      );
    },
    close: () => db.close(),
  };
}

/** Number of rows in each table: a rejected write must leave these unchanged. */
export async function rowCounts(db: Database): Promise<Record<string, number>> {
  const tables = ['areas', 'reports', 'report_revisions', 'metrics', 'metric_revisions', 'rule_sets', 'rule_set_activations', 'jobs', 'zone_levels', 'overrides', 'publications'];
  const out: Record<string, number> = {};
  for (const t of tables) {
    const r = await db.knex(t).count<{ c: number }[]>('* as c');
    out[t] = Number(r[0]?.c ?? 0);
  }
  return out;
}
