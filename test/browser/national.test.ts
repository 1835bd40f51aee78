/// <reference lib="dom" />
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { adminQuery, benchUrl, buildNational, nationalOptions } from '../../bench/common';
import { loadConfig } from '../../src/config';
import { connectDatabase, Database } from '../../src/db/database';
import { migrateLatest } from '../../src/db/migrate';
import { activateRuleSet, createFromPreset } from '../../src/db/rulesets';
import { addDays, LocalDate } from '../../src/domain/dates';
import { createApp } from '../../src/http/app';
import { Recomputations } from '../../src/jobs/recomputations';
import { createRuntime, Runtime } from '../../src/runtime';
import { embedded, TEST_ADMIN_KEY } from '../helpers/context';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launch, listen, pageErrors, shot } from './page';

/**
 * The page on the national bench set (10,600 communes, 700 districts, 63 provinces; two
 * weeks of reports, the last eight days classified): the map is coloured and the list holds
 * every commune. The time to a coloured map and to a filled list is printed, cold and once the
 * tiles are warm — figures for the note, not asserted (machines here are noisy).
 */

const DB = `zonerisk_page_national_${process.pid}`;
const O = { ...nationalOptions(), days: 14 };
const CLASSIFIED = 8;

if (!fs.existsSync(CHROMIUM) || embedded() || !process.env.DATABASE_URL) {
  test.skip('needs Chromium and a real PostgreSQL (DATABASE_URL)', () => undefined);
} else {
  let db: Database;
  let rt: Runtime;
  let server: Server;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE ${DB}`);
    await adminQuery(`ALTER DATABASE ${DB} SET client_min_messages = warning`);
    db = connectDatabase(benchUrl(DB), 4, false);
    await migrateLatest(db.knex);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-page-national-'));
    try {
      await buildNational(db, O, dir, DB, () => undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const { rule_set } = await createFromPreset(db, 'vn-moh-4800-2021');
    await activateRuleSet(db, rule_set.id, '2000-01-01' as LocalDate);
    const recompute = new Recomputations(db);
    await recompute.runJob(await recompute.createJob(addDays(O.end, -(CLASSIFIED - 1)), O.end, 'test'));
    rt = createRuntime({ ...loadConfig({}), databaseUrl: benchUrl(DB), adminKey: TEST_ADMIN_KEY, readRate: 1_000_000, writeRate: 1_000_000, refusalRate: 1_000_000 }, db);
    ({ server, url } = await listen(createApp(rt)));
    browser = await launch();
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await rt?.close();
    await db?.close();
    await adminQuery(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  });

  /** One load of the page: the time to a coloured map and to a filled list, in ms from the script's start. */
  async function load(page: Page): Promise<Record<string, number>> {
    await page.goto(`${url}/?test=1`);
    await page.waitForFunction(() => window.zonerisk?.ready === true, undefined, { timeout: 180_000 });
    return page.evaluate(() => window.zonerisk.timings);
  }

  test('10,600 communes: the map is coloured and the list holds every one (times printed, cold and warm)', async () => {
    const cold = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = pageErrors(cold);
    const first = await load(cold);
    expect(errors).toEqual([]);
    const rows = await cold.evaluate(() => window.zonerisk.list.order().length);
    expect(rows).toBe(O.communes);
    const drawn = await cold.evaluate(() => Object.keys(window.zonerisk.drawnLevels ?? {}).length);
    expect(drawn).toBeGreaterThan(1000);
    // the list scrolls to its end: only the rows in sight are in the document
    await cold.click('#tabs button[data-tab="list"]');
    await cold.evaluate(() => document.getElementById('list-body')?.scrollTo(0, 1e9));
    await cold.waitForTimeout(300);
    expect(await cold.locator('.list-body .row').count()).toBeLessThan(100);
    await shot(cold, 'workplace-national.png');
    await cold.close();

    const warm = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const second = await load(warm);
    await warm.close();
    console.log(
      `national page (${O.communes.toLocaleString('en')} communes): coloured map ${first.map_coloured} ms cold, ${second.map_coloured} ms warm; ` +
        `filled list ${first.list_filled} ms cold, ${second.list_filled} ms warm (target: under 3 s each once tiles are warm)`,
    );
  }, 600_000);
}
