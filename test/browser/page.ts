/// <reference lib="dom" />
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Express } from 'express';
import type { Browser, Page } from 'playwright-core';
import { LEVEL_INFO } from '../../src/domain/levels';
import { projectRoot } from '../../src/paths';

/** What the browser tests share: Chromium, the app on a port, the page's test hooks, screenshots. */
export const CHROMIUM = '/usr/bin/chromium';

/** The page's test hooks (`/?test=1` only). */
export type Workplace = {
  ready: boolean;
  mapReady?: boolean;
  steeringReady?: boolean;
  timings: Record<string, number>;
  counts?: Record<string, number>;
  drawnLevels?: Record<string, string>;
  summary?: { date: string; parent: string | null };
  list: { order(): string[] };
  map: { getZoom(): number };
  details?: { code: string; explanation: unknown[] };
  chart?: { dates: string[]; community: (number | null)[]; quarantine: (number | null)[]; incidence: (number | null)[]; levels: string[]; thresholds: number[] };
  setDate(date: string): Promise<void>;
};

declare global {
  interface Window {
    zonerisk: Workplace;
  }
}

/** Builds the page's bundle from web/src (what `npm run build` does), so a test sees the sources as they are. */
export function buildPage(): void {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'web', 'build.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`web/build.mjs failed: ${r.stderr}`);
}

export async function launch(): Promise<Browser> {
  buildPage();
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    // software WebGL: CI machines have no GPU
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
}

export async function listen(app: Express): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** Errors the page meets: uncaught exceptions, console errors, and any answer ≥ 400 (a missing favicon included). */
export function pageErrors(page: Page, allow: (status: number, url: string) => boolean = () => false): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !allow(r.status(), r.url())) errors.push(`${r.status()} ${r.url()}`);
  });
  return errors;
}

export async function shot(page: Page, name: string): Promise<void> {
  const dir = path.join(projectRoot, 'test', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name) });
}

/** Where the canvas shows each level's colour (blended at `opacity` over the background), one pixel per level, and how many. */
export function colourPixels(page: Page, opacity: number) {
  return page.evaluate(
    ([levels, alpha]) => {
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
        const want = rgb.map((v, i) => v * alpha + (bg[i] as number) * (1 - alpha));
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
    },
    [Object.fromEntries(Object.entries(LEVEL_INFO).map(([l, i]) => [l, i.color])), opacity] as const,
  );
}
