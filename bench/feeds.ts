import { Database } from '../src/db/database';
import { addDays, LocalDate } from '../src/domain/dates';
import { Record as Recorder } from './common';
import { get, serve } from './warm';

/**
 * What a province's steering committee reads each week — the change feed of its week (`GET
 * /v1/changes?parent=<province>&since&until`), its summary, its briefing, its zones with
 * their figures — next to the same read of the whole country, for the province with the
 * most areas. A province is part of the country: reading it should cost no more than reading
 * the country. Each request is read at its own instant (`as_of`), so none is answered from a
 * kept body. The median of RUNS.
 */
const RUNS = 7;

export async function benchFeeds(db: Database, dbName: string, date: LocalDate, record: Recorder): Promise<void> {
  const top = await db.knex.raw<{ rows: { code: string; n: string }[] }>(
    `SELECT a.code, count(*) AS n FROM areas a JOIN area_tree t ON t.ancestor = a.id AND t.depth > 0
     WHERE a.kind = 'province' GROUP BY a.code ORDER BY count(*) DESC, a.code LIMIT 1`,
  );
  const province = top.rows[0];
  if (!province) return;
  const since = addDays(date, -6);
  const median = async (port: number, query: string) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await get(port, `/v1/changes?${query}&since=${since}&until=${date}&as_of=${encodeURIComponent(new Date().toISOString())}`);
      if (r.status !== 200) throw new Error(`changes ${query}: ${r.status}`);
      ms.push(r.ms);
    }
    return ms.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
  };
  // the same reads of a province and of the country, each at its own instant
  const at = () => `as_of=${encodeURIComponent(new Date().toISOString())}`;
  const medianOf = async (port: number, path: string) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await get(port, `${path}&${at()}`);
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
      ms.push(r.ms);
    }
    return ms.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
  };
  const p = encodeURIComponent(province.code);
  const reads: [string, string, string][] = [
    ['summary', `/v1/summary?date=${date}&parent=${p}`, `/v1/summary?date=${date}`],
    ['briefing (JSON)', `/v1/briefing?date=${date}&parent=${p}`, `/v1/briefing?date=${date}`],
    ['zones with their figures', `/v1/zones?date=${date}&within=${p}&figures=true`, `/v1/zones?date=${date}&figures=true`],
  ];
  const timed = await serve(db, dbName, async (_rt, _warmer, port) => {
    const out = { ofProvince: await median(port, `parent=${p}`), ofCountry: await median(port, 'kind=commune'), reads: [] as [string, number, number][] };
    for (const [name, sub, all] of reads) out.reads.push([name, await medianOf(port, sub), await medianOf(port, all)]);
    return out;
  });
  record(
    `change feed: a province's week (${province.code}, ${Number(province.n).toLocaleString('en')} areas)`,
    `p50 ${timed.ofProvince.toFixed(1)} ms vs the country's communes' week p50 ${timed.ofCountry.toFixed(1)} ms = ${(timed.ofProvince / timed.ofCountry).toFixed(2)}×`,
    "≤ 1× the country's",
    timed.ofProvince <= timed.ofCountry,
  );
  for (const [name, sub, all] of timed.reads)
    record(`a province's ${name} (${province.code})`, `p50 ${sub.toFixed(1)} ms vs the country's p50 ${all.toFixed(1)} ms = ${(sub / all).toFixed(2)}×`, "≤ 1× the country's", sub <= all);
}
