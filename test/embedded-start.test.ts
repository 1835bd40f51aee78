import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { today } from '../src/domain/dates';
import { startProcess, stopProcess } from './helpers/service';

/**
 * The zero-setup path a newcomer takes: `zonerisk serve` with no DATABASE_URL starts the
 * embedded engine, migrates, loads the demo into the empty database and serves it; a second
 * start reuses the data directory. Runs the compiled CLI as a real process.
 */
const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'bin', 'zonerisk.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-embedded-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const ADMIN_KEY = 'embedded-start-admin-key';

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', ZONERISK_DATA_DIR: dataDir, ZONERISK_LOG_LEVEL: 'info', ZONERISK_ADMIN_KEY: ADMIN_KEY };
  delete e.DATABASE_URL;
  return e;
}

const start = () => startProcess(env());
const stop = stopProcess;

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('zero-setup embedded start', () => {
  test('first start loads the demo, second start reuses the data directory', async () => {
    const first = await start();
    try {
      expect(first.startedMs).toBeLessThan(60_000);
      expect(first.logs.some((l) => l.includes('demo data loaded'))).toBe(true);
      expect((await getJson(`${first.url}/ready`)).status).toBe(200);
      // today's map: the 55 communes of 1 July 2025; the day before, the 171 old ones
      const communes = await getJson(`${first.url}/v1/areas?kind=commune&limit=1000`);
      expect(communes.body.items).toHaveLength(55);
      const old = await getJson(`${first.url}/v1/areas?kind=commune&limit=1000&date=2025-06-30`);
      expect(old.body.items).toHaveLength(171);
      for (const map of [communes, old]) expect((map.body.items as { population: number }[]).reduce((s, i) => s + i.population, 0)).toBe(3_097_107);
      expect((await getJson(`${first.url}/v1/areas?kind=district&date=2025-07-01`)).body.items).toHaveLength(0);
      // the demo is classified with vn-moh-4800-2021: every commune has a level today
      const summary = await getJson(`${first.url}/v1/summary`);
      expect(summary.body.total.areas).toBe(55);
      expect(summary.body.by_level.unknown.areas).toBe(0);
      // a new commune: its predecessors as the lineage file says, its reports to today, its history before 1 July 2025
      const lineage = await getJson(`${first.url}/v1/areas/DN2025.791/lineage`);
      expect((lineage.body.predecessors as { code: string }[]).map((p) => p.code).sort()).toEqual(['VNM.17.11.10_1', 'VNM.17.11.12_1', 'VNM.17.11.9_1']);
      const reports = await getJson(`${first.url}/v1/areas/DN2025.791/reports`);
      expect(reports.body.items[reports.body.items.length - 1].date).toBe(today('Asia/Ho_Chi_Minh'));
      const history = await getJson(`${first.url}/v1/zones/DN2025.791/history?from=2025-06-25&to=2025-07-05`);
      expect(history.body.days[0].via.map((v: { code: string }) => v.code).sort()).toEqual(['VNM.17.11.10_1', 'VNM.17.11.12_1', 'VNM.17.11.9_1']);
      expect(history.body.days[0].level).not.toBe('unknown');
      // on the day of the change, the summary's moves are the feed's: new communes against their predecessors' worst level
      const feed = (await getJson(`${first.url}/v1/changes?since=2025-07-01&until=2025-07-01&kind=commune&limit=1000`)).body.items as { code: string; from: string; to: string }[];
      const rank = (l: string) => ['green', 'yellow', 'orange', 'red'].indexOf(l);
      const day = (await getJson(`${first.url}/v1/summary?date=2025-07-01`)).body;
      const codes = (xs: { code: string }[]) => xs.map((x) => x.code).sort();
      expect(feed.length).toBeGreaterThan(0);
      expect(codes(day.deescalated)).toEqual(codes(feed.filter((c) => rank(c.from) >= 0 && rank(c.to) >= 0 && rank(c.to) < rank(c.from))));
      expect(codes(day.escalated)).toEqual(codes(feed.filter((c) => rank(c.from) >= 0 && rank(c.to) > rank(c.from))));

      // The data directory is locked while in use.
      const second = spawn(process.execPath, [bin, 'migrate'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      second.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
      expect(code).not.toBe(0);
      expect(err).toMatch(/is in use by process \d+/);

      const body = JSON.stringify({ reports: [{ area: 'VNM.17.1.10_1', date: '2021-01-01', community_cases: 42, quarantine_cases: 0 }] });
      const anonymous = await fetch(`${first.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(anonymous.status).toBe(401); // writes need a key, on the real process too
      const res = await fetch(`${first.url}/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ reports: [{ area: 'VNM.17.1.10_1', date: '2021-01-01', community_cases: 42, quarantine_cases: 0 }] }),
      });
      expect(res.status).toBe(200);
    } finally {
      expect(await stop(first)).toBe(0);
    }

    const again = await start();
    try {
      expect(again.logs.some((l) => l.includes('demo data loaded'))).toBe(false);
      expect((await getJson(`${again.url}/ready`)).status).toBe(200);
      expect((await getJson(`${again.url}/v1/areas?kind=commune&limit=1000`)).body.items).toHaveLength(55);
      const kept = await getJson(`${again.url}/v1/areas/VNM.17.1.10_1/reports?from=2021-01-01&to=2021-01-01`);
      expect(kept.body.items[0]).toMatchObject({ community_cases: 42 });
    } finally {
      expect(await stop(again)).toBe(0);
    }
  });
});
