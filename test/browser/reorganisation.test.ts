/// <reference lib="dom" />
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { LocalDate } from '../../src/domain/dates';
import { testContext } from '../helpers/context';
import { CHROMIUM, launch, listen, pageErrors, shot } from './page';

/**
 * The map page across 1 July 2025 in a real headless Chromium: the Đồng Nai demo on both maps
 * (171 communes in 11 districts until 30 June 2025, the 55 communes of the province from 1
 * July), classified around the day. Sliding the date across redraws the boundaries: the
 * communes drawn are those of the day, and the district picker lists the day's districts.
 */
const ctx = testContext();
const END = '2025-07-10' as LocalDate;
const DAYS = 20;


if (!fs.existsSync(CHROMIUM)) {
  test.skip('Chromium is not installed here: apt-get install -y chromium', () => undefined);
} else {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    await ctx.demo(END, DAYS);
    let url: string;
    ({ server, url } = await listen(ctx.app));
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    errors = pageErrors(page);
    await page.goto(`${url}/?test=1`);
    await page.waitForFunction(() => window.zonerisk?.ready === true, undefined, { timeout: 90_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await ctx.close();
  });

  /** Moves the page to `date` and answers the communes drawn once the map is idle with that day's tiles. */
  async function drawnOn(date: string): Promise<string[]> {
    await page.evaluate((d) => window.zonerisk.setDate(d), date);
    const expected = (await ctx.http().get(`/v1/areas?kind=commune&date=${date}&limit=1000`).expect(200)).body.items.map((a: { code: string }) => a.code).sort();
    await page.waitForFunction(
      (codes) => {
        const drawn = Object.keys(window.zonerisk.drawnLevels ?? {}).sort();
        return drawn.length === codes.length && drawn.every((c, i) => c === codes[i]);
      },
      expected,
      { timeout: 60_000 },
    );
    return Object.keys(await page.evaluate(() => window.zonerisk.drawnLevels ?? {})).sort();
  }

  const districtOptions = () => page.evaluate(() => [...document.querySelectorAll<HTMLOptionElement>('#district option')].filter((o) => o.value !== '').length);

  test('sliding across 1 July 2025 redraws the boundaries: 171 old communes, then the 55 new ones, and back', async () => {
    const before = await drawnOn('2025-06-30');
    expect(before).toHaveLength(171);
    expect(before.every((c) => c.startsWith('VNM.17.'))).toBe(true);
    expect(await districtOptions()).toBe(11);
    await shot(page, 'reorganisation-2025-06-30.png');
    const after = await drawnOn('2025-07-01');
    expect(after).toHaveLength(55);
    expect(after.every((c) => c.startsWith('DN2025.'))).toBe(true);
    expect(await districtOptions()).toBe(0);
    await shot(page, 'reorganisation-2025-07-01.png');
    expect(await drawnOn('2025-06-30')).toEqual(before);
    expect(errors).toEqual([]);
  }, 120_000);
}
