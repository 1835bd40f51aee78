/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import type { Browser, Page } from 'playwright-core';
import { addDays, LocalDate } from '../../src/domain/dates';
import { TEST_ADMIN_KEY, testContext } from '../helpers/context';
import { CHROMIUM, colourPixels, launch, listen, pageErrors, shot, Workplace } from './page';

/**
 * The command centre's workplace at `/` in a real headless Chromium, desktop (1400×900) and
 * phone (390×844), on the Đồng Nai demo: the views, the scope, the steering panel against
 * /v1/summary and /v1/changes, the list against the API's rows, the area panel's chart
 * against the history and the reports, published against latest after a correction, the
 * key prompt, the English switch, a failed request's retry. Screenshots: test/artifacts/.
 */
const ctx = testContext();
const END = '2021-10-31' as LocalDate;
const DAYS = 31;


type Summary = { date: string; total: { areas: number; population: number }; by_level: Record<string, { areas: number; population: number; no_new_community_cases_24h: number; not_reported_24h: number }>; sentence: { vi: string; en: string } };
type Change = { code: string; date: string; from: string; to: string };
type ZoneItem = { code: string; name: string; kind: string; parent: string | null; level: string; level_number: number | null; incidence_per_100k_7d: number | null; community_cases_7d: number | null };
const RANK: Record<string, number> = { green: 1, yellow: 2, orange: 3, red: 4 };
const dir = (c: Change) => (RANK[c.from] && RANK[c.to] ? ((RANK[c.to] as number) > (RANK[c.from] as number) ? 'up' : 'down') : 'other');
const dmy = (d: string) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;

if (!fs.existsSync(CHROMIUM)) {
  test.skip('Chromium is not installed here: apt-get install -y chromium', () => undefined);
} else {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let url: string;
  let errors: string[];
  const api = async <T>(p: string): Promise<T> => (await ctx.http().get(p).expect(200)).body as T;

  /** What the steering panel shows, read from the page. */
  const panel = () =>
    page.evaluate(() => {
      const rows = [...document.querySelectorAll<HTMLElement>('#counts tr[data-level]')].map((r) => [r.dataset.level, { areas: Number(r.dataset.areas), population: Number(r.dataset.population) }]);
      const day = [...document.querySelectorAll<HTMLElement>('#day tr[data-level]')].map((r) => [r.dataset.level, { quiet: Number(r.dataset.quiet), silent: Number(r.dataset.silent) }]);
      const moves = [...document.querySelectorAll<HTMLElement>('#moves tr[data-kind]')].map((r) => [r.dataset.kind, { day: Number(r.dataset.day), week: Number(r.dataset.week) }]);
      const rep = document.getElementById('reporting') as HTMLElement;
      return {
        counts: Object.fromEntries(rows),
        day: Object.fromEntries(day),
        moves: Object.fromEntries(moves),
        reported: Number(rep.dataset.reported),
        total: Number(rep.dataset.total),
        sentence: document.getElementById('sentence')?.textContent ?? '',
      };
    });

  /** The panel's figures equal the summary's and the feed's for the scope and day. */
  async function expectPanelMatches(date: string, scope: string | null) {
    const q = scope ? `&parent=${scope}` : '';
    const summary = await api<Summary>(`/v1/summary?date=${date}${q}`);
    const feed = (await api<{ items: Change[] }>(`/v1/changes?since=${addDays(date as LocalDate, -6)}&until=${date}&kind=commune${q}`)).items;
    const shown = await panel();
    for (const l of ['red', 'orange', 'yellow', 'green', 'unknown']) {
      const s = summary.by_level[l] as Summary['by_level'][string];
      expect({ l, ...shown.counts[l] }).toEqual({ l, areas: s.areas, population: s.population });
      expect({ l, ...shown.day[l] }).toEqual({ l, quiet: s.no_new_community_cases_24h, silent: s.not_reported_24h });
    }
    const silent = Object.values(summary.by_level).reduce((n, s) => n + s.not_reported_24h, 0);
    expect({ reported: shown.reported, total: shown.total }).toEqual({ reported: summary.total.areas - silent, total: summary.total.areas });
    expect(shown.moves).toEqual({
      up: { day: feed.filter((c) => c.date === date && dir(c) === 'up').length, week: feed.filter((c) => dir(c) === 'up').length },
      down: { day: feed.filter((c) => c.date === date && dir(c) === 'down').length, week: feed.filter((c) => dir(c) === 'down').length },
    });
    expect(shown.sentence).toBe(summary.sentence.vi);
    return { summary, feed };
  }

  const waitReady = (p: Page = page) => p.waitForFunction(() => window.zonerisk?.ready === true, undefined, { timeout: 90_000 });
  const waitSteering = (date: string, scope: string | null) =>
    page.waitForFunction(([d, s]) => window.zonerisk.steeringReady === true && window.zonerisk.summary?.date === d && (window.zonerisk.summary?.parent ?? null) === s, [date, scope] as const, { timeout: 60_000 });

  beforeAll(async () => {
    await ctx.demo(END, DAYS);
    ({ server, url } = await listen(ctx.app));
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    errors = pageErrors(page);
    await page.goto(`${url}/?test=1`);
    await waitReady();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await ctx.close();
  });

  test('the page loads without a console error or a failed request (favicon included) and draws the levels', async () => {
    expect(errors).toEqual([]);
    const counts = await page.evaluate(() => window.zonerisk.counts as Record<string, number>);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    const pixels = await colourPixels(page, 0.85);
    for (const [level, n] of Object.entries(counts)) if (n > 0) expect({ level, drawn: (pixels[level]?.n ?? 0) > 20 }).toEqual({ level, drawn: true });
    const fav = await ctx.http().get('/favicon.ico').expect(200);
    expect(fav.headers['content-type']).toMatch(/image\/svg\+xml/);
    expect(await page.textContent('#legend-items')).toContain('Cấp 4 – Nguy cơ rất cao');
    expect(await page.inputValue('#date-text')).toBe(dmy(END));
    await shot(page, 'workplace-communes.png');
  });

  test('the steering panel equals /v1/summary and /v1/changes for everywhere on the day', async () => {
    await waitSteering(END, null);
    const { summary } = await expectPanelMatches(END, null);
    // numbers vi-VN: 2.944.027, not 2,944,027
    const total = await page.textContent('#counts tfoot');
    expect(total).toContain(summary.total.population.toLocaleString('vi-VN'));
    expect(summary.total.population).toBeGreaterThan(1000);
    expect(total).toMatch(/\d\.\d{3}\.\d{3}/);
  });

  test('a district picked in the scope: the map zooms there, the panel and the list count its communes only', async () => {
    const cfg = await api<{ places: { code: string; kind: string; parent: string | null; name: string }[] }>('/ui/config.json');
    const province = cfg.places.find((p) => p.kind === 'province') as { code: string };
    const district = cfg.places.find((p) => p.kind === 'district' && p.parent === province.code && p.name.includes('Biên Hòa')) as { code: string };
    await page.selectOption('#province', province.code);
    await waitSteering(END, province.code);
    await expectPanelMatches(END, province.code);
    await page.selectOption('#district', district.code);
    await waitSteering(END, district.code);
    await expectPanelMatches(END, district.code);
    const communes = (await api<{ items: ZoneItem[] }>(`/v1/zones?date=${END}&parent=${district.code}`)).items.filter((z) => z.kind === 'commune');
    const listed = await page.evaluate(() => window.zonerisk.list.order());
    expect([...listed].sort()).toEqual(communes.map((z) => z.code).sort());
    expect(await page.evaluate(() => location.hash)).toContain(`scope=${district.code}`);
    await page.waitForFunction(() => window.zonerisk.map.getZoom() > 9, undefined, { timeout: 10_000 });
    await page.waitForSelector('.district-label', { timeout: 10_000 });
    await shot(page, 'workplace-district-scope.png');
    await page.selectOption('#province', '');
    await waitSteering(END, null);
  });

  test('district and province views draw those levels (the API’s), and back to communes', async () => {
    for (const kind of ['district', 'province'] as const) {
      const want = Object.fromEntries((await api<{ items: ZoneItem[] }>(`/v1/zones?date=${END}&kind=${kind}`)).items.map((z) => [z.code, z.level]));
      await page.evaluate(() => (window.zonerisk.drawnLevels = undefined));
      await page.check(`input[name="kind"][value="${kind}"]`);
      await page.waitForFunction((w) => {
        const d = window.zonerisk.drawnLevels;
        return d !== undefined && Object.keys(d).length === Object.keys(w).length && Object.entries(w).every(([c, l]) => d[c] === l);
      }, want, { timeout: 30_000 });
      await shot(page, `workplace-${kind}s.png`);
    }
    await page.check('input[name="kind"][value="commune"]');
    await page.waitForFunction(() => Object.keys(window.zonerisk.drawnLevels ?? {}).length > 100, undefined, { timeout: 30_000 });
  });

  test('the list sorted by incidence is the API’s rows in that order; a click on a row selects the commune', async () => {
    await page.click('#tabs button[data-tab="list"]');
    await page.click('.list-head button[data-key="incidence_per_100k_7d"]');
    const items = (await api<{ items: ZoneItem[] }>(`/v1/zones?date=${END}&kind=commune&figures=true`)).items;
    const collator = new Intl.Collator('vi');
    const expected = [...items]
      .sort((a, b) => {
        const x = a.incidence_per_100k_7d;
        const y = b.incidence_per_100k_7d;
        if (x !== y) {
          if (x === null) return 1;
          if (y === null) return -1;
          return y - x;
        }
        return collator.compare(a.name, b.name) || (a.code < b.code ? -1 : 1);
      })
      .map((z) => z.code);
    expect(await page.evaluate(() => window.zonerisk.list.order())).toEqual(expected);
    // the rows in sight carry the API's figures, formatted vi-VN
    const first = items.find((z) => z.code === expected[0]) as ZoneItem;
    const row = page.locator(`.list-body .row[data-code="${first.code}"]`);
    expect(await row.locator('.col-incidence_per_100k_7d').textContent()).toBe((first.incidence_per_100k_7d as number).toLocaleString('vi-VN', { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
    // a filter without diacritics
    await page.fill('#list-filter', 'bien hoa');
    await page.waitForFunction(() => window.zonerisk.list.order().length < 100);
    await shot(page, 'workplace-list.png');
    await page.fill('#list-filter', '');
    await row.click();
    await page.waitForFunction((c) => window.zonerisk.details?.code === c && window.zonerisk.chart !== undefined, first.code, { timeout: 30_000 });
    expect(await page.evaluate(() => location.hash)).toContain(`area=${first.code}`);
  });

  test('the area panel: level in Vietnamese, since, labelled inputs, the explanation, and a 90-day chart equal to the history and the reports', async () => {
    const code = await page.evaluate(() => window.zonerisk.details?.code as string);
    const chart = await page.evaluate(() => window.zonerisk.chart as NonNullable<Workplace['chart']>);
    const from = addDays(END, -89);
    const history = await api<{ days: { date: string; level: string }[] }>(`/v1/zones/${code}/history?from=${from}&to=${END}`);
    const reports = (await api<{ items: { date: string; community_cases: number; quarantine_cases: number }[] }>(`/v1/areas/${code}/reports?from=${from}&to=${END}`)).items;
    const byDate = new Map(reports.map((r) => [r.date, r]));
    expect(chart.dates).toEqual(history.days.map((d) => d.date));
    expect(chart.levels).toEqual(history.days.map((d) => d.level));
    expect(chart.community).toEqual(chart.dates.map((d) => byDate.get(d)?.community_cases ?? null));
    expect(chart.quarantine).toEqual(chart.dates.map((d) => byDate.get(d)?.quarantine_cases ?? null));
    const detail = await api<{ level: string; level_label: { vi: string }; inputs: Record<string, number | null>; explanation: { text: { vi: string } }[] }>(`/v1/zones/${code}?date=${END}`);
    // the last day's 7-day incidence is the rules' own input
    const inc = detail.inputs['community_incidence_7d'];
    if (inc !== null && inc !== undefined) expect(chart.incidence.at(-1) as number).toBeCloseTo(inc, 1);
    expect(chart.thresholds).toEqual([20, 50, 150]); // vn-moh-4800-2021's incidence bands
    expect(await page.textContent('#area-level')).toContain(detail.level_label.vi);
    expect(await page.textContent('#area-inputs')).toContain('Số ca mắc mới tại cộng đồng / 100.000 dân, 7 ngày');
    expect(await page.textContent('#area-explanation')).toContain((detail.explanation[0] as { text: { vi: string } }).text.vi);
    expect(await page.textContent('#area-since')).toMatch(/\d{2}\/\d{2}\/\d{4}/);
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    await shot(page, 'workplace-area.png');
  });

  test('the date picker takes dd/mm/yyyy; a wrong date says so', async () => {
    const day = addDays(END, -3);
    await page.fill('#date-text', dmy(day));
    await page.press('#date-text', 'Enter');
    await waitSteering(day, null);
    await expectPanelMatches(day, null);
    await page.fill('#date-text', '32/13/2021');
    await page.press('#date-text', 'Enter');
    expect(await page.textContent('#date-error')).toMatch(/dd\/mm\/yyyy/);
    await page.fill('#date-text', dmy(END));
    await page.press('#date-text', 'Enter');
    await waitSteering(END, null);
  });

  test('published and latest: after a correction the latest colours change and the published ones do not', async () => {
    // a day the page has not drawn yet (the browser keeps tiles for a minute)
    const day = addDays(END, -2);
    await ctx.http().post('/v1/publications').send({ date: day }).expect(201);
    // a commune in sight (an earlier test zoomed in on one)
    const inSight = new Set(await page.evaluate(() => Object.keys(window.zonerisk.drawnLevels ?? {})));
    const before = (await api<{ items: ZoneItem[] }>(`/v1/zones?date=${day}&kind=commune`)).items.find((z) => inSight.has(z.code) && (z.level === 'green' || z.level === 'yellow')) as ZoneItem;
    // a late report: thousands of community cases in that commune on the day
    await ctx.http().post('/v1/reports').send({ reports: [{ area: before.code, date: day, community_cases: 5000, quarantine_cases: 0 }] }).expect(200);
    await ctx.http().post('/v1/recompute').send({ date: day }).expect(200);
    const after = (await api<{ level: string }>(`/v1/zones/${before.code}?date=${day}`)).level;
    expect(after).not.toBe(before.level);
    const shows = (level: string) =>
      page.waitForFunction(([c, l]) => window.zonerisk.drawnLevels?.[c] === l, [before.code, level] as const, { timeout: 30_000 }).catch(async (e: unknown) => {
        const geo = (await ctx.http().get(`/v1/zones.geojson?date=${day}&kind=commune&zoom=9`)).body as { features: { properties: { code: string; level: string } }[] };
        throw new Error(`${String(e)}; want ${level} (before ${before.level}, after ${after}); geojson ${geo.features.find((f) => f.properties.code === before.code)?.properties.level}; drawn: ${await page.evaluate((c) => JSON.stringify([window.zonerisk.drawnLevels?.[c], Object.keys(window.zonerisk.drawnLevels ?? {}).length, location.hash]), before.code)}`);
      });
    await page.evaluate((d) => window.zonerisk.setDate(d), day);
    await shows(after);
    await page.check('input[name="version"][value="published"]');
    await shows(before.level);
    await waitSteering(day, null);
    expect(await page.textContent('#steering .as-of')).toMatch(/Đã công bố/);
    await shot(page, 'workplace-published.png');
    // a day without a publication: said so, no tiles asked for, a way to the published day
    const requests: string[] = [];
    const listen = (r: { url(): string }) => requests.push(r.url());
    page.on('request', listen);
    await page.click('#tabs button[data-tab="steering"]');
    await page.evaluate((d) => window.zonerisk.setDate(d), addDays(END, -4));
    await page.waitForSelector('#not-published', { timeout: 30_000 });
    expect(await page.textContent('#not-published')).toContain(`Ngày ${dmy(addDays(END, -4))} chưa được công bố`);
    page.off('request', listen);
    expect(requests.filter((u) => u.includes('/tiles/'))).toEqual([]);
    await page.click('#go-published');
    await waitSteering(day, null);
    expect(await page.inputValue('#date-text')).toBe(dmy(day));
    await page.check('input[name="version"][value="latest"]');
    await shows(after);
    await page.evaluate((d) => window.zonerisk.setDate(d), END);
    await waitSteering(END, null);
  });

  test('English for the whole page, and back', async () => {
    await page.click('#lang');
    await page.waitForFunction(() => document.getElementById('title')?.textContent === 'Zone risk levels');
    await waitSteering(END, null);
    expect(await page.textContent('#counts thead')).toContain('Communes');
    expect(await page.textContent('#tabs')).toContain('Summary');
    await shot(page, 'workplace-english.png');
    await page.click('#lang');
    await page.waitForFunction(() => document.getElementById('title')?.textContent === 'Cấp độ dịch');
  });

  test('a failed request shows a bilingual message and a retry that works', async () => {
    let failed = 0;
    await page.route('**/v1/summary?**', async (route) => {
      failed++;
      await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'database_unavailable', message: 'the database is restarting' } }) });
    });
    try {
    await page.click('#tabs button[data-tab="steering"]');
    await page.evaluate((d) => window.zonerisk.setDate(d), addDays(END, -1));
    await page.waitForSelector('#steering .error button.retry', { timeout: 30_000 });
    await shot(page, 'workplace-error.png');
    expect(await page.textContent('#steering .error')).toMatch(/Không tải được dữ liệu.*Could not load the data/s);
    expect(await page.textContent('#steering .error')).toContain('the database is restarting');
    expect(failed).toBeGreaterThan(0);
    } finally {
      await page.unroute('**/v1/summary?**');
    }
    await page.click('#steering .error button.retry');
    await waitSteering(addDays(END, -1), null);
    await expectPanelMatches(addDays(END, -1), null);
    await page.evaluate((d) => window.zonerisk.setDate(d), END);
    await waitSteering(END, null);
  });

  test('on a phone: the map fills the screen; a tapped commune opens its panel over the map as a sheet', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const phoneErrors = pageErrors(phone);
    try {
      await phone.goto(`${url}/?test=1`);
      await waitReady(phone);
      const map = (await phone.locator('#map').boundingBox()) as { y: number; height: number; width: number };
      expect(map.width).toBe(390);
      expect(map.height).toBeGreaterThan(400);
      await shot(phone, 'workplace-phone.png');
      const pixels = await colourPixels(phone, 0.85);
      const target = Object.entries(pixels).find(([l, p]) => l !== 'unknown' && p.n > 0)?.[1] as { x: number; y: number };
      const box = (await phone.locator('#map canvas').boundingBox()) as { x: number; y: number };
      await phone.touchscreen.tap(box.x + target.x + 1, box.y + target.y + 1);
      await phone.waitForFunction(() => window.zonerisk.details !== undefined && document.body.classList.contains('sheet-open'), undefined, { timeout: 30_000 });
      const area = (await phone.locator('#area-level').boundingBox()) as { y: number; height: number };
      const panel = (await phone.locator('#panel').boundingBox()) as { y: number };
      expect(area.y + area.height).toBeLessThan(844); // in sight, not below the fold
      expect(panel.y).toBeLessThan(map.y + map.height); // over the map
      await shot(phone, 'workplace-phone-area.png');
      expect(phoneErrors).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  test('search by name without diacritics; a district found sets the scope', async () => {
    await page.fill('#search', 'long binh');
    await page.waitForSelector('#search-results button', { timeout: 10_000 });
    expect((await page.textContent('#search-results')) ?? '').toMatch(/Long Bình.*xã\/phường/);
    await page.fill('#search', 'bien hoa');
    await page.waitForSelector('#search-results button[data-kind="district"]', { timeout: 10_000 });
    const code = await page.getAttribute('#search-results button[data-kind="district"]', 'data-code');
    await page.click('#search-results button[data-kind="district"]');
    await waitSteering(END, code);
    expect(await page.inputValue('#district')).toBe(code);
  });

  test('an address with a date that is no day or an area code that is none is ignored, not sent on', async () => {
    const odd = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const oddErrors = pageErrors(odd);
    const asked: string[] = [];
    odd.on('request', (r) => asked.push(r.url()));
    try {
      await odd.goto(`${url}/?test=1#date=2025-02-31&area=..&scope=%3Cb%3E&tab=area`);
      await waitReady(odd);
      expect(await odd.inputValue('#date-text')).toBe(dmy(END));
      expect(asked.filter((u) => /\/v1\/(zones|areas)\/\.\.|\/v1\/history|2025-02-31/.test(u))).toEqual([]);
      expect(oddErrors).toEqual([]);
    } finally {
      await odd.close();
    }
  });

  test('tiles asked for with a key may be kept by the browser only, never by a shared cache', async () => {
    const withKey = await ctx.http().get(`/tiles/zones/8/203/120.mvt?date=${END}&kind=commune`).expect(200);
    expect(withKey.headers['cache-control']).toMatch(/^private,/);
    const request = (await import('supertest')).default;
    const anonymous = await request(ctx.app).get(`/tiles/zones/8/203/120.mvt?date=${END}&kind=commune`).expect(200);
    expect(anonymous.headers['cache-control']).toMatch(/^public,/);
  });

  test('test hooks exist only when a test asks for them', async () => {
    const plain = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await plain.goto(`${url}/`);
      await plain.waitForSelector('#counts', { timeout: 60_000 });
      expect(await plain.evaluate(() => typeof (window as unknown as { zonerisk?: unknown }).zonerisk)).toBe('undefined');
    } finally {
      await plain.close();
    }
  });

  test('the printable briefing fits A4 in Chromium: no wider than the page, printed on A4 pages with the sentence and the map', async () => {
    const cfg = await api<{ places: { code: string; kind: string }[] }>('/ui/config.json');
    const province = (cfg.places.find((p) => p.kind === 'province') as { code: string }).code;
    const briefing = await api<{ last_24h: { sentence: { vi: string } }; hotspots: { name: string }[] }>(`/v1/briefing?date=${END}&parent=${province}`);
    const printed = await browser.newPage({ viewport: { width: 794, height: 1123 } }); // A4 at 96 dpi
    const printErrors = pageErrors(printed);
    try {
      await printed.goto(`${url}/briefing?date=${END}&parent=${province}`);
      await printed.emulateMedia({ media: 'print' });
      const widths = await printed.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth, paths: document.querySelectorAll('svg path').length }));
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      expect(widths.paths).toBeGreaterThan(100);
      const pdf = await printed.pdf({ format: 'A4', printBackground: true });
      const file = path.join(projectRoot, 'test', 'artifacts', 'briefing-printed.pdf');
      fs.writeFileSync(file, pdf);
      const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
      expect(info).toMatch(/Page size:\s+595(\.\d+)? x 842(\.\d+)? pts \(A4\)/);
      const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
      expect(text).toContain(briefing.last_24h.sentence.vi.replace(/\s+/g, ' ').slice(0, 60));
      for (const h of briefing.hotspots.slice(0, 20)) expect(text).toContain(h.name);
      await shot(printed, 'briefing-page.png');
      expect(printErrors).toEqual([]);
    } finally {
      await printed.close();
    }
  });

  describe('with ZONERISK_PUBLIC_READS=false', () => {
    const closed = testContext({ publicReads: false });
    let closedServer: Server;
    let closedUrl: string;
    beforeAll(async () => {
      ({ server: closedServer, url: closedUrl } = await listen(closed.app));
    });
    afterAll(async () => {
      await new Promise((resolve) => closedServer?.close(resolve));
      await closed.close();
    });

    test('the page asks for a key, refuses a wrong one, and works with a right one (tiles included)', async () => {
      const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      try {
        await p.goto(`${closedUrl}/?test=1`);
        await p.waitForSelector('#key-dialog[open]', { timeout: 30_000 });
        expect(await p.isVisible('#key-wrong')).toBe(false);
        await shot(p, 'workplace-key.png');
        // Esc: the panel says a key is needed and opens the prompt again
        await p.keyboard.press('Escape');
        await p.waitForSelector('#key-again', { timeout: 10_000 });
        await p.click('#key-again');
        await p.waitForSelector('#key-dialog[open]', { timeout: 10_000 });
        await p.fill('#key-input', 'not-a-key');
        await p.click('#key-form button[type="submit"]');
        await p.waitForSelector('#key-dialog[open] #key-wrong:not([hidden])', { timeout: 30_000 });
        await p.fill('#key-input', TEST_ADMIN_KEY);
        await p.click('#key-form button[type="submit"]');
        await waitReady(p);
        expect(await p.evaluate(() => Object.keys(window.zonerisk.drawnLevels ?? {}).length)).toBeGreaterThan(100);
        expect(await p.evaluate(() => sessionStorage.getItem('zonerisk.key'))).toBe(TEST_ADMIN_KEY);
        // the key is never in an address
        expect(await p.evaluate(() => location.href + performance.getEntriesByType('resource').map((e) => e.name).join(' '))).not.toContain(TEST_ADMIN_KEY);
        // the printable page opens with the key (fetched, shown from memory), without links that could not send it
        const [popup] = await Promise.all([p.waitForEvent('popup'), p.click('button[data-download^="/briefing"]')]);
        await popup.waitForSelector('svg path', { timeout: 30_000 });
        expect(await popup.locator('p.links').count()).toBe(0);
        await popup.close();
      } finally {
        await p.close();
      }
    });
  });
}
