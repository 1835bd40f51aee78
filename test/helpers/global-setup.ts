import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbedded } from '../../src/db/embedded';
import { connectDatabase } from '../../src/db/database';
import { migrateLatest } from '../../src/db/migrate';
import { setLogLevel } from '../../src/log';

/**
 * One database for the whole run. With DATABASE_URL (a real PostgreSQL+PostGIS) a fresh
 * database is created next to the one named there and dropped afterwards, so tests never
 * touch existing data. Without it, the embedded engine starts in a temporary directory.
 */
export default async function globalSetup(): Promise<void> {
  // errors only unless ZONERISK_LOG_LEVEL says otherwise, as in every test file (quiet-logs.ts)
  setLogLevel(process.env.ZONERISK_LOG_LEVEL === 'debug' || process.env.ZONERISK_LOG_LEVEL === 'info' || process.env.ZONERISK_LOG_LEVEL === 'warn' ? process.env.ZONERISK_LOG_LEVEL : 'error');
  const g = globalThis as { __zonerisk_teardown__?: () => Promise<void> };
  const base = process.env.DATABASE_URL;
  let url: string;
  if (base) {
    const name = `zonerisk_test_${process.pid}_${Date.now()}`;
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(base);
    u.pathname = `/${name}`;
    url = u.toString();
    process.env.ZONERISK_TEST_EMBEDDED = '0';
    g.__zonerisk_teardown__ = async () => {
      const c = new Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-test-'));
    const engine = await startEmbedded(dir);
    url = engine.url;
    process.env.ZONERISK_TEST_EMBEDDED = '1';
    g.__zonerisk_teardown__ = async () => {
      await engine.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  process.env.ZONERISK_TEST_DATABASE_URL = url;
  const db = connectDatabase(url, 1, process.env.ZONERISK_TEST_EMBEDDED === '1');
  await migrateLatest(db.knex);
  await db.close();
}
