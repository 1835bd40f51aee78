import { once } from 'node:events';
import http from 'node:http';
import { loadConfig } from '../src/config';
import { Database } from '../src/db/database';
import { LocalDate } from '../src/domain/dates';
import { createApp } from '../src/http/app';
import { createRuntime, Runtime } from '../src/runtime';
import { Warmer } from '../src/services/warm';
import { benchUrl, Record as Recorder } from './common';

/**
 * Warm answers (issue 19, item 4): the first requests after a start — a sample of commune
 * answers and the zoom-6 commune map — on a cold runtime, then on one whose warm-up has run
 * (services/warm.ts), next to the same requests answered again (kept). And what the warm-up
 * costs the requests arriving meanwhile: their p99 and slowest while it runs.
 */
const SAMPLE = 300;

export function get(port: number, path: string): Promise<{ ms: number; status: number }> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    http
      .get({ host: '127.0.0.1', port, path, headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, status: res.statusCode ?? 0 }));
      })
      .on('error', reject);
  });
}

export async function serve<T>(db: Database, dbName: string, fn: (rt: Runtime, warmer: Warmer, port: number) => Promise<T>): Promise<T> {
  const rt = createRuntime({ ...loadConfig({}), databaseUrl: benchUrl(dbName), readRate: 10_000_000 }, db);
  const warmer = new Warmer(() => rt);
  const server = createApp(rt).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await fn(rt, warmer, (server.address() as { port: number }).port);
  } finally {
    server.close();
    await warmer.stop();
    await rt.close();
  }
}

export async function benchWarm(db: Database, dbName: string, date: LocalDate, record: Recorder): Promise<void> {
  const res = await db.knex.raw<{ rows: { code: string }[] }>(`SELECT code FROM zonerisk_areas_on(?::date) WHERE kind = 'commune' ORDER BY md5(code) LIMIT ?`, [date, SAMPLE]);
  const codes = res.rows.map((r) => r.code);
  const zonesPass = async (port: number) => {
    const t = process.hrtime.bigint();
    for (const code of codes) if ((await get(port, `/v1/zones/${encodeURIComponent(code)}?date=${date}`)).status !== 200) throw new Error(`zone ${code}: not 200`);
    return (codes.length * 1000) / (Number(process.hrtime.bigint() - t) / 1e6);
  };
  const map6 = `/v1/zones.geojson?date=${date}&kind=commune&zoom=6`;

  const cold = await serve(db, dbName, async (_rt, _warmer, port) => ({ zones: await zonesPass(port), map: (await get(port, map6)).ms, kept: await zonesPass(port), keptMap: (await get(port, map6)).ms }));
  const warmed = await serve(db, dbName, async (_rt, warmer, port) => {
    const t = Date.now();
    warmer.kick(date);
    // requests while the warm-up runs (cold ones: read at an instant): their times
    const times: number[] = [];
    let asked = 0;
    let done = false;
    const idle = warmer.idle().then(() => (done = true));
    while (!done) {
      const code = codes[asked++ % codes.length] as string;
      times.push((await get(port, `/v1/zones/${encodeURIComponent(code)}?date=${date}&as_of=${new Date().toISOString()}`)).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
    await idle;
    const warmMs = Date.now() - t;
    times.sort((a, b) => a - b);
    const p99 = times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0;
    return { warmMs, p99, worst: times[times.length - 1] ?? 0, asked, zones: await zonesPass(port), map: (await get(port, map6)).ms };
  });
  record(
    `warm answers: first ${SAMPLE} commune answers after a start`,
    `${Math.round(warmed.zones)} req/s after the warm-up, ${Math.round(cold.zones)} req/s cold, ${Math.round(cold.kept)} req/s kept (asked again), one at a time`,
    '≥ 0.8× kept',
    warmed.zones >= 0.8 * cold.kept,
  );
  record(
    'warm answers: first zoom-6 commune map after a start',
    `${warmed.map.toFixed(0)} ms after the warm-up, ${(cold.map / 1000).toFixed(2)} s cold, ${cold.keptMap.toFixed(0)} ms kept`,
    '≤ 2× kept + 20 ms',
    warmed.map <= 2 * cold.keptMap + 20,
  );
  record(
    'warm answers: the warm-up, and requests meanwhile',
    `${(warmed.warmMs / 1000).toFixed(1)} s (topology, day properties, zoom-6 map, every commune answer); ${warmed.asked} zone answers meanwhile: p99 ${warmed.p99.toFixed(0)} ms, slowest ${warmed.worst.toFixed(0)} ms`,
    'p99 < 250 ms (as bench:load during a backfill)',
    warmed.p99 < 250,
  );
}
