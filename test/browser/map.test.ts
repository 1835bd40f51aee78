/// <reference lib="dom" />
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { addDays, LocalDate } from '../../src/domain/dates';
import { LEVEL_INFO } from '../../src/domain/levels';
import { projectRoot } from '../../src/paths';
import { testContext } from '../helpers/context';

/**
 * The command-centre map in a real headless Chromium: zones drawn in their level colours,
 * the date slider changes them, a click explains an area; a screenshot is kept under
 * test/artifacts/.
 */
const CHROMIUM = '/usr/bin/chromium';
const ctx = testContext();
const END = '2021-10-31' as LocalDate;
const DAYS = 30;

type Counts = Record<string, number>;
declare global {
  interface Window {
    zonerisk: { ready: boolean; counts?: Counts; details?: { code: string; explanation: unknown[] } };
  }
}

if (!fs.existsSync(CHROMIUM)) {
  test.skip('Chromium is not installed here: apt-get install -y chromium', () => undefined);
} else {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    await ctx.demo(END, DAYS);
    server = ctx.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // software WebGL: CI machines have no GPU
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => window.zonerisk?.ready === true, undefined, { timeout: 60_000 });
    expect(errors).toEqual([]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await ctx.close();
  });

  /** Where the canvas shows each level's colour (as blended over the background), one pixel per level, and how many. */
  const colourPixels = () =>
    page.evaluate((levels) => {
      const gl = document.querySelector<HTMLCanvasElement>('#map canvas') as HTMLCanvasElement;
      const c = document.createElement('canvas');
      c.width = gl.width;
      c.height = gl.height;
      const g = c.getContext('2d') as CanvasRenderingContext2D;
      g.drawImage(gl, 0, 0);
      const data = g.getImageData(0, 0, c.width, c.height).data;
      const bg = [0xee, 0xf2, 0xf5];
      const out: Record<string, { n: number; x: number; y: number }> = {};
      const ratio = c.width / gl.getBoundingClientRect().width;
      for (const [level, hex] of Object.entries(levels)) {
        const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
        const want = rgb.map((v, i) => v * 0.85 + (bg[i] as number) * 0.15);
        let n = 0;
        let x = -1;
        let y = -1;
        for (let p = 0; p < data.length; p += 4 * 7) {
          if (Math.abs((data[p] as number) - (want[0] as number)) < 6 && Math.abs((data[p + 1] as number) - (want[1] as number)) < 6 && Math.abs((data[p + 2] as number) - (want[2] as number)) < 6) {
            n++;
            if (x < 0) {
              x = ((p / 4) % c.width) / ratio;
              y = Math.floor(p / 4 / c.width) / ratio;
            }
          }
        }
        out[level] = { n, x, y };
      }
      return out;
    }, Object.fromEntries(Object.entries(LEVEL_INFO).map(([l, i]) => [l, i.color])));

  test('the demo province is drawn in its level colours, with counts in view and the legend', async () => {
    const counts = await page.evaluate(() => window.zonerisk.counts as Counts);
    const present = Object.entries(counts).filter(([, n]) => n > 0).map(([l]) => l);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(100); // the communes in view
    const pixels = await colourPixels();
    for (const level of present) expect({ level, drawn: (pixels[level]?.n ?? 0) > 20 }).toEqual({ level, drawn: true });
    expect(present.filter((l) => l !== 'unknown').length).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('#legend-items')).toContain('Cấp 4');
    expect(await page.textContent('#summary-rows')).toMatch(/\d/);
    fs.mkdirSync(path.join(projectRoot, 'test', 'artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(projectRoot, 'test', 'artifacts', 'map.png') });
  });

  test('moving the date slider back changes the map', async () => {
    const before = await page.evaluate(() => JSON.stringify(window.zonerisk.counts));
    await page.evaluate(() => {
      const s = document.getElementById('date') as HTMLInputElement;
      s.value = '0';
      s.dispatchEvent(new Event('input'));
    });
    expect(await page.textContent('#date-label')).toBe(addDays(END, -(DAYS - 1)));
    await page.waitForFunction((b) => JSON.stringify(window.zonerisk.counts) !== b, before, { timeout: 30_000 });
    await page.screenshot({ path: path.join(projectRoot, 'test', 'artifacts', 'map-first-day.png') });
  });

  test('clicking an area shows its level, since when and the explanation', async () => {
    const pixels = await colourPixels();
    const target = Object.entries(pixels).find(([l, p]) => l !== 'unknown' && p.n > 0)?.[1] as { x: number; y: number };
    const box = (await page.locator('#map canvas').boundingBox()) as { x: number; y: number };
    await page.mouse.click(box.x + target.x + 1, box.y + target.y + 1);
    await page.waitForFunction(() => !(document.getElementById('details') as HTMLElement).hidden, undefined, { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('#details-explanation li').length > 0, undefined, { timeout: 15_000 });
    expect(await page.textContent('#details-level')).toMatch(/Cấp|Chưa/);
    expect(await page.textContent('#details-since')).toMatch(/\d{4}-\d{2}-\d{2}/);
    await page.screenshot({ path: path.join(projectRoot, 'test', 'artifacts', 'map-details.png') });
  });

  test('on a phone the map and the panel share the screen', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await phone.goto(url);
      await phone.waitForFunction(() => window.zonerisk?.ready === true, undefined, { timeout: 60_000 });
      const map = (await phone.locator('#map').boundingBox()) as { y: number; height: number; width: number };
      const panel = (await phone.locator('#panel').boundingBox()) as { y: number; height: number; width: number };
      expect(map.width).toBe(390);
      expect(panel.width).toBe(390);
      expect(map.height).toBeGreaterThan(300);
      expect(panel.y).toBeGreaterThanOrEqual(map.y + map.height - 1); // below the map, not over it
      expect(await phone.isVisible('#date')).toBe(true);
      await phone.screenshot({ path: path.join(projectRoot, 'test', 'artifacts', 'map-phone.png') });
    } finally {
      await phone.close();
    }
  });

  test('search by name without diacritics finds the area', async () => {
    await page.fill('#search', 'long binh');
    await page.waitForSelector('#search-results button', { timeout: 10_000 });
    expect((await page.textContent('#search-results')) ?? '').toMatch(/Long Bình/);
  });
}
